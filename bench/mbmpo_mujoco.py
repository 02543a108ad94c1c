"""MB-MPO on a MuJoCo task with 200-step episodes (HalfCheetah-v5 unless --env says another): wall time per
iteration and an extrapolation to 100k real steps.

100k real steps are 4,000 random steps, then 24 iterations of 4,000 real steps. The targets there, a mean real
return of the adapted policies: HalfCheetah-v5 550 (the paper's), Hopper-v5 650 (the level reported for the
paper's implementation); Ant-v5 and Walker2d-v5 have none yet. Every task runs MBMPOConfig's defaults (the
paper's) but for SETTINGS: twice the paper's meta-steps per iteration, each with a cheaper curvature estimate,
and refits of the ensemble capped at 50 epochs. The whole run takes one to two hours on a 2-core machine, so
by default this runs the first iterations only and extrapolates: meta-training and collection cost the same
every iteration, refitting the ensemble grows with the data, so the estimate adds to the measured wall time,
for each iteration not run, the median meta-training and collection time and the median fit time per
transition held scaled to its data.

    python bench/mbmpo_mujoco.py [--env ID] [--quick] [--iterations N] [--seed S] [--out DIR [--resume]]
        [overrides]

A run stopped part way (its results directory holds a checkpoint after every iteration) goes on with the
same command and --resume; wall_s is then the run's total over its parts.

The overrides are those of `gorila-sim mbmpo train` (--rollouts N, --meta-steps N, --backend B, ...).
"""

from __future__ import annotations

import argparse
import sys

import numpy as np

from mbmpo.cli import add_overrides, override_fields
from mbmpo.config import ConfigError, MBMPOConfig
from mbmpo.train import describe, train

ENVS = ("HalfCheetah-v5", "Hopper-v5", "Ant-v5", "Walker2d-v5")
"""The tasks of the bench: MuJoCo, with known rewards and terminations (mbmpo.envs)."""

FULL_ITERATIONS = 24
"""4,000 random steps and 24 iterations of 4,000 real steps: 100k real steps."""

SETTINGS = {"meta_steps": 60, "curvature_fraction": 0.25, "model_epochs": 50}
"""Where the bench leaves the paper's settings, tuned on HalfCheetah and kept for every task: the policy
improves too slowly with the paper's 30 meta-steps (seed 0: 380 at 100k, 495 with 60), and refits of up to 500
epochs, each model keeping its parameters of the lowest validation loss, left seeds 0, 1, 2, 4 at 372, 373,
353, 626; capped at 50, seeds 0-4 reached 587, 716, 232, 590, 270: median 587. Per seed and refit setting:
docs/mbmpo.md, Benchmarks."""

QUICK = {
    "iterations": 2,
    "models": 3,
    "model_hidden": (128, 128),
    "model_epochs": 5,
    "meta_steps": 3,
    "rollouts_per_model": 10,
    "initial_random_steps": 1_000,
    "real_steps_per_iteration": 1_200,
}
"""Two small iterations: under a minute. Its extrapolation is of these settings, not the paper's."""


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--env", choices=ENVS, default=ENVS[0], help=f"the task (default {ENVS[0]})")
    parser.add_argument("--quick", action="store_true", help="two small iterations (under a minute)")
    parser.add_argument("--iterations", type=int, default=2, help="iterations to run (default 2; 24 is 100k)")
    parser.add_argument("--seed", type=int, default=0, help="the run's seed (default 0)")
    parser.add_argument("--out", default=None, help="write the results directory here")
    parser.add_argument("--resume", action="store_true", help="go on from the checkpoint in --out")
    add_overrides(parser)
    args = parser.parse_args(argv)
    settings = dict(QUICK) if args.quick else {**SETTINGS, "iterations": args.iterations}
    try:
        config = MBMPOConfig(env_id=args.env, seed=args.seed, **{**settings, **override_fields(args)})
    except ConfigError as error:
        parser.error(str(error))
    if args.resume and args.out is None:
        parser.error("--resume: needs --out, the run's results directory")
    try:
        history = train(
            config, out=args.out, on_iteration=lambda m: print(describe(m), flush=True), resume=args.resume
        )
    except ConfigError as error:
        parser.error(str(error))
    wall = history[-1]["wall_s"]
    done = history[1:]
    per_iteration = float(np.median([m["fit_s"] + m["meta_s"] + m["collect_s"] for m in done]))
    # The iterations not run: meta-training and collection as measured, the refit by the data held.
    fit_per_transition = float(
        np.median([m["fit_s"] / (m["real_steps"] - config.real_steps_per_iteration) for m in done])
    )
    steady = float(np.median([m["meta_s"] + m["collect_s"] for m in done]))
    held = [history[0]["real_steps"] + i * config.real_steps_per_iteration for i in range(FULL_ITERATIONS)]
    extrapolated = wall + sum(steady + fit_per_transition * h for h in held[len(done) :])
    full_steps = held[-1] + config.real_steps_per_iteration
    last = history[-1]
    mode = "quick" if args.quick else "full"
    split = {
        key: float(np.median([m[key] for m in done])) for key in ("fit_s", "meta_s", "collect_s", "cpu_s")
    }
    split |= {
        name[5:] + "_s": float(np.median([m["phase_s"][name] for m in done])) for name in done[0]["phase_s"]
    }
    compile_s = sum(m["compile_s"] for m in done)
    print(
        f"RESULT mode={mode} env={config.env_id} real_steps={last['real_steps']}"
        f" return={last['real_return']:.1f} wall_s={wall:.1f}"
        f" s_per_iteration={per_iteration:.1f} extrapolated_s_{full_steps // 1000}k={extrapolated:.0f} "
        + " ".join(f"{key}={value:.2f}" for key, value in split.items())
        + f" compile_s={compile_s:.1f}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
