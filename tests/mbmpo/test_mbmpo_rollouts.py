"""Imagined rollouts: shapes, the noise as the only randomness, terminations and their padding, and every
backend against the torch reference."""

import itertools
import math
import os
import subprocess
import sys
from functools import partial
from pathlib import Path

import numba
import numpy as np
import pytest
import torch

from mbmpo.dynamics import DynamicsEnsemble
from mbmpo.envs import TASKS, Task
from mbmpo.policy import GaussianPolicy
from mbmpo.rollouts import (
    BACKENDS,
    backend_name,
    cuda_backend,
    cuda_rollout,
    numba_backend,
    numba_rollout,
    torch_rollout,
)
from mbmpo.rollouts.numba_backend import MAX_BLOCK_ROWS, PATHS, _rollout_kernel, step_reward
from mbmpo.rollouts.row_rewards import TASK_CODES

K, N, T = 3, 4, 6


def setup(
    obs_dim: int = 3, act_dim: int = 1, hidden: tuple[int, ...] = (16,)
) -> tuple[DynamicsEnsemble, GaussianPolicy, torch.Tensor]:
    torch.manual_seed(0)
    ensemble = DynamicsEnsemble(obs_dim, act_dim, models=K, hidden=hidden)
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


@pytest.mark.parametrize("hidden", [(16,), (64,)], ids=["narrow", "wide-first-layer"])
@pytest.mark.parametrize("backend", ["torch", "numba", "numba-fused", "numba-blas"])
def test_a_hand_computed_trajectory(backend, hidden):
    """Models and policies with constant outputs: model k moves the state by moves[k] each step, policy k
    asks for means[k] plus σ times its noise; every state, action, reward and log-probability follows by
    hand (Pendulum's reward from the angle atan2(sin, cos), the velocity and the clipped torque). A first
    layer of 64 units on 4 inputs (padded to 16) is wide: numba packs it transposed."""
    ensemble, policy, _ = setup(hidden=hidden)
    moves = torch.tensor([[0.1, -0.2, 0.3], [-0.05, 0.1, -0.4], [0.2, 0.2, 0.0]])
    means, sigma = [0.5, 1.5, -1.0], 0.8
    with torch.no_grad():
        for layer in ensemble.layers:
            layer.parametrizations.weight.original0.zero_()  # weight norm's g: every weight is 0
            layer.bias.zero_()
        ensemble.layers[-1].bias.copy_(moves)
    params = torch.zeros(K, policy.size)
    params[:, -2] = torch.tensor(means)  # the last layer's bias; its weights are 0
    params[:, -1] = math.log(sigma)
    starts, noise = torch.randn(K, N, 3), torch.randn(K, N, T, 1)
    if hidden == (64,):
        assert numba_backend._packed(ensemble.snapshot().layers)[0][0].shape == (K, 16, 64)
    rollout = BACKENDS.get(backend) or partial(numba_rollout, path=backend.removeprefix("numba-"))
    traj = rollout(ensemble, policy, params, starts, noise, TASKS["Pendulum-v1"])
    for k, n, t in itertools.product(range(K), range(N), range(T)):
        state = starts[k, n] + t * moves[k]
        action = means[k] + sigma * float(noise[k, n, t, 0])
        angle = math.atan2(float(state[1]), float(state[0]))
        reward = -(angle**2 + 0.1 * float(state[2]) ** 2 + 0.001 * min(max(action, -2.0), 2.0) ** 2)
        log_prob = -0.5 * float(noise[k, n, t, 0]) ** 2 - math.log(sigma) - 0.5 * math.log(2 * math.pi)
        torch.testing.assert_close(traj.obs[k, n, t], state, atol=1e-5, rtol=1e-5)
        assert traj.actions[k, n, t, 0].item() == pytest.approx(action, abs=1e-5)
        assert traj.rewards[k, n, t].item() == pytest.approx(reward, abs=1e-4)
        assert traj.log_probs[k, n, t].item() == pytest.approx(log_prob, abs=1e-5)
    assert not traj.dones.any()


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


OBS_DIMS = {"Pendulum-v1": 3, "HalfCheetah-v5": 17, "Hopper-v5": 11, "Walker2d-v5": 17, "Ant-v5": 105}
ACT_DIMS = {"Pendulum-v1": 1, "HalfCheetah-v5": 6, "Hopper-v5": 3, "Walker2d-v5": 6, "Ant-v5": 8}


