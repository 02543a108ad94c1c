"""Helpers for the dashboard tests: a tracker fed a run's records up to a time, and rendering to text."""

from __future__ import annotations

import io

from rich.console import Console, RenderableType

from gorila_sim.dashboard import RunInfo, Tracker
from gorila_sim.gorila import RunResult
from gorila_sim.scenario import Scenario


def tracker_until(scenario: Scenario, result: RunResult, sim_time: float) -> Tracker:
    """A tracker fed the run's records up to `sim_time`."""
    tracker = Tracker(RunInfo.of(scenario))
    for name, rows in result.trace.records.items():
        tracker.feed(name, [row for row in rows if row[0] <= sim_time])
    return tracker


def text_of(renderable: RenderableType, width: int = 120) -> str:
    """What `renderable` looks like on a console `width` columns wide, as plain text."""
    console = Console(record=True, width=width, file=io.StringIO())
    console.print(renderable)
    return console.export_text()
