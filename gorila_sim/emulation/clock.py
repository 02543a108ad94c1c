"""The run's clock, shared by every process of an emulated run, and how a process sets its own against the
coordinator's."""

from __future__ import annotations

import math
import time
from collections.abc import Iterable


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
        """The run starts (started) at `start`, a `time.monotonic()` reading of this machine."""
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


def clock_offset(exchanges: Iterable[tuple[float, float, float]]) -> tuple[float, float]:
    """Another clock's offset from this one (its reading minus ours) and the estimate's uncertainty, from
    exchanges of (sent, its reading, received), sent and received on this clock. The other clock was read
    between sending and receiving, so the midpoint is right within half the round trip, whatever the delays
    each way; the exchange with the shortest round trip is the tightest (as NTP does)."""
    sent, theirs, received = min(exchanges, key=lambda exchange: exchange[2] - exchange[0])
    return theirs - (sent + received) / 2, (received - sent) / 2
