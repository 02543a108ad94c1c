"""The paper's scale in surrogate mode: 100 actors, 100 learners, 31 parameter-server shards.

The learning problem is the noisy quadratic (no network), so what is measured is the simulator itself:
simulated seconds per wall second and kernel events per wall second, with the cluster's own numbers
(env steps, gradients by fate, staleness) beside them. Compute costs are Atari-like (a Nature-CNN
forward pass per action, a batch-32 CNN gradient as measured on a 2-core CPU).

The same cluster then runs with 10 Gbps egress and ingress interfaces on every node, and once more
without. `interfaces_speed_ratio` is the run with interfaces' simulated seconds per wall second over
the mean of the two runs without: what finite interfaces cost the kernel. `interfaces_cpu_ratio` is the
same in CPU seconds of this process, which other processes on a shared machine disturb less.

    python bench/paper_scale.py [--quick]
"""

from __future__ import annotations

import argparse
import dataclasses
import gc
import sys
import time

from gorila_sim.config import GorilaConfig
from gorila_sim.costs import CostProfile
from gorila_sim.gorila import run
from gorila_sim.topology import node_names, roles
from netmodels import LinkModel, LogNormal, NodeModel, ShiftedExponential

ATARI_LIKE = CostProfile(env_step=2e-4, act=5.5e-4, gradient_fixed=1e-3, gradient_per_sample=1e-3)


def timed(config: GorilaConfig) -> tuple[dict, float]:
    """The run's summary and the CPU seconds this process spent on it."""
    gc.collect()
    started = time.process_time()
    summary = run(config).summary
    return summary, time.process_time() - started


def paper_config(max_sim_time: float, actors: int = 100) -> GorilaConfig:
    """The paper's cluster in surrogate mode, with `actors` actors (each with its own replay memory)."""
    return GorilaConfig(
        problem="surrogate",
        surrogate_size=31_000,
        bundled=False,
        actors=actors,
        learners=100,
        shards=31,
        replay="local",
        batch_size=32,
        learning_starts=256,
        buffer_size=10_000,
        transitions_per_message=32,
        total_env_steps=10**12,
        max_sim_time=max_sim_time,
        costs=ATARI_LIKE,
        optimiser={"name": "adagrad", "lr": 0.05},
        staleness={"name": "hard_threshold", "max_staleness": 100},
        link=LinkModel(latency=LogNormal.from_median_p99(0.0005, 0.005), bandwidth=1.25e9),
        nodes={"learner": NodeModel(straggler=ShiftedExponential(shift=1.0, mean=0.3))},
        seed=0,
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="1 simulated second instead of 10")
    args = parser.parse_args(argv)
    config = paper_config(1.0 if args.quick else 10.0)
    summary, cpu = timed(config)
    sim_per_wall = summary["sim_time"] / summary["wall_time"]
    events_per_s = summary["events"] / summary["wall_time"]
    print(f"simulated {summary['sim_time']:.1f} s in {summary['wall_time']:.1f} s wall")
    print(f"env steps {summary['env_steps']:,}, gradients {summary['gradients']}")
    print(f"staleness of applied gradients: {summary['staleness']}")
    print(f"network: {summary['network']}")

    # With interfaces, then without again: the ratio is to the mean of the runs before and after it, so
    # that a machine getting busier or quieter during the runs does not bias it.
    interfaces = {
        role: dataclasses.replace(config.nodes.get(role, NodeModel()), egress=1.25e9, ingress=1.25e9)
        for role in roles(node_names(config))
    }
    limited, limited_cpu = timed(dataclasses.replace(config, nodes=interfaces))
    again, again_cpu = timed(config)
    print(
        f"with 10 Gbps interfaces: simulated {limited['sim_time']:.1f} s in {limited['wall_time']:.1f} s wall"
        f" ({limited_cpu:.1f} s CPU), {limited['events']} events, gradients {limited['gradients']};"
        f" without, again: {again['wall_time']:.1f} s wall ({again_cpu:.1f} s CPU)"
    )
    limited_sim_per_wall = limited["sim_time"] / limited["wall_time"]
    wall_ratio = limited_sim_per_wall / ((sim_per_wall + again["sim_time"] / again["wall_time"]) / 2)
    cpu_ratio = (limited["sim_time"] / limited_cpu) / (
        (summary["sim_time"] / cpu + again["sim_time"] / again_cpu) / 2
    )
    print(
        f"RESULT sim_s_per_wall_s={sim_per_wall:.4f} events_per_s={events_per_s:.0f}"
        f" events={summary['events']} env_steps={summary['env_steps']}"
        f" applied={summary['gradients']['applied']} stale={summary['gradients']['stale']}"
        f" interfaces_sim_s_per_wall_s={limited_sim_per_wall:.4f}"
        f" interfaces_speed_ratio={wall_ratio:.3f} interfaces_cpu_ratio={cpu_ratio:.3f}"
        f" mode={'quick' if args.quick else 'full'}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
