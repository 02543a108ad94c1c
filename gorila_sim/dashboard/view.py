"""The Gorila dashboard's layout, drawn from a Snapshot; and its one-line form for logs.

Every panel has a bounded height whatever the cluster's size: nodes are counted per role with one
coloured cell per node (or per group of nodes on large clusters), and only the few shards and learners
furthest behind are named.
"""

from __future__ import annotations

import bisect
import itertools
import math
import statistics

from rich.console import Console, ConsoleOptions, Group, RenderableType, RenderResult
from rich.panel import Panel
from rich.text import Text

from runcommon.charts import chart, columns, downsample, fold
from runcommon.display import View

from ..topology import role_of
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
COMPACT_WIDTH = 35
"""Columns inside a compact panel, two of which fit side by side in 80."""

COMPACT_EVENTS = 3
"""Fault events the compact layout shows."""


class GorilaView:
    """The dashboard of one snapshot, as a rich renderable that fits the console's width; on a terminal
    too low for the whole of it (such as 80×24), the compact layout: the same panels, shorter."""

    def __init__(self, snapshot: Snapshot) -> None:
        self.snapshot = snapshot

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        s = self.snapshot
        network = [network_panel(s)] if s.interfaces else []
        left = Group(nodes_panel(s), versions_panel(s), *network, events_panel(s))
        right = Group(throughput_panel(s), staleness_panel(s), learning_panel(s))
        full = Group(header(s, options.max_width), columns(left, right, options))
        if not console.is_terminal or len(console.render_lines(full, options, pad=False)) <= console.height:
            yield full
            return
        yield header(s, options.max_width)
        left = Group(node_counts_panel(s), versions_panel(s, compact=True), events_panel(s, COMPACT_EVENTS))
        right = Group(
            throughput_panel(s, compact=True), staleness_line_panel(s), learning_panel(s, compact=True)
        )
        yield columns(left, right, options, compact=True)


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


def header(s: Snapshot, width: int) -> Text:
    """Two lines, folded between their parts where the console is narrower: numbers are never cut."""
    goal, end = s.info.env_steps_goal, s.info.sim_end
    done = min(1.0, max(s.env_steps / goal, s.sim_time / end if math.isfinite(end) else 0.0))
    filled = round(done * PROGRESS_WIDTH)
    bar = Text("finished " if s.finished else f"{done:.0%} ")
    bar.append("━" * filled, style="green")
    bar.append("━" * (PROGRESS_WIDTH - filled), style="grey23")
    of_end = f" of {end:g}" if math.isfinite(end) else ""
    speed = f"{s.sim_per_wall:.3g}" if math.isfinite(s.sim_per_wall) else "–"
    title = Text(f"gorila-sim · {s.info.name} · {s.clock}", style="bold")
    first = [title, bar] if len(title) + 3 + len(bar) > width else [title + Text(" · ", style="bold") + bar]
    second = [
        f"simulated {s.sim_time:.3f}{of_end} s",
        f"wall {s.wall_time:.1f} s",
        f"{speed} sim s per wall s",
        f"{s.env_steps:,} of {goal:,} env steps",
    ]
    text = fold(first, width)
    text.append("\n")
    text.append_text(fold([Text(part) for part in second], width))
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


def versions_panel(s: Snapshot, compact: bool = False) -> Panel:
    """The shards' versions and the learners' lag; `compact`: without the lists of the furthest behind,
    lines wrapped rather than cut."""
    text = Text() if compact else Text(no_wrap=True, overflow="ellipsis")
    versions = s.shard_versions
    if versions:
        newest = max(versions.values())
        text.append(f"{_many(len(versions), 'shard')} at version {min(versions.values()):,} to {newest:,}\n")
        behind = sorted(versions, key=lambda shard: (versions[shard], shard))[:NAMED]
        if not compact:
            text.append("  " + " · ".join(_behind(shard, versions[shard], newest) for shard in behind) + "\n")
    else:
        text.append("no gradient has reached a shard yet\n", style="dim")
    lags = s.learner_lags
    if lags:
        median = statistics.median(lags.values())
        text.append(f"{_many(len(lags), 'learner')}, lag median {median:g}, max {max(lags.values())}\n")
        stalest = sorted(lags, key=lambda learner: -lags[learner])[:NAMED]
        if not compact:
            text.append("  " + " · ".join(f"{learner} {lags[learner]}" for learner in stalest))
    text.rstrip()
    return Panel(
        text, title="versions and lag" if compact else "parameter versions and lag", title_align="left"
    )


def _many(count: int, noun: str) -> str:
    return f"{count} {noun}" if count == 1 else f"{count} {noun}s"


def _behind(shard: str, version: int, newest: int) -> str:
    return f"{shard} v{version:,}" + (f" (−{newest - version:,})" if version < newest else "")


def network_panel(s: Snapshot) -> Panel:
    """The interfaces' busy fraction per role, and how long the latest messages waited for their turn."""
    text = Text(no_wrap=True, overflow="ellipsis")
    text.append(f"{'role':<9}{'egress':>8}{'ingress':>9}", style="bold")
    for role, sides in s.interfaces.items():
        text.append(f"\n{role:<9}")
        for side, width in (("egress", 8), ("ingress", 9)):
            busy = sides[side]
            cell = "–" if math.isnan(busy) else f"{busy:.0%}"
            text.append(f"{cell:>{width}}", style="red" if busy >= 0.9 else "")
    names = {"gradient": "gradients", "params": "θ"}
    waits = " · ".join(f"{names.get(kind, kind)} {1e3 * wait:.1f} ms" for kind, wait in s.queue_wait.items())
    text.append(f"\nqueue wait: {waits or 'none yet'}")
    return Panel(text, title="network interfaces busy", title_align="left")


