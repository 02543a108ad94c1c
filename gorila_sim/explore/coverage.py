"""What the runs exercised: which faults fired, which gradient fates and rule decisions were seen, and how
close each property came to failing; and, for a single run, which timeline faults never fired."""

from __future__ import annotations

import math
from collections import Counter
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from ..scenario.faults import Fault, NodeFault
from ..trace import FATES

if TYPE_CHECKING:
    from ..gorila import RunResult
    from .runs import RunReport

DECIDED_BY = {
    "applied": "staleness rule admitted",
    "stale": "staleness rule discarded",
    "outlier": "outlier rule discarded",
    "non_finite": "shard refused",
    "shard_down": "lost: shard down",
    "lost": "lost: network",
}
"""Who decided each gradient fate."""

_STATES = {"crash": "crashed", "pause": "paused"}


def unfired(fault: Fault, result: RunResult) -> str | None:
    """Why `fault` never fired in the finished run `result`, or None if it did."""
    end = result.summary["sim_time"]
    at = fault.at if isinstance(fault, NodeFault) else fault.between.start
    if at >= end:
        return f"at {at:g} s falls after the run's end ({end:g} s)"
    if isinstance(fault, NodeFault) and fault.kind in _STATES:
        hit = {
            node
            for time, _, node, state in result.trace.records["lifecycle"]
            if state == _STATES[fault.kind] and abs(time - at) < 1e-9
        }
        if not hit & set(fault.nodes):
            return f"at {at:g} s never fired ({', '.join(fault.nodes)} not running then)"
    return None


def warnings(faults: tuple[Fault, ...], result: RunResult) -> list[str]:
    """One line for each timeline fault of a run that never fired."""
    lines = []
    for index, fault in enumerate(faults):
        why = unfired(fault, result)
        if why is not None:
            lines.append(f"warning: faults[{index}] ({fault.kind}) {why}")
    return lines


@dataclass
class Coverage:
    """Totals over the runs of an exploration."""

    runs: int = 0
    switched_on: Counter[str] = field(default_factory=Counter)
    """Runs in which each fault kind of the profile was switched on."""
    drawn: Counter[str] = field(default_factory=Counter)
    fired: Counter[str] = field(default_factory=Counter)
    fates: Counter[str] = field(default_factory=Counter)
    closest: dict[str, float] = field(default_factory=dict)
    """Each property's closest approach to failing over the runs (its measure's worst value)."""
    failed: Counter[str] = field(default_factory=Counter)

    def add(self, report: RunReport, worst: dict[str, bool]) -> None:
        """Count one run; `worst[name]` says whether higher (True) or lower (False) measures are worse."""
        self.runs += 1
        self.switched_on.update(report.switched_on)
        self.drawn.update(report.drawn)
        self.fired.update(report.fired)
        self.fates.update(report.fates)
        for name, value in report.closest.items():
            if math.isnan(value):
                continue
            known = self.closest.get(name)
            higher = worst.get(name, True)
            if known is None or (value > known if higher else value < known):
                self.closest[name] = value
        self.failed.update(name for name, _ in report.failures)

    def never_fired(self) -> list[str]:
        """Kinds switched on in some run that never fired within any run's window."""
        return sorted(kind for kind in self.switched_on if self.fired[kind] == 0)

    def rows(self) -> list[tuple[str, str, str]]:
        """(what, item, value) rows of the coverage table."""
        rows = [
            (
                "fault",
                kind,
                f"on in {self.switched_on[kind]} runs, drawn {self.drawn[kind]}, fired {self.fired[kind]}",
            )
            for kind in sorted(self.switched_on)
        ]
        rows += [("gradient fate", fate, f"{self.fates[fate]:,} ({DECIDED_BY[fate]})") for fate in FATES]
        for name, value in self.closest.items():
            closest = f"closest approach {value:.4g}, failed in {self.failed[name]} runs"
            rows.append(("property", name, closest))
        return rows
