"""Running a scenario: build the cluster, schedule the faults, run, summarise (as `gorila.run` does)."""

from __future__ import annotations

import time
from collections.abc import Callable

from ..gorila import RunResult, build, summarise
from ..runtime import Simulation
from ..trace import Trace
from .errors import ScenarioError
from .format import CONFIG_PATHS
from .parse import Scenario


def apply_faults(scenario: Scenario, sim: Simulation) -> None:
    """Schedule every fault of the scenario's timeline on `sim`, a simulation not yet run."""
    for fault in scenario.faults:
        fault.apply(sim)


def run_scenario(scenario: Scenario, on_progress: Callable[[int], None] | None = None) -> RunResult:
    """Run until the scenario's [stop] says (env steps, target return or simulated time, whichever first)."""
    config = scenario.config
    trace = Trace()
    try:
        sim, cluster = build(config, trace)
    except ValueError as error:  # what only building finds, such as an env_id gymnasium does not know
        field, _, problem = str(error).partition(": ")
        raise ScenarioError(scenario.source, CONFIG_PATHS.get(field, field), problem) from None
    apply_faults(scenario, sim)
    cluster.on_progress = on_progress
    started = time.perf_counter()
    sim.run(until=config.max_sim_time)
    wall = time.perf_counter() - started
    return RunResult(config, trace, summarise(trace, sim, cluster, wall))
