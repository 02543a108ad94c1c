"""The trace: every gradient's fate, every episode, every node state change, in simulated and wall time.

Metrics, summaries, reports and tests all read the trace. Records are appended as tuples (cheap on the
hot path) and turned into columns on demand.
"""

from __future__ import annotations

import time
from typing import Any

import numpy as np

FATES = ("applied", "stale", "outlier", "non_finite", "shard_down", "lost")
"""What can happen to a gradient: applied by its shard, or discarded (and why)."""

COLUMNS: dict[str, tuple[str, ...]] = {
    "gradients": ("time", "wall", "learner", "shard", "fate", "staleness", "version"),
    "episodes": ("time", "wall", "actor", "ret", "length", "env_steps"),
    "lifecycle": ("time", "wall", "node", "state"),
    "targets": ("time", "wall", "learner", "server_updates"),
    "messages": ("time", "wall", "kind", "src", "dst", "version", "sent", "queued"),
    "interfaces": ("time", "wall", "node", "egress_busy", "ingress_busy"),
}

MESSAGE_KINDS = ("gradient", "params")
"""The messages traced when delivered: a learner's gradient slice to a shard, a shard's slice of θ."""


class Trace:
    """Append-only tables of records; `time` is simulated seconds, `wall` seconds since the trace began."""

    def __init__(self) -> None:
        self._started = time.perf_counter()
        self.records: dict[str, list[tuple[Any, ...]]] = {name: [] for name in COLUMNS}

    def wall(self) -> float:
        return time.perf_counter() - self._started

    def gradient(
        self, now: float, learner: str, shard: int, fate: str, staleness: int, version: int = -1
    ) -> None:
        """A gradient's fate at `shard` (-1: decided at the learner), with the shard's version after it."""
        self.records["gradients"].append((now, self.wall(), learner, shard, fate, staleness, version))

    def episode(self, now: float, actor: str, ret: float, length: int, env_steps: int) -> None:
        self.records["episodes"].append((now, self.wall(), actor, ret, length, env_steps))

    def lifecycle(self, now: float, node: str, state: str) -> None:
        self.records["lifecycle"].append((now, self.wall(), node, state))

    def target(self, now: float, learner: str, server_updates: float) -> None:
        self.records["targets"].append((now, self.wall(), learner, server_updates))

    def message(
        self, now: float, kind: str, src: str, dst: str, version: int, sent: float, queued: float
    ) -> None:
        """A gradient or a slice of θ (of `version`) delivered at `now`: sent at `sent`, `queued` seconds of
        which it waited for its turn on interfaces and links."""
        self.records["messages"].append((now, self.wall(), kind, src, dst, version, sent, queued))

    def interfaces(self, now: float, node: str, egress_busy: float, ingress_busy: float) -> None:
        """A node's interfaces' busy seconds since the start (NaN for an infinite one), sampled at `now`."""
        self.records["interfaces"].append((now, self.wall(), node, egress_busy, ingress_busy))

    def table(self, name: str) -> dict[str, np.ndarray]:
        """One table as columns."""
        rows = self.records[name]
        columns = COLUMNS[name]
        if not rows:
            return {column: np.array([]) for column in columns}
        return {
            column: np.array(values) for column, values in zip(columns, zip(*rows, strict=True), strict=True)
        }

    def without_wall(self) -> dict[str, list[tuple[Any, ...]]]:
        """Every record less its wall time: what two runs with the same seed must agree on, bit for bit."""
        return {name: [row[:1] + row[2:] for row in rows] for name, rows in self.records.items()}
