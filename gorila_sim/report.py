"""Plots and a markdown summary of one or more finished runs, read from their results directories."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from .delays import AGE_PARTS, age_split, utilisation
from .results import StoredRun
from .trace import FATES

DISCARDS = tuple(fate for fate in FATES if fate != "applied")
TIMELINE_NODES = 40
"""At most this many nodes get a row in the timeline: those that changed state most."""

FAULT_COLOURS = {
    "crash": "tab:red",
    "pause": "tab:orange",
    "slowdown": "tab:purple",
    "partition": "tab:blue",
    "latency_spike": "tab:cyan",
    "loss_burst": "tab:brown",
}
"""The colour of each fault kind, on the timeline and in the windows shaded on plots against time."""

MESSAGES = {
    "sent": "messages sent",
    "delivered": "messages delivered",
    "duplicated": "messages duplicated",
    "lost_link": "messages lost on a link",
    "lost_partition": "messages lost to a partition",
    "lost_down": "messages lost to a down node",
    "late_replies": "replies after their call timed out",
    "rejected": "messages rejected by a server",
}
"""The summary's network counts, by what they count; losses by reason."""


@dataclass(frozen=True)
class FaultWindow:
    """One fault of a run's [[faults]] timeline: its kind, its interval (cut at the run's end) and whom it
    hits (`nodes`: the nodes of a crash, pause or slowdown; `what`: in words)."""

    kind: str
    start: float
    end: float
    what: str
    nodes: tuple[str, ...] = ()

    @property
    def title(self) -> str:
        return f"{self.kind.replace('_', ' ')}: {self.what}"


def fault_windows(run: StoredRun) -> list[FaultWindow]:
    """The windows of the run's scenario's fault timeline that began before the run ended ([] when the
    stored scenario cannot be read back)."""
    from .dashboard.timeline import ARROWS, group
    from .scenario import NodeFault, ScenarioError
    from .scenario.parse import stored_faults

    try:
        faults = stored_faults(run.scenario)
    except ScenarioError:
        return []
    end = _end(run)
    windows = []
    for fault in faults:
        if isinstance(fault, NodeFault):
            what = group(fault.nodes) + (f" {fault.factor:g}× slower" if fault.kind == "slowdown" else "")
            window = FaultWindow(fault.kind, fault.at, fault.until, what, fault.nodes)
        else:
            b = fault.between
            what = f"{group(b.a)} {ARROWS[b.direction]} {group(b.b)}"
            if fault.kind == "loss_burst":
                what += f", loss {b.loss:.0%}"
            window = FaultWindow(fault.kind, b.start, b.end, what)
        if window.start < end:
            windows.append(
                FaultWindow(window.kind, window.start, min(window.end, end), window.what, window.nodes)
            )
    return windows


def network_rows(summary: dict[str, Any]) -> list[tuple[str, int]]:
    """The summary's message counts, losses by reason among them, as (title, count) rows."""
    counts = summary.get("network") or {}
    return [(MESSAGES.get(key, f"messages {key.replace('_', ' ')}"), count) for key, count in counts.items()]


def _end(run: StoredRun) -> float:
    """The run's end in simulated seconds."""
    times = run.tables["lifecycle"]["time"]
    return max(float(run.summary.get("sim_time") or 0.0), float(times.max()) if times.size else 0.0)


def _shade(ax, windows: list[FaultWindow], to_x=None) -> None:
    """Shade each fault window on `ax`, whose x axis is simulated time (or `to_x` of it)."""
    labelled: set[str] = set()
    order = list(FAULT_COLOURS)
    intervals = {(w.kind, w.start, w.end) for w in windows}
    for kind, start, end in sorted(intervals, key=lambda i: (order.index(i[0]), i[1:])):
        left, right = (start, end) if to_x is None else (to_x(start), to_x(end))
        label = None if kind in labelled else kind.replace("_", " ")
        labelled.add(kind)
        ax.axvspan(left, right, color=FAULT_COLOURS[kind], alpha=0.2, linewidth=0, label=label)


def _rolling_mean(values: np.ndarray, window: int = 10) -> np.ndarray:
    if values.size < window:
        return np.array([])
    return np.convolve(values, np.ones(window) / window, mode="valid")


def _legend_or_note(ax, empty: str, drawn: bool) -> None:
    """A legend of what was drawn and shaded, and a note saying why nothing was drawn if nothing was."""
    if ax.get_legend_handles_labels()[0]:
        ax.legend(fontsize="small")
    if not drawn:
        ax.text(0.5, 0.5, empty, transform=ax.transAxes, ha="center", va="center", color="grey")


