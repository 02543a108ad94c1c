"""Outlier rules: whether a learner sends a gradient, judged by the size of its DQN loss."""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Protocol

from .checks import integer, number, show
from .errors import RuleError


class OutlierRule(Protocol):
    """Judges each gradient by its absolute loss."""

    def admit(self, abs_loss: float) -> bool:
        """Fold `abs_loss` into the rule's statistics and say whether to keep the gradient."""
        ...


@dataclass
class RunningMeanStd:
    """Gorila's rule: discard a gradient whose |loss| exceeds mean + k · std of the losses seen so far.

    The statistics cover every finite loss seen, kept or not: plain running ones when `decay` is None,
    exponentially weighted ones (weight `decay` on the past) for losses that drift. The first `warmup`
    losses are always kept, and a loss is judged before it joins the statistics. A non-finite loss is
    discarded and left out of the statistics.
    """

    k: float = 3.0
    warmup: int = 100
    decay: float | None = None
    count: int = field(default=0, init=False)
    mean: float = field(default=0.0, init=False)
    var: float = field(default=0.0, init=False)

    def __post_init__(self) -> None:
        number("k", self.k, low=0.0)
        integer("warmup", self.warmup, low=1)
        if self.decay is not None:
            number("decay", self.decay, low=0.0, high=1.0, low_open=True, high_open=True)

    @property
    def std(self) -> float:
        """Standard deviation of the losses seen (population, not sample)."""
        return math.sqrt(self.var)

    def admit(self, abs_loss: float) -> bool:
        x = abs(float(abs_loss))
        if not math.isfinite(x):
            return False
        keep = self.count < self.warmup or x <= self.mean + self.k * self.std
        self._fold(x)
        return keep

    def _fold(self, x: float) -> None:
        self.count += 1
        delta = x - self.mean
        if self.decay is None:
            self.mean += delta / self.count
            self.var += (delta * (x - self.mean) - self.var) / self.count
        elif self.count == 1:
            self.mean = x
        else:
            # Incremental exponentially weighted mean and variance (Finch 2009).
            self.mean += (1.0 - self.decay) * delta
            self.var = self.decay * (self.var + (1.0 - self.decay) * delta * delta)

    def reset(self) -> None:
        """Forget every loss seen."""
        self.count, self.mean, self.var = 0, 0.0, 0.0

    def state(self) -> dict[str, int | float]:
        """The statistics, for a checkpoint."""
        return {"count": self.count, "mean": self.mean, "var": self.var}

    def load_state(self, state: Mapping[str, int | float]) -> None:
        """Restore statistics returned by `state()`."""
        if set(state) != {"count", "mean", "var"}:
            raise RuleError("state", f"must have the keys count, mean, var, got {show(sorted(state))}")
        self.count, self.mean, self.var = int(state["count"]), float(state["mean"]), float(state["var"])


@dataclass(frozen=True)
class NoOutlierRule:
    """Keeps every gradient."""

    def admit(self, abs_loss: float) -> bool:
        return True
