"""Rules of a user's own, named by import path in the registry tests."""

from dataclasses import dataclass
from typing import ClassVar

import numpy as np


@dataclass(frozen=True)
class LinearDecay:
    """Step size scaled by 1 − staleness / horizon; discards gradients `horizon` or more versions old."""

    horizon: int = 10
    history: ClassVar[int] = 0

    def admit(self, gradient, staleness, params, stale_params):
        if staleness >= self.horizon:
            return None
        return gradient, 1.0 - staleness / self.horizon


class SignSGD:
    """Steps by the sign of the gradient."""

    def __init__(self, lr: float = 0.01) -> None:
        self.lr = lr

    def step(self, params, gradient, scale=1.0):
        params -= self.lr * scale * np.sign(gradient)

    def state(self):
        return {}

    def load_state(self, state):
        pass


class BelowThreshold:
    """Keeps gradients whose |loss| is below a fixed threshold."""

    def __init__(self, threshold: float) -> None:
        if threshold < 0:
            raise ValueError("threshold must be >= 0,\nbut a negative one was given")
        self.threshold = threshold

    def admit(self, abs_loss):
        return abs_loss < self.threshold


class NotARule:
    """Has a history but no admit."""

    history = 0
