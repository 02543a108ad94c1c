"""Distributions of non-negative values (durations in seconds, factors) and their declarative specs."""

from __future__ import annotations

import math
import os
from abc import ABC, abstractmethod
from collections.abc import Mapping
from dataclasses import dataclass, field
from numbers import Real
from pathlib import Path
from statistics import NormalDist
from typing import Any

import numpy as np

from . import checks, specs
from .checks import show
from .errors import ModelError

_Z99 = NormalDist().inv_cdf(0.99)


def _exp(x: float) -> float:
    return math.exp(x) if x < 709.0 else math.inf


class Distribution(ABC):
    """A distribution of non-negative values."""

    __slots__ = ()

    mean: float
    """The expected value (math.inf where it is infinite)."""

    def sample(self, rng: np.random.Generator, size: int | None = None) -> float | np.ndarray:
        """One draw as a float when `size` is None, else an array of `size` independent draws."""
        if size is None:
            return float(self._draw(rng, 1)[0])
        return self._draw(rng, size)

    @abstractmethod
    def _draw(self, rng: np.random.Generator, size: int) -> np.ndarray: ...


@dataclass(frozen=True, slots=True)
class Constant(Distribution):
    """Always `value`."""

    value: float

    def __post_init__(self) -> None:
        checks.non_negative("value", self.value)

    @property
    def mean(self) -> float:
        return float(self.value)

    def _draw(self, rng: np.random.Generator, size: int) -> np.ndarray:
        return np.full(size, float(self.value))


@dataclass(frozen=True, slots=True)
class Uniform(Distribution):
    """Uniform on [low, high)."""

    low: float
    high: float

    def __post_init__(self) -> None:
        checks.non_negative("low", self.low)
        checks.non_negative("high", self.high)
        if self.high < self.low:
            raise ModelError("high", f"must be >= low ({show(self.low)}), got {show(self.high)}")

    @property
    def mean(self) -> float:
        return (self.low + self.high) / 2

    def _draw(self, rng: np.random.Generator, size: int) -> np.ndarray:
        return rng.uniform(self.low, self.high, size)


@dataclass(frozen=True, slots=True, init=False)
class Normal(Distribution):
    """Normal with parameters `mean` and `std`, truncated at zero: negative draws are drawn again.

    The `mean` property is the mean after truncation, above the `mean` parameter when `std` is large.
    """

    loc: float
    std: float

    def __init__(self, mean: float, std: float) -> None:
        checks.non_negative("mean", mean)
        checks.non_negative("std", std)
        object.__setattr__(self, "loc", mean)
        object.__setattr__(self, "std", std)

    def __repr__(self) -> str:
        return f"Normal(mean={self.loc!r}, std={self.std!r})"

    @property
    def mean(self) -> float:
        if self.std == 0:
            return float(self.loc)
        alpha = -self.loc / self.std
        kept = 0.5 * math.erfc(alpha / math.sqrt(2))
        density = math.exp(-alpha * alpha / 2) / math.sqrt(2 * math.pi)
        return self.loc + self.std * density / kept

    def _draw(self, rng: np.random.Generator, size: int) -> np.ndarray:
        values = rng.normal(self.loc, self.std, size)
        redo = np.flatnonzero(values < 0)
        while redo.size:
            values[redo] = rng.normal(self.loc, self.std, redo.size)
            redo = redo[values[redo] < 0]
        return values


@dataclass(frozen=True, slots=True)
class LogNormal(Distribution):
    """exp(N(mu, sigma)): long-tailed durations such as network latencies."""

    mu: float
    sigma: float

    def __post_init__(self) -> None:
        checks.number("mu", self.mu)
        checks.non_negative("sigma", self.sigma)

    @classmethod
    def from_median_p99(cls, median: float, p99: float) -> LogNormal:
        """The log-normal with this median and 99th percentile."""
        checks.positive("median", median)
        checks.number("p99", p99)
        if not p99 > median:
            raise ModelError("p99", f"must be greater than median ({show(median)}), got {show(p99)}")
        return cls(math.log(median), (math.log(p99) - math.log(median)) / _Z99)

    @property
    def mean(self) -> float:
        return _exp(self.mu + self.sigma * self.sigma / 2)

    def _draw(self, rng: np.random.Generator, size: int) -> np.ndarray:
        return rng.lognormal(self.mu, self.sigma, size)


