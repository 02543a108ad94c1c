"""What every rollout backend returns, and the signature every backend has."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from torch import Tensor

from ..dynamics import DynamicsEnsemble
from ..envs import Task
from ..policy import GaussianPolicy


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
        T steps, with action noise (K, N, T, act_dim) of standard normal draws; T is noise.shape[2].

        Every step: a = μ(s) + σ · noise, clipped to the action bounds for the model and the reward;
        s' from the model; a trajectory that terminates stays at its last state and earns 0 from then on.
        """
        ...