def task_setup(env_id: str, models: int, n: int, horizon: int, seed: int = 0):
    """A small ensemble whose states stay in a box around plausible values of the task, so that
    trajectories stay bounded and the tasks' terminations happen now and then."""
    torch.manual_seed(seed)
    obs_dim, act_dim = OBS_DIMS[env_id], ACT_DIMS[env_id]
    ensemble = DynamicsEnsemble(obs_dim, act_dim, models=models, hidden=(32, 32))
    with torch.no_grad():
        ensemble.delta_std.fill_(0.05)
        ensemble.obs_low.fill_(-3.0)
        ensemble.obs_high.fill_(3.0)
        ensemble.obs_low[0], ensemble.obs_high[0] = 0.5, 1.5  # a height for Hopper, Walker and Ant
    policy = GaussianPolicy(obs_dim, act_dim, hidden=(16, 16))
    params = policy.theta.detach() + 0.3 * torch.randn(models, policy.size)
    starts = (torch.rand(models, n, obs_dim) - 0.5) * 0.2
    starts[..., 0] += 1.0
    return ensemble, policy, params, starts, torch.randn(models, n, horizon, act_dim)


def assert_same_trajectories(a, b, tolerance: float = 1e-5) -> None:
    assert torch.equal(a.dones, b.dones)
    for name in ("obs", "actions", "rewards", "log_probs"):
        x, y = getattr(a, name), getattr(b, name)
        assert x.shape == y.shape and x.dtype == y.dtype == torch.float32, name
        scale = max(1.0, float(y.abs().max()))
        assert float((x - y).abs().max()) <= tolerance * scale, name


@pytest.mark.parametrize("path", PATHS)
@pytest.mark.parametrize("env_id", list(OBS_DIMS))
def test_numba_backend_matches_the_torch_reference(env_id, path):
    ensemble, policy, params, starts, noise = task_setup(env_id, models=3, n=7, horizon=40)
    task = TASKS[env_id]
    reference = torch_rollout(ensemble, policy, params, starts, noise, task)
    assert_same_trajectories(numba_rollout(ensemble, policy, params, starts, noise, task, path), reference)
    if task.terminated is not TASKS["Pendulum-v1"].terminated:
        assert reference.dones.any()  # the comparison covered terminations and their padding


@pytest.mark.parametrize("path", PATHS)
def test_numba_backend_pads_layers_of_any_width(path):
    """Hidden widths that are not multiples of the kernel's tile: the zero padding changes nothing."""
    torch.manual_seed(2)
    ensemble = DynamicsEnsemble(3, 1, models=2, hidden=(13, 6))
    policy = GaussianPolicy(3, 1, hidden=(7,))
    params = policy.theta.detach() + 0.3 * torch.randn(2, policy.size)
    starts, noise = torch.randn(2, 9, 3), torch.randn(2, 9, 12, 1)
    task = TASKS["Pendulum-v1"]
    ensemble.obs_low.fill_(-3.0)
    ensemble.obs_high.fill_(3.0)
    assert_same_trajectories(
        numba_rollout(ensemble, policy, params, starts, noise, task, path),
        torch_rollout(ensemble, policy, params, starts, noise, task),
    )


@pytest.mark.parametrize("path", PATHS)
def test_numba_backend_runs_a_wide_first_layer_transposed(path):
    """A model's first layer with many units on few inputs (HalfCheetah's 23 inputs, padded to 32, into 160
    units; 160 is not a multiple of _dense_wide's vector width) is packed transposed and matches the
    reference; so does a wide first layer of the policy (17 inputs, padded to 32, into 128 units)."""
    *_, starts, noise = task_setup("HalfCheetah-v5", models=2, n=7, horizon=30)
    ensemble = DynamicsEnsemble(17, 6, models=2, hidden=(160, 24))
    policy = GaussianPolicy(17, 6, hidden=(128,))
    params = policy.theta.detach() + 0.3 * torch.randn(2, policy.size)
    with torch.no_grad():
        ensemble.delta_std.fill_(0.05)
        ensemble.obs_low.fill_(-3.0)
        ensemble.obs_high.fill_(3.0)
    model_w, _ = numba_backend._packed(ensemble.snapshot().layers)
    assert model_w[0].shape == (2, 32, 160) and model_w[1].shape == (2, 24, 160)
    task = TASKS["HalfCheetah-v5"]
    assert_same_trajectories(
        numba_rollout(ensemble, policy, params, starts, noise, task, path),
        torch_rollout(ensemble, policy, params, starts, noise, task),
    )


