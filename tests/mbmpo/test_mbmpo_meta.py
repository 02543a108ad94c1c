"""The meta-gradient differentiates through the inner step: autograd against finite differences."""

import numpy as np
import torch

from mbmpo.advantages import alive_mask
from mbmpo.config import MBMPOConfig
from mbmpo.meta import (
    Samples,
    adapt,
    first_trajectories,
    meta_fisher_product,
    meta_objective,
    meta_step,
    model_samples,
    samples,
)
from mbmpo.policy import GaussianPolicy
from mbmpo.rollouts import Trajectories
from mbmpo.workers import Workers, model_groups

K, N, T, OBS, ACT = 2, 3, 4, 2, 1
ALPHA = 0.5
"""A large inner step, so the second-order term is far from negligible."""


def fixed_samples(policy: GaussianPolicy, params: torch.Tensor, seed: int) -> Samples:
    """Trajectory data that does not depend on θ, as TRPO's objective sees it."""
    g = torch.Generator().manual_seed(seed)
    obs = torch.randn(K, N, T, OBS, generator=g, dtype=torch.float64)
    actions = torch.randn(K, N, T, ACT, generator=g, dtype=torch.float64)
    with torch.no_grad():
        log_probs = policy.log_prob(params, obs.reshape(K, N * T, OBS), actions.reshape(K, N * T, ACT))
    dones = torch.zeros(K, N, T, dtype=torch.bool)
    dones[1, 0, 2] = True
    rewards = torch.randn(K, N, T, generator=g, dtype=torch.float64) * alive_mask(dones)
    trajectories = Trajectories(obs, actions, rewards, dones, log_probs.reshape(K, N, T))
    return samples(trajectories, discount=0.9, lam=0.95)


def setup() -> tuple[GaussianPolicy, torch.Tensor, Samples, Samples, torch.Tensor]:
    torch.manual_seed(0)
    policy = GaussianPolicy(OBS, ACT, hidden=(3,)).double()
    theta = policy.theta.detach() + 0.3 * torch.randn(policy.size, dtype=torch.float64)
    pre = fixed_samples(policy, theta.expand(K, -1), seed=1)
    post_params = adapt(policy, theta, pre, ALPHA, create_graph=False)
    post = fixed_samples(policy, post_params, seed=2)
    return policy, theta, pre, post, post_params


def test_meta_gradient_matches_finite_differences():
    policy, theta, pre, post, post_params = setup()

    def surrogate(t: torch.Tensor) -> torch.Tensor:
        return meta_objective(policy, t, pre, post, post_params, ALPHA)[0]

    x = theta.clone().requires_grad_()
    (gradient,) = torch.autograd.grad(surrogate(x), x)
    eps = 1e-6
    numeric = torch.zeros_like(theta)
    for i in range(theta.numel()):
        step = torch.zeros_like(theta)
        step[i] = eps
        numeric[i] = (surrogate(theta + step) - surrogate(theta - step)).detach() / (2 * eps)
    np.testing.assert_allclose(gradient.numpy(), numeric.numpy(), rtol=1e-5, atol=1e-8)

    # Without differentiating through the inner step the gradient is visibly different.
    first_order = theta.clone().requires_grad_()
    adapted = adapt(policy, first_order, pre, ALPHA, create_graph=False) + (
        first_order - first_order.detach()
    )
    k_obs = post.trajectories.obs.reshape(K, N * T, OBS)
    k_act = post.trajectories.actions.reshape(K, N * T, ACT)
    ratio = torch.exp(policy.log_prob(adapted, k_obs, k_act).reshape(K, N, T) - post.trajectories.log_probs)
    approx = ((ratio * post.advantages * post.alive).sum((1, 2)) / post.alive.sum((1, 2))).mean()
    (first_order_gradient,) = torch.autograd.grad(approx, first_order)
    assert torch.linalg.norm(first_order_gradient - gradient) > 1e-3 * torch.linalg.norm(gradient)


