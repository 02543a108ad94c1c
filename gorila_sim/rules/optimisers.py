"""Server-side optimisers, applied in place to one shard's float32 slice of the parameters.

Each matches the torch.optim optimiser of the same name (without weight decay and the other extras)
step for step. State arrays are created on the first step, shaped like the slice, so each shard needs its
own optimiser object. Finite inputs never make non-finite state: a sum or an average that would overflow
stays at the largest finite value of its dtype, and so do the parameters (torch would make them infinite).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Protocol

import numpy as np

from .checks import number, show
from .errors import RuleError

State = dict[str, np.ndarray | int | float]


class Optimiser(Protocol):
    """Updates one shard's parameters from one gradient at a time."""

    def step(self, params: np.ndarray, gradient: np.ndarray, scale: float = 1.0) -> None:
        """Apply `gradient` to `params` in place, with the learning rate multiplied by `scale`."""
        ...

    def state(self) -> State:
        """A copy of the optimiser's state, for a checkpoint; empty before the first step."""
        ...

    def load_state(self, state: Mapping[str, np.ndarray | int | float]) -> None:
        """Restore a state returned by `state()`."""
        ...


def _saturate(values: np.ndarray) -> None:
    """Bring entries that overflowed back to the largest finite value of the array's dtype, in place."""
    largest = np.finfo(values.dtype).max
    np.minimum(values, largest, out=values)
    np.maximum(values, -largest, out=values)


def _step_by_root(
    params: np.ndarray,
    gradient: np.ndarray,
    accumulator: np.ndarray,
    tmp: np.ndarray,
    eps: float,
    step: float,
) -> None:
    """params -= step * gradient / (sqrt(accumulator) + eps), in place through `tmp`, kept finite."""
    np.sqrt(accumulator, out=tmp)
    tmp += eps
    np.divide(gradient, tmp, out=tmp)
    tmp *= step
    params -= tmp
    _saturate(params)


def _scratch() -> np.ndarray:
    return np.empty(0, dtype=np.float32)


def _check_keys(state: Mapping[str, object], keys: set[str]) -> bool:
    """Whether `state` holds `keys` (True) or nothing (False, a fresh optimiser)."""
    if set(state) not in (keys, set()):
        expected = ", ".join(sorted(keys))
        raise RuleError("state", f"must have the keys {expected} or none, got {show(sorted(state))}")
    return bool(state)


@dataclass(eq=False)
class AdaGrad:
    """AdaGrad, Gorila's optimiser; as torch.optim.Adagrad with `initial_accumulator_value`."""

    lr: float = 0.01
    eps: float = 1e-10
    initial_accumulator: float = 0.0
    _sum: np.ndarray | None = field(default=None, init=False, repr=False)
    _tmp: np.ndarray = field(default_factory=_scratch, init=False, repr=False)

    def __post_init__(self) -> None:
        number("lr", self.lr, low=0.0, low_open=True)
        number("eps", self.eps, low=0.0)
        number("initial_accumulator", self.initial_accumulator, low=0.0)

    def step(self, params: np.ndarray, gradient: np.ndarray, scale: float = 1.0) -> None:
        if self._sum is None:
            self._sum = np.full_like(params, self.initial_accumulator)
            self._tmp = np.empty_like(params)
        total, tmp = self._sum, self._tmp
        with np.errstate(over="ignore"):
            np.multiply(gradient, gradient, out=tmp)
            total += tmp
            _saturate(total)
            _step_by_root(params, gradient, total, tmp, self.eps, self.lr * scale)

    def state(self) -> State:
        return {} if self._sum is None else {"sum": self._sum.copy()}

    def load_state(self, state: Mapping[str, np.ndarray | int | float]) -> None:
        if _check_keys(state, {"sum"}):
            self._sum = np.array(state["sum"])
            self._tmp = np.empty_like(self._sum)
        else:
            self._sum = None


@dataclass(eq=False)
class SGD:
    """Stochastic gradient descent, with optional (heavy-ball) momentum; as torch.optim.SGD."""

    lr: float = 0.01
    momentum: float = 0.0
    _velocity: np.ndarray | None = field(default=None, init=False, repr=False)
    _tmp: np.ndarray = field(default_factory=_scratch, init=False, repr=False)

    def __post_init__(self) -> None:
        number("lr", self.lr, low=0.0, low_open=True)
        number("momentum", self.momentum, low=0.0, high=1.0, high_open=True)

    def step(self, params: np.ndarray, gradient: np.ndarray, scale: float = 1.0) -> None:
        if self._tmp.shape != params.shape:
            self._tmp = np.empty_like(params)
        direction = gradient
        with np.errstate(over="ignore"):
            if self.momentum:
                if self._velocity is None:
                    self._velocity = np.array(gradient, dtype=params.dtype)
                else:
                    self._velocity *= self.momentum
                    self._velocity += gradient
                    _saturate(self._velocity)
                direction = self._velocity
            np.multiply(direction, self.lr * scale, out=self._tmp)
            params -= self._tmp
            _saturate(params)

    def state(self) -> State:
        return {} if self._velocity is None else {"momentum_buffer": self._velocity.copy()}

    def load_state(self, state: Mapping[str, np.ndarray | int | float]) -> None:
        has_buffer = _check_keys(state, {"momentum_buffer"})
        self._velocity = np.array(state["momentum_buffer"]) if has_buffer else None


