"""Imagined rollouts: the policy acting in the learned models, through one interface for every backend.

A backend is a function with the signature of `Rollout`. The Gaussian noise is an input, so two backends
given the same noise must return the same trajectories (up to floating point).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

import torch
from torch import Tensor

from .dynamics import DynamicsEnsemble
from .envs import Task
from .policy import GaussianPolicy


@dataclass(frozen=True)
class Trajectories:
    """N imagined trajectories of T steps in each of K models, indexed [k, n, t]."""

    obs: Tensor
    """(K, N, T, obs_dim) the state each action was taken in."""
    actions: Tensor
    """(K, N, T, act_dim) the sampled actions, before clipping to the action bounds."""
    rewards: Tensor
    """(K, N, T) the task's reward of each step; 0 after a termination."""
    dones: Tensor
    """(K, N, T) bool, true on the step that terminated the trajectory."""
    log_probs: Tensor
    """(K, N, T) log π(a | s) of the sampled actions under the parameters that sampled them."""

    def returns(self) -> Tensor:
        """Undiscounted return of each trajectory, (K, N)."""
        return self.rewards.sum(-1)


class Rollout(Protocol):
    def __call__(
        self,
        ensemble: DynamicsEnsemble,
        policy: GaussianPolicy,
        params: Tensor,
        start_states: Tensor,
        noise: Tensor,
        task: Task,
    ) -> Trajectories:
        """Roll out policy parameters params[k] (K, P) in model k from start_states[k] (K, N, obs_dim) for
        T steps, with action noise (K, N, T, act_dim) of standard normal draws; T is noise.shape[2]."""
        ...


@torch.no_grad()
def torch_rollout(
    ensemble: DynamicsEnsemble,
    policy: GaussianPolicy,
    params: Tensor,
    start_states: Tensor,
    noise: Tensor,
    task: Task,
) -> Trajectories:
    """The reference backend: one batched policy and ensemble pass per time step."""
    k, n, horizon, _ = noise.shape
    states = start_states
    ended = torch.zeros(k, n, dtype=torch.bool)
    steps = []
    for t in range(horizon):
        actions, log_probs = policy.sample(params, states, noise[:, :, t])
        clipped = actions.clamp(-task.action_bound, task.action_bound)
        next_states = ensemble.predict(states, clipped)
        rewards = task.reward(states, clipped, next_states) * ~ended
        dones = task.terminated(next_states) & ~ended
        steps.append((states, actions, rewards, dones, log_probs))
        ended |= dones
        # A terminated trajectory stays where it ended, so the padding steps hold finite states.
        states = torch.where(ended.unsqueeze(-1), states, next_states)
    obs, actions, rewards, dones, log_probs = (
        torch.stack(column, dim=2) for column in zip(*steps, strict=True)
    )
    return Trajectories(obs, actions, rewards, dones, log_probs)


BACKENDS: dict[str, Rollout] = {"torch": torch_rollout}
"""Rollout backends by name (MBMPOConfig.backend)."""
