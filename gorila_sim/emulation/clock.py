"""The run's clock, shared by every process of an emulated run."""

from __future__ import annotations

import math
import time


class RunClock:
    """Run seconds since the run's start: wall seconds on the system-wide monotonic clock, divided by
    `scale` (a scale of 10 runs a 1-second scenario in 10 wall seconds).

    The start is set once every process is ready (`started`); before it, `now()` is 0.
    """

    def __init__(self, scale: float = 1.0, start: float | None = None) -> None:
        if not (scale > 0 and math.isfinite(scale)):
            raise ValueError(f"time scale must be a positive number, got {scale!r}")
        self.scale = scale
        self.start = start

    def started(self, start: float) -> None:
        """The run starts (started) at `start`, a `time.monotonic()` reading."""
        self.start = start

    def now(self) -> float:
        if self.start is None:
            return 0.0
        return max(0.0, (time.monotonic() - self.start) / self.scale)

    def wall(self, seconds: float) -> float:
        """Wall seconds that `seconds` of run time take."""
        return seconds * self.scale

    def wall_until(self, t: float) -> float:
        """Wall seconds from now until run time `t` (0 if it has passed)."""
        start = time.monotonic() if self.start is None else self.start
        return max(0.0, start + t * self.scale - time.monotonic())
