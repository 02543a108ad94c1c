"""What the dashboard shows at one moment of a run, and the tracker that folds trace records into it.

The tracker reads the trace's records (tuples in `gorila_sim.trace.COLUMNS` order) in time order, a few
at a time: live from a running simulation's trace, or from a results directory's tables during a replay.
Both make the same Snapshot.
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from ..delays import by_role
from ..topology import role_of
from ..trace import FATES
from .timeline import Event, Timeline, timeline

if TYPE_CHECKING:
    from ..scenario import Scenario

STATES = ("up", "down", "paused", "slow")
"""What a node can be, as the dashboard sees it."""

RETURN_WINDOW = 10
"""The learning curve is the mean return of this many latest episodes."""

RECENT_EVENTS = 8
"""Fault events a snapshot keeps."""

RATE_SAMPLES = 8
"""Rates are measured over this many latest snapshots (a couple of wall seconds on a live dashboard)."""

MESSAGE_WINDOW = 500
"""The queue wait shown is the mean over this many latest messages of each kind."""

_LIFECYCLE = {"crashed": ("down", "crashed"), "paused": ("paused", "paused"), "resumed": ("up", "resumed")}


@dataclass(frozen=True)
class RunInfo:
    """What is known of a run before it starts."""

    name: str
    env_steps_goal: int
    sim_end: float = math.inf
    timeline: Timeline = field(default_factory=Timeline)

    @classmethod
    def of(cls, scenario: Scenario) -> RunInfo:
        """What a scenario says of its run: name, stopping points, faults."""
        config = scenario.config
        return cls(scenario.name, config.total_env_steps, config.max_sim_time, timeline(scenario.faults))


@dataclass(frozen=True)
class Snapshot:
    """What the dashboard shows at one moment of a Gorila run, live or replayed."""

    info: RunInfo
    clock: str
    """How time passes: "live", or the replay's speed."""
    sim_time: float
    wall_time: float
    """Wall seconds the run had taken at `sim_time`."""
    env_steps: int
    nodes: dict[str, str]
    """Every node's state (one of STATES), in the order the nodes started."""
    shard_versions: dict[str, int]
    """Each shard's parameter version, as of its latest gradient."""
    learner_lags: dict[str, int]
    """Each learner's staleness at its latest gradient that a shard judged."""
    gradients: dict[str, int]
    """Gradients by fate, so far."""
    rates: dict[str, float]
    """Env steps and gradients by fate per simulated second, over the latest snapshots."""
    staleness: dict[int, int]
    """Applied gradients by their staleness."""
    mean_returns: tuple[float, ...]
    """The mean return of the latest RETURN_WINDOW episodes, after each episode."""
    episodes: int
    events: tuple[Event, ...]
    """The latest fault events, oldest first."""
    event_count: int
    interfaces: dict[str, dict[str, float]] = field(default_factory=dict)
    """Each role's mean busy fraction of its finite egress and ingress (NaN: unlimited) between the
    latest two samples of each node; empty when no interface is limited."""
    queue_wait: dict[str, float] = field(default_factory=dict)
    """Mean seconds the latest gradients and slices of θ (by message kind) waited for their turn."""
    finished: bool = False

    @property
    def sim_per_wall(self) -> float:
        """Simulated seconds per wall second."""
        return self.sim_time / self.wall_time if self.wall_time > 0 else math.nan

    def count(self, state: str, role: str | None = None) -> int:
        """Nodes in `state` (of `role`, or of any role)."""
        return sum(
            1 for node, s in self.nodes.items() if s == state and (role is None or role_of(node) == role)
        )


