"""The meta-learning step of MB-MPO: adapt to each model by one policy-gradient step, then improve the
pre-adaptation parameters θ by TRPO on how the adapted policies do, differentiating through the adaptation.

For model k, with J_k the vanilla policy-gradient objective on model k's imagined trajectories,

    θ'_k(θ) = θ + α ∇_θ J_k(θ)

and the meta-objective is the mean over k of the TRPO surrogate of π_θ'_k(θ) on the trajectories that
π_θ'_k sampled in model k. Its gradient in θ flows through ∇_θ J_k (second order), because the inner
gradient is built with create_graph=True.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import torch
from torch import Tensor

from .advantages import advantages, alive_mask
from .config import MBMPOConfig
from .phases import PhaseClock
from .policy import GaussianPolicy
from .rollouts import Trajectories
from .trpo import trpo_step
from .workers import Workers, model_groups

Imagine = Callable[[Tensor, Tensor, Tensor], Trajectories]
"""(params (K, P), start_states (K, N, obs_dim), noise (K, N, T, act_dim)) -> imagined trajectories."""


@dataclass(frozen=True)
class Samples:
    """Trajectories of K models with their advantages, normalised per model over the steps that happened."""

    trajectories: Trajectories
    advantages: Tensor
    """(K, N, T)"""
    alive: Tensor
    """(K, N, T) 1.0 for steps that happened, 0.0 after a termination."""


@dataclass(frozen=True)
class MetaStats:
    """What one meta-step saw and did."""

    return_before: float
    """Mean imagined return before adaptation (θ)."""
    return_after: float
    """Mean imagined return after adaptation (θ'_k in model k)."""
    kl: float
    """Mean KL of the accepted TRPO step (0 if the line search accepted none)."""


def samples(trajectories: Trajectories, discount: float, lam: float) -> Samples:
    """Attach each model's GAE advantages, shifted and scaled to mean 0, std 1 over its live steps."""
    alive = alive_mask(trajectories.dones)
    raw = advantages(trajectories.obs, trajectories.rewards, trajectories.dones, discount, lam)
    count = alive.sum(dim=(1, 2), keepdim=True)
    mean = (raw * alive).sum(dim=(1, 2), keepdim=True) / count
    std = torch.sqrt((((raw - mean) * alive) ** 2).sum(dim=(1, 2), keepdim=True) / count)
    return Samples(trajectories, (raw - mean) / (std + 1e-8) * alive, alive)


def _sliced(samples: Samples, index: tuple[slice, ...]) -> Samples:
    """Every tensor of `samples` indexed by `index` over its leading (model, trajectory) dimensions."""
    t = samples.trajectories
    part = Trajectories(*(field[index] for field in (t.obs, t.actions, t.rewards, t.dones, t.log_probs)))
    return Samples(part, samples.advantages[index], samples.alive[index])


def first_trajectories(samples: Samples, count: int) -> Samples:
    """The first `count` trajectories of every model: a fair subsample, as trajectories are independent."""
    return _sliced(samples, (slice(None), slice(count)))


def model_samples(samples: Samples, model: int) -> Samples:
    """Model `model`'s samples alone, as the samples of a one-model ensemble."""
    return _sliced(samples, (slice(model, model + 1),))


def _log_probs(policy: GaussianPolicy, params: Tensor, trajectories: Trajectories) -> Tensor:
    """log π_params[k](a | s) of model k's steps, (K, N, T)."""
    k, n, t, _ = trajectories.obs.shape
    obs = trajectories.obs.reshape(k, n * t, -1)
    actions = trajectories.actions.reshape(k, n * t, -1)
    return policy.log_prob(params, obs, actions).reshape(k, n, t)


def _per_model_mean(values: Tensor, alive: Tensor) -> Tensor:
    return (values * alive).sum(dim=(1, 2)) / alive.sum(dim=(1, 2))


def _inner_gradients(policy: GaussianPolicy, stacked: Tensor, pre: Samples, create_graph: bool) -> Tensor:
    """∇ J_k at row k of stacked (K, P), which requires grad; J_k is the mean over model k's live steps
    of log π(a | s) · A(s, a)."""
    objective = _per_model_mean(_log_probs(policy, stacked, pre.trajectories) * pre.advantages, pre.alive)
    # Row k of the gradient of the sum is ∇ J_k, since J_k depends on row k only.
    (gradient,) = torch.autograd.grad(objective.sum(), stacked, create_graph=create_graph)
    return gradient


def _mean_kl(policy: GaussianPolicy, post: Samples, post_params: Tensor, adapted: Tensor) -> Tensor:
    """Mean over models of the mean KL from π_post_params[k] to π_adapted[k] on model k's live steps."""
    k, n, t, _ = post.trajectories.obs.shape
    kl = policy.kl(post_params, adapted, post.trajectories.obs.reshape(k, n * t, -1)).reshape(k, n, t)
    return _per_model_mean(kl, post.alive).mean()


def adapt(policy: GaussianPolicy, theta: Tensor, pre: Samples, inner_lr: float, create_graph: bool) -> Tensor:
    """θ'_k = θ + α ∇_θ J_k(θ) for every model k, (K, P); J_k is the mean over model k's live steps of
    log π_θ(a | s) · A(s, a). With create_graph the result stays a differentiable function of θ."""
    models = pre.advantages.shape[0]
    stacked = theta.expand(models, -1)
    if not stacked.requires_grad:
        stacked = stacked.clone().requires_grad_()
    adapted = stacked + inner_lr * _inner_gradients(policy, stacked, pre, create_graph)
    return adapted if create_graph else adapted.detach()


def meta_objective(
    policy: GaussianPolicy, theta: Tensor, pre: Samples, post: Samples, post_params: Tensor, inner_lr: float
) -> tuple[Tensor, Tensor]:
    """(surrogate, KL) of θ: the mean over models of E[π_θ'_k(a | s) / π_old(a | s) · A] on the
    post-adaptation samples, and the mean KL from π_old to π_θ'_k there; π_old are the adapted policies
    post_params (K, P) that sampled them. Differentiable in θ where θ requires grad; otherwise values only
    (the line search), without building the graph of the inner gradient."""
    adapted = adapt(policy, theta, pre, inner_lr, create_graph=theta.requires_grad)
    ratio = torch.exp(_log_probs(policy, adapted, post.trajectories) - post.trajectories.log_probs)
    surrogate = _per_model_mean(ratio * post.advantages, post.alive).mean()
    return surrogate, _mean_kl(policy, post, post_params, adapted)


def meta_fisher_product(
    policy: GaussianPolicy, theta: Tensor, pre: Samples, post: Samples, post_params: Tensor, inner_lr: float
) -> Callable[[Tensor], Tensor]:
    """v -> H v, H the Hessian at θ of meta_objective's KL, as Σ_k J_kᵀ F_k J_k: J_k = I + α ∇²J_k(θ) the
    Jacobian of the adaptation (symmetric) and F_k the Hessian of the KL in θ'_k. The other term of H
    vanishes because the KL's gradient in θ'_k is zero at θ'_k(θ) = post_params; computing it this way
    saves differentiating the inner step a third time. Pass subsamples of pre and post
    (first_trajectories) for a cheaper estimate of H."""
    models = pre.advantages.shape[0]
    stacked = theta.detach().expand(models, -1).clone().requires_grad_()
    inner_gradient = _inner_gradients(policy, stacked, pre, create_graph=True)
    adapted = post_params.detach().clone().requires_grad_()
    kl = _mean_kl(policy, post, post_params.detach(), adapted)
    (kl_gradient,) = torch.autograd.grad(kl, adapted, create_graph=True)

    def jacobian_product(vectors: Tensor) -> Tensor:
        """J_k v_k for each row v_k of vectors (K, P)."""
        (product,) = torch.autograd.grad((inner_gradient * vectors).sum(), stacked, retain_graph=True)
        return vectors + inner_lr * product

    def product(v: Tensor) -> Tensor:
        (fisher,) = torch.autograd.grad(
            (kl_gradient * jacobian_product(v.expand(models, -1))).sum(), adapted, retain_graph=True
        )
        return jacobian_product(fisher).sum(dim=0)

    return product


def adapted_policies(
    policy: GaussianPolicy,
    theta: Tensor,
    imagine: Imagine,
    start_states: Tensor,
    noise: Tensor,
    config: MBMPOConfig,
    clock: PhaseClock | None = None,
) -> tuple[Tensor, Samples]:
    """Sample with θ in every model and adapt to each: (θ'_k (K, P), the pre-adaptation samples). `clock`
    counts the time under meta/rollouts, meta/advantages and meta/adaptation."""
    clock = clock or PhaseClock()
    models = start_states.shape[0]
    with clock.phase("meta/rollouts"):
        trajectories = imagine(theta.detach().expand(models, -1), start_states, noise)
    with clock.phase("meta/advantages"):
        pre = samples(trajectories, config.discount, config.gae_lambda)
    with clock.phase("meta/adaptation"):
        return adapt(policy, theta.detach(), pre, config.inner_lr, create_graph=False), pre


def meta_step(
    policy: GaussianPolicy,
    theta: Tensor,
    imagine: Imagine,
    start_states: tuple[Tensor, Tensor],
    noise: tuple[Tensor, Tensor],
    config: MBMPOConfig,
    clock: PhaseClock | None = None,
    workers: Workers | None = None,
) -> tuple[Tensor, MetaStats]:
    """One MB-MPO meta-step: imagined trajectories with θ, adaptation, imagined trajectories with every
    θ'_k, and a TRPO step on θ. start_states and noise hold (before adaptation, after adaptation).
    The conjugate gradient's curvature is estimated on config.curvature_fraction of the trajectories;
    the step is sized and checked on all of them. `clock` counts the time by phase (meta/...).

    The TRPO step's gradient, Fisher-vector products and line-search values are means over the models:
    `workers` splits the models into one group per thread (model_groups), computes each group's mean in
    one batched pass on its thread and weighs the groups by their sizes. One thread (the default) is one
    group, the whole batch."""
    clock = clock or PhaseClock()
    workers = workers or Workers(1)
    post_params, pre = adapted_policies(policy, theta, imagine, start_states[0], noise[0], config, clock)
    with clock.phase("meta/rollouts"):
        trajectories = imagine(post_params, start_states[1], noise[1])
    with clock.phase("meta/advantages"):
        post = samples(trajectories, config.discount, config.gae_lambda)
    models = post_params.shape[0]
    curvature_count = math.ceil(config.curvature_fraction * pre.advantages.shape[1])
    groups = [
        (
            _sliced(pre, (group,)),
            _sliced(post, (group,)),
            post_params[group],
            (group.stop - group.start) / models,
        )
        for group in model_groups(models, workers.threads)
    ]

    def weighted_sum(parts: list[Tensor], weights: list[float]) -> Tensor:
        return sum((w * part for part, w in zip(parts, weights, strict=True)), torch.zeros_like(parts[0]))

    weights = [weight for *_, weight in groups]

    def objective(x: Tensor) -> tuple[Tensor, Tensor]:
        def values(group: tuple) -> Tensor:
            pre_g, post_g, params_g, _ = group
            return torch.stack(meta_objective(policy, x, pre_g, post_g, params_g, config.inner_lr))

        surrogate, kl = weighted_sum(workers.map(values, groups), weights)
        return surrogate, kl

    def gradient(x: Tensor) -> tuple[Tensor, Tensor]:
        def group_gradient(group: tuple) -> Tensor:
            pre_g, post_g, params_g, _ = group
            leaf = x.detach().requires_grad_()
            surrogate, _ = meta_objective(policy, leaf, pre_g, post_g, params_g, config.inner_lr)
            (g,) = torch.autograd.grad(surrogate, leaf)
            return torch.cat([surrogate.detach().reshape(1), g])

        both = weighted_sum(workers.map(group_gradient, groups), weights)
        return both[0], both[1:]

    with clock.phase("meta/fisher_cg"):
        products = workers.map(
            lambda group: meta_fisher_product(
                policy,
                theta,
                first_trajectories(group[0], curvature_count),
                first_trajectories(group[1], curvature_count),
                group[2],
                config.inner_lr,
            ),
            groups,
        )

    def fisher_product(v: Tensor) -> Tensor:
        return weighted_sum(workers.map(lambda product: product(v), products), weights)

    step = trpo_step(
        theta,
        objective,
        max_kl=config.max_kl,
        cg_iterations=config.cg_iterations,
        damping=config.cg_damping,
        fisher_product=fisher_product,
        gradient=gradient,
        clock=clock,
    )
    stats = MetaStats(
        return_before=float(pre.trajectories.returns().mean()),
        return_after=float(post.trajectories.returns().mean()),
        kl=step.kl,
    )
    return step.theta, stats
