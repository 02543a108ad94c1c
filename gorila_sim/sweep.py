"""Sweeps: one scenario over a grid of overrides and several seeds, run in parallel local processes or on a
Ray cluster, collected into one table (CSV and markdown) with plots.

The table holds only what the runs computed in simulated time, so the same sweep gives the same table
wherever it runs; wall times are left out.
"""

from __future__ import annotations

import csv
import itertools
import math
import os
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor
from multiprocessing import get_context
from pathlib import Path
from typing import Any

COLUMNS = (
    "env_steps",
    "episodes",
    "final_mean_return",
    "best_mean_return",
    "applied",
    "stale",
    "outlier",
    "lost",
    "shard_down",
    "staleness_p50",
    "staleness_p99",
    "sim_time",
)


def parse_grid(items: Sequence[str]) -> dict[str, list[str]]:
    """`["training.staleness.max_staleness=4,8", ...]` as {key: [value, ...]}; a bad item is a ValueError."""
    grid: dict[str, list[str]] = {}
    for item in items:
        key, sep, values = item.partition("=")
        if not sep or not key.strip() or not values.strip():
            raise ValueError(f"--grid {item!r}: expected KEY=VALUE1,VALUE2,...")
        if key.strip() in grid:
            raise ValueError(f"--grid {item!r}: {key.strip()} is given twice")
        grid[key.strip()] = _split_values(values)
    return grid


def _split_values(text: str) -> list[str]:
    """Split at top-level commas, so that `{name="adam", lr=0.001}` stays one value."""
    values, depth, quote, current = [], 0, "", ""
    for char in text:
        if quote:
            quote = "" if char == quote else quote
        elif char in "\"'":
            quote = char
        elif char in "{[":
            depth += 1
        elif char in "}]":
            depth -= 1
        elif char == "," and depth == 0:
            values.append(current.strip())
            current = ""
            continue
        current += char
    values.append(current.strip())
    return values


def points(grid: dict[str, list[str]], seeds: int) -> list[tuple[dict[str, str], int]]:
    """Every combination of grid values, for seeds 0 .. seeds-1."""
    keys = list(grid)
    return [
        (dict(zip(keys, values, strict=True)), seed)
        for values in itertools.product(*(grid[k] for k in keys))
        for seed in range(seeds)
    ]


def run_point(scenario: str, settings: dict[str, str], seed: int) -> dict[str, Any]:
    """Run one point of a sweep and return its row of the table."""
    from .dqn import set_torch_threads
    from .scenario import load_scenario, resolve, run_scenario

    set_torch_threads()
    overrides = [f"{key}={value}" for key, value in settings.items()] + [f"scenario.seed={seed}"]
    summary = run_scenario(load_scenario(resolve(scenario), overrides)).summary
    gradients, staleness = summary["gradients"], summary["staleness"]
    row: dict[str, Any] = {**settings, "seed": seed}
    row.update(
        env_steps=summary["env_steps"],
        episodes=summary["episodes"],
        final_mean_return=summary["final_mean_return"],
        best_mean_return=summary["best_mean_return"],
        **{fate: gradients[fate] for fate in ("applied", "stale", "outlier", "lost", "shard_down")},
        staleness_p50=staleness["p50"],
        staleness_p99=staleness["p99"],
        sim_time=summary["sim_time"],
    )
    return row


def usable_cores() -> int:
    """The cores this process may run on: its CPU affinity where the OS has one, else all of them (also
    what MB-MPO training sizes its thread pools with)."""
    if hasattr(os, "sched_getaffinity"):
        return len(os.sched_getaffinity(0))
    return os.cpu_count() or 1


def sweep(
    scenario: str,
    grid: dict[str, list[str]],
    seeds: int,
    workers: int | None = None,
    ray_address: str | None = None,
    on_done: Callable[[dict[str, Any]], None] | None = None,
) -> list[dict[str, Any]]:
    """Run every point; the rows come back in grid order, seeds innermost, wherever they ran."""
    todo = points(grid, seeds)
    if ray_address is not None:
        rows = _on_ray(scenario, todo, ray_address, on_done)
    else:
        workers = workers or min(len(todo), usable_cores())
        with ProcessPoolExecutor(max_workers=workers, mp_context=get_context("spawn")) as pool:
            futures = [pool.submit(run_point, scenario, settings, seed) for settings, seed in todo]
            rows = []
            for future in futures:
                rows.append(future.result())
                if on_done is not None:
                    on_done(rows[-1])
    return rows


def _on_ray(scenario: str, todo, address: str, on_done) -> list[dict[str, Any]]:
    import ray

    ray.init(address=address, log_to_driver=False, configure_logging=False)
    try:
        remote = ray.remote(run_point)
        refs = [remote.remote(scenario, settings, seed) for settings, seed in todo]
        rows = []
        for ref in refs:
            rows.append(ray.get(ref))
            if on_done is not None:
                on_done(rows[-1])
        return rows
    finally:
        ray.shutdown()


def write_table(rows: list[dict[str, Any]], grid: dict[str, list[str]], out: Path) -> tuple[Path, Path]:
    """sweep.csv and sweep.md in `out`."""
    out.mkdir(parents=True, exist_ok=True)
    header = [*grid, "seed", *COLUMNS]
    with open(out / "sweep.csv", "w", newline="") as file:
        writer = csv.DictWriter(file, header)
        writer.writeheader()
        writer.writerows(rows)

    def cell(value: Any) -> str:
        return f"{value:.2f}" if isinstance(value, float) and math.isfinite(value) else str(value)

    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(cell(row[column]) for column in header) + " |" for row in rows]
    (out / "sweep.md").write_text("\n".join(lines) + "\n")
    return out / "sweep.csv", out / "sweep.md"


def plot_sweep(rows: list[dict[str, Any]], grid: dict[str, list[str]], out: Path) -> list[Path]:
    """For each grid key: final return and p99 staleness against its values (mean and range over the rest)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np

    written = []
    for key, values in grid.items():
        fig, axes = plt.subplots(1, 2, figsize=(11, 4))
        for ax, column, title in (
            (axes[0], "final_mean_return", "final mean return (last 10 episodes)"),
            (axes[1], "staleness_p99", "p99 staleness of applied gradients"),
        ):
            means, lows, highs = [], [], []
            for value in values:
                measured = np.array([row[column] for row in rows if row[key] == value], dtype=float)
                means.append(np.nanmean(measured))
                lows.append(np.nanmin(measured))
                highs.append(np.nanmax(measured))
            positions = np.arange(len(values))
            spread = [np.subtract(means, lows), np.subtract(highs, means)]
            ax.errorbar(positions, means, yerr=spread, marker="o", capsize=4)
            ax.set_xticks(positions, values)
            ax.set(xlabel=key, title=title)
        fig.tight_layout()
        path = out / f"sweep-{key.replace('.', '_')}.png"
        fig.savefig(path, dpi=110)
        plt.close(fig)
        written.append(path)
    return written
