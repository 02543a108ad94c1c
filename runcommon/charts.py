"""Pieces of a run's live layout that every dashboard draws with: one-row bar charts, parts folded to the
console's width, two panels side by side where they fit."""

from __future__ import annotations

import statistics

from rich.console import ConsoleOptions, Group, RenderableType
from rich.table import Table
from rich.text import Text

TWO_COLUMNS_FROM = 100
"""Narrower consoles get the panels in one column."""
COMPACT_TWO_COLUMNS_FROM = 80
"""The compact panels fit two columns from this width."""


_EIGHTHS = " ▁▂▃▄▅▆▇█"


def columns(
    left: RenderableType, right: RenderableType, options: ConsoleOptions, compact: bool = False
) -> RenderableType:
    """`left` beside `right`, or above it when the console is narrower than TWO_COLUMNS_FROM (the compact
    panels: COMPACT_TWO_COLUMNS_FROM)."""
    if options.max_width < (COMPACT_TWO_COLUMNS_FROM if compact else TWO_COLUMNS_FROM):
        return Group(left, right)
    body = Table.grid(expand=True, padding=(0, 1, 0, 0))
    body.add_column(ratio=1)
    body.add_column(ratio=1)
    body.add_row(left, right)
    return body


def fold(parts: list[Text], width: int, joint: str = " · ") -> Text:
    """`parts` joined by `joint`, starting a new line before a part that would pass `width`."""
    text, column = Text(no_wrap=True, overflow="ellipsis"), 0
    for index, part in enumerate(parts):
        if index and column + len(joint) + len(part) > width:
            text.append("\n")
            column = 0
        elif index:
            text.append(joint)
            column += len(joint)
        text.append_text(part)
        column += len(part)
    return text


def downsample(values: tuple[float, ...], width: int) -> list[float]:
    """At most `width` values: the means of consecutive runs of `values`."""
    n = len(values)
    count = min(width, n)
    return [statistics.fmean(values[i * n // count : (i + 1) * n // count]) for i in range(count)]


def chart(values: list[float], rows: int) -> list[str]:
    """`values` as bars `rows` characters high, from their minimum to their maximum in eighths of a row."""
    low, high = min(values), max(values)
    span = high - low or 1.0
    levels = [round((value - low) / span * (rows * 8 - 1)) + 1 for value in values]
    return [
        "".join(_EIGHTHS[min(8, max(0, level - 8 * (rows - 1 - row)))] for level in levels)
        for row in range(rows)
    ]