def _learning_curves(runs: list[StoredRun], axes, windows: list[FaultWindow]) -> None:
    """Against simulated time and against env steps, the fault windows shaded (on the env-steps axis at
    the env steps the first run had made by then)."""
    by_time, by_steps = axes
    drawn = False
    for run in runs:
        episodes = run.tables["episodes"]
        means = _rolling_mean(episodes["ret"].astype(float))
        if means.size:
            drawn = True
            by_time.plot(episodes["time"][9:], means, label=run.title)
            by_steps.plot(episodes["env_steps"][9:], means, label=run.title)
    _shade(by_time, windows)
    first = runs[0].tables["episodes"]
    if first["time"].size:
        times, steps = first["time"].astype(float), first["env_steps"].astype(float)
        _shade(by_steps, windows, lambda t: float(np.interp(t, times, steps)))
    by_time.set(xlabel="simulated time (s)", ylabel="mean return, last 10 episodes", title="Learning curve")
    by_steps.set(xlabel="env steps", title="Learning curve")
    _legend_or_note(by_time, "fewer than 10 episodes", drawn)


def _staleness(runs: list[StoredRun], ax) -> None:
    drawn = False
    for run in runs:
        g = run.tables["gradients"]
        applied = g["staleness"][g["fate"] == "applied"].astype(float) if g["fate"].size else np.array([])
        if applied.size:
            drawn = True
            bins = np.arange(-0.5, applied.max() + 1.5)
            ax.hist(applied, bins=bins, histtype="step", label=run.label, density=True)
    ax.set(xlabel="staleness (server versions)", ylabel="fraction of applied gradients", title="Staleness")
    _legend_or_note(ax, "no gradient was applied", drawn)


def _discards(runs: list[StoredRun], ax, windows: list[FaultWindow]) -> None:
    drawn = False
    for run in runs:
        g = run.tables["gradients"]
        if not g["time"].size:
            continue
        edges = np.linspace(0.0, float(g["time"].max()) or 1.0, 41)
        centres = (edges[:-1] + edges[1:]) / 2
        for fate in DISCARDS:
            counts, _ = np.histogram(g["time"][g["fate"] == fate].astype(float), bins=edges)
            if counts.any():
                drawn = True
                prefix = f"{run.title}: " if len(runs) > 1 else ""
                ax.plot(centres, counts, drawstyle="steps-mid", label=f"{prefix}{fate}")
    _shade(ax, windows)
    ax.set(xlabel="simulated time (s)", ylabel="discarded gradients per bin", title="Discards by reason")
    _legend_or_note(ax, "no gradient was discarded", drawn)


AGE_LABELS = {
    "compute": "learner (compute)",
    "params_queueing": "θ queueing",
    "params_transfer": "θ transfer",
    "gradient_queueing": "gradient queueing",
    "gradient_transfer": "gradient transfer",
}
"""How the report names the parts of a gradient's age."""


def _gradient_age(runs: list[StoredRun], ax) -> None:
    splits = [age_split(run.tables["messages"]) for run in runs]
    labels = [run.title for run in runs]
    left = np.zeros(len(runs))
    for part in AGE_PARTS:
        widths = np.array([1e3 * split[part] for split in splits])
        if np.isfinite(widths).any():
            widths = np.nan_to_num(widths)
            ax.barh(labels, widths, left=left, label=AGE_LABELS[part])
            left += widths
    ax.set(
        xlabel="mean age of a gradient when it reaches its shard (ms)", title="Where a gradient's age goes"
    )
    if ax.get_legend_handles_labels()[0]:
        ax.legend(fontsize="small", loc="upper center", bbox_to_anchor=(0.5, -0.35), ncol=3)
    else:
        _legend_or_note(ax, "no gradient was traced with its slice of θ", drawn=False)


def _fault_intervals(
    times: np.ndarray, states: np.ndarray, end: float
) -> dict[str, list[tuple[float, float]]]:
    """One node's (start, width) intervals down (crashed) and paused, from its state changes."""
    intervals: dict[str, list[tuple[float, float]]] = {"crashed": [], "paused": []}
    since: dict[str, float] = {}
    closes = {"up": "crashed", "resumed": "paused"}
    for t, state in zip(times, states, strict=True):
        if state in intervals:
            since[state] = t
        elif closes.get(state) in since:
            start = since.pop(closes[state])
            intervals[closes[state]].append((start, t - start))
    for state, start in since.items():
        intervals[state].append((start, end - start))
    return intervals