@pytest.mark.parametrize("path", PATHS)
@pytest.mark.parametrize("threads", [1, 2, 3])
def test_numba_backend_splits_trajectories_into_shares_and_blocks_exactly(threads, path, monkeypatch):
    """Shares that cut through a model, blocks cut at MAX_BLOCK_ROWS, BLAS chunks cut at
    BLAS_CHUNK_ROWS, every trajectory run once."""
    ensemble, policy, params, starts, noise = task_setup("HalfCheetah-v5", models=3, n=601, horizon=3)
    task = TASKS["HalfCheetah-v5"]
    monkeypatch.setattr(numba_backend, "BLAS_CHUNK_ROWS", 258)
    assert MAX_BLOCK_ROWS < 258 < 601
    previous = numba.get_num_threads()
    numba.set_num_threads(min(threads, numba.config.NUMBA_NUM_THREADS))
    try:
        assert_same_trajectories(
            numba_rollout(ensemble, policy, params, starts, noise, task, path),
            torch_rollout(ensemble, policy, params, starts, noise, task),
        )
    finally:
        numba.set_num_threads(previous)


@pytest.mark.parametrize("env_id", list(OBS_DIMS))
def test_compiled_rewards_match_the_tasks(env_id):
    torch.manual_seed(1)
    task, rows = TASKS[env_id], 200
    obs = torch.randn(rows, OBS_DIMS[env_id]) * 0.6
    obs[:, 0] += 1.0
    next_obs = obs + 0.3 * torch.randn_like(obs)
    actions = torch.rand(rows, ACT_DIMS[env_id]) * 2 - 1
    rewards = task.reward(obs, actions, next_obs)
    terminated = task.terminated(next_obs)
    compiled = [
        step_reward(TASK_CODES[env_id], *(x[i].numpy() for x in (obs, actions, next_obs)))
        for i in range(rows)
    ]
    np.testing.assert_allclose([r for r, _ in compiled], rewards.numpy(), rtol=1e-5, atol=1e-5)
    assert [d for _, d in compiled] == terminated.tolist()


def test_calibration_times_both_paths_once_per_size_and_keeps_the_faster(monkeypatch):
    """Calibration on a clock that each path moves by its own cost: the cheaper path is chosen, once."""
    ensemble, policy, params, starts, noise = task_setup("HalfCheetah-v5", models=2, n=5, horizon=4)
    task = TASKS["HalfCheetah-v5"]
    clock = [0.0]
    monkeypatch.setattr(numba_backend.time, "perf_counter", lambda: clock[0])
    runs = []

    def costing(name, cost):
        def run(*args):
            runs.append(name)
            clock[0] += cost
            PATHS[name](*args)

        return run

    for slow, fast in (("blas", "fused"), ("fused", "blas")):
        runs.clear()
        monkeypatch.setattr(numba_backend, "PATHS", {slow: costing(slow, 1.0), fast: costing(fast, 0.1)})
        monkeypatch.setattr(numba_backend, "CHOICES", {})
        for _ in range(2):
            numba_rollout(ensemble, policy, params, starts, noise, task)
        assert list(numba_backend.CHOICES.values()) == [fast]
        # Four timed rounds of each path in the first call, then the chosen path alone in each call.
        assert runs.count(slow) == 4 and runs.count(fast) == 6


def test_every_task_has_a_compiled_reward():
    assert set(TASK_CODES) == set(TASKS)


def test_numba_backend_refuses_tasks_it_does_not_know():
    ensemble, policy, params = setup()
    task = Task("test", TASKS["Pendulum-v1"].reward, TASKS["Pendulum-v1"].terminated, action_bound=1.0)
    with pytest.raises(ValueError, match=r"^task: .*'test'"):
        numba_rollout(ensemble, policy, params, torch.randn(K, N, 3), torch.randn(K, N, T, 1), task)