def test_kl_is_zero_with_zero_gradient_at_the_sampling_parameters():
    policy, theta, pre, post, post_params = setup()
    x = theta.clone().requires_grad_()
    surrogate, kl = meta_objective(policy, x, pre, post, post_params, ALPHA)
    (kl_gradient,) = torch.autograd.grad(kl, x)
    assert abs(float(kl.detach())) < 1e-12
    assert torch.linalg.norm(kl_gradient) < 1e-10
    # At θ_old every ratio is 1 and the normalised advantages average to 0.
    assert abs(float(surrogate.detach())) < 1e-10


def test_adapt_is_one_policy_gradient_step_per_model():
    policy, theta, pre, _, _ = setup()
    adapted = adapt(policy, theta, pre, ALPHA, create_graph=False)
    for k in range(K):
        x = theta.clone().requires_grad_()
        obs = pre.trajectories.obs[k].reshape(N * T, OBS)
        actions = pre.trajectories.actions[k].reshape(N * T, ACT)
        log_probs = policy.log_prob(x, obs, actions).reshape(N, T)
        objective = (log_probs * pre.advantages[k] * pre.alive[k]).sum() / pre.alive[k].sum()
        (gradient,) = torch.autograd.grad(objective, x)
        torch.testing.assert_close(adapted[k], theta + ALPHA * gradient)


def test_fisher_product_equals_the_hessian_of_the_meta_kl():
    policy, theta, pre, post, post_params = setup()
    x = theta.clone().requires_grad_()
    _, kl = meta_objective(policy, x, pre, post, post_params, ALPHA)
    (kl_gradient,) = torch.autograd.grad(kl, x, create_graph=True)
    product = meta_fisher_product(policy, theta, pre, post, post_params, ALPHA)
    for seed in range(3):
        v = torch.randn(theta.shape, generator=torch.Generator().manual_seed(seed), dtype=torch.float64)
        (hessian_v,) = torch.autograd.grad(kl_gradient @ v, x, retain_graph=True)
        np.testing.assert_allclose(product(v).numpy(), hessian_v.numpy(), rtol=1e-10, atol=1e-12)


def test_fisher_product_on_a_subsample_is_the_gauss_newton_matrix_of_the_subsample():
    """Σ_k J_kᵀ F_k J_k, with the inner step's Jacobian J_k and the KL's Hessian F_k both taken on the first
    trajectories only, against explicit matrices."""
    policy, theta, pre, post, post_params = setup()
    pre_head, post_head = first_trajectories(pre, 2), first_trajectories(post, 2)
    assert pre_head.trajectories.obs.shape == (K, 2, T, OBS) and post_head.alive.shape == (K, 2, T)
    torch.testing.assert_close(post_head.advantages, post.advantages[:, :2])
    jacobians = torch.autograd.functional.jacobian(
        lambda x: adapt(policy, x, pre_head, ALPHA, create_graph=True), theta
    )
    obs = post_head.trajectories.obs.reshape(K, 2 * T, OBS)
    alive = post_head.alive.reshape(K, 2 * T)

    def mean_kl(adapted: torch.Tensor) -> torch.Tensor:
        kl = policy.kl(post_params, adapted, obs)
        return ((kl * alive).sum(1) / alive.sum(1)).mean()

    hessian = torch.autograd.functional.hessian(mean_kl, post_params)
    v = torch.randn(theta.shape, generator=torch.Generator().manual_seed(0), dtype=torch.float64)
    expected = sum(jacobians[k].T @ hessian[k, :, k, :] @ jacobians[k] @ v for k in range(K))
    head = meta_fisher_product(policy, theta, pre_head, post_head, post_params, ALPHA)
    np.testing.assert_allclose(head(v).numpy(), expected.numpy(), rtol=1e-9, atol=1e-12)
    full = meta_fisher_product(policy, theta, pre, post, post_params, ALPHA)
    assert not torch.allclose(head(v), full(v))


