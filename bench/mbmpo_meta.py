"""MB-MPO's meta-step on the CPU, at HalfCheetah's sizes on synthetic trajectories: the inner steps, the
meta-gradient and the Fisher-vector products of all K models batched in one pass (as mbmpo.meta computes
them) against a loop over the models, one model per pass; a line-search evaluation of the meta-objective
without the inner gradient's graph against one with it; and a whole meta-step but its rollouts with its
models split over one worker thread per usable core (mbmpo.workers) against one thread, and against one
worker thread running torch on every core.

    python bench/mbmpo_meta.py [--quick] [--repeats R]

Each comparison times both sides alternately, R times each, and takes the medians' ratio, so a load that
changes during the run weighs on both sides alike.
"""

from __future__ import annotations

import argparse
import math
import statistics
import sys
import time
from collections.abc import Callable

import torch

from mbmpo.config import MBMPOConfig
from mbmpo.meta import adapt, meta_fisher_product, meta_objective, meta_step, model_samples, samples
from mbmpo.policy import GaussianPolicy
from mbmpo.rollouts import Trajectories
from mbmpo.workers import Workers
from runcommon.cores import usable_cores

OBS, ACT = 17, 6
"""HalfCheetah-v5's observation and action sizes."""

MODELS, TRAJECTORIES, HORIZON = 5, 80, 200
"""The paper's ensemble, rollouts_per_model and horizon."""

CURVATURE_FRACTION = 0.25
"""bench/mbmpo_mujoco.py's: the Fisher-vector products see the first quarter of the trajectories."""

INNER_LR, CG_ITERATIONS = 0.001, 10


def synthetic_samples(policy: GaussianPolicy, params: torch.Tensor, trajectories: int, seed: int):
    """Trajectories sampled by π_params (K, P) from random states, with random rewards."""
    g = torch.Generator().manual_seed(seed)
    obs = torch.randn(MODELS, trajectories, HORIZON, OBS, generator=g)
    noise = torch.randn(MODELS, trajectories * HORIZON, ACT, generator=g)
    with torch.no_grad():
        actions, log_probs = policy.sample(params, obs.reshape(MODELS, -1, OBS), noise)
    rewards = torch.randn(MODELS, trajectories, HORIZON, generator=g)
    dones = torch.zeros(MODELS, trajectories, HORIZON, dtype=torch.bool)
    shape = (MODELS, trajectories, HORIZON)
    trajectories_ = Trajectories(obs, actions.reshape(*shape, ACT), rewards, dones, log_probs.reshape(shape))
    return samples(trajectories_, discount=0.99, lam=1.0)


def timed(work: Callable[[], object]) -> float:
    started = time.perf_counter()
    work()
    return time.perf_counter() - started


