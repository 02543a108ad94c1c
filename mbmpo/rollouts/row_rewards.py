"""The tasks' rewards and terminations one row at a time, in plain Python that numba compiles for the CPU
and for the GPU: the formulas of mbmpo.envs, restated because compiled code cannot call the torch ones
(a test holds the two equal)."""

from __future__ import annotations

import math

import numpy as np

TASK_CODES = {"Pendulum-v1": 0, "HalfCheetah-v5": 1, "Hopper-v5": 2, "Walker2d-v5": 3, "Ant-v5": 4}
"""The tasks whose reward and termination `reward_and_done` knows, by the code it takes."""


def reward_and_done(
    task: int, obs: np.ndarray, action: np.ndarray, next_obs: np.ndarray
) -> tuple[float, bool]:
    """(reward, terminated) of one step of task `task` (a TASK_CODES value), for a clipped action."""
    control = 0.0
    for j in range(action.shape[0]):
        control += action[j] * action[j]
    if task == 0:
        theta = math.atan2(obs[1], obs[0])
        torque = min(max(action[0], -2.0), 2.0)
        return -(theta * theta + 0.1 * obs[2] * obs[2] + 0.001 * torque * torque), False
    if task == 1:
        return 0.5 * (obs[8] + next_obs[8]) - 0.1 * control, False
    if task == 2:
        healthy = next_obs[0] > 0.7 and abs(next_obs[1]) < 0.2
        for j in range(1, next_obs.shape[0]):
            healthy = healthy and abs(next_obs[j]) < 100.0
        bonus = 1.0 if healthy else 0.0
        return 0.5 * (obs[5] + next_obs[5]) + bonus - 1e-3 * control, not healthy
    if task == 3:
        healthy = 0.8 < next_obs[0] < 2.0 and abs(next_obs[1]) < 1.0
        bonus = 1.0 if healthy else 0.0
        return 0.5 * (obs[8] + next_obs[8]) + bonus - 1e-3 * control, not healthy
    healthy = 0.2 <= next_obs[0] <= 1.0
    contact = 0.0
    for j in range(next_obs.shape[0]):
        healthy = healthy and math.isfinite(next_obs[j])
        if j >= 27:
            contact += next_obs[j] * next_obs[j]
    bonus = 1.0 if healthy else 0.0
    return 0.5 * (obs[13] + next_obs[13]) + bonus - 0.5 * control - 5e-4 * contact, not healthy
