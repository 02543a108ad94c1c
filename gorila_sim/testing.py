"""Robustness rules as tests: run a scenario with a seed, then state what must hold.

    from gorila_sim.testing import simulate

    def test_the_threshold_holds_on_a_bad_day():
        run = simulate("bad-day", seed=2, overrides=["stop.env_steps=15000"])
        run.assert_no_applied_staler_than(10)
        run.assert_discard_rate_below(0.1)
        control = simulate("bad-day", seed=2, overrides=["stop.env_steps=15000"], learning=False)
        run.assert_return_reaches(45, control=control)  # and the control, which learns nothing, does not

A scenario is a library name or a path to a TOML file. Runs are cached per (scenario, seed, overrides)
within a test session, so several tests can state several rules about one run. A rule about gradients
refuses a run that has none, rather than hold on nothing.

`explore` checks a rule over many seeds of a scenario's fault profile instead, and fails with the
smallest scenario that breaks it and the line that replays it (docs/explore.md):

    from gorila_sim.testing import explore

    def test_no_stall_when_a_shard_crashes():
        explore("random-faults", ["progress:0.1"], runs=200)
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from .gorila import RunResult, mean_return_curve
from .trace import FATES

NO_LEARNING = "training.learning_starts=1000000000"
"""The override of a control run: no gradient is ever computed, the actors play their initial network."""


class Outcome:
    """A finished run and the rules one may assert about it; a failed rule says what was measured."""

    def __init__(self, result: RunResult) -> None:
        self.result = result
        self.summary = result.summary
        self.trace = result.trace

    def applied_staleness(self) -> np.ndarray:
        gradients = self.trace.table("gradients")
        if not gradients["fate"].size:
            return np.array([], dtype=int)
        return gradients["staleness"][gradients["fate"] == "applied"].astype(int)

    def discard_rate(self, *reasons: str) -> float:
        """Discarded gradients (for `reasons`, or any) over all gradients that met a fate."""
        unknown = sorted(set(reasons) - set(FATES))
        if unknown:
            raise ValueError(f"unknown discard reason {unknown[0]!r}; reasons are {', '.join(FATES[1:])}")
        counts = self.summary["gradients"]
        total = sum(counts.values())
        if not total:
            raise ValueError("no gradient met a fate in this run: it has no discard rate")
        wanted = reasons or tuple(fate for fate in FATES if fate != "applied")
        return sum(counts[fate] for fate in wanted) / total

    def best_mean_return(self, window: int = 10) -> float:
        _, means = mean_return_curve(self.trace, window)
        return float(means.max()) if means.size else float("-inf")

    def assert_no_applied_staler_than(self, tau: int) -> None:
        staleness = self.applied_staleness()
        assert staleness.size, f"no gradient was applied in this run ({self.summary['gradients']})"
        worst = int(staleness.max())
        count = int(np.count_nonzero(staleness > tau))
        assert count == 0, f"{count} applied gradients were staler than {tau} (the stalest: {worst})"

    def assert_discard_rate_below(self, rate: float, *reasons: str) -> None:
        measured = self.discard_rate(*reasons)
        which = ", ".join(reasons) or "any reason"
        assert measured < rate, (
            f"discard rate ({which}) {measured:.3f} is not below {rate} ({self.summary['gradients']})"
        )

    def assert_return_reaches(self, target: float, window: int = 10, control: Outcome | None = None) -> None:
        """The best mean of `window` episode returns reaches `target`; and, given a `control` run (one that
        learns nothing: `simulate(..., learning=False)`), the control's does not."""
        best = self.best_mean_return(window)
        assert best >= target, f"the mean return over {window} episodes peaked at {best:.1f}, below {target}"
        if control is not None:
            theirs = control.best_mean_return(window)
            assert theirs < target, (
                f"the control's mean return over {window} episodes peaked at {theirs:.1f}, not below"
                f" {target}: the target does not tell learning from none"
            )


def simulate(
    scenario: str | Path, seed: int | None = None, overrides: Sequence[str] = (), learning: bool = True
) -> Outcome:
    """Run `scenario` (a library name or a TOML path) with `seed` and `overrides` ("key.path=value");
    with `learning=False`, the same run with no gradient computed, as a control."""
    overrides = tuple(overrides) if learning else (*overrides, NO_LEARNING)
    return Outcome(_run(str(scenario), seed, overrides))


@functools.lru_cache(maxsize=16)
def _run(scenario: str, seed: int | None, overrides: tuple[str, ...]) -> RunResult:
    from .scenario import load_scenario, resolve, run_scenario

    seeded = (*overrides, f"scenario.seed={seed}") if seed is not None else overrides
    return run_scenario(load_scenario(resolve(scenario), seeded))


def explore(scenario: str | Path, properties: Sequence, runs: int = 100, **options):
    """Explore `scenario` for `runs` seeds and raise AssertionError with the shrunk failing scenario and its
    replay line if a property fails; see gorila_sim.explore.check.explore for the options."""
    from .explore.check import explore as check

    return check(scenario, properties, runs, **options)
