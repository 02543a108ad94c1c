"""Faults between two groups of nodes for a time interval: partitions (nothing gets through) and
degradations (extra latency, extra loss)."""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from . import checks, specs
from .checks import show
from .distributions import Constant, Distribution, distribution_from_spec
from .errors import ModelError

_DIRECTIONS = ("both", "a_to_b", "b_to_a")
NO_DELAY = Constant(0.0)


def _group(name: str, nodes: Any) -> frozenset[str]:
    if isinstance(nodes, str) or not isinstance(nodes, set | frozenset | list | tuple):
        raise ModelError(name, f"must be a set or list of node names, got {show(nodes)}")
    if not nodes:
        raise ModelError(name, "must name at least one node, got none")
    for node in nodes:
        checks.instance(name, node, str, "a collection of node names (strings)")
    return frozenset(nodes)


@dataclass(frozen=True, slots=True)
class _Between:
    """Messages between groups `a` and `b` (node names) sent in [start, end) seconds, in `direction`:
    "both", "a_to_b" (only messages from a to b) or "b_to_a"."""

    a: frozenset[str]
    b: frozenset[str]
    start: float
    end: float = math.inf
    direction: str = "both"

    def __post_init__(self) -> None:
        a = _group("a", self.a)
        b = _group("b", self.b)
        if a & b:
            shared = ", ".join(sorted(a & b))
            raise ModelError("b", f"must not share nodes with a, got shared nodes: {shared}")
        object.__setattr__(self, "a", a)
        object.__setattr__(self, "b", b)
        checks.non_negative("start", self.start)
        checks.number("end", self.end, finite=False)
        if not self.end > self.start:
            raise ModelError("end", f"must be greater than start ({show(self.start)}), got {show(self.end)}")
        if self.direction not in _DIRECTIONS:
            raise ModelError(
                "direction", f"must be one of: {', '.join(_DIRECTIONS)}, got {show(self.direction)}"
            )

    def applies(self, src: str, dst: str, t: float) -> bool:
        """Whether a message from `src` to `dst` sent at time `t` is one of these messages."""
        if not self.start <= t < self.end:
            return False
        if src in self.a and dst in self.b:
            return self.direction != "b_to_a"
        if src in self.b and dst in self.a:
            return self.direction != "a_to_b"
        return False


@dataclass(frozen=True, slots=True)
class Partition(_Between):
    """Messages between groups `a` and `b` sent in [start, end) seconds are cut (in `direction`)."""

    def cuts(self, src: str, dst: str, t: float) -> bool:
        """Whether a message from `src` to `dst` sent at time `t` is cut."""
        return self.applies(src, dst, t)


@dataclass(frozen=True, slots=True)
class Degradation(_Between):
    """Messages between groups `a` and `b` sent in [start, end) seconds (in `direction`) take an
    `extra_latency` draw longer and are lost with probability `loss`: a latency spike, a loss burst."""

    extra_latency: Distribution = NO_DELAY
    loss: float = 0.0

    def __post_init__(self) -> None:
        _Between.__post_init__(self)
        checks.instance("extra_latency", self.extra_latency, Distribution, "a Distribution")
        checks.probability("loss", self.loss)


def degrade(
    degradations: Iterable[Degradation], src: str, dst: str, now: float, times: tuple[float, ...], rng
) -> tuple[float, ...]:
    """Arrival `times` of a message from `src` to `dst` sent at `now`, after the `degradations` that apply:
    later by their extra latency, or () if one of them loses it. Draws from `rng`."""
    for degradation in degradations:
        if degradation.applies(src, dst, now):
            if degradation.loss and rng.random() < degradation.loss:
                return ()
            extra = degradation.extra_latency.sample(rng)
            times = tuple(t + extra for t in times)
    return times


_KEYS = ("a", "b", "start", "end", "direction")
_REQUIRED = ("a", "b", "start")


def partition_from_spec(spec: Any, path: str = "partition") -> Partition:
    """A partition from its declarative form: keys a, b, start, and optionally end and direction."""
    return specs.build(Partition, spec, path, dict.fromkeys(_KEYS), _REQUIRED)


def degradation_from_spec(spec: Any, path: str = "degradation") -> Degradation:
    """A degradation from its declarative form: the partition's keys, plus extra_latency and loss."""
    readers = {**dict.fromkeys(_KEYS), "extra_latency": distribution_from_spec, "loss": None}
    return specs.build(Degradation, spec, path, readers, _REQUIRED)


__all__ = ["Degradation", "Partition", "degradation_from_spec", "degrade", "partition_from_spec"]
