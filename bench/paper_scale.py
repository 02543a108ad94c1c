"""The paper's scale in surrogate mode: 100 actors, 100 learners, 31 parameter-server shards.

The learning problem is the noisy quadratic (no network), so what is measured is the simulator itself:
simulated seconds per wall second and kernel events per wall second, with the cluster's own numbers
(env steps, gradients by fate, staleness) beside them. Compute costs are Atari-like (a Nature-CNN
forward pass per action, a batch-32 CNN gradient as measured on a 2-core CPU).

The same cluster runs again with 10 Gbps egress and ingress interfaces on every node, and
`interfaces_speed_ratio` is its simulated seconds per wall second over the first run's: what finite
interfaces cost the kernel.

    python bench/paper_scale.py [--quick]
"""

from __future__ import annotations

import argparse
import dataclasses
import sys

from gorila_sim.config import GorilaConfig
from gorila_sim.costs import CostProfile
from gorila_sim.gorila import run
from gorila_sim.topology import node_names, roles
from netmodels import LinkModel, LogNormal, NodeModel, ShiftedExponential

ATARI_LIKE = CostProfile(env_step=2e-4, act=5.5e-4, gradient_fixed=1e-3, gradient_per_sample=1e-3)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="1 simulated second instead of 10")
    args = parser.parse_args(argv)
    config = GorilaConfig(
        problem="surrogate",
        surrogate_size=31_000,
        bundled=False,
        actors=100,
        learners=100,
        shards=31,
        replay="local",
        batch_size=32,
        learning_starts=256,
        buffer_size=10_000,
        transitions_per_message=32,
        total_env_steps=10**12,
        max_sim_time=1.0 if args.quick else 10.0,
        costs=ATARI_LIKE,
        optimiser={"name": "adagrad", "lr": 0.05},
        staleness={"name": "hard_threshold", "max_staleness": 100},
        link=LinkModel(latency=LogNormal.from_median_p99(0.0005, 0.005), bandwidth=1.25e9),
        nodes={"learner": NodeModel(straggler=ShiftedExponential(shift=1.0, mean=0.3))},
        seed=0,
    )
    summary = run(config).summary
    sim_per_wall = summary["sim_time"] / summary["wall_time"]
    events_per_s = summary["events"] / summary["wall_time"]
    interfaces = {
        role: dataclasses.replace(config.nodes.get(role, NodeModel()), egress=1.25e9, ingress=1.25e9)
        for role in roles(node_names(config))
    }
    limited = run(dataclasses.replace(config, nodes=interfaces)).summary
    limited_sim_per_wall = limited["sim_time"] / limited["wall_time"]
    print(f"simulated {summary['sim_time']:.1f} s in {summary['wall_time']:.1f} s wall")
    print(f"env steps {summary['env_steps']:,}, gradients {summary['gradients']}")
    print(f"staleness of applied gradients: {summary['staleness']}")
    print(f"network: {summary['network']}")
    print(
        f"with 10 Gbps interfaces: simulated {limited['sim_time']:.1f} s"
        f" in {limited['wall_time']:.1f} s wall,"
        f" {limited['events'] / limited['wall_time']:.0f} events/s, gradients {limited['gradients']}"
    )
    print(
        f"RESULT sim_s_per_wall_s={sim_per_wall:.4f} events_per_s={events_per_s:.0f}"
        f" events={summary['events']} env_steps={summary['env_steps']}"
        f" applied={summary['gradients']['applied']} stale={summary['gradients']['stale']}"
        f" interfaces_sim_s_per_wall_s={limited_sim_per_wall:.4f}"
        f" interfaces_speed_ratio={limited_sim_per_wall / sim_per_wall:.3f}"
        f" mode={'quick' if args.quick else 'full'}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
