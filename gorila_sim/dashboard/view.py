"""The Gorila dashboard's layout, drawn from a Snapshot; and its one-line form for logs.

Every panel has a bounded height whatever the cluster's size: nodes are counted per role with one
coloured cell per node (or per group of nodes on large clusters), and only the few shards and learners
furthest behind are named.
"""

from __future__ import annotations

import itertools
import math
import statistics

from rich.console import Console, ConsoleOptions, Group, RenderableType, RenderResult
from rich.panel import Panel
from rich.table import Table
from rich.text import Text

from ..topology import role_of
from .display import View
from .snapshot import RETURN_WINDOW, STATES, Snapshot

STYLES = {"up": "green", "down": "red", "paused": "yellow", "slow": "magenta", "network": "cyan"}
"""The colour of each node state and event kind."""

WORST_FIRST = ("down", "paused", "slow", "up")
"""A cell standing for several nodes takes the colour of the worst of them."""

MAX_CELLS = 50
"""Cells per role; beyond this many nodes a cell stands for several."""

NAMED = 4
"""Shards and learners named as furthest behind."""

BUCKETS = ((0, 0), (1, 1), (2, 2), (3, 3), (4, 7), (8, 15), (16, 31), (32, 63), (64, math.inf))
"""Staleness histogram bins (inclusive)."""

BAR_WIDTH = 24
PROGRESS_WIDTH = 20
CURVE_WIDTH = 44
CURVE_ROWS = 4
TWO_COLUMNS_FROM = 100
"""Narrower consoles get the panels in one column."""

_EIGHTHS = " ▁▂▃▄▅▆▇█"


class GorilaView:
    """The dashboard of one snapshot, as a rich renderable that fits the console's width."""

    def __init__(self, snapshot: Snapshot) -> None:
        self.snapshot = snapshot

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        s = self.snapshot
        yield header(s)
        left = Group(nodes_panel(s), versions_panel(s), events_panel(s))
        yield columns(left, Group(throughput_panel(s), staleness_panel(s), learning_panel(s)), options)


def columns(left: RenderableType, right: RenderableType, options: ConsoleOptions) -> RenderableType:
    """`left` beside `right`, or above it when the console is narrower than TWO_COLUMNS_FROM."""
    if options.max_width < TWO_COLUMNS_FROM:
        return Group(left, right)
    body = Table.grid(expand=True, padding=(0, 1, 0, 0))
    body.add_column(ratio=1)
    body.add_column(ratio=1)
    body.add_row(left, right)
    return body


def render(snapshot: Snapshot) -> RenderableType:
    """The whole dashboard."""
    return GorilaView(snapshot)


def line(snapshot: Snapshot) -> str:
    """One plain line of progress, for logs and pipes."""
    s = snapshot
    applied = s.gradients["applied"]
    discarded = sum(s.gradients.values()) - applied
    mean = f"{s.mean_returns[-1]:.1f}" if s.mean_returns else "n/a"
    return (
        f"{s.info.name}: sim {s.sim_time:.2f} s, wall {s.wall_time:.1f} s, {s.env_steps:,} env steps, "
        f"gradients {applied:,} applied {discarded:,} discarded, mean return {mean}, "
        f"nodes down {s.count('down')} paused {s.count('paused')}"
    )


GORILA = View(render, line)
"""The Gorila dashboard."""


def header(s: Snapshot) -> Text:
    goal, end = s.info.env_steps_goal, s.info.sim_end
    done = min(1.0, max(s.env_steps / goal, s.sim_time / end if math.isfinite(end) else 0.0))
    filled = round(done * PROGRESS_WIDTH)
    text = Text(no_wrap=True, overflow="ellipsis")
    text.append(f"gorila-sim · {s.info.name} · {s.clock} · ", style="bold")
    text.append("finished " if s.finished else f"{done:.0%} ")
    text.append("━" * filled, style="green")
    text.append("━" * (PROGRESS_WIDTH - filled), style="grey23")
    of_end = f" of {end:g}" if math.isfinite(end) else ""
    speed = f"{s.sim_per_wall:.3g}" if math.isfinite(s.sim_per_wall) else "–"
    text.append(
        f"\nsimulated {s.sim_time:.3f}{of_end} s · wall {s.wall_time:.1f} s · "
        f"{speed} sim s per wall s · {s.env_steps:,} of {goal:,} env steps"
    )
    return text


def nodes_panel(s: Snapshot) -> Panel:
    text = Text(no_wrap=True, overflow="ellipsis")
    text.append(f"{'role':<9}{'nodes':>6}", style="bold")
    for state in STATES:
        text.append(f"{state:>7}", style=f"bold {STYLES[state]}")
    by_role: dict[str, list[str]] = {}
    for node, state in s.nodes.items():
        by_role.setdefault(role_of(node), []).append(state)
    largest = 1
    for role, states in by_role.items():
        per_cell = math.ceil(len(states) / MAX_CELLS)
        largest = max(largest, per_cell)
        text.append(f"\n{role:<9}{len(states):>6}")
        for state in STATES:
            text.append(f"{states.count(state) or '':>7}", style=STYLES[state])
        text.append("\n  ")
        text.append_text(cells(states, per_cell))
    text.append("\n")
    for state in STATES:
        text.append(f"■ {state}  ", style=STYLES[state])
    if largest > 1:
        text.append(f"(≤ {largest} nodes a cell)", style="dim")
    return Panel(text, title="nodes", title_align="left")


