"""Every hyper-parameter of an MB-MPO run, in one dataclass with a line of documentation per field."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

import torch

from .envs import TASKS
from .rollouts import BACKENDS, backend_name


class ConfigError(ValueError):
    """A bad configuration value; the message names the field."""


@dataclass(frozen=True)
class MBMPOConfig:
    """An MB-MPO run. Defaults follow Clavera et al. (2018) where the paper gives a value."""

    # -- the task and the budget ----------------------------------------------------------------------
    env_id: str = "Pendulum-v1"
    """Gymnasium environment id: Pendulum-v1, HalfCheetah-v5, Hopper-v5, Walker2d-v5 or Ant-v5."""
    seed: int = 0
    """The run's one seed (network initialisation, data splits, noise, environment resets)."""
    iterations: int = 25
    """Outer iterations, each: refit the ensemble, meta-train, collect real data with adapted policies."""
    initial_random_steps: int = 4_000
    """Real steps of uniformly random actions collected before the first iteration."""
    real_steps_per_iteration: int = 4_000
    """Real steps collected per iteration, shared equally by the adapted policies (the paper: ~4,000)."""
    horizon: int = 200
    """Length of imagined rollouts and of real episodes (the paper: 200)."""

    # -- the dynamics ensemble ------------------------------------------------------------------------
    models: int = 5
    """Dynamics models in the ensemble, one meta-learning task each (the paper: 5)."""
    model_hidden: tuple[int, ...] = (512, 512)
    """Hidden layer sizes of each dynamics model (ReLU, weight normalisation; the paper: 512-512)."""
    model_lr: float = 1e-3
    """Adam step size of the dynamics models."""
    model_batch_size: int = 500
    """Transitions per model per gradient step."""
    model_epochs: int = 500
    """Most passes over the data per refit (the paper's code: 500); training stops earlier when every model
    has stopped improving."""
    model_patience: int = 5
    """Epochs without progress in validation loss after which a model counts as stopped."""
    model_min_improvement: float = 0.01
    """Relative drop of a model's validation loss that counts as progress (0: any drop); the parameters
    kept are those of the lowest loss regardless."""
    validation_fraction: float = 0.2
    """Share of the transitions each model holds out for validation (its own random choice)."""
    buffer_size: int = 1_000_000
    """Most real transitions kept; the oldest are dropped first."""

    # -- the policy and meta-learning -----------------------------------------------------------------
    policy_hidden: tuple[int, ...] = (32, 32)
    """Hidden layer sizes of the Gaussian MLP policy (tanh; the paper: 32-32)."""
    init_log_std: float = 0.0
    """Initial log standard deviation of the policy, one learned value per action dimension."""
    meta_steps: int = 30
    """TRPO meta-steps per iteration, each on fresh imagined rollouts (the paper: 30)."""
    rollouts_per_model: int = 80
    """Imagined trajectories per model, before and again after adaptation, per meta-step (80: 400 with
    5 models; the paper's code samples 1,000, 50 for each of 20 tasks, 4 tasks per model)."""
    inner_lr: float = 1e-3
    """α, the step size of the inner vanilla policy-gradient step (the paper: 0.001)."""
    max_kl: float = 1e-2
    """δ, the bound on the mean KL divergence of one TRPO meta-step (the paper: 0.01)."""
    discount: float = 0.99
    """γ, the discount factor of the advantages."""
    gae_lambda: float = 1.0
    """λ of generalised advantage estimation (1: Monte-Carlo returns minus the baseline)."""
    cg_iterations: int = 10
    """Conjugate-gradient iterations that solve F x = g in a TRPO step."""
    cg_damping: float = 0.1
    """Added to the Fisher-vector product (F + damping I) for a well-conditioned solve."""
    curvature_fraction: float = 1.0
    """Share of each model's imagined trajectories on which the conjugate gradient's Fisher-vector
    products are computed (a cheaper curvature estimate); the line search always uses all of them."""
    backend: str = "auto"
    """Imagined-rollout backend: torch, numba, cuda, or auto (cuda where a GPU is visible, else numba)."""

    def __post_init__(self) -> None:
        if self.env_id not in TASKS:
            raise ConfigError(
                f"env_id: unknown environment {self.env_id!r}; choose one of {', '.join(TASKS)}"
            )
        for name in (
            "iterations",
            "initial_random_steps",
            "real_steps_per_iteration",
            "horizon",
            "models",
            "model_batch_size",
            "model_epochs",
            "model_patience",
            "buffer_size",
            "meta_steps",
            "rollouts_per_model",
            "cg_iterations",
        ):
            _check_int(name, getattr(self, name), minimum=1)
        _check_int("seed", self.seed, minimum=0)
        for name in ("model_hidden", "policy_hidden"):
            value = getattr(self, name)
            if not isinstance(value, tuple) or not all(_is_int(h) and h >= 1 for h in value):
                raise ConfigError(f"{name}: must be a tuple of integers >= 1, got {value!r}")
        for name in ("model_lr", "inner_lr", "max_kl"):
            value = getattr(self, name)
            if not _is_number(value) or not value > 0:
                raise ConfigError(f"{name}: must be a number > 0, got {value!r}")
        for name in ("discount", "gae_lambda"):
            value = getattr(self, name)
            if not _is_number(value) or not 0.0 <= value <= 1.0:
                raise ConfigError(f"{name}: must be a number in [0, 1], got {value!r}")
        if not _is_number(self.validation_fraction) or not 0.0 < self.validation_fraction < 1.0:
            raise ConfigError(
                f"validation_fraction: must be a number in (0, 1), got {self.validation_fraction!r}"
            )
        if not _is_number(self.model_min_improvement) or not 0.0 <= self.model_min_improvement < 1.0:
            raise ConfigError(
                f"model_min_improvement: must be a number in [0, 1), got {self.model_min_improvement!r}"
            )
        if not _is_number(self.curvature_fraction) or not 0.0 < self.curvature_fraction <= 1.0:
            raise ConfigError(
                f"curvature_fraction: must be a number in (0, 1], got {self.curvature_fraction!r}"
            )
        if not _is_number(self.cg_damping) or not self.cg_damping >= 0:
            raise ConfigError(f"cg_damping: must be a number >= 0, got {self.cg_damping!r}")
        if not _is_number(self.init_log_std):
            raise ConfigError(f"init_log_std: must be a number, got {self.init_log_std!r}")
        if self.buffer_size < self.initial_random_steps + self.real_steps_per_iteration:
            raise ConfigError(
                f"buffer_size: must hold at least initial_random_steps + real_steps_per_iteration, "
                f"got {self.buffer_size}"
            )
        if self.backend != "auto" and self.backend not in BACKENDS:
            raise ConfigError(
                f"backend: unknown rollout backend {self.backend!r}; choose auto or {', '.join(BACKENDS)}"
            )
        if backend_name(self.backend) == "cuda" and not torch.cuda.is_available():
            raise ConfigError("backend: 'cuda' needs a GPU that torch can see, and there is none here")

    def to_json(self) -> dict[str, Any]:
        """The fields as JSON-ready values (tuples become lists)."""
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> MBMPOConfig:
        """The inverse of to_json; unknown keys are a ConfigError."""
        unknown = set(data) - set(cls.__dataclass_fields__)
        if unknown:
            raise ConfigError(f"{sorted(unknown)[0]}: not a field of MBMPOConfig")
        tuples = {name: tuple(data[name]) for name in ("model_hidden", "policy_hidden") if name in data}
        return cls(**{**data, **tuples})


QUICK: dict[str, Any] = {
    "iterations": 2,
    "initial_random_steps": 400,
    "real_steps_per_iteration": 400,
    "horizon": 50,
    "models": 2,
    "model_hidden": (64, 64),
    "model_batch_size": 64,
    "model_epochs": 5,
    "meta_steps": 2,
    "rollouts_per_model": 4,
}
"""Tiny settings for a smoke run in seconds (the CLI's --quick, the tests, the docs' example)."""


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_number(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _check_int(name: str, value: object, minimum: int) -> None:
    if not _is_int(value) or value < minimum:  # type: ignore[operator]
        raise ConfigError(f"{name}: must be an integer >= {minimum}, got {value!r}")