def test_the_batched_steps_equal_a_loop_over_the_models():
    """The inner steps, the meta-gradient and the Fisher-vector products of all K models in one batched
    pass equal those of K one-model passes: the mean over models of the meta-objective and the KL makes
    the batched gradient and product the mean of the per-model ones."""
    policy, theta, pre, post, post_params = setup()
    one = [(model_samples(pre, k), model_samples(post, k), post_params[k : k + 1]) for k in range(K)]
    looped = torch.cat([adapt(policy, theta, pre_k, ALPHA, create_graph=False) for pre_k, _, _ in one])
    torch.testing.assert_close(
        adapt(policy, theta, pre, ALPHA, create_graph=False), looped, rtol=1e-12, atol=0
    )

    def meta_gradient(pre_, post_, params_):
        x = theta.clone().requires_grad_()
        return torch.autograd.grad(meta_objective(policy, x, pre_, post_, params_, ALPHA)[0], x)[0]

    looped = sum(meta_gradient(*parts) for parts in one) / K
    torch.testing.assert_close(meta_gradient(pre, post, post_params), looped, rtol=1e-10, atol=1e-14)

    v = torch.randn(theta.shape, generator=torch.Generator().manual_seed(0), dtype=torch.float64)
    looped = sum(meta_fisher_product(policy, theta, *parts, ALPHA)(v) for parts in one) / K
    batched = meta_fisher_product(policy, theta, pre, post, post_params, ALPHA)(v)
    torch.testing.assert_close(batched, looped, rtol=1e-10, atol=1e-14)


def test_the_line_search_values_need_no_graph_and_equal_the_differentiable_ones():
    policy, theta, pre, post, post_params = setup()
    candidate = theta + 0.01 * torch.randn(
        theta.shape, generator=torch.Generator().manual_seed(3), dtype=theta.dtype
    )
    values = meta_objective(policy, candidate, pre, post, post_params, ALPHA)
    assert not any(value.requires_grad for value in values)
    differentiable = meta_objective(policy, candidate.clone().requires_grad_(), pre, post, post_params, ALPHA)
    for value, reference in zip(values, differentiable, strict=True):
        torch.testing.assert_close(value, reference.detach(), rtol=1e-12, atol=0)


def test_model_groups_cover_the_models_in_near_equal_contiguous_parts():
    assert model_groups(5, 2) == [slice(0, 2), slice(2, 5)]
    assert model_groups(2, 3) == [slice(0, 1), slice(1, 2)]
    assert model_groups(4, 1) == [slice(0, 4)]


def test_a_meta_step_on_worker_threads_equals_the_step_on_one():
    """The models split over threads, each group's mean weighed by its size: the TRPO step of the whole
    batch, to float64 rounding, and another than the step with the groups' means left unweighed."""
    models, n, horizon = 3, 3, 4
    policy = GaussianPolicy(OBS, ACT, hidden=(3,)).double()
    g = torch.Generator().manual_seed(5)
    obs = torch.randn(models, n, horizon, OBS, generator=g, dtype=torch.float64)
    rewards = torch.randn(models, n, horizon, generator=g, dtype=torch.float64)

    def imagine(params, start_states, noise):
        with torch.no_grad():
            actions, log_probs = policy.sample(
                params, obs.reshape(models, -1, OBS), noise.reshape(models, -1, ACT)
            )
        dones = torch.zeros(models, n, horizon, dtype=torch.bool)
        shape = (models, n, horizon)
        return Trajectories(obs, actions.reshape(*shape, ACT), rewards, dones, log_probs.reshape(shape))

    config = MBMPOConfig(models=models, rollouts_per_model=n, horizon=horizon, inner_lr=ALPHA, max_kl=0.05)
    theta = policy.theta.detach()
    noise = tuple(torch.randn(models, n, horizon, ACT, generator=g, dtype=torch.float64) for _ in range(2))
    starts = (obs[:, :, 0], obs[:, :, 0])
    steps = {}
    for threads in (1, 2, 3):
        workers = Workers(threads)
        steps[threads] = meta_step(policy, theta, imagine, starts, noise, config, workers=workers)[0]
        workers.close()
    assert not torch.equal(steps[1], theta)
    for threads in (2, 3):
        torch.testing.assert_close(steps[threads], steps[1], rtol=1e-10, atol=1e-12)
