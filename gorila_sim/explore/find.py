"""Exploration end to end: run seeds until a property fails, write the failing scenario and its results,
shrink it, write the shrunk one; tally what the runs covered."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..scenario.parse import Scenario
from ..scenario.writer import scenario_text
from ..sweep import Workers
from .coverage import Coverage
from .properties import Property, Return
from .runs import RunReport, search
from .shrink import Shrunk, shrink


@dataclass
class Finding:
    """What an exploration found: every run's report, the first failing one (None if none failed), and,
    for a failure, the files written, the replay line and the shrunk scenario."""

    reports: list[RunReport]
    coverage: Coverage
    failure: RunReport | None = None
    failing: Path | None = None
    replay: str = ""
    shrunk: Shrunk | None = None
    shrunk_path: Path | None = None
    written: list[Path] = field(default_factory=list)

    def summary(self) -> str:
        """The failure in a few lines: what failed, the replay line, the shrunk scenario's file."""
        if self.failure is None:
            return f"no property failed in {len(self.reports)} runs"
        lines = [f"seed {self.failure.seed}: {_what_failed(self.failure)}", f"replay: {self.replay}"]
        if self.shrunk is not None and self.shrunk_path is not None:
            lines.append(
                f"shrunk in {self.shrunk.runs} runs to {self.shrunk_path} "
                f"(replay: gorila-sim run {self.shrunk_path} --seed {self.failure.seed})"
            )
        return "\n".join(lines)


def _what_failed(report: RunReport) -> str:
    if report.difference is not None:
        return f"not deterministic: {report.difference}"
    return "; ".join(f"{name} failed: {message}" for name, message in report.failures)


def explore(
    scenario: Scenario,
    properties: Sequence[Property],
    seeds: Sequence[int],
    out: Path,
    pool: Workers,
    keep_going: bool = False,
    check_determinism: bool = False,
    on_report: Callable[[RunReport], None] | None = None,
    on_shrinking: Callable[[], None] | None = None,
) -> Finding:
    """Run `scenario` once per seed; at the first failure (in seed order) write `out`/failing.toml (the
    concrete timeline, no profile) and its results `out`/failing/, then shrink it to `out`/shrunk.toml
    (and its results `out`/shrunk/). A failure of determinism is written but not shrunk."""
    worst = {prop.name: not isinstance(prop, Return) for prop in properties}
    coverage = Coverage()

    def counted(report: RunReport) -> None:
        coverage.add(report, worst)
        if on_report is not None:
            on_report(report)

    reports = search(
        scenario.table, scenario.source, properties, seeds, pool, keep_going, check_determinism, counted
    )
    finding = Finding(reports, coverage)
    failure = next((report for report in reports if report.failed), None)
    if failure is None:
        return finding
    assert failure.seed is not None
    finding.failure = failure
    table = concrete(scenario, failure.seed)
    out.mkdir(parents=True, exist_ok=True)
    finding.failing = out / "failing.toml"
    finding.replay = f"gorila-sim run {finding.failing} --seed {failure.seed}"
    header = f"{scenario.name}, seed {failure.seed}: {_what_failed(failure)}\nreplay: {finding.replay}"
    finding.failing.write_text(scenario_text(table, header))
    finding.written += [finding.failing, _write_results(finding.failing, failure.seed, out / "failing")]
    if failure.difference is not None or not failure.failures:
        return finding
    if on_shrinking is not None:
        on_shrinking()
    failed = next(prop for prop in properties if prop.name == failure.failures[0][0])
    finding.shrunk = shrink(table, scenario.source, failed, failure, pool)
    finding.shrunk_path = out / "shrunk.toml"
    steps = "\n".join(f"- {step}" for step in finding.shrunk.steps)
    header = (
        f"{scenario.name}, seed {failure.seed}, shrunk in {finding.shrunk.runs} runs: "
        f"{_what_failed(finding.shrunk.report)}\nreplay: gorila-sim run {finding.shrunk_path} "
        f"--seed {failure.seed}\nshrinking kept these changes:\n{steps}"
    )
    finding.shrunk_path.write_text(scenario_text(finding.shrunk.table, header))
    finding.written += [
        finding.shrunk_path,
        _write_results(finding.shrunk_path, failure.seed, out / "shrunk"),
    ]
    return finding


def concrete(scenario: Scenario, seed: int) -> dict[str, Any]:
    """The scenario's table for run `seed`: its profile drawn into its timeline (its table as it is, the
    seed set, when it has no profile)."""
    if scenario.explore is not None:
        return scenario.explore.concrete(scenario.table, seed)
    return {**scenario.table, "scenario": {**scenario.table["scenario"], "seed": seed}}


def _write_results(path: Path, seed: int, out: Path) -> Path:
    """Run the scenario file `path` with `seed`, as its replay line does, and write its results to `out`."""
    from ..results import write_results
    from ..scenario import load_scenario, run_scenario

    replayed = load_scenario(path, [f"scenario.seed={seed}"])
    return write_results(run_scenario(replayed), out, replayed.table, overwrite=True)
