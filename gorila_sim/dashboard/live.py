"""The dashboard of a running simulation: an observer event on the kernel that redraws it now and then.

A simulated run executes in the main thread, so the dashboard is drawn from inside it: the observer is a
kernel event that recurs every few simulated milliseconds (adapted so that it runs about CHECKS_PER_S
times a wall second), reads the wall clock and, when a frame is due, snapshots the trace and draws. It
only reads state; and since the kernel orders events by (time, sequence number), its events leave the
order of every other event as it was: a run with the dashboard has the same trace as one without.
"""

from __future__ import annotations

import statistics
import time
from collections import deque
from collections.abc import Callable

from rich.console import Console

from runcommon.display import PER_SECOND, Display

from ..gorila import Interrupted, RunResult, build, summarise
from ..nodes.cluster import Cluster
from ..runtime import Simulation, VirtualTimeLoop
from ..scenario import Scenario, ScenarioError, apply_faults
from ..scenario.format import CONFIG_PATHS
from ..trace import Trace
from .snapshot import RunInfo, Snapshot, Tracker
from .view import GORILA

CHECKS_PER_S = 50
"""How often a second of wall time the observer reads the clock."""

DRAW_BUDGET = 0.02
"""The most of the time spent drawing: frames come less often when drawing takes longer. A draw's cost is
the median processor time of the latest few, so that one slow draw (a garbage collection during it) does
not hold the next ones back."""


class Observer:
    """A recurring kernel event that calls `draw` every `interval` wall seconds (or less often, to keep
    within DRAW_BUDGET); `ticks` counts its events, which are not the simulation's."""

    def __init__(self, loop: VirtualTimeLoop, draw: Callable[[], None], interval: float) -> None:
        self.ticks = 0
        self._loop = loop
        self._draw = draw
        self._interval = interval
        self._costs: deque[float] = deque(maxlen=5)
        self._step = 1e-3
        """Simulated seconds between two ticks, adapted to the simulation's speed."""
        self._last = time.perf_counter()
        self._due = self._last
        loop.schedule(loop.now, self._tick, None)

    def _tick(self, _: object) -> None:
        self.ticks += 1
        now = time.perf_counter()
        elapsed = now - self._last
        self._step *= 2.0 if elapsed <= 0 else min(2.0, max(0.5, 1.0 / CHECKS_PER_S / elapsed))
        if now >= self._due:
            started = time.process_time()
            self._draw()
            self._costs.append(time.process_time() - started)
            self._due = now + max(self._interval, statistics.median(self._costs) / DRAW_BUDGET)
        self._last = time.perf_counter()
        if self._loop.pending():  # only while the simulation has events of its own: a run that runs dry ends
            self._loop.schedule(self._loop.now + self._step, self._tick, None)


class LiveSource:
    """Snapshots of a running simulation, from its trace (read incrementally) and its cluster."""

    def __init__(self, info: RunInfo, trace: Trace, sim: Simulation, cluster: Cluster) -> None:
        self.tracker = Tracker(info)
        self.started = time.perf_counter()
        self._trace = trace
        self._sim = sim
        self._cluster = cluster
        self._read = dict.fromkeys(trace.records, 0)

    def snapshot(self, finished: bool = False) -> Snapshot:
        for name, rows in self._trace.records.items():
            self.tracker.feed(name, rows[self._read[name] :])
            self._read[name] = len(rows)
        wall = time.perf_counter() - self.started
        steps = self._cluster.env_steps
        return self.tracker.snapshot(self._sim.now, wall, "live", env_steps=steps, finished=finished)


def watch_scenario(
    scenario: Scenario,
    console: Console,
    per_second: float = PER_SECOND,
    on_progress: Callable[[int], None] | None = None,
    trace: Trace | None = None,
) -> RunResult:
    """Run `scenario` as `run_scenario` does, with the dashboard on `console` (a progress line every few
    seconds instead, when the console is not a terminal)."""
    config = scenario.config
    trace = Trace() if trace is None else trace
    try:
        sim, cluster = build(config, trace)
    except ValueError as error:  # as run_scenario says it: the scenario field at fault
        field, _, problem = str(error).partition(": ")
        raise ScenarioError(scenario.source, CONFIG_PATHS.get(field, field), problem) from None
    apply_faults(scenario, sim)
    cluster.on_progress = on_progress
    with Display(console, GORILA, per_second) as display:
        source = LiveSource(RunInfo.of(scenario), trace, sim, cluster)
        observer = Observer(sim.loop, lambda: display.show(source.snapshot()), display.interval)
        try:
            sim.run(until=config.max_sim_time)
        except KeyboardInterrupt:
            summary = summarise(trace, sim, cluster, time.perf_counter() - source.started)
            summary["events"] -= observer.ticks
            raise Interrupted(RunResult(config, trace, summary)) from None
        wall = time.perf_counter() - source.started
        display.show(source.snapshot(finished=True))
    summary = summarise(trace, sim, cluster, wall)
    summary["events"] -= observer.ticks
    return RunResult(config, trace, summary)
