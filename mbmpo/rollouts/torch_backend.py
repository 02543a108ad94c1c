"""The reference backend: one batched policy pass and one batched ensemble pass per time step, in torch,
on the CPU or on a GPU."""

from __future__ import annotations

import torch
from torch import Tensor

from ..dynamics import DynamicsEnsemble
from ..envs import Task
from ..policy import GaussianPolicy
from .trajectories import Trajectories


@torch.no_grad()
def torch_rollout(
    ensemble: DynamicsEnsemble,
    policy: GaussianPolicy,
    params: Tensor,
    start_states: Tensor,
    noise: Tensor,
    task: Task,
    device: str | None = None,
) -> Trajectories:
    """The Rollout interface; with `device`, computed there and returned on the CPU."""
    weights = ensemble.snapshot()
    if device is not None:
        weights = weights.to(device)
        params, start_states, noise = (x.to(device) for x in (params, start_states, noise))
    k, n, horizon, _ = noise.shape
    states = start_states
    ended = torch.zeros(k, n, dtype=torch.bool, device=states.device)
    steps = []
    for t in range(horizon):
        actions, log_probs = policy.sample(params, states, noise[:, :, t])
        clipped = actions.clamp(-task.action_bound, task.action_bound)
        next_states = weights.predict(states, clipped)
        rewards = task.reward(states, clipped, next_states) * ~ended
        dones = task.terminated(next_states) & ~ended
        steps.append((states, actions, rewards, dones, log_probs))
        ended |= dones
        # A terminated trajectory stays where it ended, so the padding steps hold finite states.
        states = torch.where(ended.unsqueeze(-1), states, next_states)
    columns = (torch.stack(column, dim=2).cpu() for column in zip(*steps, strict=True))
    return Trajectories(*columns)
