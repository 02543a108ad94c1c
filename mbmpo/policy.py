"""The Gaussian MLP policy, written as a function of one flat parameter vector θ.

A flat θ lets the inner step build θ'_k = θ + α g_k as plain tensor arithmetic, lets TRPO work in one
vector space, and lets K policies run in one pass: give θ a leading model dimension (K, P) and the
observations a matching one (K, N, obs_dim).
"""

from __future__ import annotations

import math
from itertools import pairwise

import torch
from torch import Tensor, nn

LOG_2PI = math.log(2.0 * math.pi)
"""log 2π, the constant of a Gaussian's log-density."""


class GaussianPolicy(nn.Module):
    """a ~ N(μ_θ(s), diag(σ²)): μ a tanh MLP, log σ a learned state-independent vector."""

    def __init__(
        self, obs_dim: int, act_dim: int, hidden: tuple[int, ...] = (32, 32), init_log_std: float = 0.0
    ) -> None:
        super().__init__()
        self.obs_dim, self.act_dim = obs_dim, act_dim
        self.sizes = (obs_dim, *hidden, act_dim)
        pieces = []
        for i, (n_in, n_out) in enumerate(pairwise(self.sizes)):
            weight = torch.empty(n_in, n_out)
            nn.init.xavier_uniform_(weight, gain=0.01 if i == len(hidden) else 1.0)
            pieces += [weight.reshape(-1), torch.zeros(n_out)]
        pieces.append(torch.full((act_dim,), float(init_log_std)))
        # θ: each layer's (in, out) weight row-major, then its bias; the log standard deviations last.
        self.theta = nn.Parameter(torch.cat(pieces))

    @property
    def size(self) -> int:
        return self.theta.numel()

    def layers(self, theta: Tensor) -> tuple[list[tuple[Tensor, Tensor]], Tensor]:
        """Views of θ (..., P): each layer's weight (..., in, out) and bias (..., 1, out), and log σ
        (..., 1, act_dim)."""
        batch = theta.shape[:-1]
        layers, offset = [], 0
        for n_in, n_out in pairwise(self.sizes):
            weight = theta[..., offset : offset + n_in * n_out].reshape(*batch, n_in, n_out)
            offset += n_in * n_out
            layers.append((weight, theta[..., offset : offset + n_out].unsqueeze(-2)))
            offset += n_out
        return layers, theta[..., offset:].unsqueeze(-2)

    def mean_and_log_std(self, theta: Tensor, obs: Tensor) -> tuple[Tensor, Tensor]:
        """μ (..., N, act_dim) and log σ (..., 1, act_dim) for θ (..., P), observations (..., N, obs_dim)."""
        layers, log_std = self.layers(theta)
        h = obs
        for i, (weight, bias) in enumerate(layers):
            h = h @ weight + bias
            if i < len(layers) - 1:
                h = torch.tanh(h)
        return h, log_std

    def log_prob(self, theta: Tensor, obs: Tensor, actions: Tensor) -> Tensor:
        """log π_θ(a | s) of shape (..., N)."""
        mean, log_std = self.mean_and_log_std(theta, obs)
        z = (actions - mean) * torch.exp(-log_std)
        return -0.5 * (z**2).sum(-1) - log_std.sum(-1) - 0.5 * self.act_dim * LOG_2PI

    def kl(self, theta_old: Tensor, theta: Tensor, obs: Tensor) -> Tensor:
        """KL(π_θold(· | s) ‖ π_θ(· | s)) of shape (..., N)."""
        mean_old, log_std_old = self.mean_and_log_std(theta_old, obs)
        mean, log_std = self.mean_and_log_std(theta, obs)
        var_old, var = torch.exp(2 * log_std_old), torch.exp(2 * log_std)
        terms = log_std - log_std_old + (var_old + (mean_old - mean) ** 2) / (2 * var) - 0.5
        return terms.sum(-1)

    def sample(self, theta: Tensor, obs: Tensor, noise: Tensor) -> tuple[Tensor, Tensor]:
        """Actions μ + σ·noise and their log-probabilities, for standard normal `noise` (..., N, act_dim)."""
        mean, log_std = self.mean_and_log_std(theta, obs)
        actions = mean + torch.exp(log_std) * noise
        log_prob = -0.5 * (noise**2).sum(-1) - log_std.sum(-1) - 0.5 * self.act_dim * LOG_2PI
        return actions, log_prob
