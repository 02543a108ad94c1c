"""Beyond the paper's scale: 1,000 actors (each with its own replay memory), 100 learners, 31 shards.

The paper-scale surrogate cluster of paper_scale.py with ten times the actors, run to its simulated
end: simulated seconds per wall second, kernel events per wall second, and the process's peak resident
memory (which includes the interpreter and numpy, about 60 MB, beside the cluster).

    python bench/scale_1000.py [--quick]
"""

from __future__ import annotations

import argparse
import resource
import sys
import time

from paper_scale import paper_config

from gorila_sim.gorila import run


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="0.3 simulated seconds instead of 2")
    args = parser.parse_args(argv)
    config = paper_config(0.3 if args.quick else 2.0, actors=1_000)
    started = time.perf_counter()
    summary = run(config).summary
    total_wall = time.perf_counter() - started
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(
        f"simulated {summary['sim_time']:.2f} s in {summary['wall_time']:.1f} s wall"
        f" ({total_wall:.1f} s with building the cluster), {summary['events']:,} events"
    )
    print(f"env steps {summary['env_steps']:,}, gradients {summary['gradients']}, peak RSS {peak_mb:.0f} MB")
    print(
        f"RESULT sim_s_per_wall_s={summary['sim_time'] / summary['wall_time']:.4f}"
        f" build_and_run_wall_s={total_wall:.2f}"
        f" events_per_s={summary['events'] / summary['wall_time']:.0f} events={summary['events']}"
        f" env_steps={summary['env_steps']} applied={summary['gradients']['applied']}"
        f" peak_rss_mb={peak_mb:.0f} mode={'quick' if args.quick else 'full'}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
