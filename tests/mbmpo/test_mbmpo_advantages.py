"""The linear feature baseline and GAE on hand-checkable examples."""

import pytest
import torch

from mbmpo.advantages import advantages, alive_mask, baseline_features, discounted_returns, fit_baseline, gae


def test_gae_on_a_hand_example():
    rewards = torch.tensor([[1.0, 2.0, 3.0]])
    values = torch.tensor([[0.5, 1.0, 1.5]])
    dones = torch.zeros(1, 3, dtype=torch.bool)
    g, lam = 0.9, 0.8
    d2 = 3.0 - 1.5  # the horizon ends with value 0
    d1 = 2.0 + g * 1.5 - 1.0
    d0 = 1.0 + g * 1.0 - 0.5
    a2 = d2
    a1 = d1 + g * lam * a2
    a0 = d0 + g * lam * a1
    torch.testing.assert_close(gae(rewards, values, dones, g, lam), torch.tensor([[a0, a1, a2]]))


def test_gae_stops_at_a_termination_and_zeroes_what_follows():
    rewards = torch.tensor([[1.0, 2.0, 0.0]])
    values = torch.tensor([[0.5, 1.0, 0.0]])
    dones = torch.tensor([[False, True, False]])
    result = gae(rewards, values, dones, 0.9, 0.8)
    a1 = 2.0 - 1.0
    a0 = (1.0 + 0.9 * 1.0 - 0.5) + 0.9 * 0.8 * a1
    torch.testing.assert_close(result, torch.tensor([[a0, a1, 0.0]]))


def test_gae_with_lambda_one_is_returns_minus_values():
    torch.manual_seed(0)
    rewards, values = torch.randn(2, 7), torch.randn(2, 7)
    dones = torch.zeros(2, 7, dtype=torch.bool)
    expected = discounted_returns(rewards, dones, 0.95) - values
    torch.testing.assert_close(gae(rewards, values, dones, 0.95, 1.0), expected)


def test_discounted_returns_and_alive_mask():
    rewards = torch.tensor([1.0, 1.0, 1.0, 5.0])
    dones = torch.tensor([False, False, True, False])
    torch.testing.assert_close(discounted_returns(rewards, dones, 0.5), torch.tensor([1.75, 1.5, 1.0, 5.0]))
    torch.testing.assert_close(alive_mask(dones), torch.tensor([1.0, 1.0, 1.0, 0.0]))


def test_baseline_features_layout():
    obs = torch.tensor([[[2.0, -20.0], [1.0, 0.0]]])  # one trajectory of 2 steps
    f = baseline_features(obs)
    assert f.shape == (1, 2, 8)
    torch.testing.assert_close(f[0, 0], torch.tensor([2.0, -10.0, 4.0, 100.0, 0.0, 0.0, 0.0, 1.0]))
    torch.testing.assert_close(f[0, 1, 4:], torch.tensor([0.01, 0.0001, 0.000001, 1.0]))


def test_baseline_fits_a_linear_function_of_its_features():
    torch.manual_seed(0)
    features = torch.randn(3, 200, 6, dtype=torch.float64)
    coefficients = torch.randn(3, 6, dtype=torch.float64)
    targets = torch.einsum("kmf,kf->km", features, coefficients)
    weights = torch.ones(3, 200, dtype=torch.float64)
    weights[:, 150:] = 0.0
    targets[:, 150:] = 1e6  # dropped rows must not matter
    torch.testing.assert_close(fit_baseline(features, targets, weights), coefficients, rtol=1e-5, atol=1e-5)


def test_advantages_of_a_fully_explained_return_are_zero():
    """When the discounted return is a linear function of time, the baseline explains it exactly."""
    rewards = torch.ones(2, 4, 10)
    dones = torch.zeros(2, 4, 10, dtype=torch.bool)
    obs = torch.zeros(2, 4, 10, 3)
    result = advantages(obs, rewards, dones, discount=1.0, lam=1.0)
    assert result.abs().max() == pytest.approx(0.0, abs=1e-2)  # up to the ridge term
