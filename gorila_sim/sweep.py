"""Sweeps: one scenario over a grid of overrides and several seeds, run in parallel local processes or on a
Ray cluster. Each trial (grid point and seed) keeps its own results directory; the sweep adds a table of the
trials, the mean and 95% confidence interval across seeds of each grid point, paired comparisons of grid
values on the same seeds, and plots.

OUT/sweep.json          what the sweep is: scenario, grid, overrides, seeds (what --resume checks)
OUT/trials/NAME-seedS/  one results directory per trial (report, replay and overlay work on them)
OUT/sweep.csv           one row per trial
OUT/points.csv          per grid point: the seeds, and mean, low and high of each measure
OUT/paired.csv          per grid key: each value against the first, on the seeds both ran
OUT/sweep.md            the three tables; OUT/sweep-KEY.png, the plots
OUT/incomplete.json     while trials are missing (an interrupted sweep; `--resume` runs the rest)

The tables hold only what the runs computed in simulated time, so the same sweep gives the same tables
wherever it runs, and an interrupted sweep, resumed, gives the tables of one never interrupted.
"""

from __future__ import annotations

import csv
import hashlib
import itertools
import json
import math
import re
import shutil
import signal
from collections import deque
from collections.abc import Callable, Iterator, Sequence
from dataclasses import asdict, dataclass
from multiprocessing import get_context
from pathlib import Path
from typing import Any

from runcommon.cores import usable_cores

from .ray_local import init_ray
from .results import MARKER, OutputError, check_out, read_results, write_json, write_results
from .stats import mean_ci

TRIAL_COLUMNS = (
    "env_steps",
    "episodes",
    "final_mean_return",
    "best_mean_return",
    "steps_to_target",
    "applied",
    "stale",
    "outlier",
    "non_finite",
    "lost",
    "shard_down",
    "discard_rate",
    "staleness_p50",
    "staleness_p99",
    "sim_time",
)
MEASURES = (
    "final_mean_return",
    "best_mean_return",
    "steps_to_target",
    "discard_rate",
    "staleness_p50",
    "staleness_p99",
)
"""What points.csv gives the mean and 95% interval of, across seeds."""
PAIRED = ("steps_to_target", "final_mean_return", "discard_rate")
"""What paired.csv compares between grid values, seed by seed."""
DISCARDS = ("stale", "outlier", "non_finite", "lost", "shard_down")


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


def parse_seeds(text: str) -> list[int]:
    """`5` (a count: seeds 0 to 4), `0,3,7` (a list), `10-19` (a range, both ends included), or a list of
    numbers and ranges; a bad one is a ValueError."""
    text = text.strip()
    if re.fullmatch(r"\d+", text):
        if int(text) < 1:
            raise ValueError(f"--seeds {text!r}: a count of seeds must be at least 1")
        return list(range(int(text)))
    seeds: list[int] = []
    for part in text.split(","):
        match = re.fullmatch(r"\s*(\d+)\s*(?:-\s*(\d+)\s*)?", part)
        if match is None or (match[2] is not None and int(match[2]) < int(match[1])):
            raise ValueError(f"--seeds {text!r}: expected a count (5), a list (0,3,7) or a range (10-19)")
        seeds += range(int(match[1]), int(match[2] or match[1]) + 1)
    if len(set(seeds)) != len(seeds):
        raise ValueError(f"--seeds {text!r}: a seed is given twice")
    return seeds


@dataclass(frozen=True)
class Trial:
    settings: dict[str, str]
    seed: int
    name: str
    """Its results directory under OUT/trials."""


