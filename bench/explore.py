"""Exploration throughput: explored runs per minute of the random-faults library scenario (the baseline's
cluster with four shards and an [explore] profile, on the surrogate problem), in one process, in two
local worker processes and on a local Ray instance (not with --quick, which must finish in a minute: Ray
takes a good part of one to start); and the runs that shrinking its first failure (the shard stall of
docs/explore.md) takes.

Every configuration runs the same seeds with the property `finite` (which holds, so no run stops the
search); the workers are started and warmed up with one run each before the clock starts. Parallel
efficiency is the two-worker rate over the one-worker rate (2.0 is perfect). Each run also reports the
processor time it took, so the table shows the cores the runs actually got: on a machine shared with
other work, two workers may get much less than two cores, and the rate follows.

    python bench/explore.py [--quick]
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path

from gorila_sim.explore.find import explore
from gorila_sim.explore.properties import Finite, Progress
from gorila_sim.explore.runs import search
from gorila_sim.scenario import load_scenario, resolve
from gorila_sim.sweep import Workers

SCENARIO = "random-faults"


def runs_per_minute(pool: Workers, seeds: range) -> tuple[float, float, float]:
    """Runs per wall minute, processor seconds per run, and processor seconds per wall second (the cores
    the runs got: a loaded machine gives two workers less than two)."""
    scenario = load_scenario(resolve(SCENARIO))
    search(scenario.table, scenario.source, [Finite()], range(10_000, 10_000 + pool.count), pool, True)
    started = time.perf_counter()
    reports = search(scenario.table, scenario.source, [Finite()], seeds, pool, keep_going=True)
    wall = time.perf_counter() - started
    assert len(reports) == len(seeds)
    cpu = sum(report.cpu for report in reports)
    return len(reports) / wall * 60, cpu / len(reports), cpu / wall


def shrink_runs(pool: Workers) -> tuple[int, int, float]:
    """(runs to find the stall, runs to shrink it, wall seconds) of `explore --property progress:0.1`."""
    scenario = load_scenario(resolve(SCENARIO))
    started = time.perf_counter()
    with tempfile.TemporaryDirectory() as out:
        finding = explore(scenario, [Progress(0.1)], range(100), Path(out), pool)
    assert finding.shrunk is not None
    return len(finding.reports), finding.shrunk.runs, time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="fewer runs (under a minute)")
    parser.add_argument("--no-ray", action="store_true", help="skip the local Ray instance (--quick does)")
    args = parser.parse_args()
    seeds = range(6) if args.quick else range(60)
    rates, cpu, cores = {}, {}, {}
    with Workers(1) as pool:
        rates["1"], cpu["1"], cores["1"] = runs_per_minute(pool, seeds)
        found, shrunk, wall = shrink_runs(pool)
    with Workers(2) as pool:
        rates["2"], cpu["2"], cores["2"] = runs_per_minute(pool, seeds)
    ray = "skipped"
    if not (args.no_ray or args.quick):
        os.environ.setdefault("RAY_AUTH_MODE", "disabled")  # else Ray leaves a ~/.ray/auth_token
        with Workers(2, ray_address="local") as pool:
            rates["ray"], cpu["ray"], cores["ray"] = runs_per_minute(pool, seeds)
        ray = f"{rates['ray']:.0f}"
    print(f"{len(seeds)} runs of {SCENARIO} per configuration")
    print(f"{'workers':<18} {'runs/min':>9} {'CPU s/run':>10} {'cores used':>11}")
    for name, label in (("1", "1 (this process)"), ("2", "2 processes"), ("ray", "local Ray, 2 CPUs")):
        if name in rates:
            print(f"{label:<18} {rates[name]:9.0f} {cpu[name]:10.3f} {cores[name]:11.2f}")
    print(f"2 workers: {rates['2'] / rates['1']:.2f}x one worker (goal >= 1.6x)")
    print(f"shard stall found in {found} run(s), shrunk in {shrunk} runs ({wall:.1f} s, 1 worker)")
    efficiency = rates["2"] / rates["1"]
    print(
        f"RESULT runs_per_min={rates['1']:.0f} runs_per_min_2_workers={rates['2']:.0f} "
        f"runs_per_min_ray={ray} parallel_efficiency={efficiency:.2f} cores_used_2_workers={cores['2']:.2f} "
        f"shrink_runs={shrunk} "
        f"mode={'quick' if args.quick else 'full'}"
    )


if __name__ == "__main__":
    main()