def _timeline(run: StoredRun, ax) -> None:
    """A row per network fault, then per node with a fault (crashed, paused or slowed down), its fault
    windows coloured by kind."""
    from matplotlib.patches import Patch

    life = run.tables["lifecycle"]
    nodes, states, times = life["node"], life["state"], life["time"].astype(float)
    end = _end(run)
    rows: dict[str, dict[str, list[tuple[float, float]]]] = {}
    windows = fault_windows(run)
    for window in windows:
        if not window.nodes:
            rows.setdefault(window.title, {}).setdefault(window.kind, []).append(
                (window.start, window.end - window.start)
            )
    by_node: dict[str, dict[str, list[tuple[float, float]]]] = {}
    for node in dict.fromkeys(nodes[states != "up"].tolist()):
        mine = nodes == node
        spans = _fault_intervals(times[mine], states[mine], end)
        by_node[node] = {"crash": spans["crashed"], "pause": spans["paused"]}
    for window in windows:
        if window.kind == "slowdown":
            for node in window.nodes:
                by_node.setdefault(node, {}).setdefault("slowdown", []).append(
                    (window.start, window.end - window.start)
                )
    count = {node: sum(len(spans) for spans in kinds.values()) for node, kinds in by_node.items()}
    for node in sorted(sorted(count, key=lambda n: -count[n])[:TIMELINE_NODES]):
        rows[node] = by_node[node]
    for row, kinds in enumerate(rows.values()):
        for kind, spans in kinds.items():
            ax.broken_barh(spans, (row - 0.4, 0.8), color=FAULT_COLOURS[kind])
    ax.set_yticks(range(len(rows)), list(rows), fontsize="small")
    ax.invert_yaxis()
    ax.figure.set_size_inches(10, 1.6 + 0.3 * max(1, len(rows)))
    kinds = [kind for kind in FAULT_COLOURS if any(kind in spans for spans in rows.values())]
    if kinds:
        handles = [Patch(color=FAULT_COLOURS[kind], label=kind.replace("_", " ")) for kind in kinds]
        ax.legend(handles=handles, fontsize="small", loc="upper left", bbox_to_anchor=(1.0, 1.0))
    title = f"Faults: {run.title}"
    ax.set(xlabel="simulated time (s)", title=title if rows else f"{title}: none")
    ax.set_xlim(0, end or 1.0)


