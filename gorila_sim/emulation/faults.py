"""The node faults of an emulated run as a timeline of actions on processes: the scenario's [[faults]], and
the crash and pause windows of the node models (drawn from the same streams as in the simulator)."""

from __future__ import annotations

import math
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Literal

from netmodels import Streams

from ..config import GorilaConfig
from ..scenario.faults import Fault, NodeFault
from ..topology import node_names, role_of

MAX_WINDOWS = 10_000
"""The most crash or pause windows taken from one node's model: a bound on endless processes."""

ActionKind = Literal["crash", "restart", "pause", "resume", "slow"]


@dataclass(frozen=True, slots=True)
class Action:
    """At run time `at`, do `kind` to `node`'s process (`slow`: multiply its compute times by `factor`)."""

    at: float
    kind: ActionKind
    node: str
    factor: float = 1.0


def timeline(config: GorilaConfig, faults: Iterable[Fault], until: float) -> list[Action]:
    """Every action before run time `until`, in time order (actions at the same time in the order given)."""
    actions: list[Action] = []
    for fault in faults:
        if isinstance(fault, NodeFault):
            for node in fault.nodes:
                actions += _node_fault(fault, node)
    for node in node_names(config):
        model = config.nodes.get(role_of(node))
        if model is None:
            continue
        behaviour = model.behaviour(Streams(config.seed, "node", node))
        for start, end in _windows(behaviour.crash_windows(), until):
            actions += [Action(start, "crash", node), Action(end, "restart", node)]
        for start, end in _windows(behaviour.pause_windows(), until):
            actions += [Action(start, "pause", node), Action(end, "resume", node)]
    return sorted((a for a in actions if a.at < until), key=lambda a: a.at)


def _node_fault(fault: NodeFault, node: str) -> list[Action]:
    if fault.kind == "crash":
        begin, end = Action(fault.at, "crash", node), Action(fault.until, "restart", node)
    elif fault.kind == "pause":
        begin, end = Action(fault.at, "pause", node), Action(fault.until, "resume", node)
    else:
        begin = Action(fault.at, "slow", node, fault.factor)
        end = Action(fault.until, "slow", node, 1.0 / fault.factor)
    return [begin, end] if math.isfinite(fault.until) else [begin]


def _windows(windows: Iterator[tuple[float, float]], until: float) -> Iterator[tuple[float, float]]:
    for _, (start, end) in zip(range(MAX_WINDOWS), windows, strict=False):
        if start >= until:
            return
        yield start, end
