"""A run's scalars against env steps, as CleanRL and RLlib users compare runs, and as TensorBoard event files.

Episode returns come one point per episode. The rest is measured over BINS equal intervals of simulated
time: staleness percentiles of the gradients applied in the interval, gradients of each fate per simulated
second, env steps per simulated and per wall second. An interval's point is at the env steps made by its
end, read from the episodes table (interpolated between episodes).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from .trace import FATES

BINS = 100
"""Intervals of simulated time that the rates and percentiles are measured over."""

RETURN_WINDOW = 10

Points = list[tuple[int, float, float]]
"""(env steps, wall seconds since the run began, value) points of one scalar, in order."""


def run_scalars(tables: dict[str, dict[str, np.ndarray]], end: float, bins: int = BINS) -> dict[str, Points]:
    """The scalars of a run whose trace `tables` (columns as numpy arrays) end at simulated time `end`,
    by TensorBoard tag."""
    episodes, gradients = tables["episodes"], tables["gradients"]
    steps = episodes["env_steps"].astype(np.int64)
    walls = episodes["wall"].astype(float)
    returns = episodes["ret"].astype(float)
    out = {"charts/episodic_return": _points(steps, walls, returns)}
    if returns.size >= RETURN_WINDOW:
        means = np.convolve(returns, np.ones(RETURN_WINDOW) / RETURN_WINDOW, mode="valid")
        first = RETURN_WINDOW - 1
        out[f"charts/mean_return_last_{RETURN_WINDOW}"] = _points(steps[first:], walls[first:], means)
    if end <= 0:
        return out
    edges = np.linspace(0.0, end, bins + 1)
    times = np.concatenate(([0.0], episodes["time"].astype(float)))
    made = np.interp(edges, times, np.concatenate(([0], steps))).round().astype(np.int64)
    wall = np.interp(edges, times, np.concatenate(([0.0], walls)))
    at, at_wall, width = made[1:], wall[1:], end / bins
    # An interval holds the times in [left, right); the last one also holds its right edge, the run's end.
    which = np.clip(np.searchsorted(edges, gradients["time"].astype(float), side="right") - 1, 0, bins - 1)
    for fate in FATES:
        counts = np.bincount(which[gradients["fate"] == fate], minlength=bins)
        out[f"gradients/{fate}_per_s"] = _points(at, at_wall, counts / width)
    applied = gradients["fate"] == "applied"
    staleness = gradients["staleness"].astype(float)
    some = [i for i in range(bins) if np.any(applied & (which == i))]
    for q in (50, 90, 99):
        values = [np.percentile(staleness[applied & (which == i)], q) for i in some]
        out[f"staleness/p{q}"] = _points(at[some], at_wall[some], np.array(values))
    out["throughput/env_steps_per_sim_s"] = _points(at, at_wall, np.diff(made) / width)
    moved = np.diff(wall) > 0
    per_wall = np.diff(made)[moved] / np.diff(wall)[moved]
    out["throughput/env_steps_per_wall_s"] = _points(at[moved], at_wall[moved], per_wall)
    out["time/simulated_s"] = _points(at, at_wall, edges[1:])
    return out


def _points(steps: np.ndarray, walls: np.ndarray, values: np.ndarray) -> Points:
    return list(zip(steps.tolist(), walls.tolist(), np.asarray(values, float).tolist(), strict=True))


def write_tensorboard(scalars: dict[str, Points], logdir: str | Path, started: float) -> Path:
    """Write `scalars` as a TensorBoard event file in `logdir` (created), their wall times counted from
    `started` (seconds since the epoch); returns `logdir`."""
    from torch.utils.tensorboard import SummaryWriter

    logdir = Path(logdir)
    with SummaryWriter(str(logdir)) as writer:
        for tag, points in scalars.items():
            for step, wall, value in points:
                writer.add_scalar(tag, value, global_step=step, walltime=started + wall)
    return logdir
