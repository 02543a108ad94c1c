"""Overrides of a scenario's fields from the command line: `topology.actors=8`, `faults[0].at=2.5`."""

from __future__ import annotations

import copy
import re
import tomllib
from collections.abc import Iterable, Mapping
from typing import Any

from .errors import ScenarioError
from .locate import FieldPath, render, split_path

_BARE_WORD = re.compile(r"[A-Za-z_][A-Za-z0-9_.:/+-]*")


def parse_override(override: str) -> tuple[FieldPath, Any]:
    """The field path and value of "path=value"; the value is read as a TOML value, or taken as a string
    when it is a bare word such as `adam` or `CartPole-v1` (so the shell's quotes need no escaping)."""
    name, equals, value_text = override.partition("=")
    if not equals:
        raise _bad(override, "must look like path.to.key=VALUE, e.g. topology.actors=8")
    path = split_path(name.strip())
    if path is None or not isinstance(path[0], str):
        example = 'training.optimiser.lr, network.roles."learner->shard".latency or faults[0].at'
        raise _bad(override, f"{name.strip()!r} is not a field path (keys joined by dots, e.g. {example})")
    value_text = value_text.strip()
    try:
        parsed = tomllib.loads(f"value = {value_text}")
    except tomllib.TOMLDecodeError:
        parsed = {}
    except RecursionError:
        raise _bad(override, "the value is nested too deeply") from None
    if list(parsed) == ["value"]:
        return path, parsed["value"]
    if _BARE_WORD.fullmatch(value_text):
        return path, value_text
    raise _bad(
        override,
        f'{value_text!r} is not a TOML value (e.g. 8, 1.5, true, "text", [1, 2] or {{name = "adam"}})',
    )


def with_overrides(table: Mapping[str, Any], overrides: Iterable[str]) -> dict[str, Any]:
    """A copy of the scenario `table` with each override set, in order. Tables on the way are made as
    needed, and `faults[N]` may name an existing entry or the next one."""
    result = copy.deepcopy(dict(table))
    for override in overrides:
        path, value = parse_override(override)
        place: Any = result
        for depth, part in enumerate(path):
            _make_room(place, part, path[:depth], override)
            if depth == len(path) - 1:
                place[part] = value
            else:
                if isinstance(part, str) and part not in place:
                    place[part] = [] if isinstance(path[depth + 1], int) else {}
                place = place[part]
    return result


def _make_room(place: Any, part: str | int, before: FieldPath, override: str) -> None:
    """Check that `place`, the value at `before`, can hold `part`; add the list entry `part` if it is the
    next one."""
    within = render(before) or "the scenario"
    if isinstance(part, str):
        if not isinstance(place, dict):
            raise _bad(override, f"{within} is not a table, so it has no key {part!r}")
        return
    if not isinstance(place, list):
        raise _bad(override, f"{within} is not a list, so it has no entry [{part}]")
    if part > len(place):
        raise _bad(override, f"{within} has no entry [{part}] (the next one to add is [{len(place)}])")
    if part == len(place):
        place.append({})


def _bad(override: str, problem: str) -> ScenarioError:
    return ScenarioError(f"override {override!r}", None, problem)
