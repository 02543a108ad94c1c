"""MB-MPO on Pendulum-v1: the mean real return of the adapted policies against real steps.

The target: a mean return of the adapted policies of at least -200 within 50k real
steps. Pendulum's dynamics are simple, so the models are smaller than the paper's 512-512 to fit a
2-core machine; everything else keeps MBMPOConfig's defaults unless set below.

    python bench/mbmpo_pendulum.py [--quick] [--out DIR]
"""

from __future__ import annotations

import argparse
import sys
import time

from mbmpo.config import MBMPOConfig
from mbmpo.train import describe, train

FULL = {
    "iterations": 11,
    "model_hidden": (128, 128),
    "model_batch_size": 128,
}
"""4,000 random steps, then 11 iterations of 4,000 real steps: 48k real steps in all."""

QUICK = {
    "iterations": 3,
    "model_hidden": (64, 64),
    "model_batch_size": 128,
    "model_epochs": 10,
    "models": 3,
    "meta_steps": 20,
    "rollouts_per_model": 10,
    "initial_random_steps": 2_000,
    "real_steps_per_iteration": 1_200,
}
"""A few small iterations: under a minute."""


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a few small iterations (under a minute)")
    parser.add_argument("--seed", type=int, default=0, help="the run's seed (default 0)")
    parser.add_argument("--out", default=None, help="write the results directory here")
    args = parser.parse_args(argv)
    config = MBMPOConfig(env_id="Pendulum-v1", seed=args.seed, **(QUICK if args.quick else FULL))
    started = time.perf_counter()
    history = train(config, out=args.out, on_iteration=lambda m: print(describe(m), flush=True))
    last = history[-1]
    wall = time.perf_counter() - started
    mode = "quick" if args.quick else "full"
    print(
        f"RESULT mode={mode} real_steps={last['real_steps']} return={last['real_return']:.1f}"
        f" wall_s={wall:.1f}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
