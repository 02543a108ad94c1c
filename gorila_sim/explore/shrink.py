"""Shrinking a failing scenario: drop faults, shorten the run, remove nodes, shorten faults and move them
earlier, keeping each change only if the property still fails, until no change is kept."""

from __future__ import annotations

import copy
import json
import math
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from ..sweep import Workers
from .profile import DECIMALS
from .properties import Property
from .runs import RunReport, check_run

ROLE_COUNTS = {"actors": "actor", "learners": "learner", "shards": "shard", "replay_nodes": "replay"}
"""The topology keys that count nodes, and the role of those nodes."""

MARGIN = 0.001
"""A run shortened to its first violation ends this many simulated seconds after it."""

Table = dict[str, Any]


@dataclass
class Shrunk:
    """The smallest failing scenario found, the report of its run, and the runs shrinking took."""

    table: Table
    report: RunReport
    runs: int
    steps: list[str]
    """What each kept change did, in order."""


def shrink(
    table: Mapping[str, Any],
    source: str,
    prop: Property,
    report: RunReport,
    pool: Workers,
    budget: int = 500,
) -> Shrunk:
    """Shrink the concrete failing scenario `table` (no profile; `report` is its failing run) while `prop`
    still fails: each kind of change in turn, as long as it keeps finding one, and again until a round
    keeps nothing. Changes are tried `pool.count` at a time and the first that fails in the order tried is
    kept, so the result does not depend on how many workers ran; at most `budget` runs."""
    state = _Search(copy.deepcopy(dict(table)), report, source, prop, pool, budget)
    kept = True
    while kept and state.runs < budget:
        kept = False
        for changes in CHANGES:
            while state.keep_first_failing(changes(state.table, state.report)):
                kept = True
    return Shrunk(state.table, state.report, state.runs, state.steps)


class _Search:
    """The smallest failing scenario so far, and the runs spent and changes kept to reach it."""

    def __init__(
        self, table: Table, report: RunReport, source: str, prop: Property, pool: Workers, budget: int
    ) -> None:
        self.table, self.report = table, report
        self.source, self.prop, self.pool, self.budget = source, prop, pool, budget
        self.runs = 0
        self.steps: list[str] = []
        self.passed: set[str] = set()

    def keep_first_failing(self, changes: Iterator[tuple[str, Table]]) -> bool:
        """Run `changes` (but none that passed before) a batch at a time; keep the first that fails."""
        todo = [(what, table) for what, table in changes if _key(table) not in self.passed]
        while todo and self.runs < self.budget:
            batch, todo = todo[: min(self.pool.count, self.budget - self.runs)], todo[self.pool.count :]
            reports = self.pool.map(
                check_run, [(table, self.source, None, [self.prop]) for _, table in batch]
            )
            self.runs += len(batch)
            for (what, table), report in zip(batch, reports, strict=True):
                if report.failures:
                    reports.close()
                    self.table, self.report = table, report
                    self.steps.append(what)
                    return True
                self.passed.add(_key(table))
        return False


def _key(table: Table) -> str:
    return json.dumps(table, sort_keys=True)


def _drop_faults(table: Table, report: RunReport) -> Iterator[tuple[str, Table]]:
    faults = table.get("faults", [])
    for index in reversed(range(len(faults))):
        yield f"dropped {_describe(faults[index])}", _with_faults(table, faults[:index] + faults[index + 1 :])


def _shorten_run(table: Table, report: RunReport) -> Iterator[tuple[str, Table]]:
    """End the run just after the violation (or, when it has no time, halfway)."""
    stop = dict(table.get("stop", {}))
    end = stop.get("sim_time", report.end)
    at = report.at
    shorter = _round_up(at + MARGIN) if at is not None and at + MARGIN < end else end / 2
    if 0 < shorter < end:
        yield f"ended the run at {shorter:g} s", {**table, "stop": {**stop, "sim_time": shorter}}


def _remove_nodes(table: Table, report: RunReport) -> Iterator[tuple[str, Table]]:
    topology = table.get("topology", {})
    for key, role in ROLE_COUNTS.items():
        count = topology.get(key, 1)
        if key == "actors" and topology.get("bundled", True):
            role = "bundle"
        for index in reversed(range(count if count > 1 else 0)):
            yield f"removed {role}-{index} ({key} = {count - 1})", _without_node(table, key, role, index)


def _shorten_faults(table: Table, report: RunReport) -> Iterator[tuple[str, Table]]:
    for index, fault in enumerate(table.get("faults", [])):
        duration = fault.get("duration", math.inf)
        if math.isfinite(duration) and duration / 2 >= 10**-DECIMALS:
            changed = {**fault, "duration": round(duration / 2, DECIMALS)}
            what = f"shortened {_describe(fault)} to {changed['duration']:g} s"
            yield what, _replace_fault(table, index, changed)


def _move_faults_earlier(table: Table, report: RunReport) -> Iterator[tuple[str, Table]]:
    for index, fault in enumerate(table.get("faults", [])):
        if fault["at"] / 2 >= 10**-DECIMALS:
            changed = {**fault, "at": round(fault["at"] / 2, DECIMALS)}
            yield f"moved {_describe(fault)} to {changed['at']:g} s", _replace_fault(table, index, changed)


CHANGES = (_drop_faults, _shorten_run, _remove_nodes, _shorten_faults, _move_faults_earlier)
"""The kinds of change shrinking tries, biggest cuts first."""


def _round_up(time: float) -> float:
    scale = 10**DECIMALS
    return math.ceil(time * scale) / scale


def _describe(fault: Mapping[str, Any]) -> str:
    nodes = fault.get("nodes") or fault.get("a") or fault.get("role")
    named = ", ".join(nodes) if isinstance(nodes, list) else str(nodes)
    return f"the {fault['kind']} of {named} at {fault['at']:g} s"


def _with_faults(table: Table, faults: list[Any]) -> Table:
    changed = {**table, "faults": faults}
    if not faults:
        del changed["faults"]
    return changed


def _replace_fault(table: Table, index: int, fault: Mapping[str, Any]) -> Table:
    faults = list(table["faults"])
    faults[index] = fault
    return {**table, "faults": faults}


def _without_node(table: Table, key: str, role: str, index: int) -> Table:
    """`table` with node `role-index` removed: one node fewer of its role, the later ones renumbered down,
    and faults that named only it dropped."""

    def renamed(name: Any) -> Any:
        if not isinstance(name, str) or not name.startswith(f"{role}-"):
            return name
        number = int(name.rsplit("-", 1)[1])
        return None if number == index else f"{role}-{number - 1}" if number > index else name

    def group(spec: Any) -> Any:
        if isinstance(spec, list):
            return [n for n in map(renamed, spec) if n is not None]
        if isinstance(spec, Mapping) and isinstance(spec.get("nodes"), list):
            return {**spec, "nodes": group(spec["nodes"])}
        return spec

    faults = []
    for fault in table.get("faults", []):
        changed = {
            field: group(value) if field in ("nodes", "a", "b") else value for field, value in fault.items()
        }
        empty = [field for field in ("nodes", "a", "b") if field in changed and _empty(changed[field])]
        if not empty:
            faults.append(changed)
    topology = {**table["topology"], key: table["topology"][key] - 1}
    return _with_faults({**table, "topology": topology}, faults)


def _empty(group: Any) -> bool:
    return group == [] or (isinstance(group, Mapping) and group.get("nodes") == [])