def events_panel(s: Snapshot, latest: int | None = None) -> Panel:
    """The latest fault events (`latest` of them, wrapped rather than cut; default: all the snapshot
    keeps, each on one line)."""
    text = Text(no_wrap=True, overflow="ellipsis") if latest is None else Text()
    for event in s.events[-latest if latest else 0 :]:
        text.append(f"{event.time:9.3f} s  ", style="dim")
        text.append(event.text + "\n", style=STYLES[event.kind])
    if not s.events:
        text.append("none yet", style="dim")
    text.rstrip()
    return Panel(text, title=f"fault events ({s.event_count:,})", title_align="left")


def throughput_panel(s: Snapshot, compact: bool = False) -> Panel:
    """Env steps and gradients by fate, per simulated second and in all; `compact`: labels of 12 columns
    (the discards under "discarded")."""
    label_width = 12 if compact else 24
    text = Text(no_wrap=True, overflow="ellipsis")
    text.append(f"{'':<{label_width}}{'per sim s':>11}{'total':>12}", style="bold")
    text.append(f"\n{'env steps':<{label_width}}{_rate(s.rates['env steps']):>11}{s.env_steps:>12,}")
    for fate, count in s.gradients.items():
        if compact:
            label = fate if fate == "applied" else f"  {fate}"
        else:
            label = "gradients applied" if fate == "applied" else f"  discarded: {fate}"
        style = "red" if fate != "applied" and count else ""
        text.append(f"\n{label:<{label_width}}{_rate(s.rates[fate]):>11}{count:>12,}", style=style)
    title = "throughput (gradients by fate)" if compact else "throughput"
    return Panel(text, title=title, title_align="left")


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


def learning_panel(s: Snapshot, compact: bool = False) -> Panel:
    """The mean return of the latest episodes as a chart, with the latest and best; `compact`: two rows
    high and COMPACT_WIDTH wide, its last line folded rather than cut."""
    if compact:
        title = f"mean return, last {RETURN_WINDOW} episodes"
    else:
        title = f"learning: mean return of the last {RETURN_WINDOW} episodes"
    text = Text(no_wrap=True, overflow="ellipsis")
    means = s.mean_returns
    if not means:
        text.append(f"{s.episodes} episodes so far; a mean needs {RETURN_WINDOW}", style="dim")
        return Panel(text, title=title, title_align="left")
    rows = 2 if compact else CURVE_ROWS
    width = max(len(f"{value:.1f}") for value in (min(means), max(means)))
    columns = downsample(means, COMPACT_WIDTH - width - 1 if compact else CURVE_WIDTH)
    labels = [f"{max(columns):.1f}", *[""] * (rows - 2), f"{min(columns):.1f}"]
    for label, row in zip(labels, chart(columns, rows), strict=True):
        text.append(f"{label:>{width}} ", style="dim")
        text.append(row + "\n", style="green")
    if compact:
        parts = [f"latest {means[-1]:.1f}", f"best {max(means):.1f}", f"episodes {s.episodes:,}"]
        text.append_text(fold([Text(part) for part in parts], COMPACT_WIDTH))
    else:
        text.append(f"episodes {s.episodes:,} · latest {means[-1]:.1f} · best {max(means):.1f}")
    return Panel(text, title=title, title_align="left")


def node_counts_panel(s: Snapshot) -> Panel:
    """The nodes panel without its cells: how many nodes of each role (a column each) are up, down,
    paused and slow (a row each)."""
    by_role: dict[str, list[str]] = {}
    for node, state in s.nodes.items():
        by_role.setdefault(role_of(node), []).append(state)
    widths = {role: max(len(role), len(f"{len(states):,}")) + 1 for role, states in by_role.items()}
    label = max(map(len, STATES))
    text = Text(no_wrap=True, overflow="fold")
    text.append(" " * label + "".join(f"{role:>{widths[role]}}" for role in by_role), style="bold")
    for state in STATES:
        text.append(f"\n{state:<{label}}", style=f"bold {STYLES[state]}")
        for role, states in by_role.items():
            count = states.count(state)
            text.append(f"{count:>{widths[role]},}" if count else " " * widths[role], style=STYLES[state])
    return Panel(text, title=f"nodes ({len(s.nodes):,})", title_align="left")


def staleness_line_panel(s: Snapshot) -> Panel:
    """The staleness of the applied gradients as percentiles (numpy's linear method) on one line."""
    text = Text()
    applied = sum(s.staleness.values())
    if applied:
        values = sorted(s.staleness)
        cumulative = list(itertools.accumulate(s.staleness[value] for value in values))

        def nth(k: int) -> int:
            """The k-th smallest applied gradient's staleness, from 0."""
            return values[bisect.bisect_right(cumulative, k)]

        def percentile(q: int) -> float:
            position = q / 100 * (applied - 1)
            low = math.floor(position)
            return nth(low) + (nth(min(low + 1, applied - 1)) - nth(low)) * (position - low)

        text.append(" · ".join(f"p{q} {percentile(q):,.3g}" for q in (50, 90, 99)))
        text.append(f" · max {values[-1]:,}")
    else:
        text.append("no gradient applied yet", style="dim")
    return Panel(text, title="staleness of applied gradients", title_align="left")
