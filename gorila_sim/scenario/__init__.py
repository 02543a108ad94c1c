"""Declarative fault-injection scenarios: a TOML file describes a Gorila cluster, its network, its nodes
and a timeline of faults; this package checks it, resolves it and runs it. See docs/scenarios.md.

The names below are imported on first use, so that `commands` (imported by the `gorila-sim` command for
its `--help`) loads neither numpy nor torch.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .errors import ScenarioError
    from .faults import Fault, NetworkFault, NodeFault
    from .library import library_scenarios, resolve
    from .overrides import with_overrides
    from .parse import Scenario, load_scenario, parse_scenario, scenario_from_table
    from .run import apply_faults, run_scenario

_HOMES = {
    "ScenarioError": "errors",
    "Fault": "faults",
    "NetworkFault": "faults",
    "NodeFault": "faults",
    "library_scenarios": "library",
    "resolve": "library",
    "with_overrides": "overrides",
    "Scenario": "parse",
    "load_scenario": "parse",
    "parse_scenario": "parse",
    "scenario_from_table": "parse",
    "apply_faults": "run",
    "run_scenario": "run",
}

__all__ = [
    "Fault",
    "NetworkFault",
    "NodeFault",
    "Scenario",
    "ScenarioError",
    "apply_faults",
    "library_scenarios",
    "load_scenario",
    "parse_scenario",
    "resolve",
    "run_scenario",
    "scenario_from_table",
    "with_overrides",
]


def __getattr__(name: str) -> Any:
    if name not in _HOMES:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(f".{_HOMES[name]}", __name__), name)
