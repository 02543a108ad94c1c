"""Gorila proper, then with stale gradients, the staleness threshold on and off.

Gorila proper: 8 actors, 4 learners, 4 shards, AdaGrad, a global replay memory and modest latency
(lognormal, median 0.5 ms, p99 5 ms) on CartPole. Actors run at a twentieth of the reference speed,
which gives about one gradient per ten env steps, as in single-process DQN. The stale-gradient scenario
adds slowdown episodes to the learners (every 2 s on average, for 0.5 s, 20 times slower), so some
gradients reach the server many versions late; it runs twice with the same seed, with Gorila's hard
threshold and without. For each run: the learning curve, gradients by fate, and staleness percentiles.

    python bench/staleness.py [--quick]
"""

from __future__ import annotations

import argparse
import sys

import numpy as np

from gorila_sim.config import GorilaConfig
from gorila_sim.gorila import RunResult, mean_return_curve, run
from netmodels import Constant, Exponential, LinkModel, LogNormal, NodeModel, Slowdowns

THRESHOLD = 8
SLOW_LEARNERS = NodeModel(
    slowdowns=Slowdowns(interarrival=Exponential(2.0), duration=Exponential(0.5), factor=Constant(20.0))
)


def gorila_proper(
    total_steps: int, seed: int, staleness: str | dict = "none", learner: NodeModel | None = None
) -> GorilaConfig:
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
        nodes={"actor": NodeModel(speed=0.05), "learner": learner or NodeModel()},
        seed=seed,
    )


def curve_at(result: RunResult, checkpoints: list[int]) -> str:
    """The mean return at each checkpoint; `stop` past the point where the run reached 475 and ended."""
    steps, means = mean_return_curve(result.trace)
    cells = []
    for c in checkpoints:
        seen = means[steps <= c]
        if c > result.summary["env_steps"]:
            cells.append("  stop")
        else:
            cells.append(f"{seen[-1]:6.1f}" if seen.size else "     -")
    return " ".join(cells)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="40k env steps per run (under a minute)")
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args(argv)
    total = 40_000 if args.quick else 600_000
    threshold = {"name": "hard_threshold", "max_staleness": THRESHOLD}
    runs = {
        "proper": run(gorila_proper(total, args.seed)),
        "slow_off": run(gorila_proper(total, args.seed, "none", SLOW_LEARNERS)),
        "slow_on": run(gorila_proper(total, args.seed, threshold, SLOW_LEARNERS)),
    }
    titles = {
        "proper": "Gorila proper",
        "slow_off": "slow learners, no threshold",
        "slow_on": f"slow learners, threshold {THRESHOLD}",
    }
    checkpoints = [int(c) for c in np.linspace(total / 10, total, 10)]
    print("mean return of the last 10 episodes, by env steps:")
    print(f"{'':>34} " + " ".join(f"{c // 1000:>5}k" for c in checkpoints))
    for key, result in runs.items():
        print(f"{titles[key]:>34} {curve_at(result, checkpoints)}")
    fields = []
    for key, result in runs.items():
        s = result.summary
        best = s["best_mean_return"]
        print(f"\n{titles[key]}: 475 reached at {s.get('steps_to_target')} env steps, best {best:.1f}")
        print(f"  gradients by fate: {s['gradients']}")
        print(f"  staleness of applied gradients: {s['staleness']}")
        fields += [
            f"steps_to_475_{key}={s.get('steps_to_target') or 'none'}",
            f"stale_discards_{key}={s['gradients']['stale']}",
            f"staleness_p99_{key}={s['staleness']['p99']:.0f}",
            f"staleness_max_{key}={s['staleness']['max']:.0f}",
        ]
    mode = "quick" if args.quick else "full"
    print(f"RESULT mode={mode} " + " ".join(fields))
    return 0


if __name__ == "__main__":
    sys.exit(main())
