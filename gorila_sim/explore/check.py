"""Exploration in a test: `gorila_sim.testing.explore` raises with the shrunk scenario and the replay line,
and remembers failing seeds to try them first next time."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from ..sweep import Workers
from .database import DEFAULT, SeedDatabase, key
from .find import Finding
from .properties import Property, UserProperty, parse_property


class ExplorationFailed(AssertionError):
    """A property failed in an explored run: the message holds the failure, the replay line and the shrunk
    scenario; `finding` holds the rest."""

    def __init__(self, message: str, finding: Finding) -> None:
        super().__init__(message)
        self.finding = finding


def explore(
    scenario: str | Path,
    properties: Sequence[str | Callable[[Any], Any]],
    runs: int = 100,
    seed: int = 0,
    overrides: Sequence[str] = (),
    workers: int = 1,
    out: str | Path | None = None,
    database: str | Path | None = DEFAULT,
) -> Finding:
    """Explore `scenario` (a library name or TOML file) for `runs` seeds from `seed`, checking
    `properties` (built-in names such as "progress:0.1", or callables taking the run's Outcome that raise
    AssertionError or return False); raise ExplorationFailed at the first failure, after shrinking it.

    Seeds that failed before (kept in `database`, a JSON file; None: none kept) are tried first, and
    forgotten once they pass. Files go to `out` (default .gorila-sim/explore/NAME), replacing those there.
    """
    from ..scenario import load_scenario, resolve
    from .find import explore as run_exploration

    checked: list[Property] = [
        parse_property(p) if isinstance(p, str) else UserProperty(p) for p in properties
    ]
    loaded = load_scenario(resolve(scenario), overrides)
    store = SeedDatabase(database) if database is not None else None
    exploration = key(loaded.table, [prop.name for prop in checked])
    remembered = store.seeds(exploration) if store is not None else []
    seeds = [*remembered, *(s for s in range(seed, seed + runs) if s not in remembered)]
    where = Path(out) if out is not None else Path(".gorila-sim") / "explore" / loaded.name
    with Workers(workers) as pool:
        finding = run_exploration(loaded, checked, seeds, where, pool)
    if store is not None:
        passed = {report.seed for report in finding.reports if not report.failed}
        failing = [s for s in remembered if s not in passed]
        if finding.failure is not None and finding.failure.seed is not None:
            failing.append(finding.failure.seed)
        store.save(exploration, failing)
    if finding.failure is None:
        return finding
    shrunk = finding.shrunk_path.read_text() if finding.shrunk_path is not None else ""
    raise ExplorationFailed(f"{finding.summary()}\n\n{shrunk}", finding)
