"""The flat-parameter Gaussian policy against torch.distributions, alone and batched over models."""

import torch
from torch.distributions import Normal, kl_divergence

from mbmpo.policy import GaussianPolicy


def make_policy() -> GaussianPolicy:
    torch.manual_seed(0)
    return GaussianPolicy(obs_dim=3, act_dim=2, hidden=(8, 8), init_log_std=-0.3)


def test_log_prob_and_kl_match_torch_distributions():
    policy = make_policy()
    theta = policy.theta.detach()
    other = theta + 0.1 * torch.randn_like(theta)
    obs, actions = torch.randn(5, 3), torch.randn(5, 2)
    mean, log_std = policy.mean_and_log_std(theta, obs)
    reference = Normal(mean, log_std.exp().expand_as(mean))
    torch.testing.assert_close(policy.log_prob(theta, obs, actions), reference.log_prob(actions).sum(-1))
    mean2, log_std2 = policy.mean_and_log_std(other, obs)
    reference2 = Normal(mean2, log_std2.exp().expand_as(mean2))
    torch.testing.assert_close(policy.kl(theta, other, obs), kl_divergence(reference, reference2).sum(-1))


def test_initial_log_std_and_parameter_count():
    policy = make_policy()
    assert policy.size == (3 * 8 + 8) + (8 * 8 + 8) + (8 * 2 + 2) + 2
    _, log_std = policy.mean_and_log_std(policy.theta.detach(), torch.zeros(1, 3))
    torch.testing.assert_close(log_std, torch.full((1, 2), -0.3))


def test_batched_parameters_equal_one_policy_at_a_time():
    policy = make_policy()
    params = policy.theta.detach() + 0.1 * torch.randn(4, policy.size)
    obs, noise = torch.randn(4, 6, 3), torch.randn(4, 6, 2)
    actions, log_probs = policy.sample(params, obs, noise)
    for k in range(4):
        one_actions, one_log_probs = policy.sample(params[k], obs[k], noise[k])
        torch.testing.assert_close(actions[k], one_actions)
        torch.testing.assert_close(log_probs[k], one_log_probs)
    torch.testing.assert_close(log_probs, policy.log_prob(params, obs, actions))
