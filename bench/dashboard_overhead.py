"""What the live dashboard costs a simulation: kernel events per wall second with it and without.

The same scenario and seed run alternately with the dashboard (drawn on an off-screen 120×40 terminal,
so every frame is rendered in full) and without it (as `gorila-sim run` does, progress bar aside). The
runs simulate the same events (the script checks); the overhead is one minus the ratio of the medians of
their events per wall second. The dashboard's own observer events are not counted as the simulation's.
On a shared machine single runs vary by several per cent either way: the medians are what to read.

    python bench/dashboard_overhead.py [--quick] [--scenario NAME]
"""

from __future__ import annotations

import argparse
import gc
import io
import statistics
import sys
import time

from rich.console import Console

from gorila_sim.dashboard import watch_scenario
from gorila_sim.gorila import RunResult
from gorila_sim.scenario import Scenario, load_scenario, resolve, run_scenario


def timed(scenario: Scenario, dashboard: bool) -> tuple[RunResult, float, int]:
    """A run, its kernel events per wall second, and the frames it drew."""
    gc.collect()
    console = Console(file=io.StringIO(), force_terminal=True, width=120, height=40)
    started = time.perf_counter()
    result = watch_scenario(scenario, console) if dashboard else run_scenario(scenario)
    wall = time.perf_counter() - started
    frames = console.file.getvalue().count(f"gorila-sim · {scenario.name}")
    return result, result.summary["events"] / wall, frames


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="shorter runs (under a minute)")
    parser.add_argument("--scenario", default="paper-scale", help="library scenario (default paper-scale)")
    args = parser.parse_args(argv)
    repeats = 7
    sim_time = 0.3 if args.quick else 2.0
    overrides = [f"stop.sim_time={sim_time}"] if args.scenario == "paper-scale" else []
    scenario = load_scenario(resolve(args.scenario), overrides)
    run_scenario(load_scenario(resolve(args.scenario), ["stop.sim_time=0.01"]))  # warm up imports, caches
    rates: dict[bool, list[float]] = {False: [], True: []}
    frames: list[int] = []
    print(f"{scenario.name}, {len(scenario.nodes)} nodes, {repeats} runs each way, alternating")
    for repeat in range(repeats):
        order = (False, True) if repeat % 2 == 0 else (True, False)
        runs = {dashboard: timed(scenario, dashboard) for dashboard in order}
        if runs[False][0].trace.without_wall() != runs[True][0].trace.without_wall():
            print("  note: the runs with and without the dashboard differ")
        for dashboard, (_, rate, _) in runs.items():
            rates[dashboard].append(rate)
        frames.append(runs[True][2])
        shown = runs[True][0].summary
        print(
            f"  run {repeat + 1}: {shown['events']:,} events; events per wall second without "
            f"{rates[False][-1]:,.0f}, with {rates[True][-1]:,.0f} ({frames[-1]} frames in "
            f"{shown['wall_time']:.1f} s)"
        )
    without, with_ = statistics.median(rates[False]), statistics.median(rates[True])
    overhead = 1.0 - with_ / without
    print(f"medians: without {without:,.0f}, with {with_:,.0f} events/s (ratio {with_ / without:.3f})")
    mode = "quick" if args.quick else "full"
    print(
        f"RESULT mode={mode} overhead={overhead:.4f} events_per_s_without={without:.0f}"
        f" events_per_s_with={with_:.0f} frames={statistics.median(frames):.0f} repeats={repeats}"
        f" scenario={scenario.name}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
