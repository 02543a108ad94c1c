"""Imagined rollouts at HalfCheetah size: steps per second of every backend against the torch reference on
the same device, and the fraction of the device's measured float32 matrix-multiply throughput they reach.

On a GPU it measures both implementations the cuda backend chooses between, the fused numba CUDA kernel
and the torch reference on the GPU, each against the latter.

The workload is MB-MPO's: K = 5 dynamics models of 512-512 (ReLU, weight normalisation), a 32-32 tanh
Gaussian policy, obs 17, act 6, HalfCheetah's reward, for 20, 80 (MB-MPO's rollouts_per_model), 200,
2,000 and 20,000 trajectories per model. Rollouts run the full horizon of 200 steps while K·N·T stays
within the step budget; beyond it the horizon is shortened (printed), which changes the work per call,
not the work per step.

    python bench/rollouts.py [--quick]
"""

from __future__ import annotations

import argparse
import itertools
import math
import os
import statistics
import sys
import time
import warnings
from collections.abc import Callable
from functools import partial

import numba
import torch

from mbmpo.dynamics import DynamicsEnsemble
from mbmpo.envs import TASKS
from mbmpo.policy import GaussianPolicy
from mbmpo.rollouts import (
    cuda_backend,
    cuda_rollout,
    gpu_rollout,
    numba_backend,
    numba_rollout,
    torch_rollout,
)

OBS, ACT, MODELS, HIDDEN, POLICY_HIDDEN, HORIZON = 17, 6, 5, (512, 512), (32, 32), 200
TRAJECTORIES = (20, 80, 200, 2_000, 20_000)
TASK = TASKS["HalfCheetah-v5"]


def flops_per_step() -> int:
    """Floating-point operations of the matrix products of one imagined step (2 per multiply-add)."""
    model = (OBS + ACT, *HIDDEN, OBS)
    policy = (OBS, *POLICY_HIDDEN, ACT)
    return 2 * sum(a * b for sizes in (model, policy) for a, b in itertools.pairwise(sizes))


def matmul_gflops(device: str, size: int, repeats: int) -> float:
    """Median float32 throughput of size x size matrix products on the device, in GFLOP/s."""
    a, b = (torch.randn(size, size, device=device) for _ in range(2))
    rates = []
    for _ in range(repeats + 1):
        sync(device)
        started = time.perf_counter()
        a @ b
        sync(device)
        rates.append(2 * size**3 / (time.perf_counter() - started) / 1e9)
    return statistics.median(rates[1:])


def sync(device: str) -> None:
    if device == "cuda":
        torch.cuda.synchronize()


def steps_per_s(rollout: Callable, n: int, horizon: int, repeats: int, device: str) -> float:
    """Median imagined steps per second of one backend, after a warm-up call."""
    torch.manual_seed(0)
    ensemble = DynamicsEnsemble(OBS, ACT, MODELS, HIDDEN)
    policy = GaussianPolicy(OBS, ACT, POLICY_HIDDEN)
    params = policy.theta.detach() + 0.1 * torch.randn(MODELS, policy.size)
    starts = torch.randn(MODELS, n, OBS)
    noise = torch.randn(MODELS, n, horizon, ACT)
    rollout(ensemble, policy, params, starts, noise, TASK)
    rates = []
    for _ in range(repeats):
        sync(device)
        started = time.perf_counter()
        rollout(ensemble, policy, params, starts, noise, TASK)
        sync(device)
        rates.append(MODELS * n * horizon / (time.perf_counter() - started))
    return statistics.median(rates)


def first_numba_call_s() -> float:
    """Seconds of this process's first numba rollout: compilation, or loading it from numba's cache."""
    torch.manual_seed(0)
    ensemble = DynamicsEnsemble(OBS, ACT, 1, (8,))
    policy = GaussianPolicy(OBS, ACT, (4,))
    started = time.perf_counter()
    numba_rollout(
        ensemble, policy, policy.theta.detach()[None], torch.zeros(1, 1, OBS), torch.zeros(1, 1, 1, ACT), TASK
    )
    return time.perf_counter() - started


