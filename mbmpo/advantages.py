"""Advantages of imagined trajectories: the linear feature baseline and generalised advantage estimation.

Trajectories here are tensors with the time axis last but one for observations (..., T, obs_dim) and last
for everything else (..., T); `dones[..., t]` marks a step that ended its episode and `alive[..., t]` a
step that happened (no termination before it). A trajectory cut by the horizon ends with value 0.
"""

from __future__ import annotations

import torch
from torch import Tensor

RIDGE = 1e-5
"""Ridge coefficient of the baseline's least-squares fit."""

TIME_SCALE = 100.0
"""The time features are t / TIME_SCALE, and its square and cube, so they stay near 1 over a horizon."""


def alive_mask(dones: Tensor) -> Tensor:
    """1.0 where no earlier step terminated the trajectory, else 0.0; same shape as dones (..., T)."""
    ended_before = torch.cumsum(dones.to(torch.float64), dim=-1) - dones.to(torch.float64)
    return (ended_before == 0).to(torch.get_default_dtype())


def discounted_returns(rewards: Tensor, dones: Tensor, discount: float) -> Tensor:
    """Reward-to-go G_t = r_t + γ (1 − done_t) G_{t+1}, with G_T = 0."""
    returns = torch.zeros_like(rewards)
    running = torch.zeros_like(rewards[..., 0])
    for t in reversed(range(rewards.shape[-1])):
        running = rewards[..., t] + discount * (~dones[..., t]) * running
        returns[..., t] = running
    return returns


def baseline_features(obs: Tensor) -> Tensor:
    """(s, s², t, t², t³, 1) per step, (..., T, 2·obs_dim + 4), observations clipped to ±10 as in rllab's
    linear feature baseline."""
    s = obs.clamp(-10.0, 10.0)
    t = torch.arange(obs.shape[-2], dtype=obs.dtype) / TIME_SCALE
    t = t.reshape(t.shape[0], 1).expand(*obs.shape[:-1], 1)
    return torch.cat([s, s**2, t, t**2, t**3, torch.ones_like(t)], dim=-1)


def fit_baseline(features: Tensor, targets: Tensor, weights: Tensor) -> Tensor:
    """Ridge regression coefficients (K, F) of targets (K, M) on features (K, M, F), rows weighted by
    `weights` (K, M) (0 drops a row)."""
    x = features.to(torch.float64)
    w = weights.to(torch.float64).unsqueeze(-1)
    gram = x.transpose(-1, -2) @ (w * x) + RIDGE * torch.eye(x.shape[-1], dtype=torch.float64)
    moment = x.transpose(-1, -2) @ (w * targets.to(torch.float64).unsqueeze(-1))
    return torch.linalg.solve(gram, moment).squeeze(-1).to(features.dtype)


def gae(rewards: Tensor, values: Tensor, dones: Tensor, discount: float, lam: float) -> Tensor:
    """Generalised advantage estimates A_t = δ_t + γλ (1 − done_t) A_{t+1}, where
    δ_t = r_t + γ (1 − done_t) V_{t+1} − V_t and V_T = 0; zero after a termination."""
    advantages = torch.zeros_like(rewards)
    next_value = torch.zeros_like(rewards[..., 0])
    next_advantage = torch.zeros_like(rewards[..., 0])
    for t in reversed(range(rewards.shape[-1])):
        carry = discount * (~dones[..., t])
        delta = rewards[..., t] + carry * next_value - values[..., t]
        next_advantage = delta + carry * lam * next_advantage
        next_value = values[..., t]
        advantages[..., t] = next_advantage
    return advantages * alive_mask(dones)


def advantages(obs: Tensor, rewards: Tensor, dones: Tensor, discount: float, lam: float) -> Tensor:
    """GAE advantages (K, N, T) of K models' trajectories, obs (K, N, T, obs_dim): each model's linear
    feature baseline is fitted to its own discounted returns first."""
    alive = alive_mask(dones)
    features = baseline_features(obs)
    returns = discounted_returns(rewards, dones, discount)
    k, f = obs.shape[0], features.shape[-1]
    coefficients = fit_baseline(features.reshape(k, -1, f), returns.reshape(k, -1), alive.reshape(k, -1))
    values = torch.einsum("kntf,kf->knt", features, coefficients) * alive
    return gae(rewards, values, dones, discount, lam)