@dataclass(frozen=True)
class Sweep:
    """What a sweep runs: `scenario` (library name or file) with the overrides `sets`, at every combination
    of the `grid`'s values, for each of the `seeds`."""

    scenario: str
    grid: dict[str, list[str]]
    seeds: list[int]
    sets: list[str]

    def points(self) -> list[dict[str, str]]:
        keys = list(self.grid)
        return [dict(zip(keys, values, strict=True)) for values in itertools.product(*self.grid.values())]

    def trials(self) -> list[Trial]:
        """Every trial, in grid order with seeds innermost."""
        points = self.points()
        names = [_point_name(settings) for settings in points]
        if len(set(names)) < len(names):
            names = [f"point{index}" for index in range(len(points))]
        return [
            Trial(settings, seed, f"{name}-seed{seed}")
            for settings, name in zip(points, names, strict=True)
            for seed in self.seeds
        ]

    def overrides(self, trial: Trial) -> list[str]:
        return [
            *self.sets,
            *(f"{key}={value}" for key, value in trial.settings.items()),
            f"scenario.seed={trial.seed}",
        ]

    def tag(self) -> str:
        """8 hex digits that tell this sweep from another of the same scenario."""
        text = json.dumps([self.grid, self.seeds, self.sets], sort_keys=True)
        return hashlib.sha256(text.encode()).hexdigest()[:8]


def _point_name(settings: dict[str, str]) -> str:
    """`max_staleness=2,env_steps=1500`: each key's last part and its value, in characters safe in a path."""
    text = ",".join(f"{key.rsplit('.', 1)[-1]}={value}" for key, value in settings.items()) or "point"
    return re.sub(r"[^A-Za-z0-9_.=,+-]", "_", text)[:100]


def prepare(out: Path, definition: Sweep, resume: bool, overwrite: bool) -> None:
    """Make OUT ready before any trial runs: a new sweep needs OUT absent or empty (or `overwrite`, which
    removes it); `resume` needs OUT to hold this same sweep. Problems are OutputErrors."""
    saved = out / "sweep.json"
    if resume:
        if not saved.is_file():
            raise OutputError(f"{out}: no sweep to resume here (no sweep.json)")
        if json.loads(saved.read_text()) != asdict(definition):
            raise OutputError(
                f"{out}: holds another sweep (its scenario, --grid, --set or --seeds differ: see sweep.json)"
            )
        for leftover in (out / "trials").glob(".*"):  # trials under way when the sweep was stopped
            shutil.rmtree(leftover, ignore_errors=True)
        return
    check_out(out, overwrite)
    if out.exists():
        shutil.rmtree(out)
    (out / "trials").mkdir(parents=True)
    write_json(saved, asdict(definition))
    write_json(out / MARKER, {"trials": len(definition.trials())})


def run_trial(definition: Sweep, trial: Trial, out: Path) -> dict[str, Any]:
    """Run one trial into its results directory under `out`/trials (written as it goes) and return its row."""
    from .dqn import set_torch_threads
    from .results import ResultsWriter
    from .scenario import load_scenario, resolve, run_scenario
    from .trace import Trace

    set_torch_threads()
    scenario = load_scenario(resolve(definition.scenario), definition.overrides(trial))
    writer = ResultsWriter(out / "trials" / trial.name, scenario.table)
    trace = Trace()
    writer.follow(trace)
    try:
        result = run_scenario(scenario, on_progress=lambda _: writer.flush(), trace=trace)
    except BaseException:
        writer.discard()
        raise
    writer.publish(result)
    return row_of(trial, result.summary)


def row_of(trial: Trial, summary: dict[str, Any]) -> dict[str, Any]:
    """A trial's row of sweep.csv, from its summary."""
    gradients, staleness = summary["gradients"], summary["staleness"]
    discarded = sum(gradients.get(fate, 0) for fate in DISCARDS)
    total = discarded + gradients["applied"]

    def number(value: Any) -> float:
        return math.nan if value is None else value

    return {
        **trial.settings,
        "seed": trial.seed,
        "trial": trial.name,
        "env_steps": summary["env_steps"],
        "episodes": summary["episodes"],
        "final_mean_return": number(summary["final_mean_return"]),
        "best_mean_return": number(summary["best_mean_return"]),
        "steps_to_target": number(summary.get("steps_to_target")),
        **{fate: gradients.get(fate, 0) for fate in ("applied", *DISCARDS)},
        "discard_rate": discarded / total if total else math.nan,
        "staleness_p50": number(staleness["p50"]),
        "staleness_p99": number(staleness["p99"]),
        "sim_time": summary["sim_time"],
    }


