"""The known reward and termination functions of the supported tasks, vectorised over any leading dims.

MB-MPO learns the dynamics only; rewards and terminations of imagined steps come from these functions.
Each takes torch tensors `obs` (..., obs_dim), `action` (..., act_dim) already clipped to the action
bounds, and `next_obs`; rewards have shape (...) and terminations are boolean of shape (...).

Pendulum's reward and every termination are exact. The MuJoCo rewards' forward term is approximate (see
half_cheetah_reward); tests/mbmpo/test_mbmpo_envs.py checks the error bounds stated here.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import torch
from torch import Tensor

RewardFn = Callable[[Tensor, Tensor, Tensor], Tensor]
TerminatedFn = Callable[[Tensor], Tensor]


@dataclass(frozen=True)
class Task:
    """A gymnasium environment as MB-MPO sees it."""

    env_id: str
    reward: RewardFn
    """reward(obs, action, next_obs) of one step."""
    terminated: TerminatedFn
    """terminated(next_obs): the step ended the episode (not a time limit)."""
    action_bound: float
    """Actions are clipped to [-action_bound, action_bound] before the env, the model and the reward."""


def never_terminates(next_obs: Tensor) -> Tensor:
    return torch.zeros(next_obs.shape[:-1], dtype=torch.bool, device=next_obs.device)


def pendulum_reward(obs: Tensor, action: Tensor, next_obs: Tensor) -> Tensor:
    """Exact: the angle before the step is atan2(sin θ, cos θ) of obs = (cos θ, sin θ, θ̇)."""
    theta = torch.atan2(obs[..., 1], obs[..., 0])
    torque = action[..., 0].clamp(-2.0, 2.0)
    return -(theta**2 + 0.1 * obs[..., 2] ** 2 + 0.001 * torque**2)


def _forward_velocity(obs: Tensor, next_obs: Tensor, index: int) -> Tensor:
    # The env rewards the mean x-velocity over the step, (x' - x) / dt; the observation holds the
    # instantaneous velocity qvel[0] before and after the step, whose mean approximates it.
    return 0.5 * (obs[..., index] + next_obs[..., index])


def half_cheetah_reward(obs: Tensor, action: Tensor, next_obs: Tensor) -> Tensor:
    """Approximate: the forward term uses the mean of qvel[0] (obs[8]) before and after the step instead
    of the displacement over dt: under random actions off by 0.15 per step on average (at most about 1),
    but by under 0.03 per step over a whole episode, where the errors mostly cancel. Exact in the control
    cost."""
    return _forward_velocity(obs, next_obs, 8) - 0.1 * (action**2).sum(-1)


def hopper_healthy(obs: Tensor) -> Tensor:
    """Height above 0.7, torso angle within ±0.2, every other entry within ±100 (the env checks the
    unclipped velocities, the observation holds them clipped to ±10: this cannot see a velocity beyond
    ±100)."""
    state_ok = (obs[..., 1:].abs() < 100.0).all(-1)
    return state_ok & (obs[..., 0] > 0.7) & (obs[..., 1].abs() < 0.2)


def hopper_reward(obs: Tensor, action: Tensor, next_obs: Tensor) -> Tensor:
    """Approximate in the forward term (mean of the clipped qvel[0], obs[5], before and after the step),
    exact in the healthy bonus and the control cost."""
    healthy = hopper_healthy(next_obs).to(obs.dtype)
    return _forward_velocity(obs, next_obs, 5) + healthy - 1e-3 * (action**2).sum(-1)


def hopper_terminated(next_obs: Tensor) -> Tensor:
    return ~hopper_healthy(next_obs)


def walker_healthy(obs: Tensor) -> Tensor:
    """Exact: height in (0.8, 2.0) and torso angle in (-1, 1)."""
    z, angle = obs[..., 0], obs[..., 1]
    return (z > 0.8) & (z < 2.0) & (angle.abs() < 1.0)


def walker_reward(obs: Tensor, action: Tensor, next_obs: Tensor) -> Tensor:
    """Approximate in the forward term (mean of the clipped qvel[0], obs[8], before and after the step),
    exact in the healthy bonus and the control cost."""
    healthy = walker_healthy(next_obs).to(obs.dtype)
    return _forward_velocity(obs, next_obs, 8) + healthy - 1e-3 * (action**2).sum(-1)


def walker_terminated(next_obs: Tensor) -> Tensor:
    return ~walker_healthy(next_obs)


def ant_healthy(obs: Tensor) -> Tensor:
    """Exact: every entry finite and the torso height in [0.2, 1.0]."""
    z = obs[..., 0]
    return torch.isfinite(obs).all(-1) & (z >= 0.2) & (z <= 1.0)


def ant_reward(obs: Tensor, action: Tensor, next_obs: Tensor) -> Tensor:
    """Approximate in the forward term (mean of the torso's qvel[0], obs[13], before and after the step);
    exact in the healthy bonus, the control cost and the contact cost (the clipped contact forces are
    obs[27:])."""
    healthy = ant_healthy(next_obs).to(obs.dtype)
    contact = 5e-4 * (next_obs[..., 27:] ** 2).sum(-1)
    return _forward_velocity(obs, next_obs, 13) + healthy - 0.5 * (action**2).sum(-1) - contact


def ant_terminated(next_obs: Tensor) -> Tensor:
    return ~ant_healthy(next_obs)


TASKS: dict[str, Task] = {
    task.env_id: task
    for task in (
        Task("Pendulum-v1", pendulum_reward, never_terminates, action_bound=2.0),
        Task("HalfCheetah-v5", half_cheetah_reward, never_terminates, action_bound=1.0),
        Task("Hopper-v5", hopper_reward, hopper_terminated, action_bound=1.0),
        Task("Walker2d-v5", walker_reward, walker_terminated, action_bound=1.0),
        Task("Ant-v5", ant_reward, ant_terminated, action_bound=1.0),
    )
}


def task_for(env_id: str) -> Task:
    """The task of a supported environment id; ValueError naming the known ones otherwise."""
    if env_id not in TASKS:
        raise ValueError(f"env_id: unknown environment {env_id!r}; choose one of {', '.join(TASKS)}")
    return TASKS[env_id]
