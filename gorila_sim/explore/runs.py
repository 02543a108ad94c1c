"""One explored run, as a worker process (or Ray) runs it, and the search over seeds."""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..sweep import Workers
from .properties import Property


@dataclass
class RunReport:
    """What one run found: the properties it failed (name, message), each property's closest approach to
    failing, the simulated time of the first violation, its faults and gradient fates, and, when checked
    for determinism, the first difference between two runs of it."""

    seed: int | None
    failures: list[tuple[str, str]] = field(default_factory=list)
    closest: dict[str, float] = field(default_factory=dict)
    at: float | None = None
    end: float = 0.0
    switched_on: list[str] = field(default_factory=list)
    drawn: Counter[str] = field(default_factory=Counter)
    fired: Counter[str] = field(default_factory=Counter)
    fates: dict[str, int] = field(default_factory=dict)
    difference: str | None = None
    invalid: str | None = None
    """Why the scenario could not run (only a shrinking step can make such a scenario)."""
    cpu: float = 0.0
    """Processor seconds the run took where it ran."""

    @property
    def failed(self) -> bool:
        return bool(self.failures) or self.difference is not None


def base_dir(source: str) -> Path:
    """Where a scenario's relative paths (its cost profile) are read from: beside its file."""
    path = Path(source)
    return path.parent if path.is_file() else Path(".")


def check_run(
    table: Mapping[str, Any],
    source: str,
    seed: int | None,
    properties: Sequence[Property],
    twice: bool = False,
) -> RunReport:
    """Run the scenario `table` (with `seed`, its profile drawn into its timeline) and check `properties`;
    with `twice`, run it again and report the first record in which the two traces differ."""
    from ..dqn import set_torch_threads
    from ..scenario import ScenarioError, run_scenario, scenario_from_table
    from ..testing import Outcome
    from .coverage import unfired

    set_torch_threads()
    started = time.process_time()
    report = RunReport(seed)
    try:
        scenario = scenario_from_table(table, source, base_dir(source))
        drawn: list[tuple[str, dict[str, Any]]] = []
        if seed is not None and scenario.explore is not None:
            drawn = scenario.explore.draw(seed)
            scenario = scenario_from_table(scenario.explore.concrete(table, seed), source, base_dir(source))
        result = run_scenario(scenario)
    except ScenarioError as error:
        report.invalid = str(error)
        return report
    report.end = result.summary["sim_time"]
    report.fates = dict(result.summary["gradients"])
    report.switched_on = sorted({kind for kind, _ in drawn})
    report.drawn = Counter(kind for kind, _ in drawn)
    faults = scenario.faults[len(scenario.faults) - len(drawn) :]
    report.fired = Counter(
        kind for (kind, _), fault in zip(drawn, faults, strict=True) if not unfired(fault, result)
    )
    outcome = Outcome(result)
    for prop in properties:
        verdict = prop.check(outcome)
        report.closest[prop.name] = float(verdict.closest)
        if not verdict.holds:
            report.failures.append((prop.name, verdict.message))
            if report.at is None:
                report.at = verdict.at
    if twice:
        report.difference = first_difference(
            result.trace.without_wall(), run_scenario(scenario).trace.without_wall()
        )
    report.cpu = time.process_time() - started
    return report


def first_difference(
    first: Mapping[str, list[tuple[Any, ...]]], second: Mapping[str, list[tuple[Any, ...]]]
) -> str | None:
    """The first record in which two traces (less their wall times) differ, in words; None if none does."""
    for name in first:
        a, b = first[name], second[name]
        for index, (x, y) in enumerate(zip(a, b, strict=False)):
            if x != y:
                return f"{name}[{index}] differs: {x} in the first run, {y} in the second"
        if len(a) != len(b):
            return f"{name} has {len(a)} records in the first run and {len(b)} in the second"
    return None


def search(
    table: Mapping[str, Any],
    source: str,
    properties: Sequence[Property],
    seeds: Iterable[int],
    pool: Workers,
    keep_going: bool = False,
    check_determinism: bool = False,
    on_report: Callable[[RunReport], None] | None = None,
) -> list[RunReport]:
    """Run the scenario once per seed on `pool`; the reports come in seed order, up to the first failure
    (every one with `keep_going`), so the failure found does not depend on how many workers ran."""
    tasks = [(table, source, seed, properties, check_determinism) for seed in seeds]
    reports = []
    results = pool.map(check_run, tasks)
    try:
        for report in results:
            reports.append(report)
            if on_report is not None:
                on_report(report)
            if report.failed and not keep_going:
                break
    finally:
        results.close()
    return reports