@dataclass(eq=False)
class RMSProp:
    """RMSProp (uncentred, without momentum); as torch.optim.RMSprop."""

    lr: float = 0.01
    alpha: float = 0.99
    eps: float = 1e-8
    _square_avg: np.ndarray | None = field(default=None, init=False, repr=False)
    _tmp: np.ndarray = field(default_factory=_scratch, init=False, repr=False)

    def __post_init__(self) -> None:
        number("lr", self.lr, low=0.0, low_open=True)
        number("alpha", self.alpha, low=0.0, high=1.0, high_open=True)
        number("eps", self.eps, low=0.0)

    def step(self, params: np.ndarray, gradient: np.ndarray, scale: float = 1.0) -> None:
        if self._square_avg is None:
            self._square_avg = np.zeros_like(params)
            self._tmp = np.empty_like(params)
        square_avg, tmp = self._square_avg, self._tmp
        with np.errstate(over="ignore"):
            square_avg *= self.alpha
            np.multiply(gradient, gradient, out=tmp)
            tmp *= 1.0 - self.alpha
            square_avg += tmp
            _saturate(square_avg)
            _step_by_root(params, gradient, square_avg, tmp, self.eps, self.lr * scale)

    def state(self) -> State:
        return {} if self._square_avg is None else {"square_avg": self._square_avg.copy()}

    def load_state(self, state: Mapping[str, np.ndarray | int | float]) -> None:
        if _check_keys(state, {"square_avg"}):
            self._square_avg = np.array(state["square_avg"])
            self._tmp = np.empty_like(self._square_avg)
        else:
            self._square_avg = None


@dataclass(eq=False)
class Adam:
    """Adam with bias correction; as torch.optim.Adam."""

    lr: float = 1e-3
    beta1: float = 0.9
    beta2: float = 0.999
    eps: float = 1e-8
    _steps: int = field(default=0, init=False, repr=False)
    _exp_avg: np.ndarray | None = field(default=None, init=False, repr=False)
    _exp_avg_sq: np.ndarray | None = field(default=None, init=False, repr=False)
    _tmp: np.ndarray = field(default_factory=_scratch, init=False, repr=False)

    def __post_init__(self) -> None:
        number("lr", self.lr, low=0.0, low_open=True)
        number("beta1", self.beta1, low=0.0, high=1.0, high_open=True)
        number("beta2", self.beta2, low=0.0, high=1.0, high_open=True)
        number("eps", self.eps, low=0.0)

    def step(self, params: np.ndarray, gradient: np.ndarray, scale: float = 1.0) -> None:
        if self._exp_avg is None or self._exp_avg_sq is None:
            self._exp_avg = np.zeros_like(params)
            self._exp_avg_sq = np.zeros_like(params)
            self._tmp = np.empty_like(params)
        exp_avg, exp_avg_sq, tmp = self._exp_avg, self._exp_avg_sq, self._tmp
        self._steps += 1
        with np.errstate(over="ignore"):
            np.subtract(gradient, exp_avg, out=tmp)
            tmp *= 1.0 - self.beta1
            exp_avg += tmp
            _saturate(exp_avg)
            exp_avg_sq *= self.beta2
            np.multiply(gradient, gradient, out=tmp)
            tmp *= 1.0 - self.beta2
            exp_avg_sq += tmp
            _saturate(exp_avg_sq)
            np.sqrt(exp_avg_sq, out=tmp)
            tmp /= math.sqrt(1.0 - self.beta2**self._steps)
            tmp += self.eps
            np.divide(exp_avg, tmp, out=tmp)
            tmp *= self.lr * scale / (1.0 - self.beta1**self._steps)
            params -= tmp
            _saturate(params)

    def state(self) -> State:
        if self._exp_avg is None or self._exp_avg_sq is None:
            return {}
        return {"step": self._steps, "exp_avg": self._exp_avg.copy(), "exp_avg_sq": self._exp_avg_sq.copy()}

    def load_state(self, state: Mapping[str, np.ndarray | int | float]) -> None:
        if _check_keys(state, {"step", "exp_avg", "exp_avg_sq"}):
            self._steps = int(state["step"])
            self._exp_avg = np.array(state["exp_avg"])
            self._exp_avg_sq = np.array(state["exp_avg_sq"])
            self._tmp = np.empty_like(self._exp_avg)
        else:
            self._steps, self._exp_avg, self._exp_avg_sq = 0, None, None