def sweep(
    definition: Sweep,
    out: Path,
    workers: int | None = None,
    ray_address: str | None = None,
    on_done: Callable[[dict[str, Any]], None] | None = None,
) -> list[dict[str, Any]]:
    """Run the trials that OUT/trials does not hold yet (see `prepare`) and return every trial's row, in grid
    order with seeds innermost, read back from its results directory. Ctrl-C stops the trials under way
    (they leave nothing) and keeps the finished ones."""
    trials = definition.trials()
    done = {trial.name for trial in trials if _finished(out / "trials" / trial.name)}
    todo = [trial for trial in trials if trial.name not in done]
    for trial in todo:
        shutil.rmtree(out / "trials" / trial.name, ignore_errors=True)  # interrupted while run in-process
    try:
        if todo:
            with Workers(workers or min(len(todo), usable_cores()), ray_address) as pool:
                if ray_address is not None:
                    _on_ray(definition, todo, out, pool, on_done)
                else:
                    for row in pool.map(run_trial, [(definition, trial, out) for trial in todo]):
                        if on_done is not None:
                            on_done(row)
    except BaseException:
        for leftover in (out / "trials").glob(".*"):
            shutil.rmtree(leftover, ignore_errors=True)
        raise
    rows = [row_of(trial, read_results(out / "trials" / trial.name).summary) for trial in trials]
    (out / MARKER).unlink(missing_ok=True)
    return rows


def _finished(path: Path) -> bool:
    return (path / "summary.json").is_file() and not (path / MARKER).exists()


class Workers:
    """Runs tasks in `count` spawned local processes that leave Ctrl-C to this one (one worker: in this
    process), or on Ray at `ray_address` (see ray_local.init_ray: `"auto"` starts a private Ray on loopback
    when no cluster is running, `"local"` always).
    Leaving the `with` block on an error or Ctrl-C stops the tasks under way."""

    def __init__(self, count: int | None = None, ray_address: str | None = None) -> None:
        self.count = count or usable_cores()
        self.ray_address = ray_address
        self._pool: Any = None
        self._ray: Any = None

    def __enter__(self) -> Workers:
        if self.ray_address is not None:
            self._ray = init_ray(self.ray_address)
        elif self.count > 1:
            self._pool = get_context("spawn").Pool(self.count, initializer=_ignore_ctrl_c)
        return self

    def __exit__(self, error_type: type[BaseException] | None, *_: object) -> None:
        if self._pool is not None:
            if error_type is None:
                self._pool.close()
            else:
                self._pool.terminate()
            self._pool.join()
        if self._ray is not None:
            self._ray.shutdown()

    def map(self, fn: Callable[..., Any], tasks: Sequence[Sequence[Any]]) -> Iterator[Any]:
        """fn(*task) for each task, yielded in task order. Local processes are handed at most two tasks
        each ahead of the one awaited, so leaving the loop early leaves little work behind."""
        if self._ray is not None:
            remote = self._ray.remote(fn)
            refs = [remote.remote(*task) for task in tasks]
            try:
                for ref in refs:
                    yield self._ray.get(ref)
            finally:
                for ref in refs:
                    self._ray.cancel(ref)
        elif self._pool is None:
            for task in tasks:
                yield fn(*task)
        else:
            waiting: deque[Any] = deque()
            for task in tasks:
                waiting.append(self._pool.apply_async(fn, task))
                if len(waiting) > 2 * self.count:
                    yield waiting.popleft().get()
            while waiting:
                yield waiting.popleft().get()


def _ignore_ctrl_c() -> None:
    """Workers leave Ctrl-C to the process that started them, which stops them."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)


def _simulate(definition: Sweep, trial: Trial) -> Any:
    """A trial's run, returned whole (its trace with it): what a Ray worker sends back to be written here."""
    from .dqn import set_torch_threads
    from .scenario import load_scenario, resolve, run_scenario

    set_torch_threads()
    return run_scenario(load_scenario(resolve(definition.scenario), definition.overrides(trial)))


def _on_ray(definition: Sweep, todo: list[Trial], out: Path, pool: Workers, on_done) -> None:
    from .scenario import load_scenario, resolve

    results = pool.map(_simulate, [(definition, trial) for trial in todo])
    for trial, result in zip(todo, results, strict=True):
        table = load_scenario(resolve(definition.scenario), definition.overrides(trial)).table
        write_results(result, out / "trials" / trial.name, table)
        if on_done is not None:
            on_done(row_of(trial, result.summary))


