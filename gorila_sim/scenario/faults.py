"""The fault timeline: `[[faults]]` entries resolved to the nodes they hit, and scheduled on a Simulation."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

import numpy as np

from netmodels import Degradation, ModelError, Partition, checks, distribution_from_spec, generator, specs
from netmodels.checks import show

from ..topology import describe, role_of, roles
from .format import check_keys, table

if TYPE_CHECKING:
    from ..runtime import Simulation

NodeKind = Literal["crash", "pause", "slowdown"]
NetworkKind = Literal["partition", "latency_spike", "loss_burst"]


@dataclass(frozen=True, slots=True)
class NodeFault:
    """Each of `nodes` crashes, pauses or computes `factor` times slower from `at` to `until` (seconds;
    math.inf: to the end of the run, and a crashed node never restarts)."""

    kind: NodeKind
    nodes: tuple[str, ...]
    at: float
    until: float = math.inf
    factor: float = 1.0

    def apply(self, sim: Simulation) -> None:
        for node in self.nodes:
            if self.kind == "crash":
                sim.crash(node, self.at, restart_at=self.until)
            elif self.kind == "pause":
                sim.pause(node, self.at, self.until)
            else:
                sim.slow(node, self.at, self.until, self.factor)


@dataclass(frozen=True, slots=True)
class NetworkFault:
    """The messages between two groups of nodes are cut (a partition) or degraded (a latency spike, a loss
    burst) for an interval: `between` holds the groups, the interval and what happens."""

    kind: NetworkKind
    between: Partition | Degradation

    def apply(self, sim: Simulation) -> None:
        if isinstance(self.between, Partition):
            sim.partition(self.between)
        else:
            sim.degrade(self.between)


Fault = NodeFault | NetworkFault

_TIMES = ("kind", "at", "duration")
_TARGET = ("nodes", "role", "fraction")
_GROUPS = ("a", "b", "direction")
KEYS: dict[str, tuple[str, ...]] = {
    "crash": (*_TIMES, *_TARGET),
    "pause": (*_TIMES, *_TARGET),
    "slowdown": (*_TIMES, *_TARGET, "factor"),
    "partition": (*_TIMES, *_GROUPS),
    "latency_spike": (*_TIMES, *_GROUPS, "extra_latency"),
    "loss_burst": (*_TIMES, *_GROUPS, "loss"),
}
"""The keys of a fault entry, by kind."""

_REQUIRED = {
    "crash": ("at",),
    "pause": ("at",),
    "slowdown": ("at", "factor"),
    "partition": ("at", "a"),
    "latency_spike": ("at", "a", "extra_latency"),
    "loss_burst": ("at", "a", "loss"),
}


def faults_from_spec(spec: Any, nodes: Sequence[str], seed: int) -> tuple[Fault, ...]:
    """The faults of a `[[faults]]` array on a cluster of `nodes`; `role` and `fraction` targets pick
    their nodes with the scenario's `seed`, so the same scenario always hits the same nodes."""
    if not isinstance(spec, list):
        raise ModelError("faults", f"must be an array of tables ([[faults]] entries), got {show(spec)}")
    return tuple(_fault(entry, f"faults[{index}]", nodes, seed, index) for index, entry in enumerate(spec))


def _fault(entry: Any, path: str, nodes: Sequence[str], seed: int, index: int) -> Fault:
    entry = table(entry, path)
    kind = specs.kind(entry, path, KEYS)
    check_keys(entry, path, KEYS[kind], _REQUIRED[kind])
    at = checks.non_negative(f"{path}.at", entry["at"])
    until = at + checks.positive(f"{path}.duration", entry.get("duration", math.inf), finite=False)
    if kind in ("crash", "pause", "slowdown"):
        targets = _targets(entry, path, nodes, generator(seed, "faults", str(index)))
        factor = checks.positive(f"{path}.factor", entry["factor"]) if kind == "slowdown" else 1.0
        return NodeFault(kind, targets, at, until, factor)
    a = frozenset(_group(entry["a"], f"{path}.a", nodes, generator(seed, "faults", str(index), "a")))
    if "b" in entry:
        b = frozenset(_group(entry["b"], f"{path}.b", nodes, generator(seed, "faults", str(index), "b")))
    else:
        b = frozenset(node for node in nodes if node not in a)
        if not b:
            raise ModelError(f"{path}.a", "leaves no node outside it, so there is nothing to cut it from")
    direction = entry.get("direction", "both")
    with specs.under(path):
        if kind == "partition":
            return NetworkFault(kind, Partition(a, b, at, until, direction))
        if kind == "latency_spike":
            extra = distribution_from_spec(entry["extra_latency"], "extra_latency")
            return NetworkFault(kind, Degradation(a, b, at, until, direction, extra_latency=extra))
        return NetworkFault(kind, Degradation(a, b, at, until, direction, loss=entry["loss"]))


def _group(spec: Any, path: str, nodes: Sequence[str], rng: np.random.Generator) -> tuple[str, ...]:
    """A group of a network fault: a list of node names, or a table like a node fault's target."""
    if isinstance(spec, list):
        spec = {"nodes": spec}
    spec = table(spec, path)
    check_keys(spec, path, _TARGET)
    return _targets(spec, path, nodes, rng)


def _targets(
    spec: Mapping[str, Any], path: str, nodes: Sequence[str], rng: np.random.Generator
) -> tuple[str, ...]:
    """The nodes that `spec` names: `nodes = [...]`, or `role = ...` (one role or a list of roles), all of
    its nodes or, with `fraction`, that fraction of them (rounded, at least one) picked with `rng`."""
    if ("nodes" in spec) == ("role" in spec):
        raise ModelError(path, "needs exactly one of the keys nodes, role (node names, or a role)")
    if "nodes" in spec:
        if "fraction" in spec:
            raise ModelError(f"{path}.fraction", "goes with role, not with nodes (name the nodes, or a role)")
        return named_nodes(spec["nodes"], f"{path}.nodes", nodes)
    members = role_members(spec["role"], f"{path}.role", nodes)
    if "fraction" not in spec:
        return members
    fraction = checks.number(f"{path}.fraction", spec["fraction"], low=0.0, high=1.0, low_open=True)
    count = max(1, math.floor(fraction * len(members) + 0.5))
    picked = np.sort(rng.choice(len(members), size=count, replace=False))
    return tuple(members[i] for i in picked)


def named_nodes(names: Any, path: str, nodes: Sequence[str]) -> tuple[str, ...]:
    """`names`, checked: a non-empty list of nodes of the cluster, each named once."""
    if not isinstance(names, list) or not names:
        raise ModelError(path, f"must be a non-empty list of node names, got {show(names)}")
    for i, name in enumerate(names):
        if name not in nodes:
            raise ModelError(
                f"{path}[{i}]", f"no node {show(name)} in this topology (it has {describe(nodes)})"
            )
        if name in names[:i]:
            raise ModelError(f"{path}[{i}]", f"names {show(name)} twice (name each node once)")
    return tuple(names)


def role_members(role: Any, path: str, nodes: Sequence[str]) -> tuple[str, ...]:
    """The nodes of `role` (a role, or a list of roles), each of which the cluster must have."""
    chosen = role if isinstance(role, list) and role else [role]
    present = roles(nodes)
    for name in chosen:
        if name not in present:
            expected = f"one of {', '.join(present)}, or a list of them"
            raise ModelError(path, f"no {show(name)} nodes in this topology (expected {expected})")
    return tuple(node for node in nodes if role_of(node) in chosen)
