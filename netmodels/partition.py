"""Network partitions: two groups of nodes that cannot reach each other for a time interval."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from . import checks, specs
from .checks import show
from .errors import ModelError

_DIRECTIONS = ("both", "a_to_b", "b_to_a")


def _group(name: str, nodes: Any) -> frozenset[str]:
    if isinstance(nodes, str) or not isinstance(nodes, set | frozenset | list | tuple):
        raise ModelError(name, f"must be a set or list of node names, got {show(nodes)}")
    if not nodes:
        raise ModelError(name, "must name at least one node, got none")
    for node in nodes:
        checks.instance(name, node, str, "a collection of node names (strings)")
    return frozenset(nodes)


@dataclass(frozen=True, slots=True)
class Partition:
    """Messages between groups `a` and `b` (node names) sent in [start, end) seconds are cut.

    `direction` is "both", "a_to_b" (only messages from a to b are cut) or "b_to_a".
    """

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

    def cuts(self, src: str, dst: str, t: float) -> bool:
        """Whether a message from `src` to `dst` sent at time `t` is cut."""
        if not self.start <= t < self.end:
            return False
        if src in self.a and dst in self.b:
            return self.direction != "b_to_a"
        if src in self.b and dst in self.a:
            return self.direction != "a_to_b"
        return False


_KEYS = ("a", "b", "start", "end", "direction")


def partition_from_spec(spec: Any, path: str = "partition") -> Partition:
    """A partition from its declarative form: keys a, b, start, and optionally end and direction."""
    spec = specs.table(spec, path)
    specs.check_keys(spec, path, _KEYS, ("a", "b", "start"))
    with specs.under(path):
        return Partition(**spec)


__all__ = ["Partition", "partition_from_spec"]
