"""Parameter checks shared by the models; each raises ModelError with a one-line message."""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from numbers import Real
from typing import Any

import numpy as np

from .errors import ModelError

_SHOWN_CHARS = 60


def show(value: Any) -> str:
    """A short, one-line repr of `value` for error messages."""
    text = re.sub(r"\s+", " ", repr(value))
    return text if len(text) <= _SHOWN_CHARS else text[: _SHOWN_CHARS - 3] + "..."


def is_number(value: Any) -> bool:
    """True for real numbers other than bools and NaN."""
    return isinstance(value, Real) and not isinstance(value, bool) and not math.isnan(value)


def _bounds(low: float | None, high: float | None, low_open: bool) -> str:
    if low is None:
        return ""
    if high is None:
        return f" {'>' if low_open else '>='} {low:g}"
    return f" in {'(' if low_open else '['}{low:g}, {high:g}]"


def number(
    name: str,
    value: Any,
    *,
    low: float | None = None,
    high: float | None = None,
    low_open: bool = False,
    finite: bool = True,
) -> float:
    """Check that `value` is a number (finite unless `finite` is False) within the given bounds."""
    ok = (
        is_number(value)
        and (not finite or math.isfinite(value))
        and (low is None or value > low or (value == low and not low_open))
        and (high is None or value <= high)
    )
    if not ok:
        kind = "a finite number" if finite and high is None else "a number"
        raise ModelError(name, f"must be {kind}{_bounds(low, high, low_open)}, got {show(value)}")
    return float(value)


def non_negative(name: str, value: Any, *, finite: bool = True) -> float:
    return number(name, value, low=0.0, finite=finite)


def positive(name: str, value: Any, *, finite: bool = True) -> float:
    return number(name, value, low=0.0, low_open=True, finite=finite)


def probability(name: str, value: Any) -> float:
    return number(name, value, low=0.0, high=1.0)


def instance(name: str, value: Any, types: type | tuple[type, ...], description: str) -> None:
    """Check that `value` is one of `types`; `description` says what is allowed, e.g. "a Distribution"."""
    if not isinstance(value, types):
        raise ModelError(name, f"must be {description}, got {show(value)}")


def sequence(name: str, value: Any) -> Sequence[Any]:
    """Check that `value` is a list, tuple or array (not a string)."""
    if isinstance(value, str | bytes) or not isinstance(value, Sequence | np.ndarray):
        raise ModelError(name, f"must be a list of values, got {show(value)}")
    return value
