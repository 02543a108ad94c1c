"""A uniform replay memory: a bounded ring buffer of transitions in preallocated numpy arrays."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True, slots=True)
class Batch:
    """Transitions as arrays with a leading batch axis; `terminated` is 1.0 where the episode ended."""

    obs: np.ndarray
    actions: np.ndarray  # int64
    rewards: np.ndarray  # float32
    next_obs: np.ndarray
    terminated: np.ndarray  # float32, 0.0 or 1.0


class ReplayBuffer:
    """Holds the last `capacity` transitions; `sample` draws uniformly with replacement."""

    def __init__(self, capacity: int, obs_shape: tuple[int, ...], obs_dtype: np.dtype = np.float32) -> None:
        if capacity < 1:
            raise ValueError(f"capacity must be at least 1, got {capacity}")
        self.capacity = capacity
        self._obs = np.zeros((capacity, *obs_shape), dtype=obs_dtype)
        self._next_obs = np.zeros((capacity, *obs_shape), dtype=obs_dtype)
        self._actions = np.zeros(capacity, dtype=np.int64)
        self._rewards = np.zeros(capacity, dtype=np.float32)
        self._terminated = np.zeros(capacity, dtype=np.float32)
        self._next = 0  # where the next transition goes
        self._size = 0

    def __len__(self) -> int:
        return self._size

    def add(
        self, obs: np.ndarray, action: int, reward: float, next_obs: np.ndarray, terminated: bool
    ) -> None:
        """Store one transition, overwriting the oldest when full."""
        i = self._next
        self._obs[i] = obs
        self._actions[i] = action
        self._rewards[i] = reward
        self._next_obs[i] = next_obs
        self._terminated[i] = terminated
        self._next = (i + 1) % self.capacity
        self._size = min(self._size + 1, self.capacity)

    def add_batch(
        self,
        obs: np.ndarray,
        actions: np.ndarray,
        rewards: np.ndarray,
        next_obs: np.ndarray,
        terminated: np.ndarray,
    ) -> None:
        """Store transitions in order, as repeated `add` would."""
        n = len(obs)
        if not len(actions) == len(rewards) == len(next_obs) == len(terminated) == n:
            lengths = [len(a) for a in (obs, actions, rewards, next_obs, terminated)]
            raise ValueError(f"transition arrays differ in length: {lengths}")
        skip = max(n - self.capacity, 0)  # transitions that later ones in this batch would overwrite
        index = (self._next + np.arange(skip, n)) % self.capacity
        self._obs[index] = obs[skip:]
        self._actions[index] = actions[skip:]
        self._rewards[index] = rewards[skip:]
        self._next_obs[index] = next_obs[skip:]
        self._terminated[index] = terminated[skip:]
        self._next = (self._next + n) % self.capacity
        self._size = min(self._size + n, self.capacity)

    def sample(self, rng: np.random.Generator, batch_size: int) -> Batch:
        """`batch_size` transitions drawn uniformly with replacement."""
        if self._size == 0:
            raise ValueError("cannot sample from an empty replay buffer")
        index = rng.integers(0, self._size, size=batch_size)
        return Batch(
            obs=self._obs[index],
            actions=self._actions[index],
            rewards=self._rewards[index],
            next_obs=self._next_obs[index],
            terminated=self._terminated[index],
        )

    def clear(self) -> None:
        """Forget all transitions."""
        self._next = 0
        self._size = 0