def test_one_compilation_serves_every_size():
    """Per number of layers of the model and of the policy (the packed layers are tuples), one compilation
    serves every ensemble size, batch, horizon and layer width."""
    compiled = []
    for models, n, horizon in ((2, 3, 4), (3, 9, 2)):
        ensemble, policy, params, starts, noise = task_setup("Pendulum-v1", models, n, horizon)
        numba_rollout(ensemble, policy, params, starts, noise, TASKS["Pendulum-v1"])
        compiled.append(len(_rollout_kernel.signatures))
    assert compiled[1] == compiled[0]


CACHE_PROBE = """
import torch
from mbmpo.dynamics import DynamicsEnsemble
from mbmpo.envs import TASKS
from mbmpo.policy import GaussianPolicy
from mbmpo.rollouts.numba_backend import _rollout_kernel, numba_rollout
policy = GaussianPolicy(3, 1, (4,))
numba_rollout(DynamicsEnsemble(3, 1, 1, (4,)), policy, policy.theta.detach()[None],
              torch.zeros(1, 2, 3), torch.zeros(1, 2, 2, 1), TASKS["Pendulum-v1"])
print(sum(_rollout_kernel.stats.cache_hits.values()), sum(_rollout_kernel.stats.cache_misses.values()))
"""


def test_a_new_process_loads_the_compiled_kernel_from_the_cache():
    runs = [
        subprocess.run([sys.executable, "-c", CACHE_PROBE], capture_output=True, text=True, check=True)
        for _ in range(2)
    ]
    hits, misses = (int(x) for x in runs[1].stdout.split())
    assert (hits, misses) == (1, 0)


def test_auto_picks_the_gpu_only_where_there_is_one(monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    assert backend_name("auto") == "numba"
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    assert backend_name("auto") == "cuda"
    assert backend_name("torch") == "torch"


SIMULATED_KERNEL = """
import sys
import time
from functools import partial
import torch
sys.path.insert(0, {tests!r})
from test_mbmpo_rollouts import assert_same_trajectories, task_setup
from mbmpo.envs import TASKS
from mbmpo.rollouts import cuda_backend, torch_rollout
cuda_backend.THREADS = 32
for env_id, horizon in (("HalfCheetah-v5", 3), ("Ant-v5", 6)):
    ensemble, policy, params, starts, noise = task_setup(env_id, models=2, n=9, horizon=horizon)
    task = TASKS[env_id]
    assert_same_trajectories(
        cuda_backend.cuda_rollout(ensemble, policy, params, starts, noise, task),
        torch_rollout(ensemble, policy, params, starts, noise, task),
    )
print("same")
"""


def test_the_cuda_kernel_on_numbas_simulator_matches_the_torch_reference():
    """The kernel's logic, run by numba's CUDA simulator (threads in Python) where there is no GPU."""
    script = SIMULATED_KERNEL.format(tests=str(Path(__file__).parent))
    env = {**os.environ, "NUMBA_ENABLE_CUDASIM": "1"}
    run = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, env=env)
    assert run.returncode == 0 and run.stdout.strip() == "same", run.stderr[-2000:]


def test_the_gpu_backend_gives_the_kernel_small_batches_and_torch_large_ones(monkeypatch):
    calls = []
    monkeypatch.setattr(cuda_backend, "kernel_refusal", lambda *args: None)
    monkeypatch.setattr(cuda_backend, "cuda_rollout", lambda *args: calls.append("kernel"))
    monkeypatch.setattr(cuda_backend, "torch_rollout", lambda *args, device: calls.append(device))
    ensemble, policy, params = setup()
    for n in (1, cuda_backend.KERNEL_MAX_TRAJECTORIES, cuda_backend.KERNEL_MAX_TRAJECTORIES + 1):
        BACKENDS["cuda"](
            ensemble, policy, params, torch.zeros(K, n, 3), torch.zeros(K, n, 2, 1), TASKS["Pendulum-v1"]
        )
    assert calls == ["kernel", "kernel", "cuda"]


