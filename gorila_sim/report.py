"""Plots and a markdown summary of one or more finished runs, read from their results directories."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from .results import StoredRun
from .trace import FATES

DISCARDS = tuple(fate for fate in FATES if fate != "applied")
TIMELINE_NODES = 40
"""At most this many nodes get a row in the timeline: those that changed state most."""


def _rolling_mean(values: np.ndarray, window: int = 10) -> np.ndarray:
    if values.size < window:
        return np.array([])
    return np.convolve(values, np.ones(window) / window, mode="valid")


def _legend_or_note(ax, empty: str) -> None:
    """A legend of what was drawn, or a note saying why nothing was."""
    if ax.get_legend_handles_labels()[0]:
        ax.legend(fontsize="small")
    else:
        ax.text(0.5, 0.5, empty, transform=ax.transAxes, ha="center", va="center", color="grey")


def _learning_curves(runs: list[StoredRun], axes) -> None:
    by_time, by_steps = axes
    for run in runs:
        episodes = run.tables["episodes"]
        means = _rolling_mean(episodes["ret"].astype(float))
        if means.size:
            by_time.plot(episodes["time"][9:], means, label=run.title)
            by_steps.plot(episodes["env_steps"][9:], means, label=run.title)
    by_time.set(xlabel="simulated time (s)", ylabel="mean return, last 10 episodes", title="Learning curve")
    by_steps.set(xlabel="env steps", title="Learning curve")
    _legend_or_note(by_time, "fewer than 10 episodes")


def _staleness(runs: list[StoredRun], ax) -> None:
    for run in runs:
        g = run.tables["gradients"]
        applied = g["staleness"][g["fate"] == "applied"].astype(float) if g["fate"].size else np.array([])
        if applied.size:
            bins = np.arange(-0.5, applied.max() + 1.5)
            ax.hist(applied, bins=bins, histtype="step", label=run.label, density=True)
    ax.set(xlabel="staleness (server versions)", ylabel="fraction of applied gradients", title="Staleness")
    _legend_or_note(ax, "no gradient was applied")


def _discards(runs: list[StoredRun], ax) -> None:
    for run in runs:
        g = run.tables["gradients"]
        if not g["time"].size:
            continue
        edges = np.linspace(0.0, float(g["time"].max()) or 1.0, 41)
        centres = (edges[:-1] + edges[1:]) / 2
        for fate in DISCARDS:
            counts, _ = np.histogram(g["time"][g["fate"] == fate].astype(float), bins=edges)
            if counts.any():
                prefix = f"{run.title}: " if len(runs) > 1 else ""
                ax.plot(centres, counts, drawstyle="steps-mid", label=f"{prefix}{fate}")
    ax.set(xlabel="simulated time (s)", ylabel="discarded gradients per bin", title="Discards by reason")
    _legend_or_note(ax, "no gradient was discarded")


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
    life = run.tables["lifecycle"]
    nodes, states, times = life["node"], life["state"], life["time"].astype(float)
    end = max(float(run.summary.get("sim_time") or 0.0), float(times.max()) if times.size else 0.0)
    faults = {node: int(np.count_nonzero((nodes == node) & (states != "up"))) for node in set(nodes.tolist())}
    shown = sorted(sorted((n for n, c in faults.items() if c), key=lambda n: -faults[n])[:TIMELINE_NODES])
    colours = {"crashed": "tab:red", "paused": "tab:orange"}
    for row, node in enumerate(shown):
        mine = nodes == node
        for state, spans in _fault_intervals(times[mine], states[mine], end).items():
            ax.broken_barh(spans, (row - 0.4, 0.8), color=colours[state])
    ax.set_yticks(range(len(shown)), shown, fontsize="small")
    ax.figure.set_size_inches(10, 1.6 + 0.3 * max(1, len(shown)))
    title = f"Node faults: {run.title} (red: crashed, orange: paused)"
    ax.set(xlabel="simulated time (s)", title=title if shown else f"{title}: none")
    ax.set_xlim(0, end or 1.0)


def make_report(runs: list[StoredRun], out: str | Path) -> list[Path]:
    """Write PNG plots and report.md comparing `runs` into `out`; returns the files written."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    written = []

    fig, axes = plt.subplots(1, 2, figsize=(12, 4.5), sharey=True)
    _learning_curves(runs, axes)
    written.append(_save(fig, out / "learning.png"))
    fig, ax = plt.subplots(figsize=(7, 4.5))
    _staleness(runs, ax)
    written.append(_save(fig, out / "staleness.png"))
    fig, ax = plt.subplots(figsize=(9, 4.5))
    _discards(runs, ax)
    written.append(_save(fig, out / "discards.png"))
    for run in runs:
        fig, ax = plt.subplots()
        _timeline(run, ax)
        written.append(_save(fig, out / f"timeline-{run.label}.png"))
    report = out / "report.md"
    report.write_text(_markdown(runs, [p.name for p in written]))
    written.append(report)
    return written


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
    lines = ["# Run report", "", "| | " + " | ".join(run.title for run in runs) + " |"]
    lines.append("|---|" + "---|" * len(runs))
    for title, get in rows:
        lines.append(f"| {title} | " + " | ".join(cell(get(run.summary)) for run in runs) + " |")
    lines.append("")
    lines += [f"![{name}]({name})" for name in images]
    return "\n".join(lines) + "\n"
