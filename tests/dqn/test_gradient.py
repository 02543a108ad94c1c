"""DQNGradient against CleanRL's DQN update, finite differences and the TD target's definition."""

import copy

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from gorila_sim.dqn import Batch, DQNGradient, FlatParams, mlp_q_network, set_torch_threads

GAMMA = 0.99


@pytest.fixture(autouse=True)
def one_thread():
    set_torch_threads()


def random_batch(rng: np.random.Generator, size: int, obs_dim: int = 4, n_actions: int = 2) -> Batch:
    return Batch(
        obs=rng.normal(size=(size, obs_dim)).astype(np.float32),
        actions=rng.integers(0, n_actions, size=size),
        rewards=rng.normal(size=size).astype(np.float32),
        next_obs=rng.normal(size=(size, obs_dim)).astype(np.float32),
        terminated=(rng.random(size) < 0.2).astype(np.float32),
    )


def flat(module: torch.nn.Module) -> np.ndarray:
    return torch.cat([p.detach().reshape(-1) for p in module.parameters()]).numpy().copy()


def test_matches_cleanrl_update_with_adam():
    """θ through DQNGradient and Adam on the flat vector follows CleanRL's loop on the network itself."""
    torch.manual_seed(0)
    rng = np.random.default_rng(0)
    q_network = mlp_q_network(4, 2)
    target_network = copy.deepcopy(q_network)
    optimizer = torch.optim.Adam(q_network.parameters(), lr=2.5e-4)

    dqn = DQNGradient(copy.deepcopy(q_network), gamma=GAMMA)
    theta = torch.nn.Parameter(torch.from_numpy(flat(q_network)))
    flat_optimizer = torch.optim.Adam([theta], lr=2.5e-4)
    theta_minus = flat(target_network)

    for step in range(50):
        batch = random_batch(rng, 128)
        if step % 10 == 0:  # target network update
            target_network.load_state_dict(q_network.state_dict())
            theta_minus = theta.detach().numpy().copy()

        # CleanRL dqn.py
        with torch.no_grad():
            target_max, _ = target_network(torch.from_numpy(batch.next_obs)).max(dim=1)
            td_target = torch.from_numpy(batch.rewards) + GAMMA * target_max * (
                1 - torch.from_numpy(batch.terminated)
            )
        old_val = q_network(torch.from_numpy(batch.obs)).gather(1, torch.from_numpy(batch.actions)[:, None])
        loss = F.mse_loss(td_target, old_val.squeeze())
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()

        # Ours: flat θ, flat gradient, Adam on the flat vector.
        result = dqn.compute(batch, theta.detach().numpy().copy(), theta_minus if step % 10 == 0 else None)
        assert result.loss == pytest.approx(loss.item(), rel=1e-5, abs=1e-7)
        flat_optimizer.zero_grad()
        theta.grad = torch.from_numpy(result.gradient)
        flat_optimizer.step()

        np.testing.assert_allclose(theta.detach().numpy(), flat(q_network), atol=1e-5, rtol=0)
    assert not np.allclose(flat(q_network), flat(target_network))  # the parameters did move


def test_gradient_matches_finite_differences():
    torch.manual_seed(1)
    rng = np.random.default_rng(1)
    dqn = DQNGradient(mlp_q_network(3, 2, hidden=(5,)).double(), gamma=GAMMA)
    theta = rng.normal(size=dqn.size)
    dqn.set_target(rng.normal(size=dqn.size))
    batch = random_batch(rng, 16, obs_dim=3)

    result = dqn.compute(batch, theta)
    assert result.gradient.dtype == np.float64
    eps = 1e-6
    numeric = np.empty(dqn.size)
    for i in range(dqn.size):
        step = np.zeros(dqn.size)
        step[i] = eps
        loss_up, loss_down = dqn.compute(batch, theta + step).loss, dqn.compute(batch, theta - step).loss
        numeric[i] = (loss_up - loss_down) / (2 * eps)
    np.testing.assert_allclose(result.gradient, numeric, rtol=1e-5, atol=1e-8)


def q_values(network: torch.nn.Module, theta: np.ndarray, obs: np.ndarray) -> np.ndarray:
    module = copy.deepcopy(network)
    FlatParams(module).set(theta)
    with torch.no_grad():
        return module(torch.from_numpy(obs)).numpy().astype(np.float64)


def test_loss_is_mse_of_td_error_and_terminated_transitions_do_not_bootstrap():
    rng = np.random.default_rng(2)
    network = mlp_q_network(4, 3)
    dqn = DQNGradient(copy.deepcopy(network), gamma=GAMMA)
    size = dqn.size
    theta = rng.normal(size=size).astype(np.float32)
    theta_minus = rng.normal(size=size).astype(np.float32)
    batch = random_batch(rng, 64, n_actions=3)
    assert 0 < batch.terminated.sum() < 64

    q = q_values(network, theta, batch.obs)[np.arange(64), batch.actions]
    next_max = q_values(network, theta_minus, batch.next_obs).max(axis=1)
    td_error = batch.rewards + GAMMA * np.where(batch.terminated == 1.0, 0.0, next_max) - q

    result = dqn.compute(batch, theta, theta_minus)
    assert result.loss == pytest.approx(np.mean(td_error**2), rel=1e-5)
    assert result.abs_loss == pytest.approx(np.mean(np.abs(td_error)), rel=1e-5)
    assert result.gradient.dtype == np.float32
    assert result.gradient.shape == (size,)

    all_terminated = Batch(
        batch.obs, batch.actions, batch.rewards, batch.next_obs, np.ones(64, dtype=np.float32)
    )
    other_target = rng.normal(size=size).astype(np.float32)
    a = dqn.compute(all_terminated, theta, theta_minus)
    b = dqn.compute(all_terminated, theta, other_target)
    assert a.loss == pytest.approx(np.mean((batch.rewards - q) ** 2), rel=1e-5)
    assert a.loss == b.loss
    np.testing.assert_array_equal(a.gradient, b.gradient)


def test_theta_minus_changes_the_target_only():
    rng = np.random.default_rng(3)
    dqn = DQNGradient(mlp_q_network(4, 2), gamma=GAMMA)
    theta = rng.normal(size=dqn.size).astype(np.float32)
    theta_a = rng.normal(size=dqn.size).astype(np.float32)
    theta_b = rng.normal(size=dqn.size).astype(np.float32)
    batch = random_batch(rng, 32)

    with_a = dqn.compute(batch, theta, theta_a)
    with_b = dqn.compute(batch, theta, theta_b)
    assert with_a.loss != with_b.loss
    np.testing.assert_array_equal(flat(dqn.network), theta)  # θ⁻ leaves the online network alone

    # None keeps the last θ⁻; set_target sets it the same way compute does.
    again_b = dqn.compute(batch, theta)
    dqn.set_target(theta_a)
    again_a = dqn.compute(batch, theta)
    assert (again_a.loss, again_b.loss) == (with_a.loss, with_b.loss)
    np.testing.assert_array_equal(again_a.gradient, with_a.gradient)


def test_compute_rejects_bad_parameters():
    dqn = DQNGradient(mlp_q_network(4, 2))
    batch = random_batch(np.random.default_rng(4), 8)
    theta = np.zeros(dqn.size, dtype=np.float32)
    with pytest.raises(ValueError, match="shape"):
        dqn.compute(batch, theta[:-1])
    with pytest.raises(ValueError, match="NaN"):
        dqn.compute(batch, theta, np.full(dqn.size, np.nan, dtype=np.float32))
