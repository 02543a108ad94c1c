"""Running a scenario: build the cluster, schedule the faults, run, summarise (as `gorila.run` does)."""

from __future__ import annotations

from collections.abc import Callable

from ..config import ConfigError
from ..gorila import RunResult, run
from ..runtime import Simulation
from ..trace import Trace
from .errors import ScenarioError
from .format import CONFIG_PATHS
from .parse import Scenario


def apply_faults(scenario: Scenario, sim: Simulation) -> None:
    """Schedule every fault of the scenario's timeline on `sim`, a simulation not yet run."""
    for fault in scenario.faults:
        fault.apply(sim)


def run_scenario(
    scenario: Scenario, on_progress: Callable[[int], None] | None = None, trace: Trace | None = None
) -> RunResult:
    """Run until the scenario's [stop] says (env steps, target return or simulated time, whichever first),
    recording into `trace` (a new one by default)."""
    try:
        return run(scenario.config, on_progress, lambda sim: apply_faults(scenario, sim), trace)
    except ConfigError as error:  # what only building finds, such as an env_id gymnasium does not know
        field, _, problem = str(error).partition(": ")
        raise ScenarioError(scenario.source, CONFIG_PATHS.get(field, field), problem) from None
