"""The bounded memory of real transitions the dynamics ensemble learns from."""

from __future__ import annotations

from typing import Any

import numpy as np
import torch


class TransitionBuffer:
    """The last `capacity` real transitions (s, a, s'), each marked, per model, as training or validation.

    A transition's marks are drawn once, when it is added, so a model never trains on what it validated
    on in an earlier refit."""

    def __init__(
        self,
        capacity: int,
        obs_dim: int,
        act_dim: int,
        models: int,
        validation_fraction: float,
        rng: np.random.Generator,
    ) -> None:
        self.capacity = capacity
        self.validation_fraction = validation_fraction
        self.rng = rng
        self.obs = np.zeros((capacity, obs_dim), dtype=np.float32)
        self.actions = np.zeros((capacity, act_dim), dtype=np.float32)
        self.next_obs = np.zeros((capacity, obs_dim), dtype=np.float32)
        self.validation = np.zeros((capacity, models), dtype=bool)
        self.size = 0
        self._next = 0

    def add(self, obs: np.ndarray, actions: np.ndarray, next_obs: np.ndarray) -> None:
        """Add a batch of transitions, overwriting the oldest once full."""
        n = len(obs)
        slots = (self._next + np.arange(n)) % self.capacity
        self.obs[slots] = obs
        self.actions[slots] = actions
        self.next_obs[slots] = next_obs
        self.validation[slots] = self.rng.random((n, self.validation.shape[1])) < self.validation_fraction
        self._next = int((self._next + n) % self.capacity)
        self.size = min(self.size + n, self.capacity)

    def arrays(self) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """(obs, actions, next_obs, validation marks) of the transitions held, oldest slots first."""
        n = self.size
        return self.obs[:n], self.actions[:n], self.next_obs[:n], self.validation[:n]

    def state_dict(self) -> dict[str, Any]:
        """The transitions held and where the next one goes, as tensors (for a checkpoint)."""
        obs, actions, next_obs, validation = (torch.from_numpy(a.copy()) for a in self.arrays())
        return {
            "obs": obs,
            "actions": actions,
            "next_obs": next_obs,
            "validation": validation,
            "next": self._next,
        }

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Put back what `state_dict` returned."""
        n = len(state["obs"])
        self.obs[:n] = state["obs"].numpy()
        self.actions[:n] = state["actions"].numpy()
        self.next_obs[:n] = state["next_obs"].numpy()
        self.validation[:n] = state["validation"].numpy()
        self.size, self._next = n, int(state["next"])
