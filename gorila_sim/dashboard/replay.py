"""Playing a finished run's dashboard back from its results directory, at a chosen speed."""

from __future__ import annotations

import math
import time
from pathlib import Path

import numpy as np
from rich.console import Console

from runcommon.display import PER_SECOND, Display

from ..config import GorilaConfig
from ..results import StoredRun, read_results
from ..scenario.errors import ScenarioError
from ..scenario.parse import stored_faults
from ..trace import COLUMNS
from .snapshot import RunInfo, Snapshot, Tracker
from .timeline import Timeline, timeline
from .view import GORILA

REPLAY_WALL_S = 10.0
"""A replay takes about this long at the default speed."""


class ReplaySource:
    """Snapshots of a stored run at any simulated time, fed from its trace tables in time order."""

    def __init__(self, run: StoredRun, speed: float) -> None:
        self.run = run
        self.end = float(run.summary["sim_time"])
        self._clock = f"replay at {speed:.3g} sim s per wall s"
        self._times = {name: run.tables[name]["time"].astype(float) for name in COLUMNS}
        self._rows = {
            name: list(zip(*(run.tables[name][column].tolist() for column in COLUMNS[name]), strict=True))
            for name in COLUMNS
        }
        self._read = dict.fromkeys(COLUMNS, 0)
        self.tracker = Tracker(run_info(run))

    def at(self, sim_time: float) -> Snapshot:
        """The snapshot at `sim_time`; times only move forward."""
        for name, times in self._times.items():
            upto = int(np.searchsorted(times, sim_time, side="right"))
            self.tracker.feed(name, self._rows[name][self._read[name] : upto])
            self._read[name] = upto
        if sim_time >= self.end:
            summary = self.run.summary
            wall, steps = summary["wall_time"], summary["env_steps"]
            return self.tracker.snapshot(self.end, wall, self._clock, env_steps=steps, finished=True)
        return self.tracker.snapshot(sim_time, self.tracker.latest_wall, self._clock)


def run_info(run: StoredRun) -> RunInfo:
    """What the dashboard needs to know of a stored run's scenario."""
    scenario = run.scenario
    stop = scenario.get("stop", {})
    sim_end = stop.get("sim_time")  # JSON has no infinity: a run without a time limit stores null
    return RunInfo(
        name=scenario["scenario"]["name"],
        env_steps_goal=stop.get("env_steps", GorilaConfig.total_env_steps),
        sim_end=math.inf if sim_end is None else sim_end,
        timeline=_timeline(run),
    )


def _timeline(run: StoredRun) -> Timeline:
    """The stored scenario's fault timeline (none if it cannot be read back)."""
    try:
        return timeline(stored_faults(run.scenario))
    except ScenarioError:
        return Timeline()


def default_speed(run: StoredRun) -> float:
    """Simulated seconds per wall second that replay the run in about REPLAY_WALL_S."""
    return max(float(run.summary["sim_time"]), 1e-9) / REPLAY_WALL_S


def replay(path: str | Path, console: Console, speed: float | None = None) -> Snapshot:
    """Play the dashboard of the run in results directory `path` on `console`, at `speed` simulated
    seconds per wall second (default: about REPLAY_WALL_S in all); return the last snapshot. Off a
    terminal, it prints progress lines and then the last frame."""
    run = read_results(path)
    speed = speed or default_speed(run)
    source = ReplaySource(run, speed)
    with Display(console, GORILA, PER_SECOND) as display:
        started = time.perf_counter()
        while True:
            sim_time = min(source.end, (time.perf_counter() - started) * speed)
            snapshot = source.at(sim_time)
            display.show(snapshot)
            if snapshot.finished:
                break
            time.sleep(min(display.interval, (source.end - sim_time) / speed))
    if not display.live:
        console.print(GORILA.render(snapshot))
    return snapshot
