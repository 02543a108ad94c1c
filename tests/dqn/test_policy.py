import numpy as np
import pytest
import torch

from gorila_sim.dqn import FlatParams, Policy, linear_epsilon, mlp_q_network, nature_cnn_q_network


def test_epsilon_zero_is_greedy():
    rng = np.random.default_rng(0)
    policy = Policy(mlp_q_network(4, 3))
    assert policy.n_actions == 3
    theta = rng.normal(size=FlatParams(mlp_q_network(4, 3)).size).astype(np.float32)
    policy.set(theta)

    reference = mlp_q_network(4, 3)
    FlatParams(reference).set(theta)
    obs = rng.normal(size=(200, 4)).astype(np.float32)
    with torch.no_grad():
        greedy = reference(torch.from_numpy(obs)).argmax(dim=1).numpy()
    actions = [policy.act(o, 0.0, rng) for o in obs]
    assert all(type(a) is int for a in actions)
    np.testing.assert_array_equal(actions, greedy)
    assert len(set(actions)) > 1  # the test would be weak if one action always won


def test_epsilon_one_is_uniform():
    rng = np.random.default_rng(1)
    policy = Policy(mlp_q_network(4, 3))
    obs = np.zeros(4, dtype=np.float32)
    draws = 30_000
    counts = np.bincount([policy.act(obs, 1.0, rng) for _ in range(draws)], minlength=3)
    chi_square = ((counts - draws / 3) ** 2 / (draws / 3)).sum()
    assert counts.size == 3 and chi_square < 14  # 2 degrees of freedom: P(chi2 > 14) < 0.001


def test_act_casts_float64_observations_and_takes_frames():
    rng = np.random.default_rng(2)
    assert Policy(mlp_q_network(4, 2)).act(np.zeros(4), 0.0, rng) in (0, 1)
    frames = rng.integers(0, 256, size=(4, 84, 84), dtype=np.uint8)
    assert Policy(nature_cnn_q_network(5)).act(frames, 0.0, rng) in range(5)


def test_policy_needs_a_linear_output_layer():
    with pytest.raises(ValueError, match="number of actions"):
        Policy(torch.nn.Conv2d(1, 1, 3))


def test_linear_epsilon():
    assert linear_epsilon(1.0, 0.05, 100, 0) == 1.0
    assert linear_epsilon(1.0, 0.05, 100, 50) == pytest.approx(0.525)
    assert linear_epsilon(1.0, 0.05, 100, 100) == pytest.approx(0.05)
    assert linear_epsilon(1.0, 0.05, 100, 10_000) == pytest.approx(0.05)
    with pytest.raises(ValueError, match="duration"):
        linear_epsilon(1.0, 0.05, 0, 0)
