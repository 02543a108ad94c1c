"""The DQN loss gradient that learners send to the parameter server, and the actors' epsilon-greedy policy."""

from __future__ import annotations

import copy
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from gorila_sim.dqn.params import FlatParams
from gorila_sim.dqn.replay import Batch


def _as_input(x: np.ndarray, dtype: torch.dtype) -> torch.Tensor:
    """`x` as a tensor without copying where possible; float arrays in the network's dtype, frames as is."""
    tensor = torch.as_tensor(x)
    return tensor.to(dtype) if tensor.is_floating_point() else tensor


@dataclass(frozen=True, slots=True)
class GradientResult:
    """One batch's loss, mean |TD error|, and the loss's gradient w.r.t. θ (descent direction: -gradient)."""

    loss: float
    abs_loss: float
    gradient: np.ndarray


class DQNGradient:
    """Computes the DQN loss gradient at parameters θ with target parameters θ⁻, without updating anything.

    Takes over `network` (as the online network, bound to a flat vector) and a copy of it as the target
    network, which keeps `network`'s parameters at construction until `set_target` or `compute` sets θ⁻.
    """

    def __init__(self, network: nn.Module, gamma: float = 0.99) -> None:
        self.gamma = gamma
        self.network = network
        self.target_network = copy.deepcopy(network).requires_grad_(False)
        self._online = FlatParams(self.network)
        self._target = FlatParams(self.target_network)
        self.size = self._online.size
        self._dtype = next(network.parameters()).dtype

    def set_target(self, theta_minus: np.ndarray) -> None:
        """Use `theta_minus` as θ⁻ from now on."""
        self._target.set(theta_minus)

    def compute(
        self, batch: Batch, theta: np.ndarray, theta_minus: np.ndarray | None = None
    ) -> GradientResult:
        """The loss mean((r + γ (1 - terminated) max_a' Q(s', a'; θ⁻) - Q(s, a; θ))²) and its gradient in θ.

        `theta_minus=None` keeps the current θ⁻.
        """
        self._online.set(theta)
        if theta_minus is not None:
            self._target.set(theta_minus)
        obs = _as_input(batch.obs, self._dtype)
        next_obs = _as_input(batch.next_obs, self._dtype)
        actions = torch.as_tensor(batch.actions)
        rewards = _as_input(batch.rewards, self._dtype)
        terminated = _as_input(batch.terminated, self._dtype)

        with torch.no_grad():
            target_max = self.target_network(next_obs).max(dim=1).values
            td_target = rewards + self.gamma * (1.0 - terminated) * target_max
        old_val = self.network(obs).gather(1, actions.unsqueeze(1)).squeeze(1)
        td_error = td_target - old_val
        loss = td_error.square().mean()

        self.network.zero_grad()
        loss.backward()
        return GradientResult(
            loss=loss.item(),
            abs_loss=td_error.detach().abs().mean().item(),
            gradient=self._online.grad(),
        )


class Policy:
    """An actor's epsilon-greedy policy; the network's last Linear layer has one output per action."""

    def __init__(self, network: nn.Module) -> None:
        linears = [m for m in network.modules() if isinstance(m, nn.Linear)]
        if not linears:
            raise ValueError(
                f"cannot tell the number of actions of {type(network).__name__}: no Linear layer"
            )
        self.n_actions = linears[-1].out_features
        self.network = network
        self._params = FlatParams(network)
        self._dtype = next(network.parameters()).dtype

    def set(self, theta: np.ndarray) -> None:
        """Act with parameters `theta` from now on."""
        self._params.set(theta)

    def act(self, obs: np.ndarray, epsilon: float, rng: np.random.Generator) -> int:
        """A uniformly random action with probability `epsilon`, else argmax_a Q(obs, a)."""
        if rng.random() < epsilon:
            return int(rng.integers(self.n_actions))
        with torch.inference_mode():
            q_values = self.network(_as_input(obs, self._dtype).unsqueeze(0))
        return int(q_values.argmax())


def linear_epsilon(start: float, end: float, duration: int, step: int) -> float:
    """Epsilon going linearly from `start` at step 0 to `end` at step `duration`, then staying at `end`."""
    if duration < 1:
        raise ValueError(f"duration must be at least 1, got {duration}")
    return start + min(step / duration, 1.0) * (end - start)
