"""Properties: what must hold of every run's trace. Built in, each named with its parameters
(`max-staleness:TAU`, `progress:WINDOW`, `finite`, `return:Y@STEPS`, `restore`), or a user's callable
that takes the run's `gorila_sim.testing.Outcome` and raises AssertionError (or returns False) when the
property fails."""

from __future__ import annotations

import importlib
import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from ..gorila import mean_return_curve
from ..topology import role_of

if TYPE_CHECKING:
    from ..testing import Outcome

BUILT_IN = ("max-staleness:TAU", "progress:WINDOW", "finite", "return:Y@STEPS", "restore")


class PropertyError(ValueError):
    """A property that cannot be read; `str()` is one line naming it."""


@dataclass(frozen=True)
class Verdict:
    """What a property found in one run: whether it holds, what was measured (one line), the measure of
    how close the run came to failing it (`closest`, in the property's own unit), and the simulated time of
    the first violation (None when it holds or has no time)."""

    holds: bool
    message: str
    closest: float = math.nan
    at: float | None = None


@dataclass(frozen=True)
class MaxStaleness:
    """No gradient applied staler than `tau` versions."""

    tau: int

    @property
    def name(self) -> str:
        return f"max-staleness:{self.tau}"

    def check(self, run: Outcome) -> Verdict:
        gradients = run.trace.table("gradients")
        applied = gradients["fate"] == "applied" if gradients["fate"].size else np.array([], bool)
        staleness = gradients["staleness"][applied].astype(int) if applied.size else np.array([], int)
        worst = int(staleness.max()) if staleness.size else 0
        over = np.nonzero(staleness > self.tau)[0]
        if not over.size:
            return Verdict(True, f"the stalest applied gradient was {worst} versions old", worst)
        first = float(gradients["time"][applied][over[0]])
        message = (
            f"{over.size} applied gradients were staler than {self.tau} "
            f"(the stalest: {worst}; the first at {first:.4f} s)"
        )
        return Verdict(False, message, worst, first)


@dataclass(frozen=True)
class Progress:
    """While at least one learner and one shard run (up and not paused), some gradient is applied in every
    window of `window` simulated seconds, from the first applied gradient to the run's end."""

    window: float

    @property
    def name(self) -> str:
        return f"progress:{self.window:g}"

    def check(self, run: Outcome) -> Verdict:
        gradients = run.trace.table("gradients")
        fates = gradients["fate"]
        times = np.sort(gradients["time"][fates == "applied"].astype(float)) if fates.size else np.array([])
        if not times.size:
            return Verdict(True, "no gradient was ever applied, so there was no progress to keep", 0.0)
        end = float(run.summary["sim_time"])
        running = _running_intervals(run.trace.records["lifecycle"], end)
        longest, start = 0.0, None
        for gap_start, gap_end in zip(times, [*times[1:], end], strict=True):
            for lo, hi in running:
                stretch = min(hi, gap_end) - max(lo, gap_start)
                if stretch > longest:
                    longest, start = stretch, max(lo, gap_start)
        if longest <= self.window:
            return Verdict(
                True, f"the longest stretch without an applied gradient was {longest:.4f} s", longest
            )
        assert start is not None
        message = (
            f"no gradient was applied for {longest:.4f} s from {start:.4f} s while a learner and a shard "
            f"were running (window {self.window:g} s)"
        )
        return Verdict(False, message, longest, start + self.window)


def _running_intervals(lifecycle: list[tuple[Any, ...]], end: float) -> list[tuple[float, float]]:
    """The intervals up to `end` during which at least one learner (or bundle) and one shard run."""
    running: set[str] = set()
    intervals: list[tuple[float, float]] = []
    since: float | None = None
    for time, _, node, state in lifecycle:
        if role_of(node) not in ("learner", "bundle", "shard"):
            continue
        if state in ("up", "resumed"):
            running.add(node)
        else:
            running.discard(node)
        active = {role_of(n) == "shard" for n in running} == {True, False}
        if active and since is None:
            since = time
        elif not active and since is not None:
            intervals.append((since, time))
            since = None
    if since is not None:
        intervals.append((since, end))
    return intervals


@dataclass(frozen=True)
class Finite:
    """No non-finite parameter ever: no gradient refused as non-finite and no non-finite episode return
    (a non-finite parameter shows as both, since every gradient computed from it is non-finite)."""

    name = "finite"

    def check(self, run: Outcome) -> Verdict:
        refused = run.summary["gradients"]["non_finite"]
        returns = run.trace.table("episodes")["ret"].astype(float)
        bad_returns = int(np.count_nonzero(~np.isfinite(returns)))
        if refused == 0 and bad_returns == 0:
            return Verdict(True, "every gradient and every return was finite", 0.0)
        return Verdict(False, f"{refused} non-finite gradients, {bad_returns} non-finite returns", refused)