def make_report(runs: list[StoredRun], out: str | Path, tensorboard: bool = False) -> list[Path]:
    """Write PNG plots and report.md comparing `runs` into `out` (with `tensorboard`, each run's scalars
    in out/tensorboard/RUN too); returns the files written."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    written = []

    windows = [window for run in runs for window in fault_windows(run)]
    fig, axes = plt.subplots(1, 2, figsize=(12, 4.5), sharey=True)
    _learning_curves(runs, axes, windows)
    written.append(_save(fig, out / "learning.png"))
    fig, ax = plt.subplots(figsize=(7, 4.5))
    _staleness(runs, ax)
    written.append(_save(fig, out / "staleness.png"))
    fig, ax = plt.subplots(figsize=(9, 4.5))
    _discards(runs, ax, windows)
    written.append(_save(fig, out / "discards.png"))
    fig, ax = plt.subplots(figsize=(9, 2.6 + 0.5 * len(runs)))
    _gradient_age(runs, ax)
    written.append(_save(fig, out / "gradient-age.png"))
    for run in runs:
        fig, ax = plt.subplots()
        _timeline(run, ax)
        written.append(_save(fig, out / f"timeline-{run.label}.png"))
    report = out / "report.md"
    report.write_text(_markdown(runs, [p.name for p in written]))
    written.append(report)
    if tensorboard:
        written.append(_tensorboard(runs, out / "tensorboard"))
    return written


def _tensorboard(runs: list[StoredRun], out: Path) -> Path:
    """Each run's scalars in out/RUN, their wall times counted from when its results were written less
    its wall time."""
    from .scalars import run_scalars, write_tensorboard

    for run in runs:
        started = (run.path / "summary.json").stat().st_mtime - float(run.summary.get("wall_time") or 0.0)
        scalars = run_scalars(run.tables, float(run.summary.get("sim_time") or 0.0))
        write_tensorboard(scalars, out / run.label, started)
    return out


def _save(fig, path: Path) -> Path:
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    import matplotlib.pyplot as plt

    plt.close(fig)
    return path


def _markdown(runs: list[StoredRun], images: list[str]) -> str:
    def cell(value) -> str:
        if value is None:
            return "-"
        return (
            f"{value:,.1f}"
            if isinstance(value, float)
            else f"{value:,}"
            if isinstance(value, int)
            else str(value)
        )

    rows = [
        ("env steps", lambda s: s["env_steps"]),
        ("episodes", lambda s: s["episodes"]),
        ("final mean return", lambda s: s["final_mean_return"]),
        ("best mean return", lambda s: s["best_mean_return"]),
        *((f"gradients {fate}", lambda s, f=fate: s["gradients"][f]) for fate in FATES),
        ("staleness p50", lambda s: s["staleness"]["p50"]),
        ("staleness p99", lambda s: s["staleness"]["p99"]),
        ("staleness max", lambda s: s["staleness"]["max"]),
        ("simulated time (s)", lambda s: s["sim_time"]),
        ("wall time (s)", lambda s: s["wall_time"]),
        ("env steps per wall second", lambda s: s["env_steps_per_wall_s"]),
    ]
    messages = {title: None for run in runs for title, _ in network_rows(run.summary)}
    rows += [(title, lambda s, t=title: dict(network_rows(s)).get(t)) for title in messages]
    lines = ["# Run report", "", "| | " + " | ".join(run.title for run in runs) + " |"]
    lines.append("|---|" + "---|" * len(runs))
    for title, get in rows:
        lines.append(f"| {title} | " + " | ".join(cell(get(run.summary)) for run in runs) + " |")
    lines.append("")
    for run in runs:
        windows = fault_windows(run)
        lines += [f"## Fault timeline: {run.title}", ""]
        if not windows:
            lines += ["No [[faults]] in its scenario.", ""]
            continue
        lines += ["| kind | from (s) | to (s) | hits |", "|---|---|---|---|"]
        lines += [f"| {w.kind} | {w.start:g} | {w.end:g} | {w.what} |" for w in windows]
        lines.append("")
    lines += [*_network_markdown(runs, cell), ""]
    lines += _round_trip_markdown(runs)
    lines += [f"![{name}]({name})" for name in images]
    return "\n".join(lines) + "\n"


def _round_trip_markdown(runs: list[StoredRun]) -> list[str]:
    """For emulated runs: the round trips that the real network added, per pair of machines."""
    lines = []
    for run in runs:
        rows = run.summary.get("emulation", {}).get("round_trips")
        if not rows:
            continue
        lines += [f"## What the real network added: {run.title}", ""]
        lines += [
            "| from | to | messages | round trip p50 (ms) | round trip p95 (ms) | modelled delay p50 (ms) |",
            "|---|---|---|---|---|---|",
        ]
        lines += [
            f"| {r['from']} | {r['to']} | {r['messages']:,} | {r['median_ms']:.3f} | {r['p95_ms']:.3f} |"
            f" {r['modelled_median_ms']:.3f} |"
            for r in rows
        ]
        lines += [
            "",
            "A round trip runs from a message's POST to its receiver's signed answer, over the real network",
            "(wall time); the modelled delay is what the scenario's links and interfaces made it wait first.",
            "",
        ]
    return lines


def _network_markdown(runs: list[StoredRun], cell) -> list[str]:
    """The gradient's age split and the interfaces' busy fractions, one column per run."""
    splits = [age_split(run.tables["messages"]) for run in runs]
    busy = [utilisation(run.tables["interfaces"]) for run in runs]
    rows = [("gradient age, mean (ms)", [1e3 * split["age"] for split in splits])]
    rows += [(f"- {AGE_LABELS[part]} (ms)", [1e3 * split[part] for split in splits]) for part in AGE_PARTS]
    interfaces = sorted(
        {(role, side) for fractions in busy for role, sides in fractions.items() for side in sides}
    )
    for role, side in interfaces:
        values = [100 * fractions.get(role, {}).get(side, np.nan) for fractions in busy]
        if not np.isnan(values).all():
            rows.append((f"{role} {side} busy (%)", values))
    lines = [
        "## Network",
        "",
        "| | " + " | ".join(run.title for run in runs) + " |",
        "|---|" + "---|" * len(runs),
    ]
    for title, values in rows:
        lines.append(
            f"| {title} | " + " | ".join(cell(None if np.isnan(v) else float(v)) for v in values) + " |"
        )
    lines += [
        "",
        "A gradient's age runs from its shard sending the slice of θ it was computed from to the gradient",
        "reaching that shard; queueing is the time messages waited for their turn on interfaces and links.",
        "Interfaces that no run limits are not listed (they are never busy in the model).",
    ]
    return lines
