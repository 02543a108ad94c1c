"""A scenario table back to TOML text: what `explore` writes as a failing or shrunk scenario."""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from typing import Any

from .format import TABLES
from .locate import quote_key


def scenario_text(table: Mapping[str, Any], comment: str = "") -> str:
    """TOML that reads back as the scenario `table` (tables and arrays of tables), its sections in the
    documented order; `comment` (one or more lines) heads the file."""
    lines = [f"# {line}".rstrip() for line in comment.splitlines()]
    order = [name for name in TABLES if name in table] + [name for name in table if name not in TABLES]
    for name in order:
        value = table[name]
        if isinstance(value, list) and all(isinstance(entry, Mapping) for entry in value):
            for entry in value:
                lines += ["", f"[[{quote_key(name)}]]", *_entries(entry)]
        else:
            lines += ["", f"[{quote_key(name)}]", *_entries(value)]
    return "\n".join(lines).lstrip("\n") + "\n"


def _entries(table: Mapping[str, Any]) -> list[str]:
    return [f"{quote_key(key)} = {_value(value)}" for key, value in table.items()]


def _value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if math.isnan(value):
            return "nan"
        if math.isinf(value):
            return "inf" if value > 0 else "-inf"
        return repr(value)
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, Mapping):
        return "{ " + ", ".join(f"{quote_key(k)} = {_value(v)}" for k, v in value.items()) + " }"
    if isinstance(value, list | tuple):
        return "[" + ", ".join(_value(item) for item in value) + "]"
    raise TypeError(f"cannot write {value!r} as TOML")
