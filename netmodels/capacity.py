"""Finite capacity: a FIFO server of bytes (an interface or a link), and rates in their spec form."""

from __future__ import annotations

import re
from typing import Any

from .checks import show
from .errors import ModelError


class Fifo:
    """Serves messages one at a time, in the order they come, at `rate` bytes/s.

    A message of `size` bytes that comes at `arrival` starts when the server is free and takes
    size / rate seconds. Counters since creation: `busy` (seconds of service reserved), `waited`
    (seconds messages waited for their turn), `served` (messages), and `last_wait` (the latest one's wait).
    """

    __slots__ = ("busy", "free_at", "last_wait", "rate", "served", "waited")

    def __init__(self, rate: float) -> None:
        self.rate = float(rate)
        self.free_at = 0.0
        self.busy = 0.0
        self.waited = 0.0
        self.served = 0
        self.last_wait = 0.0

    def serve(self, arrival: float, size: int) -> float:
        """When the last byte of `size` bytes that came at `arrival` leaves the server."""
        start = self.free_at
        if start > arrival:
            self.last_wait = wait = start - arrival
            self.waited += wait
        else:
            start = arrival
            self.last_wait = 0.0
        duration = size / self.rate
        self.free_at = end = start + duration
        self.busy += duration
        self.served += 1
        return end

    def busy_until(self, t: float) -> float:
        """Seconds of service in [0, t]; exact when messages came at non-decreasing times up to t."""
        return self.busy - max(0.0, self.free_at - t)


_RATE = re.compile(r"\s*([0-9.]+(?:[eE][-+]?[0-9]+)?)\s*([kKMGT]?)(i?)(bps|B/s)\s*")
_PREFIX_POWER = {"": 0, "k": 1, "K": 1, "M": 2, "G": 3, "T": 4}


def rate_from_spec(value: Any, path: str) -> float | None:
    """Bytes/s from a number or a string such as "1Gbps", "100Mbps", "10MB/s" or "1GiB/s"."""
    if not isinstance(value, str):
        return value
    match = _RATE.fullmatch(value)
    if match is None:
        raise ModelError(
            path, f"must be bytes/s or a rate such as '1Gbps', '100Mbps', '10MB/s', got {show(value)}"
        )
    amount, prefix, binary, unit = match.groups()
    try:
        rate = float(amount) * (1024 if binary else 1000) ** _PREFIX_POWER[prefix]
    except ValueError:
        raise ModelError(path, f"must start with a number, got {show(value)}") from None
    return rate / 8 if unit == "bps" else rate


__all__ = ["Fifo", "rate_from_spec"]
