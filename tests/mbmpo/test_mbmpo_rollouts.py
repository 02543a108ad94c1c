"""Imagined rollouts: shapes, the noise as the only randomness, terminations and their padding."""

import torch

from mbmpo.dynamics import DynamicsEnsemble
from mbmpo.envs import TASKS, Task
from mbmpo.policy import GaussianPolicy
from mbmpo.rollouts import BACKENDS, torch_rollout

K, N, T = 3, 4, 6


def setup(obs_dim: int = 3, act_dim: int = 1) -> tuple[DynamicsEnsemble, GaussianPolicy, torch.Tensor]:
    torch.manual_seed(0)
    ensemble = DynamicsEnsemble(obs_dim, act_dim, models=K, hidden=(16,))
    policy = GaussianPolicy(obs_dim, act_dim, hidden=(8,))
    params = policy.theta.detach() + 0.1 * torch.randn(K, policy.size)
    return ensemble, policy, params


def test_shapes_and_log_probs():
    ensemble, policy, params = setup()
    starts, noise = torch.randn(K, N, 3), torch.randn(K, N, T, 1)
    traj = torch_rollout(ensemble, policy, params, starts, noise, TASKS["Pendulum-v1"])
    assert traj.obs.shape == (K, N, T, 3) and traj.actions.shape == (K, N, T, 1)
    assert traj.rewards.shape == traj.dones.shape == traj.log_probs.shape == (K, N, T)
    assert traj.returns().shape == (K, N)
    torch.testing.assert_close(traj.obs[:, :, 0], starts)
    flat = (traj.obs.reshape(K, N * T, 3), traj.actions.reshape(K, N * T, 1))
    torch.testing.assert_close(traj.log_probs, policy.log_prob(params, *flat).reshape(K, N, T))


def test_model_k_runs_policy_k_and_next_states_come_from_it():
    ensemble, policy, params = setup()
    starts, noise = torch.randn(K, N, 3), torch.randn(K, N, T, 1)
    task = TASKS["Pendulum-v1"]
    traj = torch_rollout(ensemble, policy, params, starts, noise, task)
    clipped = traj.actions.clamp(-task.action_bound, task.action_bound)
    with torch.no_grad():
        predicted = ensemble.predict(traj.obs[:, :, 0], clipped[:, :, 0])
    torch.testing.assert_close(traj.obs[:, :, 1], predicted)
    torch.testing.assert_close(
        traj.rewards[:, :, 0], task.reward(traj.obs[:, :, 0], clipped[:, :, 0], predicted)
    )


def test_same_noise_same_trajectories_and_the_backend_table():
    ensemble, policy, params = setup()
    starts, noise = torch.randn(K, N, 3), torch.randn(K, N, T, 1)
    a = BACKENDS["torch"](ensemble, policy, params, starts, noise, TASKS["Pendulum-v1"])
    b = torch_rollout(ensemble, policy, params, starts, noise, TASKS["Pendulum-v1"])
    for name in ("obs", "actions", "rewards", "dones", "log_probs"):
        assert torch.equal(getattr(a, name), getattr(b, name))


def test_terminated_trajectories_stop_earning_and_stay_put():
    ensemble, policy, params = setup()
    # A task that ends a trajectory once its first state coordinate exceeds a threshold; reward 1 a step.
    task = Task("test", lambda o, a, n: torch.ones(o.shape[:-1]), lambda n: n[..., 0] > 0.0, action_bound=1.0)
    starts = torch.randn(K, N, 3)
    traj = torch_rollout(ensemble, policy, params, starts, torch.randn(K, N, T, 1), task)
    assert (traj.dones.sum(-1) <= 1).all()
    ended_before = traj.dones.cumsum(-1) - traj.dones.long()
    assert torch.equal(traj.rewards, (ended_before == 0).float())
    for k, n in zip(*torch.nonzero(traj.dones.any(-1), as_tuple=True), strict=True):
        t = int(traj.dones[k, n].nonzero()[0])
        if t + 2 < T:
            assert torch.equal(traj.obs[k, n, t + 1], traj.obs[k, n, t + 2])
