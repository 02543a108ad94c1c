"""Field paths such as `faults[2].a.role` or `network.roles."learner->shard".latency`, and the line of a
TOML source that sets one: enough to point an error at its line without a TOML parser that keeps lines."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator

FieldPath = tuple[str | int, ...]

_BARE = re.compile(r"[A-Za-z0-9_-]+")
_ONE_KEY = r"""[A-Za-z0-9_-]+|"(?:[^"\\]|\\.)*"|'[^']*'"""
_KEY = re.compile(rf"\s*({_ONE_KEY})\s*")
_INDEX = re.compile(r"\[(\d+)\]\s*")
_KEY_LINE = re.compile(rf"\s*((?:{_ONE_KEY})(?:\s*\.\s*(?:{_ONE_KEY}))*)\s*=")
_TABLE = re.compile(r"\s*\[\s*([^\[\]]+?)\s*\]\s*(?:#.*)?")
_ARRAY_TABLE = re.compile(r"\s*\[\[\s*([^\[\]]+?)\s*\]\]\s*(?:#.*)?")


def quote_key(key: str) -> str:
    """`key` as a component of a field path: bare where TOML allows it, else in double quotes."""
    return key if _BARE.fullmatch(key) else json.dumps(key)


def render(path: FieldPath) -> str:
    """The text of a field path: keys joined by dots, list indices in brackets."""
    text = ""
    for part in path:
        text += f"[{part}]" if isinstance(part, int) else f"{'.' if text else ''}{quote_key(part)}"
    return text


def split_path(text: str) -> FieldPath | None:
    """The components of a field path or a TOML dotted key (keys, and `[i]` list indices); None if `text`
    is not one."""
    parts: list[str | int] = []
    position = 0
    while True:
        key = _KEY.match(text, position)
        if key is None:
            return None
        parts.append(_unquote(key.group(1)))
        position = key.end()
        while index := _INDEX.match(text, position):
            parts.append(int(index.group(1)))
            position = index.end()
        if position == len(text):
            return tuple(parts)
        if text[position] != ".":
            return None
        position += 1


def _unquote(key: str) -> str:
    if key.startswith("'"):
        return key[1:-1]
    if key.startswith('"'):
        try:
            return json.loads(key)
        except ValueError:
            return key[1:-1]
    return key


def line_of(text: str, path: FieldPath) -> int | None:
    """The line (counted from 1) of `text` that sets `path`; else the first line inside it (for a table or
    array given as its entries), else the line of the nearest table or key around it; None if none."""
    best, best_depth = None, 0
    for number, place in _places(text):
        depth = min(len(place), len(path))
        if depth > best_depth and place[:depth] == path[:depth]:
            best, best_depth = number, depth
    return best


def _places(text: str) -> Iterator[tuple[int, FieldPath]]:
    """(line number, field path) of every table header and key in `text`, in order.

    Lines inside multi-line strings are skipped; each `[[array]]` header opens the next index of the array.
    """
    arrays: dict[FieldPath, int] = {}
    table: FieldPath = ()
    in_string = None
    for number, line in enumerate(text.split("\n"), start=1):  # TOML counts lines by \n only
        if in_string is not None:
            if in_string in line:
                in_string = None
            continue
        if array_header := _ARRAY_TABLE.fullmatch(line):
            parts = split_path(array_header.group(1))
            if parts is not None:
                array = _within_arrays(parts, arrays)
                arrays[array] = arrays.get(array, -1) + 1
                table = (*array, arrays[array])
                yield number, table
        elif table_header := _TABLE.fullmatch(line):
            parts = split_path(table_header.group(1))
            if parts is not None:
                table = _within_arrays(parts, arrays)
                yield number, table
        elif key_line := _KEY_LINE.match(line):
            parts = split_path(key_line.group(1))
            if parts is not None:
                yield number, (*table, *parts)
        for quotes in ('"""', "'''"):
            if line.count(quotes) % 2 == 1:
                in_string = quotes
                break


def _within_arrays(parts: FieldPath, arrays: dict[FieldPath, int]) -> FieldPath:
    """`parts` with the current index inserted after every array of tables it passes through."""
    full: list[str | int] = []
    for part in parts[:-1]:
        full.append(part)
        if tuple(full) in arrays:
            full.append(arrays[tuple(full)])
    return (*full, parts[-1])
