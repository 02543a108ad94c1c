"""Compute nodes: speed, stragglers, slowdown episodes, crashes and pauses, and the spec form."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from . import checks, specs
from .capacity import rate_from_spec
from .checks import show
from .distributions import Distribution, Exponential, distribution_from_spec
from .errors import ModelError
from .seeding import Streams

_BLOCK = 1024

Window = tuple[float, float]
_NO_WINDOWS: Iterator[Window] = iter(())  # exhausted for good, so every node without faults shares it


def _check_windows(events: Any) -> tuple[Window, ...]:
    windows: list[Window] = []
    for i, event in enumerate(checks.sequence("events", events)):
        name = f"events[{i}]"
        if isinstance(event, str) or not isinstance(event, Sequence | np.ndarray) or len(event) != 2:
            raise ModelError(name, f"must be a (start, end) pair, got {show(event)}")
        start = checks.non_negative(f"{name}[0]", event[0])
        end = checks.number(f"{name}[1]", event[1], finite=False)
        if not end > start:
            raise ModelError(f"{name}[1]", f"must be greater than the start ({show(start)}), got {show(end)}")
        if windows and start < windows[-1][1]:
            previous_end = show(windows[-1][1])
            raise ModelError(
                f"{name}[0]",
                f"must not precede the previous window's end ({previous_end}), got {show(start)}",
            )
        windows.append((start, end))
    return tuple(windows)


def _check_process(up_name: str, up: Any, down_name: str, down: Any) -> None:
    checks.instance(up_name, up, Distribution, "a Distribution")
    if not up.mean > 0:
        raise ModelError(up_name, f"must have a mean > 0, got {show(up)}")
    checks.instance(down_name, down, Distribution, "a Distribution")


def _alternating(rng: np.random.Generator, up: Distribution, down: Distribution) -> Iterator[Window]:
    end = 0.0
    while True:
        start = end + up.sample(rng)
        end = start + down.sample(rng)
        yield (start, end)


@dataclass(frozen=True, slots=True)
class _Schedule:
    """Fixed (start, end) windows in seconds, sorted and non-overlapping; end may be math.inf."""

    events: tuple[Window, ...]

    def __post_init__(self) -> None:
        object.__setattr__(self, "events", _check_windows(self.events))

    def windows(self, rng: np.random.Generator | None = None) -> Iterator[Window]:
        """The windows in time order; `rng` is unused."""
        return iter(self.events)


@dataclass(frozen=True, slots=True)
class CrashSchedule(_Schedule):
    """Fixed crashes: (crash_at, restart_at) pairs in seconds, sorted and non-overlapping.

    restart_at may be math.inf: the node never restarts.
    """


@dataclass(frozen=True, slots=True)
class CrashProcess:
    """Crashes forever: up for a `time_to_failure` draw, then down for a `time_to_repair` draw, and so on."""

    time_to_failure: Distribution
    time_to_repair: Distribution

    def __post_init__(self) -> None:
        _check_process("time_to_failure", self.time_to_failure, "time_to_repair", self.time_to_repair)

    @classmethod
    def from_mtbf_mttr(cls, mtbf: float, mttr: float) -> CrashProcess:
        """Exponential up times with mean `mtbf` and repair times with mean `mttr` (seconds)."""
        checks.positive("mtbf", mtbf)
        checks.non_negative("mttr", mttr)
        return cls(Exponential(mtbf), Exponential(mttr))

    def windows(self, rng: np.random.Generator) -> Iterator[Window]:
        """The endless (crash_at, restart_at) windows in time order, drawn lazily from `rng`."""
        return _alternating(rng, self.time_to_failure, self.time_to_repair)


@dataclass(frozen=True, slots=True)
class PauseSchedule(_Schedule):
    """Fixed pauses: (pause_at, resume_at) pairs in seconds, sorted and non-overlapping.

    A paused node keeps its state but does not run; resume_at may be math.inf.
    """


@dataclass(frozen=True, slots=True)
class PauseProcess:
    """Pauses forever: runs for a `time_to_pause` draw, then pauses for a `pause_duration` draw, and so on."""

    time_to_pause: Distribution
    pause_duration: Distribution

    def __post_init__(self) -> None:
        _check_process("time_to_pause", self.time_to_pause, "pause_duration", self.pause_duration)

    def windows(self, rng: np.random.Generator) -> Iterator[Window]:
        """The endless (pause_at, resume_at) windows in time order, drawn lazily from `rng`."""
        return _alternating(rng, self.time_to_pause, self.pause_duration)


@dataclass(frozen=True, slots=True)
class Slowdowns:
    """Slowdown episodes: after an `interarrival` gap (seconds) an episode lasts a `duration` draw,
    during which compute takes a `factor` draw times longer; then the next gap starts.
    """

    interarrival: Distribution
    duration: Distribution
    factor: Distribution

    def __post_init__(self) -> None:
        _check_process("interarrival", self.interarrival, "duration", self.duration)
        checks.instance("factor", self.factor, Distribution, "a Distribution")


@dataclass(frozen=True, slots=True)
class NodeModel:
    """How fast one node computes, how fast it sends and receives, and when it crashes or pauses.

    `speed` is relative to a reference node (2.0 = twice as fast); `straggler` is a factor drawn for
    every compute call; `slowdowns` are episodes that multiply compute time. `cores` computations run
    at once, later ones wait their turn (FIFO). `egress` and `ingress` are the network interface's
    capacities in bytes/s (None for infinite): each serves one message at a time, FIFO.
    """

    speed: float = 1.0
    straggler: Distribution | None = None
    slowdowns: Slowdowns | None = None
    crashes: CrashSchedule | CrashProcess | None = None
    pauses: PauseSchedule | PauseProcess | None = None
    cores: int = 1
    egress: float | None = None
    ingress: float | None = None

    def __post_init__(self) -> None:
        checks.positive("speed", self.speed)
        if isinstance(self.cores, bool) or not isinstance(self.cores, int | np.integer) or self.cores < 1:
            raise ModelError("cores", f"must be a whole number >= 1, got {show(self.cores)}")
        for name in ("egress", "ingress"):
            if getattr(self, name) is not None:
                checks.positive(name, getattr(self, name), finite=False)
        if self.straggler is not None:
            checks.instance("straggler", self.straggler, Distribution, "a Distribution or None")
        if self.slowdowns is not None:
            checks.instance("slowdowns", self.slowdowns, Slowdowns, "Slowdowns or None")
        if self.crashes is not None:
            checks.instance(
                "crashes", self.crashes, (CrashSchedule, CrashProcess), "a crash schedule/process"
            )
        if self.pauses is not None:
            checks.instance("pauses", self.pauses, (PauseSchedule, PauseProcess), "a pause schedule/process")

    def behaviour(self, streams: Streams) -> NodeBehaviour:
        """The stateful sampler for one node, drawing from `streams`."""
        return NodeBehaviour(self, streams)


class NodeBehaviour:
    """One node's sampler. Stragglers, slowdowns, crashes and pauses each draw from their own stream,
    so enabling one never changes the draws of another.
    """

    __slots__ = (
        "_episode_end",
        "_episode_factor",
        "_episode_start",
        "_factors",
        "_model",
        "_next",
        "_speed",
        "_streams",
    )

    def __init__(self, model: NodeModel, streams: Streams) -> None:
        self._model = model
        self._speed = float(model.speed)
        self._streams = streams
        # Straggler factors come in blocks of _BLOCK, handed out by index; _next == _BLOCK means empty.
        self._factors: list[float] = []
        self._next = _BLOCK
        self._episode_start = 0.0
        self._episode_end = 0.0
        self._episode_factor = 1.0

    def compute_time(self, cost: float, now: float) -> float:
        """Seconds this node takes, starting at `now`, for `cost` seconds of work on a speed-1.0 node.

        Calls must come with non-decreasing `now`.
        """
        time = cost / self._speed
        model = self._model
        if model.straggler is not None:
            i = self._next
            if i == _BLOCK:
                self._factors = model.straggler.sample(self._streams("straggler"), _BLOCK).tolist()
                i = 0
            self._next = i + 1
            time *= self._factors[i]
        if model.slowdowns is not None:
            time *= self.slowdown_factor_at(now)
        return time

    def slowdown_factor_at(self, now: float) -> float:
        """The slowdown factor at `now`, 1.0 outside episodes; calls must come with non-decreasing `now`."""
        slowdowns = self._model.slowdowns
        if slowdowns is None:
            return 1.0
        rng = self._streams("slowdowns")
        while now >= self._episode_end:
            self._episode_start = self._episode_end + slowdowns.interarrival.sample(rng)
            self._episode_end = self._episode_start + slowdowns.duration.sample(rng)
            self._episode_factor = slowdowns.factor.sample(rng)
        return self._episode_factor if now >= self._episode_start else 1.0

    def crash_windows(self) -> Iterator[Window]:
        """(crash_at, restart_at) windows in time order, lazily; every call replays the same windows."""
        crashes = self._model.crashes
        return _NO_WINDOWS if crashes is None else crashes.windows(self._streams.fresh("crashes"))

    def pause_windows(self) -> Iterator[Window]:
        """(pause_at, resume_at) windows in time order, lazily; every call replays the same windows."""
        pauses = self._model.pauses
        return _NO_WINDOWS if pauses is None else pauses.windows(self._streams.fresh("pauses"))


def _slowdowns_from_spec(spec: Any, path: str) -> Slowdowns:
    spec = specs.table(spec, path)
    keys = ("interarrival", "duration", "factor")
    specs.check_keys(spec, path, keys, keys)
    parsed = [distribution_from_spec(spec[key], f"{path}.{key}") for key in keys]
    with specs.under(path):
        return Slowdowns(*parsed)


def _outages_from_spec(spec: Any, path: str, pauses: bool) -> Any:
    spec = specs.table(spec, path)
    kind = specs.kind(spec, path, ("schedule", "process"))
    if kind == "schedule":
        specs.check_keys(spec, path, ("kind", "events"), ("events",), " for kind 'schedule'")
        with specs.under(path):
            return PauseSchedule(spec["events"]) if pauses else CrashSchedule(spec["events"])
    if pauses:
        keys = ("time_to_pause", "pause_duration")
        context = " for kind 'process'"
    else:
        keys = ("mtbf", "mttr") if {"mtbf", "mttr"} & spec.keys() else ("time_to_failure", "time_to_repair")
        context = " for kind 'process' (give mtbf and mttr, or time_to_failure and time_to_repair)"
    specs.check_keys(spec, path, ("kind", *keys), keys, context)
    if keys == ("mtbf", "mttr"):
        with specs.under(path):
            return CrashProcess.from_mtbf_mttr(spec["mtbf"], spec["mttr"])
    up, down = (distribution_from_spec(spec[key], f"{path}.{key}") for key in keys)
    with specs.under(path):
        return PauseProcess(up, down) if pauses else CrashProcess(up, down)


_NODE_READERS: dict[str, specs.Reader | None] = {
    "speed": None,
    "straggler": distribution_from_spec,
    "slowdowns": _slowdowns_from_spec,
    "crashes": lambda spec, path: _outages_from_spec(spec, path, pauses=False),
    "pauses": lambda spec, path: _outages_from_spec(spec, path, pauses=True),
    "cores": None,
    "egress": rate_from_spec,
    "ingress": rate_from_spec,
}


def node_from_spec(spec: Any, path: str = "node") -> NodeModel:
    """A node model from its declarative form; every key is optional (see NodeModel for defaults)."""
    return specs.build(NodeModel, spec, path, _NODE_READERS)


__all__ = [
    "CrashProcess",
    "CrashSchedule",
    "NodeBehaviour",
    "NodeModel",
    "PauseProcess",
    "PauseSchedule",
    "Slowdowns",
    "Window",
    "node_from_spec",
]
