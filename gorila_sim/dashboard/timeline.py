"""A scenario's faults that leave no lifecycle record (slowdowns and network faults), as timed events.

Crashes and pauses show in the trace's lifecycle table as they happen; a slowdown, a partition, a latency
spike or a loss burst does not, so the dashboard learns of them from the scenario's fault timeline.
"""

from __future__ import annotations

import bisect
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from netmodels import Partition

from ..scenario.faults import Fault, NodeFault
from ..topology import role_of

ARROWS = {"both": "↔", "a_to_b": "→", "b_to_a": "←"}
"""A network fault's direction, as an arrow from group a to group b."""


@dataclass(frozen=True, slots=True)
class Event:
    """Something that happened to the cluster at simulated `time`; `kind` picks its colour."""

    time: float
    text: str
    kind: str
    """down, up, paused, slow or network."""


@dataclass(frozen=True)
class Timeline:
    """The scenario's slowdowns and network faults: their start and end events, and who is slow when."""

    events: tuple[Event, ...] = ()
    """Sorted by time."""
    slowdowns: tuple[tuple[str, float, float], ...] = ()
    """(node, from, until) for every node a slowdown fault hits."""

    def passed(self, time: float) -> int:
        """How many of the events happened by `time`."""
        return bisect.bisect_right([event.time for event in self.events], time)

    def slow(self, time: float) -> set[str]:
        """The nodes slowed down at `time`."""
        return {node for node, start, end in self.slowdowns if start <= time < end}


def timeline(faults: Iterable[Fault]) -> Timeline:
    """The timeline of a scenario's `faults` (its crashes and pauses are left to the lifecycle records)."""
    events: list[Event] = []
    slowdowns: list[tuple[str, float, float]] = []
    for fault in faults:
        if isinstance(fault, NodeFault):
            if fault.kind != "slowdown":
                continue
            what = f"{group(fault.nodes)} {fault.factor:g}× slower"
            slowdowns.extend((node, fault.at, fault.until) for node in fault.nodes)
            start, end, kind = fault.at, fault.until, "slow"
        else:
            between = fault.between
            arrow = ARROWS[between.direction]
            what = f"{fault.kind.replace('_', ' ')} {group(between.a)} {arrow} {group(between.b)}"
            if not isinstance(between, Partition) and between.loss:
                what += f" (loss {between.loss:.0%})"
            start, end, kind = between.start, between.end, "network"
        events.append(Event(start, what, kind))
        if math.isfinite(end):
            events.append(Event(end, f"ended: {what}", "up"))
    return Timeline(tuple(sorted(events, key=lambda event: event.time)), tuple(slowdowns))


def group(nodes: Sequence[str] | frozenset[str]) -> str:
    """A few nodes by name, more by count per role: "shard-0, shard-1" or "25 actors, 1 learner"."""
    if len(nodes) <= 3:
        return ", ".join(sorted(nodes))
    counts: dict[str, int] = {}
    for node in sorted(nodes):
        counts[role_of(node)] = counts.get(role_of(node), 0) + 1
    return ", ".join(f"{count} {role}{'s' if count > 1 else ''}" for role, count in counts.items())