def cells(states: list[str], per_cell: int) -> Text:
    """One coloured cell per `per_cell` nodes."""
    worst = [
        next(state for state in WORST_FIRST if state in states[start : start + per_cell])
        for start in range(0, len(states), per_cell)
    ]
    text = Text()
    for state, run in itertools.groupby(worst):
        text.append("■" * len(list(run)), style=STYLES[state])
    return text


def versions_panel(s: Snapshot) -> Panel:
    text = Text(no_wrap=True, overflow="ellipsis")
    versions = s.shard_versions
    if versions:
        newest = max(versions.values())
        text.append(f"{_many(len(versions), 'shard')} at version {min(versions.values()):,} to {newest:,}\n")
        behind = sorted(versions, key=lambda shard: (versions[shard], shard))[:NAMED]
        text.append("  " + " · ".join(_behind(shard, versions[shard], newest) for shard in behind) + "\n")
    else:
        text.append("no gradient has reached a shard yet\n", style="dim")
    lags = s.learner_lags
    if lags:
        median = statistics.median(lags.values())
        text.append(f"{_many(len(lags), 'learner')}, lag median {median:g}, max {max(lags.values())}\n")
        stalest = sorted(lags, key=lambda learner: -lags[learner])[:NAMED]
        text.append("  " + " · ".join(f"{learner} {lags[learner]}" for learner in stalest))
    return Panel(text, title="parameter versions and lag", title_align="left")


def _many(count: int, noun: str) -> str:
    return f"{count} {noun}" if count == 1 else f"{count} {noun}s"


def _behind(shard: str, version: int, newest: int) -> str:
    return f"{shard} v{version:,}" + (f" (−{newest - version:,})" if version < newest else "")


def events_panel(s: Snapshot) -> Panel:
    text = Text(no_wrap=True, overflow="ellipsis")
    for event in s.events:
        text.append(f"{event.time:9.3f} s  ", style="dim")
        text.append(event.text + "\n", style=STYLES[event.kind])
    if not s.events:
        text.append("none yet", style="dim")
    text.rstrip()
    return Panel(text, title=f"fault events ({s.event_count:,})", title_align="left")


def throughput_panel(s: Snapshot) -> Panel:
    text = Text(no_wrap=True, overflow="ellipsis")
    text.append(f"{'':<24}{'per sim s':>11}{'total':>12}", style="bold")
    text.append(f"\n{'env steps':<24}{_rate(s.rates['env steps']):>11}{s.env_steps:>12,}")
    for fate, count in s.gradients.items():
        label = "gradients applied" if fate == "applied" else f"  discarded: {fate}"
        style = "red" if fate != "applied" and count else ""
        text.append(f"\n{label:<24}{_rate(s.rates[fate]):>11}{count:>12,}", style=style)
    return Panel(text, title="throughput", title_align="left")


def _rate(per_second: float) -> str:
    return f"{per_second:,.0f}" if per_second >= 100 else f"{per_second:.1f}"


def staleness_panel(s: Snapshot) -> Panel:
    counts = [sum(n for value, n in s.staleness.items() if low <= value <= high) for low, high in BUCKETS]
    last = max([4, *(i + 1 for i, n in enumerate(counts) if n)])
    most = max(counts) or 1
    text = Text(no_wrap=True, overflow="ellipsis")
    for (low, high), count in zip(BUCKETS[:last], counts[:last], strict=True):
        label = str(low) if low == high else f"{low}+" if math.isinf(high) else f"{low}–{high}"
        bar = "█" * math.ceil(BAR_WIDTH * count / most)
        text.append(f"{label:>5} ")
        text.append(bar.ljust(BAR_WIDTH), style="blue")
        text.append(f" {count:,}\n")
    text.rstrip()
    worst = f", max {max(s.staleness)}" if s.staleness else ""
    return Panel(text, title=f"staleness of applied gradients{worst}", title_align="left")


def learning_panel(s: Snapshot) -> Panel:
    title = f"learning: mean return of the last {RETURN_WINDOW} episodes"
    text = Text(no_wrap=True, overflow="ellipsis")
    means = s.mean_returns
    if not means:
        text.append(f"{s.episodes} episodes so far; a mean needs {RETURN_WINDOW}", style="dim")
        return Panel(text, title=title, title_align="left")
    columns = downsample(means, CURVE_WIDTH)
    labels = [f"{max(columns):.1f}", *[""] * (CURVE_ROWS - 2), f"{min(columns):.1f}"]
    width = max(map(len, labels))
    for label, row in zip(labels, chart(columns, CURVE_ROWS), strict=True):
        text.append(f"{label:>{width}} ", style="dim")
        text.append(row + "\n", style="green")
    text.append(f"episodes {s.episodes:,} · latest {means[-1]:.1f} · best {max(means):.1f}")
    return Panel(text, title=title, title_align="left")


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