def chosen_path(n: int) -> str:
    """The path the numba backend's calibration chose for n trajectories per model of the bench's sizes."""
    rows = min(n, numba_backend.BLAS_CHUNK_ROWS)
    paths = [path for key, path in numba_backend.CHOICES.items() if key[1] == 1 << (rows - 1).bit_length()]
    return paths[-1]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--quick", action="store_true", help="a smaller step budget, one repeat (under a minute)"
    )
    args = parser.parse_args(argv)
    budget, repeats = (150_000, 1) if args.quick else (2_000_000, 3)
    cores = os.cpu_count() or 1
    torch.set_num_threads(cores)
    threads = f"torch threads {torch.get_num_threads()}, numba threads {numba.get_num_threads()}"
    print(f"CPU: {cores} cores; {threads}")
    first_call = first_numba_call_s()
    print(f"numba: first call in this process {first_call:.2f} s (compilation, or loading the cached code)")

    flops = flops_per_step()
    peak = matmul_gflops("cpu", 2048, 3 if args.quick else 5)
    print(f"CPU float32 matmul (2048 x 2048, {cores} threads): {peak:.1f} GFLOP/s; {flops:,} FLOP per step")
    devices: list[tuple[str, float, dict[str, Callable]]] = [
        ("cpu", peak, {"torch": torch_rollout, "numba": numba_rollout})
    ]
    gpu = torch.cuda.is_available()
    if gpu:
        gpu_peak = matmul_gflops("cuda", 8192, 5)
        print(f"GPU {torch.cuda.get_device_name()}: float32 matmul (8192 x 8192) {gpu_peak:.1f} GFLOP/s")
        gpu_backends = {"torch": partial(torch_rollout, device="cuda")}
        ensemble, policy = DynamicsEnsemble(OBS, ACT, MODELS, HIDDEN), GaussianPolicy(OBS, ACT, POLICY_HIDDEN)
        # The kernel's first use compiles it; a failure shows in the refusal below.
        with warnings.catch_warnings(action="ignore"):
            gpu_rollout(
                ensemble,
                policy,
                policy.theta.detach().expand(MODELS, -1),
                torch.zeros(MODELS, 1, OBS),
                torch.zeros(MODELS, 1, 1, ACT),
                TASK,
            )
        refusal = cuda_backend.kernel_refusal(ensemble, policy, TASK)
        if refusal is None:
            gpu_backends["kernel"] = cuda_rollout
        else:
            print(f"GPU: the fused kernel cannot run here ({refusal}); torch only")
        devices.append(("cuda", gpu_peak, gpu_backends))
    results: dict[str, float] = {}
    print(f"\n{'device':6} {'backend':7} {'N':>7} {'T':>4} {'steps/s':>12} {'vs torch':>9} {'of matmul':>10}")
    for device, device_peak, backends in devices:
        for n in TRAJECTORIES:
            horizon = max(2, min(HORIZON, math.ceil(budget / (MODELS * n))))
            anchor = None
            for name, rollout in backends.items():
                rate = steps_per_s(rollout, n, horizon, repeats, device)
                anchor = anchor or rate
                fraction = rate * flops / 1e9 / device_peak
                key = f"{device}_{name}_{n}"
                results[key], results[f"{key}_fraction"] = rate, fraction
                chosen = f"  ({chosen_path(n)} path)" if rollout is numba_rollout else ""
                print(
                    f"{device:6} {name:7} {n:>7,} {horizon:>4} {rate:>12,.0f} {rate / anchor:>8.2f}x"
                    f" {fraction:>9.0%}{chosen}"
                )
    ratios = {n: results[f"cpu_numba_{n}"] / results[f"cpu_torch_{n}"] for n in TRAJECTORIES}
    fields = {
        "numba_vs_torch_small": f"{ratios[20]:.2f}",
        **{f"numba_vs_torch_{n}": f"{ratios[n]:.2f}" for n in TRAJECTORIES[1:]},
        "matmul_fraction_large": f"{results['cpu_numba_20000_fraction']:.2f}",
        "torch_matmul_fraction_large": f"{results['cpu_torch_20000_fraction']:.2f}",
        "matmul_gflops": f"{peak:.1f}",
        "numba_first_call_s": f"{first_call:.2f}",
        "numba_paths": ",".join(chosen_path(n) for n in TRAJECTORIES),
    }
    if gpu:
        if "kernel" in gpu_backends:
            for n in TRAJECTORIES:
                ratio = results[f"cuda_kernel_{n}"] / results[f"cuda_torch_{n}"]
                fields[f"gpu_kernel_vs_torch_{n}"] = f"{ratio:.2f}"
        best = max(results[f"cuda_{name}_20000_fraction"] for name in gpu_backends)
        fields["gpu_matmul_fraction_large"] = f"{best:.2f}"
        fields["gpu_matmul_gflops"] = f"{gpu_peak:.1f}"
    mode = "quick" if args.quick else "full"
    print(f"RESULT mode={mode} " + " ".join(f"{k}={v}" for k, v in fields.items()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
