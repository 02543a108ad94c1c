"""Where a run's time goes: wall seconds summed by phase, with numba's compilations counted apart.

A phase is a name such as "fit" or "meta/rollouts"; phases may nest ("meta" holds "meta/rollouts"). The
time numba spends compiling (a cache miss: first use on a machine, or changed code) is counted under
COMPILE and left out of every phase it happened in, so that the phases measure the steady cost of the
work and the one-off cost shows on its own.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager

from numba.core import event

COMPILE = "numba_compile"
"""The name under which numba's compilations are counted."""


class _CompileTimer(event.Listener):
    """Adds the wall time of every outermost numba compilation to its clock's COMPILE."""

    def __init__(self, clock: PhaseClock) -> None:
        self.clock, self.depth, self.started = clock, 0, 0.0

    def on_start(self, event: event.Event) -> None:
        if self.depth == 0:
            self.started = time.perf_counter()
        self.depth += 1

    def on_end(self, event: event.Event) -> None:
        self.depth -= 1
        if self.depth == 0:
            self.clock.add(COMPILE, time.perf_counter() - self.started)


class PhaseClock:
    """Wall seconds by phase, summed over the phase's every entry; `seconds` maps names to totals."""

    def __init__(self) -> None:
        self.seconds: dict[str, float] = {}

    def add(self, name: str, seconds: float) -> None:
        self.seconds[name] = self.seconds.get(name, 0.0) + seconds

    @contextmanager
    def phase(self, name: str) -> Iterator[None]:
        """Count the time in the block under `name`, less numba's compilations in it."""
        started, compiled = time.perf_counter(), self.seconds.get(COMPILE, 0.0)
        try:
            yield
        finally:
            self.add(name, time.perf_counter() - started - (self.seconds.get(COMPILE, 0.0) - compiled))

    @contextmanager
    def counting_compilations(self) -> Iterator[None]:
        """Count numba's compilations in the block under COMPILE."""
        with event.install_listener("numba:compile", _CompileTimer(self)):
            yield
