"""The demo cluster of `gorila-sim demo`: Gorila on CartPole with latency, loss and a shard crash."""

from __future__ import annotations

from netmodels import Bernoulli, LinkModel, LogNormal, NodeModel, ShiftedExponential

from .config import GorilaConfig
from .runtime import Simulation

DEMO_CRASH = (5.0, 6.0)
"""shard-1 is down between these simulated times."""


def demo_config(seed: int = 0, env_steps: int = 100_000) -> GorilaConfig:
    return GorilaConfig(
        actors=4,
        learners=2,
        shards=2,
        bundled=False,
        replay="global",
        optimiser={"name": "adam", "lr": 2.5e-4},
        staleness={"name": "hard_threshold", "max_staleness": 10},
        outliers={"name": "running_mean_std", "k": 4.0, "warmup": 100},
        total_env_steps=env_steps,
        checkpoint_every=200,
        link=LinkModel(
            latency=LogNormal.from_median_p99(0.0005, 0.005), bandwidth=1.25e9, loss=Bernoulli(0.01)
        ),
        nodes={"actor": NodeModel(speed=0.2), "learner": NodeModel(straggler=ShiftedExponential(1.0, 0.5))},
        seed=seed,
    )


def demo_faults(sim: Simulation) -> None:
    sim.crash("shard-1", at=DEMO_CRASH[0], restart_at=DEMO_CRASH[1])