@dataclass(frozen=True, slots=True)
class Exponential(Distribution):
    """Exponential with the given mean."""

    mean: float

    def __post_init__(self) -> None:
        checks.non_negative("mean", self.mean)

    def _draw(self, rng: np.random.Generator, size: int) -> np.ndarray:
        return rng.exponential(self.mean, size)


@dataclass(frozen=True, slots=True, init=False)
class ShiftedExponential(Distribution):
    """`shift` plus an exponential whose mean is the `mean` parameter (stored as `scale`).

    The `mean` property is the whole distribution's mean, `shift + scale`.
    """

    shift: float
    scale: float

    def __init__(self, shift: float, mean: float) -> None:
        checks.non_negative("shift", shift)
        checks.non_negative("mean", mean)
        object.__setattr__(self, "shift", shift)
        object.__setattr__(self, "scale", mean)

    def __repr__(self) -> str:
        return f"ShiftedExponential(shift={self.shift!r}, mean={self.scale!r})"

    @property
    def mean(self) -> float:
        return self.shift + self.scale

    def expected_max(self, n: int) -> float:
        """The expected maximum of `n` independent draws: shift + scale * H_n."""
        if not isinstance(n, int) or isinstance(n, bool) or n < 1:
            raise ModelError("n", f"must be an integer >= 1, got {show(n)}")
        return self.shift + self.scale * math.fsum(1 / k for k in range(1, n + 1))

    def _draw(self, rng: np.random.Generator, size: int) -> np.ndarray:
        return self.shift + rng.exponential(self.scale, size)


@dataclass(frozen=True, slots=True)
class Pareto(Distribution):
    """Pareto (type I): values >= `scale`, tail exponent `alpha`; the mean is infinite when alpha <= 1."""

    scale: float
    alpha: float

    def __post_init__(self) -> None:
        checks.positive("scale", self.scale)
        checks.positive("alpha", self.alpha)

    @property
    def mean(self) -> float:
        return self.alpha * self.scale / (self.alpha - 1) if self.alpha > 1 else math.inf

    def _draw(self, rng: np.random.Generator, size: int) -> np.ndarray:
        return self.scale * (1 + rng.pareto(self.alpha, size))


@dataclass(frozen=True, slots=True)
class Mixture(Distribution):
    """A draw from `components[i]` with probability `weights[i]`; weights are normalised to sum to 1."""

    components: tuple[Distribution, ...]
    weights: tuple[float, ...]

    def __post_init__(self) -> None:
        components = tuple(checks.sequence("components", self.components))
        if not components:
            raise ModelError("components", "must hold at least one distribution, got none")
        for i, component in enumerate(components):
            checks.instance(f"components[{i}]", component, Distribution, "a Distribution")
        weights = checks.sequence("weights", self.weights)
        if len(weights) != len(components):
            raise ModelError(
                "weights", f"must hold one weight per component ({len(components)}), got {len(weights)}"
            )
        for i, weight in enumerate(weights):
            checks.positive(f"weights[{i}]", weight)
        total = math.fsum(weights)
        object.__setattr__(self, "components", components)
        object.__setattr__(self, "weights", tuple(float(weight) / total for weight in weights))

    @property
    def mean(self) -> float:
        return math.fsum(w * c.mean for c, w in zip(self.components, self.weights, strict=True))

    def _draw(self, rng: np.random.Generator, size: int) -> np.ndarray:
        which = rng.choice(len(self.components), size=size, p=self.weights)
        values = np.empty(size)
        for i, component in enumerate(self.components):
            picked = which == i
            values[picked] = component.sample(rng, int(picked.sum()))
        return values