class Tracker:
    """Folds trace records into a Snapshot; feed each table's records in time order."""

    def __init__(self, info: RunInfo) -> None:
        self.info = info
        self.env_steps = 0
        self.latest_wall = 0.0
        self._nodes: dict[str, str] = {}
        self._versions: dict[str, int] = {}
        self._lags: dict[str, int] = {}
        self._fates = dict.fromkeys(FATES, 0)
        self._staleness: dict[int, int] = {}
        self._returns: deque[float] = deque(maxlen=RETURN_WINDOW)
        self._means: list[float] = []
        self._episode_count = 0
        self._events: deque[Event] = deque(maxlen=RECENT_EVENTS)
        self._lifecycle_events = 0
        self._samples: deque[tuple[float, int, dict[str, int]]] = deque([(0.0, 0, dict(self._fates))])
        self._queued: dict[str, deque[float]] = {}
        self._busy: dict[str, tuple[float, float, float]] = {}
        self._busy_fractions: dict[str, tuple[float, float]] = {}
        self._feeders = {
            "gradients": self._gradients,
            "episodes": self._episodes,
            "lifecycle": self._lifecycle,
            "messages": self._messages,
            "interfaces": self._interfaces,
        }

    def feed(self, table: str, rows: Iterable[tuple[Any, ...]]) -> None:
        """Take in `rows` of trace table `table` (the targets table has nothing to show)."""
        feeder = self._feeders.get(table)
        if feeder is not None:
            feeder(rows)

    def _gradients(self, rows: Iterable[tuple[Any, ...]]) -> None:
        fates, staleness, versions, lags = self._fates, self._staleness, self._versions, self._lags
        for _, wall, learner, shard, fate, stale, version in rows:
            fates[fate] += 1
            if fate == "applied":
                staleness[stale] = staleness.get(stale, 0) + 1
            if version >= 0:  # decided by the shard (lost on the way or to a down shard: -1)
                versions[f"shard-{shard}"] = version
                lags[learner] = stale
            self.latest_wall = wall

    def _episodes(self, rows: Iterable[tuple[Any, ...]]) -> None:
        returns = self._returns
        for _, wall, _, ret, _, env_steps in rows:
            returns.append(ret)
            if len(returns) == RETURN_WINDOW:
                self._means.append(sum(returns) / RETURN_WINDOW)
            self._episode_count += 1
            self.env_steps = env_steps
            self.latest_wall = wall

    def _lifecycle(self, rows: Iterable[tuple[Any, ...]]) -> None:
        nodes = self._nodes
        for time, wall, node, state in rows:
            if state == "up":
                if node in nodes:
                    self._event(Event(time, f"{node} restarted", "up"))
                nodes[node] = "up"
            else:
                nodes[node], verb = _LIFECYCLE[state]
                self._event(Event(time, f"{node} {verb}", nodes[node]))
            self.latest_wall = wall

    def _messages(self, rows: Iterable[tuple[Any, ...]]) -> None:
        queued = self._queued
        for _, wall, kind, *_, waited in list(rows)[-MESSAGE_WINDOW:]:
            queued.setdefault(kind, deque(maxlen=MESSAGE_WINDOW)).append(waited)
            self.latest_wall = wall

    def _interfaces(self, rows: Iterable[tuple[Any, ...]]) -> None:
        busy, fractions = self._busy, self._busy_fractions
        for time, wall, node, egress, ingress in rows:
            before = busy.get(node)
            if before is not None and time > before[0]:
                elapsed = time - before[0]
                fractions[node] = ((egress - before[1]) / elapsed, (ingress - before[2]) / elapsed)
            busy[node] = (time, egress, ingress)
            self.latest_wall = wall

    def _event(self, event: Event) -> None:
        self._events.append(event)
        self._lifecycle_events += 1

    def snapshot(
        self, sim_time: float, wall_time: float, clock: str, *, env_steps: int | None = None, finished=False
    ) -> Snapshot:
        """The dashboard's view at `sim_time` (`env_steps`: the live count, when known)."""
        steps = self.env_steps if env_steps is None else env_steps
        timeline = self.info.timeline
        slow = timeline.slow(sim_time)
        nodes = {
            node: "slow" if state == "up" and node in slow else state for node, state in self._nodes.items()
        }
        passed = timeline.passed(sim_time)
        events = sorted((*self._events, *timeline.events[:passed][-RECENT_EVENTS:]), key=lambda e: e.time)
        return Snapshot(
            info=self.info,
            clock=clock,
            sim_time=sim_time,
            wall_time=wall_time,
            env_steps=steps,
            nodes=nodes,
            shard_versions=dict(sorted(self._versions.items(), key=lambda item: _index(item[0]))),
            learner_lags=dict(self._lags),
            gradients=dict(self._fates),
            rates=self._rates(sim_time, steps),
            staleness=dict(self._staleness),
            mean_returns=tuple(self._means),
            episodes=self._episode_count,
            events=tuple(events[-RECENT_EVENTS:]),
            event_count=self._lifecycle_events + passed,
            interfaces=by_role(self._busy_fractions),
            queue_wait={
                kind: sum(waits) / len(waits) for kind, waits in sorted(self._queued.items()) if waits
            },
            finished=finished,
        )

    def _rates(self, sim_time: float, env_steps: int) -> dict[str, float]:
        samples = self._samples
        since, steps_then, fates_then = samples[0]
        elapsed = sim_time - since
        rates = {"env steps": (env_steps - steps_then) / elapsed if elapsed > 0 else 0.0}
        for fate, count in self._fates.items():
            rates[fate] = (count - fates_then[fate]) / elapsed if elapsed > 0 else 0.0
        if sim_time > samples[-1][0]:
            samples.append((sim_time, env_steps, dict(self._fates)))
            if len(samples) > RATE_SAMPLES:
                samples.popleft()
        return rates


def _index(node: str) -> int:
    return int(node.rsplit("-", 1)[1])