def point_stats(rows: list[dict[str, Any]], grid: dict[str, list[str]]) -> list[dict[str, Any]]:
    """Per grid point: its settings, the seeds, and each measure's mean and 95% t interval across them."""
    stats = []
    for settings, members in _by_point(rows, grid):
        entry: dict[str, Any] = {**settings, "seeds": len(members)}
        for measure in MEASURES:
            mean, low, high = mean_ci([row[measure] for row in members])
            entry |= {f"{measure}_mean": mean, f"{measure}_low": low, f"{measure}_high": high}
        stats.append(entry)
    return stats


def _by_point(rows: list[dict[str, Any]], grid: dict[str, list[str]]) -> Iterator[tuple[dict, list[dict]]]:
    points: dict[tuple[str, ...], list[dict[str, Any]]] = {}
    for row in rows:
        points.setdefault(tuple(row[key] for key in grid), []).append(row)
    for values, members in points.items():
        yield dict(zip(grid, values, strict=True)), members


def paired(rows: list[dict[str, Any]], grid: dict[str, list[str]]) -> list[dict[str, Any]]:
    """For each grid key, each of its values against the first, the other keys held: the mean difference
    (value minus first) of each PAIRED measure over the seeds both ran (and both measured), with its 95% t
    interval."""
    comparisons = []
    for key, values in grid.items():
        others = [other for other in grid if other != key]
        for context in itertools.product(*(grid[other] for other in others)):
            held = dict(zip(others, context, strict=True))
            baseline = _by_seed(rows, {**held, key: values[0]})
            for value in values[1:]:
                compared = _by_seed(rows, {**held, key: value})
                for measure in PAIRED:
                    differences = [
                        compared[seed][measure] - baseline[seed][measure]
                        for seed in sorted(baseline.keys() & compared.keys())
                        if math.isfinite(compared[seed][measure]) and math.isfinite(baseline[seed][measure])
                    ]
                    if not differences:
                        continue
                    mean, low, high = mean_ci(differences)
                    comparisons.append(
                        {
                            "key": key,
                            "value": value,
                            "baseline": values[0],
                            "held": ", ".join(f"{k}={v}" for k, v in held.items()),
                            "measure": measure,
                            "pairs": len(differences),
                            "difference": mean,
                            "low": low,
                            "high": high,
                        }
                    )
    return comparisons


def _by_seed(rows: list[dict[str, Any]], settings: dict[str, str]) -> dict[int, dict[str, Any]]:
    """The rows of one grid point, by seed."""
    return {row["seed"]: row for row in rows if all(row[k] == v for k, v in settings.items())}


def cell(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.4g}" if math.isfinite(value) else "-"
    return str(value)


def interval(entry: dict[str, Any], measure: str) -> str:
    """`mean [low, high]`, or the mean alone where there is no interval."""
    mean, low, high = (entry[f"{measure}_{part}"] for part in ("mean", "low", "high"))
    if not math.isfinite(low):
        return cell(mean)
    return f"{cell(mean)} [{cell(low)}, {cell(high)}]"


def write_tables(
    rows: list[dict[str, Any]], grid: dict[str, list[str]], out: Path
) -> tuple[list[dict[str, Any]], list[dict[str, Any]], list[Path]]:
    """sweep.csv, points.csv, paired.csv and sweep.md in `out`; returns the point stats, the paired
    comparisons and the files."""
    stats, pairs = point_stats(rows, grid), paired(rows, grid)
    written = [
        _write_csv(out / "sweep.csv", [*grid, "seed", "trial", *TRIAL_COLUMNS], rows),
        _write_csv(out / "points.csv", list(stats[0]), stats),
        _write_csv(out / "paired.csv", list(_PAIRED_CSV), pairs),
    ]
    lines = ["# Sweep", "", "## Grid points: mean [95% CI] across seeds", ""]
    lines += _markdown([*grid, "seeds", *MEASURES], [point_cells(entry, grid) for entry in stats])
    lines += ["", "## Paired: value minus baseline on the same seeds, mean [95% CI]", ""]
    lines += _markdown(list(PAIR_COLUMNS), [pair_cells(pair) for pair in pairs])
    lines += ["", "## Trials", ""]
    header = [*grid, "seed", "trial", *TRIAL_COLUMNS]
    lines += _markdown(header, [[cell(row[column]) for column in header] for row in rows])
    markdown = out / "sweep.md"
    _replace(markdown, "\n".join(lines) + "\n")
    return stats, pairs, [*written, markdown]