@dataclass(frozen=True, slots=True)
class Empirical(Distribution):
    """A uniform draw from recorded `samples`, e.g. measured latencies in seconds."""

    samples: tuple[float, ...]
    _values: np.ndarray = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        samples = checks.sequence("samples", self.samples)
        if len(samples) == 0:
            raise ModelError("samples", "must hold at least one value, got none")
        for i, value in enumerate(samples):
            checks.non_negative(f"samples[{i}]", value)
        values = np.array(samples, dtype=float)
        object.__setattr__(self, "samples", tuple(values.tolist()))
        object.__setattr__(self, "_values", values)

    @classmethod
    def from_file(cls, path: str | os.PathLike[str]) -> Empirical:
        """Samples from a text file with one number per line; blank lines and `#` comments are skipped."""
        try:
            text = Path(path).read_text()
        except OSError as error:
            raise ModelError(str(path), f"cannot be read ({error.strerror or error})") from None
        samples = []
        for line_number, line in enumerate(text.splitlines(), start=1):
            content = line.split("#", 1)[0].strip()
            if not content:
                continue
            try:
                value: Any = float(content)
            except ValueError:
                value = content
            samples.append(checks.non_negative(f"{path}:{line_number}", value))
        if not samples:
            raise ModelError(str(path), "must hold at least one number, got none")
        return cls(tuple(samples))

    @property
    def mean(self) -> float:
        return float(self._values.mean())

    def _draw(self, rng: np.random.Generator, size: int) -> np.ndarray:
        return self._values[rng.integers(0, self._values.size, size)]


_SIMPLE_KINDS: dict[str, tuple[type[Distribution], tuple[str, ...]]] = {
    "constant": (Constant, ("value",)),
    "uniform": (Uniform, ("low", "high")),
    "normal": (Normal, ("mean", "std")),
    "exponential": (Exponential, ("mean",)),
    "shifted_exponential": (ShiftedExponential, ("shift", "mean")),
    "pareto": (Pareto, ("scale", "alpha")),
}
_KINDS = (*_SIMPLE_KINDS, "lognormal", "mixture", "empirical")


def distribution_from_spec(spec: Any, path: str = "distribution") -> Distribution:
    """A distribution from its declarative form, e.g. `{"kind": "lognormal", "median": 0.002, "p99": 0.01}`.

    A bare number means a constant. `path` names the spec in error messages.
    """
    if isinstance(spec, Real) and not isinstance(spec, bool):
        try:
            return Constant(spec)
        except ModelError as error:
            raise ModelError(path, error.problem) from None
    if not isinstance(spec, Mapping):
        raise ModelError(path, f"must be a number or a table with a 'kind' key, got {show(spec)}")
    kind = specs.kind(spec, path, _KINDS)
    context = f" for kind '{kind}'"
    if kind in _SIMPLE_KINDS:
        cls, keys = _SIMPLE_KINDS[kind]
        specs.check_keys(spec, path, {"kind", *keys}, keys, context)
        with specs.under(path):
            return cls(**{key: spec[key] for key in keys})
    if kind == "lognormal":
        keys = ("median", "p99") if {"median", "p99"} & spec.keys() else ("mu", "sigma")
        context += " (give median and p99, or mu and sigma)"
        specs.check_keys(spec, path, {"kind", *keys}, keys, context)
        with specs.under(path):
            if keys == ("median", "p99"):
                return LogNormal.from_median_p99(spec["median"], spec["p99"])
            return LogNormal(spec["mu"], spec["sigma"])
    if kind == "mixture":
        specs.check_keys(spec, path, {"kind", "components", "weights"}, ("components", "weights"), context)
        components = checks.sequence(f"{path}.components", spec["components"])
        parsed = tuple(
            distribution_from_spec(component, f"{path}.components[{i}]")
            for i, component in enumerate(components)
        )
        with specs.under(path):
            return Mixture(parsed, spec["weights"])
    specs.check_keys(spec, path, {"kind", "file", "samples"}, (), context)
    if ("file" in spec) == ("samples" in spec):
        raise ModelError(path, "kind 'empirical' needs exactly one of the keys file, samples")
    if "samples" in spec:
        with specs.under(path):
            return Empirical(spec["samples"])
    file = spec["file"]
    checks.instance(f"{path}.file", file, (str, os.PathLike), "a file path")
    try:
        return Empirical.from_file(file)
    except ModelError as error:
        raise ModelError(f"{path}.file", str(error)) from None


__all__ = [
    "Constant",
    "Distribution",
    "Empirical",
    "Exponential",
    "LogNormal",
    "Mixture",
    "Normal",
    "Pareto",
    "ShiftedExponential",
    "Uniform",
    "distribution_from_spec",
]
