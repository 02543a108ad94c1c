"""Staleness rules: what a parameter-server shard does with a gradient computed from old parameters."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import ClassVar, Protocol

import numpy as np

from .checks import integer, number


class StalenessRule(Protocol):
    """Decides whether a shard applies a gradient computed from an older version of its parameters."""

    @property
    def history(self) -> int:
        """How many versions before the current one the shard keeps for `admit`'s `stale_params`."""
        ...

    def admit(
        self, gradient: np.ndarray, staleness: int, params: np.ndarray, stale_params: np.ndarray | None
    ) -> tuple[np.ndarray, float] | None:
        """The gradient to apply and a step-size scale, or None to discard the gradient as stale.

        `staleness` is the shard's version now minus the version the gradient was computed from (>= 0).
        `params` is the shard's current slice; `stale_params` is its slice at the gradient's version when
        the shard still keeps it (staleness 1 to `history`), else None. Neither input is modified; the
        returned gradient may be `gradient` itself.
        """
        ...


@dataclass(frozen=True)
class HardThreshold:
    """Gorila's rule: discard gradients more than `max_staleness` versions old, apply the rest as they are."""

    max_staleness: int
    history: ClassVar[int] = 0

    def __post_init__(self) -> None:
        integer("max_staleness", self.max_staleness, low=0)

    def admit(
        self, gradient: np.ndarray, staleness: int, params: np.ndarray, stale_params: np.ndarray | None
    ) -> tuple[np.ndarray, float] | None:
        if staleness > self.max_staleness:
            return None
        return gradient, 1.0


@dataclass(frozen=True)
class StalenessScaled:
    """Staleness-aware ASGD (Zhang et al. 2016): step size divided by the staleness.

    With `max_staleness`, gradients older than that are also discarded.
    """

    max_staleness: int | None = None
    history: ClassVar[int] = 0

    def __post_init__(self) -> None:
        if self.max_staleness is not None:
            integer("max_staleness", self.max_staleness, low=0)

    def admit(
        self, gradient: np.ndarray, staleness: int, params: np.ndarray, stale_params: np.ndarray | None
    ) -> tuple[np.ndarray, float] | None:
        if self.max_staleness is not None and staleness > self.max_staleness:
            return None
        return gradient, 1.0 / max(1, staleness)


@dataclass(frozen=True)
class ExponentialPenalty:
    """Step size scaled by exp(-decay · staleness); nothing is discarded."""

    decay: float
    history: ClassVar[int] = 0

    def __post_init__(self) -> None:
        number("decay", self.decay, low=0.0)

    def admit(
        self, gradient: np.ndarray, staleness: int, params: np.ndarray, stale_params: np.ndarray | None
    ) -> tuple[np.ndarray, float] | None:
        return gradient, math.exp(-self.decay * staleness)


@dataclass(frozen=True)
class DelayCompensated:
    """Delay-compensated ASGD (Zheng et al. 2017): apply g + lam · g ⊙ g ⊙ (params − stale_params).

    The shard keeps the last `history` versions; a gradient older than those (or than `max_staleness`,
    when given) is discarded. A fresh gradient (staleness 0) is applied as it is.
    """

    lam: float = 0.04
    max_staleness: int | None = None
    history: int = 32

    def __post_init__(self) -> None:
        number("lam", self.lam, low=0.0)
        if self.max_staleness is not None:
            integer("max_staleness", self.max_staleness, low=0)
        integer("history", self.history, low=0)

    def admit(
        self, gradient: np.ndarray, staleness: int, params: np.ndarray, stale_params: np.ndarray | None
    ) -> tuple[np.ndarray, float] | None:
        if staleness == 0:
            return gradient, 1.0
        if stale_params is None or (self.max_staleness is not None and staleness > self.max_staleness):
            return None
        compensated = params - stale_params
        compensated *= gradient
        compensated *= gradient
        compensated *= self.lam
        compensated += gradient
        return compensated, 1.0


@dataclass(frozen=True)
class StaleSynchronous:
    """Stale-synchronous parallel (Ho et al. 2013): the fastest learner may be at most `bound` clocks
    ahead of the slowest.

    Not a discard rule: every gradient is admitted, and the shard holds back a learner for which
    `may_proceed` is False until the slowest one catches up.
    """

    bound: int
    history: ClassVar[int] = 0

    def __post_init__(self) -> None:
        integer("bound", self.bound, low=0)

    def admit(
        self, gradient: np.ndarray, staleness: int, params: np.ndarray, stale_params: np.ndarray | None
    ) -> tuple[np.ndarray, float] | None:
        return gradient, 1.0

    def may_proceed(self, clock: int, slowest_clock: int) -> bool:
        """Whether a learner at `clock` may go on while the slowest learner is at `slowest_clock`."""
        return clock - slowest_clock <= self.bound


@dataclass(frozen=True)
class NoStaleness:
    """Applies every gradient as it is, however old."""

    history: ClassVar[int] = 0

    def admit(
        self, gradient: np.ndarray, staleness: int, params: np.ndarray, stale_params: np.ndarray | None
    ) -> tuple[np.ndarray, float] | None:
        return gradient, 1.0
