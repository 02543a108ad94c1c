"""The `validate` and `scenarios` subcommands of `gorila-sim`. They import the scenario parser only when
they run, and never torch or gymnasium, so they answer at once."""

from __future__ import annotations

import argparse
import json
import re
import sys
from pathlib import Path
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
    scenarios = subparsers.add_parser(
        "scenarios", help="list the library of scenarios; show one, or copy it as a starting file"
    )
    scenarios.set_defaults(handler=_scenarios)
    actions = scenarios.add_subparsers(
        dest="scenarios_command", metavar="ACTION", parser_class=type(scenarios)
    )
    show = actions.add_parser("show", help="print a library scenario's file")
    show.add_argument("name", metavar="NAME", help="a library scenario (see `gorila-sim scenarios`)")
    show.set_defaults(handler=_show)
    init = actions.add_parser("init", help="copy a library scenario to FILE, a starting point of your own")
    init.add_argument("name", metavar="NAME", help="a library scenario (see `gorila-sim scenarios`)")
    init.add_argument("file", metavar="FILE", help="the new scenario file (never overwritten)")
    init.set_defaults(handler=_init)


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


def _library_file(name: str, command: str) -> Path | None:
    """The file of library scenario `name`, or None after saying on stderr that there is none."""
    from .library import library_scenarios

    library = library_scenarios()
    if name not in library:
        names = ", ".join(library)
        print(
            f"gorila-sim scenarios {command}: no library scenario {name!r} (the library has {names})",
            file=sys.stderr,
        )
        return None
    return library[name]


def _show(args: argparse.Namespace) -> int:
    path = _library_file(args.name, "show")
    if path is None:
        return 1
    print(path.read_text(encoding="utf-8"), end="")
    return 0


def _init(args: argparse.Namespace) -> int:
    """Copy a library scenario to a new file, its [scenario] name changed to the file's stem."""
    path = _library_file(args.name, "init")
    if path is None:
        return 1
    file = Path(args.file)
    name = file.stem
    own_name = re.compile(rf'^name = "{re.escape(args.name)}"$', re.MULTILINE)
    text = own_name.sub(f"name = {json.dumps(name)}", path.read_text(encoding="utf-8"), count=1)
    try:
        with file.open("x", encoding="utf-8") as out:
            out.write(text)
    except FileExistsError:
        print(
            f"gorila-sim scenarios init: {file} already exists (not overwritten; choose another FILE)",
            file=sys.stderr,
        )
        return 1
    except OSError as error:
        print(f"gorila-sim scenarios init: cannot write {file} ({error.strerror or error})", file=sys.stderr)
        return 1
    print(f"wrote {file}: a copy of {args.name}, named {name!r}; check it with `gorila-sim validate {file}`")
    return 0
