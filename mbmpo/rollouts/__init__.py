"""Imagined rollouts: the policy acting in the learned models, through one interface for every backend.

A backend is a function with the signature of `Rollout`. The Gaussian noise is an input, so two backends
given the same noise return the same trajectories (up to floating point).
"""

from __future__ import annotations

from functools import partial

import torch

from .numba_backend import numba_rollout
from .torch_backend import torch_rollout
from .trajectories import Rollout, Trajectories

BACKENDS: dict[str, Rollout] = {
    "torch": torch_rollout,
    "numba": numba_rollout,
    "cuda": partial(torch_rollout, device="cuda"),
}
"""Rollout backends by name (MBMPOConfig.backend): the torch reference on the CPU, numba on the CPU, and
the torch reference on the GPU."""


def backend_name(name: str) -> str:
    """The backend "auto" stands for here (cuda where torch sees a GPU, else numba); other names as given."""
    if name != "auto":
        return name
    return "cuda" if torch.cuda.is_available() else "numba"


__all__ = ["BACKENDS", "Rollout", "Trajectories", "backend_name", "numba_rollout", "torch_rollout"]