@dataclass(frozen=True)
class Return:
    """The mean return over 10 episodes reaches `target` by `steps` env steps."""

    target: float
    steps: int

    @property
    def name(self) -> str:
        return f"return:{self.target:g}@{self.steps}"

    def check(self, run: Outcome) -> Verdict:
        steps, means = mean_return_curve(run.trace)
        reached = means[steps <= self.steps] if means.size else means
        best = float(reached.max()) if reached.size else -math.inf
        if best >= self.target:
            return Verdict(True, f"the mean return reached {best:.1f} by {self.steps} env steps", best)
        message = f"the mean return peaked at {best:.1f} by {self.steps} env steps, below {self.target:g}"
        return Verdict(False, message, best)


@dataclass(frozen=True)
class Restore:
    """A restarted shard resumes exactly at its checkpoint version (the last multiple of
    `training.checkpoint_every` it reached), and versions never go backwards otherwise."""

    name = "restore"

    def check(self, run: Outcome) -> Verdict:
        every = run.result.config.checkpoint_every
        records = run.trace.records
        gradients = [
            (t, 1, f"shard-{s}", version, fate) for t, _, _, s, fate, _, version in records["gradients"]
        ]
        lifecycle = [(t, 0, node, state, None) for t, _, node, state in records["lifecycle"]]
        events = sorted(gradients + lifecycle, key=lambda event: (event[0], event[1]))
        last: dict[str, int] = {}
        resume: dict[str, int] = {}
        restarts = 0
        for time, is_gradient, node, what, fate in events:
            if not is_gradient:
                if role_of(node) == "shard" and what == "crashed":
                    resume[node] = last.get(node, 0) // every * every
                continue
            if what < 0:
                continue
            if node in resume:
                restarts += 1
                checkpoint = resume.pop(node)
                came_back = what - (fate == "applied")
                if came_back != checkpoint:
                    message = (
                        f"{node} came back at version {came_back} after a restart, not at its "
                        f"checkpoint's {checkpoint} ({time:.4f} s)"
                    )
                    return Verdict(False, message, restarts, time)
            elif what < last.get(node, 0):
                message = f"{node}'s version went back from {last[node]} to {what} at {time:.4f} s"
                return Verdict(False, message, restarts, time)
            last[node] = what
        return Verdict(True, f"{restarts} shard restarts resumed at their checkpoints", restarts)


@dataclass(frozen=True)
class UserProperty:
    """A callable on the run's Outcome, failing by raising AssertionError or by returning False."""

    function: Callable[[Outcome], Any]

    @property
    def name(self) -> str:
        return getattr(self.function, "__qualname__", repr(self.function))

    def check(self, run: Outcome) -> Verdict:
        try:
            result = self.function(run)
        except AssertionError as error:
            return Verdict(False, " ".join(str(error).split()) or "assertion failed")
        if result is False:
            return Verdict(False, "returned False")
        return Verdict(True, "held")


Property = MaxStaleness | Progress | Finite | Return | Restore | UserProperty


def parse_property(text: str) -> Property:
    """The property that `text` names: a built-in with its parameters, or `package.module:function`."""
    name, colon, parameter = text.strip().partition(":")
    if name == "max-staleness":
        return MaxStaleness(_whole(text, "TAU", parameter, low=0))
    if name == "progress":
        return Progress(_seconds(text, "WINDOW", parameter))
    if name in ("finite", "restore"):
        if colon:
            raise PropertyError(f"property {text!r}: {name} takes no parameter")
        return Finite() if name == "finite" else Restore()
    if name == "return":
        target, at, steps = parameter.partition("@")
        if not at:
            raise PropertyError(f"property {text!r}: expected return:Y@STEPS, e.g. return:150@20000")
        return Return(_number(text, "Y", target), _whole(text, "STEPS", steps, low=1))
    unknown = PropertyError(
        f"property {text!r}: unknown property {name!r} "
        f"(built in: {', '.join(BUILT_IN)}; or package.module:function)"
    )
    if not colon or not name:
        raise unknown
    try:
        module = importlib.import_module(name)
    except ImportError as error:
        if "." not in name:  # more likely a misspelt property than a module
            raise unknown from None
        raise PropertyError(f"property {text!r}: cannot import {name!r} ({error})") from None
    function = getattr(module, parameter, None)
    if not callable(function):
        raise PropertyError(f"property {text!r}: module {name!r} has no function {parameter!r}")
    return UserProperty(function)


def _number(text: str, what: str, value: str) -> float:
    try:
        number = float(value)
    except ValueError:
        raise PropertyError(f"property {text!r}: {what} must be a number, got {value!r}") from None
    if not math.isfinite(number):
        raise PropertyError(f"property {text!r}: {what} must be a finite number, got {value!r}")
    return number


def _whole(text: str, what: str, value: str, low: int) -> int:
    try:
        number = int(value.replace("_", ""))
    except ValueError:
        number = None
    if number is None or number < low:
        raise PropertyError(f"property {text!r}: {what} must be a whole number >= {low}, got {value!r}")
    return number


def _seconds(text: str, what: str, value: str) -> float:
    number = _number(text, what, value)
    if number <= 0:
        raise PropertyError(f"property {text!r}: {what} must be > 0 simulated seconds, got {value!r}")
    return number
