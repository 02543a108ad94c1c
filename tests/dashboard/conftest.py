"""A small bad-day run that several dashboard tests read."""

from __future__ import annotations

import pytest

from gorila_sim.gorila import RunResult
from gorila_sim.scenario import Scenario, load_scenario, resolve, run_scenario


@pytest.fixture(scope="session")
def bad_day() -> tuple[Scenario, RunResult]:
    """bad-day for 3,000 env steps (about one simulated second): crashes, a pause, a partition."""
    scenario = load_scenario(resolve("bad-day"), ["stop.env_steps=3000"])
    return scenario, run_scenario(scenario)
