"""The `validate` and `scenarios` subcommands of `gorila-sim`. They import the scenario parser only when
they run, and never torch or gymnasium, so they answer at once."""

from __future__ import annotations

import argparse
import sys
from typing import Any


def add_commands(subparsers: Any) -> None:
    """Add `validate` and `scenarios` to the `gorila-sim` subparsers."""
    validate = subparsers.add_parser(
        "validate", help="check scenario files (or library names): 'ok', or what is wrong in one line"
    )
    validate.add_argument("files", nargs="+", metavar="FILE", help="a scenario file or library scenario name")
    validate.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="PATH=VALUE",
        help="override a field before checking, e.g. --set topology.actors=8 (repeatable)",
    )
    validate.set_defaults(handler=_validate)
    scenarios = subparsers.add_parser("scenarios", help="list the library of scenarios")
    scenarios.set_defaults(handler=_scenarios)


def _validate(args: argparse.Namespace) -> int:
    from .errors import ScenarioError
    from .library import resolve
    from .parse import load_scenario

    status = 0
    for file in args.files:
        try:
            scenario = load_scenario(resolve(file), args.set)
        except ScenarioError as error:
            print(error, file=sys.stderr)
            status = 1
            continue
        print(f"{file}: ok ({len(scenario.nodes)} nodes, {len(scenario.faults)} faults)")
    return status


def _scenarios(args: argparse.Namespace) -> int:
    from .library import description, library_scenarios

    library = library_scenarios()
    width = max(map(len, library), default=0)
    for name, path in library.items():
        print(f"{name:<{width}}  {description(path)}")
    return 0
