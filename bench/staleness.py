"""Gorila proper with stale gradients, the staleness threshold on and off.

8 actors, 4 learners, 4 shards, AdaGrad, a global replay memory and modest latency on CartPole; the
learners are stragglers (compute times with a heavy shifted-exponential tail), so some gradients reach
the server many versions late. The same run, same seed, with Gorila's hard threshold and without:
learning curves, gradients by fate, and staleness percentiles of the applied gradients.

    python bench/staleness.py [--quick]
"""

from __future__ import annotations

import argparse
import sys

import numpy as np

from gorila_sim.config import GorilaConfig
from gorila_sim.gorila import mean_return_curve, run
from netmodels import LinkModel, LogNormal, NodeModel, ShiftedExponential

THRESHOLD = 8


def gorila_proper(total_steps: int, staleness: str | dict, seed: int) -> GorilaConfig:
    return GorilaConfig(
        actors=8,
        learners=4,
        shards=4,
        bundled=False,
        replay="global",
        optimiser={"name": "adagrad", "lr": 0.001},
        staleness=staleness,
        total_env_steps=total_steps,
        target_return=475.0,
        link=LinkModel(latency=LogNormal.from_median_p99(0.0005, 0.005), bandwidth=1.25e9),
        # Actors at a fortieth of the reference speed give about one gradient per ten env steps, as in
        # single-process DQN; learners are stragglers.
        nodes={
            "actor": NodeModel(speed=0.025),
            "learner": NodeModel(straggler=ShiftedExponential(shift=1.0, mean=1.0)),
        },
        seed=seed,
    )


def curve_at(trace, checkpoints: list[int]) -> list[str]:
    steps, means = mean_return_curve(trace)
    out = []
    for c in checkpoints:
        seen = means[steps <= c]
        out.append(f"{seen[-1]:6.1f}" if seen.size else "     -")
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="40k env steps per run (under a minute)")
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args(argv)
    total = 40_000 if args.quick else 600_000
    runs = {
        "threshold off": run(gorila_proper(total, "none", args.seed)),
        f"threshold {THRESHOLD}": run(
            gorila_proper(total, {"name": "hard_threshold", "max_staleness": THRESHOLD}, args.seed)
        ),
    }
    checkpoints = list(np.linspace(total / 10, total, 10).astype(int))
    print("mean return of the last 10 episodes, by env steps:")
    print(f"{'':>14} " + " ".join(f"{c // 1000:>5}k" for c in checkpoints))
    for name, result in runs.items():
        print(f"{name:>14} " + " ".join(curve_at(result.trace, checkpoints)))
    result_fields = []
    for name, result in runs.items():
        s = result.summary
        key = "off" if "off" in name else "on"
        print(f"\n{name}: reached 475 at {s.get('steps_to_target')} env steps")
        print(f"  best mean return {s['best_mean_return']:.1f}")
        print(f"  gradients: {s['gradients']}")
        print(f"  staleness of applied gradients: {s['staleness']}")
        result_fields += [
            f"steps_to_475_{key}={s.get('steps_to_target') or 'none'}",
            f"stale_discards_{key}={s['gradients']['stale']}",
            f"applied_{key}={s['gradients']['applied']}",
            f"staleness_p99_{key}={s['staleness']['p99']:.0f}",
            f"staleness_max_{key}={s['staleness']['max']:.0f}",
        ]
    print("RESULT " + " ".join(result_fields))
    return 0


if __name__ == "__main__":
    sys.exit(main())