def test_a_kernel_that_fails_to_compile_hands_over_to_torch_with_one_warning(monkeypatch):
    """As numba-cuda 0.30.4 does under numpy 2.5 (np.row_stack is gone): torch on the GPU from then on."""
    calls = []

    def broken_kernel(*args):
        raise AttributeError("module 'numpy' has no attribute 'row_stack'")

    monkeypatch.setattr(cuda_backend.cuda, "is_available", lambda: True)
    monkeypatch.setattr(cuda_backend, "_compile_failure", None)
    monkeypatch.setattr(cuda_backend, "cuda_rollout", broken_kernel)
    monkeypatch.setattr(cuda_backend, "torch_rollout", lambda *args, device: calls.append(device))
    ensemble, policy, params = setup()
    task = TASKS["Pendulum-v1"]
    args = (ensemble, policy, params, torch.zeros(K, N, 3), torch.zeros(K, N, T, 1), task)
    with pytest.warns(
        RuntimeWarning, match=r"^numba-cuda could not compile the kernel here \(AttributeError"
    ):
        BACKENDS["cuda"](*args)
    BACKENDS["cuda"](*args)
    assert calls == ["cuda", "cuda"]
    assert cuda_backend.kernel_refusal(ensemble, policy, task).endswith("no attribute 'row_stack')")


def test_a_kernel_that_ran_before_raises_its_errors(monkeypatch):
    def failing_kernel(*args):
        raise RuntimeError("launch failed")

    monkeypatch.setattr(cuda_backend.cuda, "is_available", lambda: True)
    monkeypatch.setattr(cuda_backend, "_compile_failure", None)
    monkeypatch.setattr(cuda_backend, "cuda_rollout", failing_kernel)
    monkeypatch.setattr(cuda_backend, "_rollout_kernel", type("Compiled", (), {"overloads": {"sig": None}}))
    ensemble, policy, params = setup()
    with pytest.raises(RuntimeError, match="launch failed"):
        BACKENDS["cuda"](
            ensemble, policy, params, torch.zeros(K, N, 3), torch.zeros(K, N, T, 1), TASKS["Pendulum-v1"]
        )
    assert cuda_backend._compile_failure is None


def test_the_kernel_names_what_it_cannot_run():
    ensemble, policy, _ = setup()
    unknown = Task("test", TASKS["Pendulum-v1"].reward, TASKS["Pendulum-v1"].terminated, action_bound=1.0)
    wide = DynamicsEnsemble(3, 1, models=K, hidden=(2048,))
    if cuda_backend.cuda.is_available():
        assert cuda_backend.kernel_refusal(ensemble, policy, unknown).startswith("task: ")
        assert cuda_backend.kernel_refusal(wide, policy, TASKS["Pendulum-v1"]).startswith("model_hidden: ")
        assert cuda_backend.kernel_refusal(ensemble, policy, TASKS["Pendulum-v1"]) is None
    else:
        assert "no GPU" in cuda_backend.kernel_refusal(ensemble, policy, TASKS["Pendulum-v1"])


GPU = pytest.mark.skipif(
    not (torch.cuda.is_available() and cuda_backend.cuda.is_available()),
    reason="needs a CUDA GPU that torch and numba both see",
)


@pytest.mark.gpu
@GPU
@pytest.mark.parametrize("env_id", list(OBS_DIMS))
def test_cuda_kernel_matches_the_cpu_reference(env_id):
    ensemble, policy, params, starts, noise = task_setup(env_id, models=3, n=61, horizon=40)
    task = TASKS[env_id]
    reference = torch_rollout(ensemble, policy, params, starts, noise, task)
    assert_same_trajectories(cuda_rollout(ensemble, policy, params, starts, noise, task), reference)
    if task.terminated is not TASKS["Pendulum-v1"].terminated:
        assert reference.dones.any()


@pytest.mark.gpu
@GPU
def test_gpu_backend_on_a_large_batch_matches_the_cpu_reference():
    n = cuda_backend.KERNEL_MAX_TRAJECTORIES + 3
    ensemble, policy, params, starts, noise = task_setup("Hopper-v5", models=2, n=n, horizon=5)
    task = TASKS["Hopper-v5"]
    assert_same_trajectories(
        BACKENDS["cuda"](ensemble, policy, params, starts, noise, task),
        torch_rollout(ensemble, policy, params, starts, noise, task),
    )