_PAIRED_CSV = ("key", "value", "baseline", "held", "measure", "pairs", "difference", "low", "high")
PAIR_COLUMNS = ("key", "value", "baseline", "held", "measure", "pairs", "difference [95% CI]")


def point_cells(entry: dict[str, Any], grid: dict[str, list[str]]) -> list[str]:
    """A grid point's cells under the columns: the grid keys, "seeds", then MEASURES."""
    return [*(entry[key] for key in grid), str(entry["seeds"]), *(interval(entry, m) for m in MEASURES)]


def pair_cells(pair: dict[str, Any]) -> list[str]:
    """A paired comparison's cells under PAIR_COLUMNS."""
    difference = cell(pair["difference"])
    if math.isfinite(pair["low"]):
        difference += f" [{cell(pair['low'])}, {cell(pair['high'])}]"
    held = pair["held"] or "-"
    return [
        pair["key"],
        pair["value"],
        pair["baseline"],
        held,
        pair["measure"],
        str(pair["pairs"]),
        difference,
    ]


def _markdown(header: list[str], rows: list[list[str]]) -> list[str]:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    return lines + ["| " + " | ".join(row) + " |" for row in rows]


def _write_csv(path: Path, header: list[str], rows: list[dict[str, Any]]) -> Path:
    partial = path.with_name(f".{path.name}.partial")
    with open(partial, "w", newline="") as file:
        writer = csv.DictWriter(file, header)
        writer.writeheader()
        writer.writerows(rows)
    partial.replace(path)
    return path


def _replace(path: Path, text: str) -> None:
    partial = path.with_name(f".{path.name}.partial")
    partial.write_text(text)
    partial.replace(path)


def plot_sweep(stats: list[dict[str, Any]], grid: dict[str, list[str]], out: Path) -> list[Path]:
    """For each grid key, against its values (a line per setting of the other keys), mean and 95% interval
    across seeds of: the final return; staleness p50 and p99; the discard rate."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np

    written = []
    for key, values in grid.items():
        fig, axes = plt.subplots(1, 3, figsize=(15, 4))
        others = [other for other in grid if other != key]
        positions = np.arange(len(values))
        for context in itertools.product(*(grid[other] for other in others)):
            held = dict(zip(others, context, strict=True))
            line = [
                next(e for e in stats if e[key] == value and all(e[k] == v for k, v in held.items()))
                for value in values
            ]
            label = ", ".join(f"{k.rsplit('.', 1)[-1]}={v}" for k, v in held.items())
            for ax, measure, style in (
                (axes[0], "final_mean_return", "-"),
                (axes[1], "staleness_p50", "--"),
                (axes[1], "staleness_p99", "-"),
                (axes[2], "discard_rate", "-"),
            ):
                means = np.array([entry[f"{measure}_mean"] for entry in line], dtype=float)
                lows = np.array([entry[f"{measure}_low"] for entry in line], dtype=float)
                highs = np.array([entry[f"{measure}_high"] for entry in line], dtype=float)
                spread = np.nan_to_num([means - lows, highs - means])
                name = f"{label} {measure.split('_')[-1]}" if ax is axes[1] else label
                ax.errorbar(positions, means, yerr=spread, marker="o", capsize=4, linestyle=style, label=name)
        titles = ("final mean return (last 10 episodes)", "staleness p50 (dashed) and p99", "discard rate")
        for ax, title in zip(axes, titles, strict=True):
            ax.set_xticks(positions, values)
            ax.set(xlabel=key, title=f"{title}, mean and 95% CI")
            if others or ax is axes[1]:
                ax.legend(fontsize="small")
        fig.tight_layout()
        path = out / f"sweep-{key.replace('.', '_')}.png"
        fig.savefig(path, dpi=110)
        plt.close(fig)
        written.append(path)
    return written
