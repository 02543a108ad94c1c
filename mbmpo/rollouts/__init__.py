"""Imagined rollouts: the policy acting in the learned models, through one interface for every backend.

A backend is a function with the signature of `Rollout`. The Gaussian noise is an input, so two backends
given the same noise return the same trajectories (up to floating point).
"""

from __future__ import annotations

import torch

from .cuda_backend import cuda_rollout, gpu_rollout
from .numba_backend import numba_rollout
from .torch_backend import torch_rollout
from .trajectories import Rollout, Trajectories

BACKENDS: dict[str, Rollout] = {
    "torch": torch_rollout,
    "numba": numba_rollout,
    "cuda": gpu_rollout,
}
"""Rollout backends by name (MBMPOConfig.backend): the torch reference on the CPU, numba on the CPU, and
the GPU (a fused numba CUDA kernel for MB-MPO's batch sizes, the torch reference on the GPU for large
ones)."""


def backend_name(name: str) -> str:
    """The backend "auto" stands for here (cuda where torch sees a GPU, else numba); other names as given."""
    if name != "auto":
        return name
    return "cuda" if torch.cuda.is_available() else "numba"


__all__ = [
    "BACKENDS",
    "Rollout",
    "Trajectories",
    "backend_name",
    "cuda_rollout",
    "gpu_rollout",
    "numba_rollout",
    "torch_rollout",
]
