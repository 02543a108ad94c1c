"""A staleness rule with a planted bug, for the exploration tests."""

import random
from dataclasses import dataclass
from typing import ClassVar


@dataclass(frozen=True)
class WrappingThreshold:
    """The hard threshold, but it compares staleness modulo `wrap`, as a version counter of `wrap` values
    would: a gradient `wrap` or more versions old can look fresh and be applied."""

    max_staleness: int
    wrap: int
    history: ClassVar[int] = 0

    def admit(self, gradient, staleness, params, stale_params):
        if staleness % self.wrap > self.max_staleness:
            return None
        return gradient, 1.0


@dataclass(frozen=True)
class CoinFlip:
    """Discards at random, from Python's global generator instead of the run's seed: not deterministic."""

    history: ClassVar[int] = 0

    def admit(self, gradient, staleness, params, stale_params):
        return None if random.random() < 0.5 else (gradient, 1.0)
