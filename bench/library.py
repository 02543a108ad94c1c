"""Wall time of each library scenario run to its end, as the test suite runs them; goal: each under 10 s.

Each scenario runs once with --quick, three times otherwise (the median is reported).

    python bench/library.py [--quick]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time

from gorila_sim.scenario import library_scenarios, load_scenario, run_scenario

GOAL_S = 10.0


def wall_time(path) -> float:
    started = time.perf_counter()
    run_scenario(load_scenario(path))
    return time.perf_counter() - started


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="one run of each scenario instead of three")
    args = parser.parse_args(argv)
    repeats = 1 if args.quick else 3
    walls = {}
    for name, path in library_scenarios().items():
        walls[name] = statistics.median(wall_time(path) for _ in range(repeats))
        print(f"{name:<24} {walls[name]:6.2f} s", flush=True)
    slowest = max(walls, key=walls.__getitem__)
    over = [name for name, wall in walls.items() if wall >= GOAL_S]
    print(f"slowest: {slowest}, {walls[slowest]:.2f} s; over {GOAL_S:g} s: {', '.join(over) or 'none'}")
    mode = "quick" if args.quick else "full"
    print(
        f"RESULT mode={mode} max_wall_s={walls[slowest]:.2f} slowest={slowest} over_goal={len(over)} "
        + " ".join(f"wall_s_{name.replace('-', '_')}={wall:.2f}" for name, wall in walls.items())
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