def ratio(slow: Callable[[], object], fast: Callable[[], object], repeats: int) -> tuple[float, float]:
    """(median seconds of `fast`, median of `slow` / median of `fast`), timed alternately after a warm-up."""
    slow(), fast()
    times: dict[str, list[float]] = {"slow": [], "fast": []}
    for _ in range(repeats):
        times["slow"].append(timed(slow))
        times["fast"].append(timed(fast))
    fast_s = statistics.median(times["fast"])
    return fast_s, statistics.median(times["slow"]) / fast_s


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer repeats (under a minute)")
    parser.add_argument("--repeats", type=int, default=None, help="timings per side (default 7, quick 3)")
    args = parser.parse_args(argv)
    repeats = args.repeats or (3 if args.quick else 7)
    if repeats < 1:
        parser.error(f"--repeats: must be at least 1, got {repeats}")
    torch.set_num_threads(1)
    torch.manual_seed(0)
    policy = GaussianPolicy(OBS, ACT)
    theta = policy.theta.detach().clone()
    pre = synthetic_samples(policy, theta.expand(MODELS, -1), TRAJECTORIES, seed=1)
    post_params = adapt(policy, theta, pre, INNER_LR, create_graph=False)
    post = synthetic_samples(policy, post_params, TRAJECTORIES, seed=2)
    count = math.ceil(CURVATURE_FRACTION * TRAJECTORIES)
    pre_head, post_head = (
        synthetic_samples(policy, params, count, seed)
        for params, seed in ((theta.expand(MODELS, -1), 3), (post_params, 4))
    )
    per_model = [
        (model_samples(pre, k), model_samples(post, k), post_params[k : k + 1]) for k in range(MODELS)
    ]
    per_model_head = [
        (model_samples(pre_head, k), model_samples(post_head, k), post_params[k : k + 1])
        for k in range(MODELS)
    ]

    def meta_gradient(parts) -> torch.Tensor:
        x = theta.clone().requires_grad_()
        return torch.autograd.grad(meta_objective(policy, x, *parts, INNER_LR)[0], x)[0]

    def products(parts) -> torch.Tensor:
        product = meta_fisher_product(policy, theta, *parts, INNER_LR)
        v = torch.ones_like(theta)
        for _ in range(CG_ITERATIONS + 1):
            v = product(v) / v.norm()
        return v

    print(f"{MODELS} models x {TRAJECTORIES} trajectories x {HORIZON} steps, policy 32-32, {repeats} repeats")
    _, inner = ratio(
        lambda: [adapt(policy, theta, parts[0], INNER_LR, create_graph=False) for parts in per_model],
        lambda: adapt(policy, theta, pre, INNER_LR, create_graph=False),
        repeats,
    )
    print(f"inner steps: batched {inner:.2f}x the loop over models")
    gradient_s, gradient = ratio(
        lambda: [meta_gradient(parts) for parts in per_model],
        lambda: meta_gradient((pre, post, post_params)),
        repeats,
    )
    print(f"meta-gradient: batched {gradient_s:.3f} s, {gradient:.2f}x the loop over models")
    fvp_s, fvp = ratio(
        lambda: [products(parts) for parts in per_model_head],
        lambda: products((pre_head, post_head, post_params)),
        repeats,
    )
    print(
        f"{CG_ITERATIONS + 1} Fisher-vector products: batched {fvp_s:.3f} s, {fvp:.2f}x the loop over models"
    )
    candidate = theta + 1e-3
    _, values = ratio(
        lambda: meta_objective(policy, candidate.clone().requires_grad_(), pre, post, post_params, INNER_LR),
        lambda: meta_objective(policy, candidate, pre, post, post_params, INNER_LR),
        repeats,
    )
    print(f"line-search evaluation: {values:.2f}x faster without the inner gradient's graph")

    cores = usable_cores()
    config = MBMPOConfig(
        env_id="HalfCheetah-v5",
        rollouts_per_model=TRAJECTORIES,
        horizon=HORIZON,
        curvature_fraction=CURVATURE_FRACTION,
        inner_lr=INNER_LR,
    )
    trajectories = [pre.trajectories, post.trajectories]

    def imagine(params, start_states, noise):
        """The synthetic trajectories: before adaptation on a meta-step's first call, after on its second."""
        trajectories.reverse()
        return trajectories[1]

    starts = (torch.zeros(MODELS, TRAJECTORIES, OBS), torch.zeros(MODELS, TRAJECTORIES, OBS))
    noise = (torch.zeros(MODELS, TRAJECTORIES, HORIZON, ACT),) * 2
    workers = {1: Workers(1), cores: Workers(cores)}

    def step(threads: int, torch_threads: int = 1) -> Callable[[], object]:
        def run() -> object:
            torch.set_num_threads(torch_threads)
            try:
                return meta_step(policy, theta, imagine, starts, noise, config, workers=workers[threads])
            finally:
                torch.set_num_threads(1)

        return run

    step_s, threads = ratio(step(1), step(cores), repeats)
    print(f"meta-step (no rollouts): {step_s:.3f} s on {cores} worker threads, {threads:.2f}x one thread")
    _, intra_op = ratio(step(1), step(1, torch_threads=cores), repeats)
    print(f"meta-step on one worker thread with {cores} torch threads: {intra_op:.2f}x one torch thread")
    for pool in workers.values():
        pool.close()
    mode = "quick" if args.quick else "full"
    print(
        f"RESULT inner_speedup={inner:.2f} meta_gradient_speedup={gradient:.2f} fvp_speedup={fvp:.2f}"
        f" value_eval_speedup={values:.2f} meta_step_s={step_s:.3f} threads={cores}"
        f" workers_speedup={threads:.2f} torch_threads_speedup={intra_op:.2f} mode={mode}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
