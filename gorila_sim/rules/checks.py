"""Parameter checks shared by the rules; each raises RuleError with a one-line message."""

from __future__ import annotations

import math
import re
from numbers import Integral, Real
from typing import Any

from .errors import RuleError

_SHOWN_CHARS = 60


def one_line(text: str) -> str:
    """`text` with each run of whitespace, newlines included, collapsed to one space."""
    return re.sub(r"\s+", " ", text).strip()


def show(value: Any) -> str:
    """A short, one-line repr of `value` for error messages."""
    text = one_line(repr(value))
    return text if len(text) <= _SHOWN_CHARS else text[: _SHOWN_CHARS - 3] + "..."


def integer(name: str, value: Any, *, low: int) -> None:
    """Check that `value` is an integer (not a bool) >= `low`."""
    if isinstance(value, bool) or not isinstance(value, Integral) or value < low:
        raise RuleError(name, f"must be an integer >= {low}, got {show(value)}")


def number(
    name: str,
    value: Any,
    *,
    low: float,
    high: float | None = None,
    low_open: bool = False,
    high_open: bool = False,
) -> None:
    """Check that `value` is a finite real number (not a bool) within the given bounds."""
    ok = (
        isinstance(value, Real)
        and not isinstance(value, bool)
        and math.isfinite(value)
        and (value > low or (value == low and not low_open))
        and (high is None or value < high or (value == high and not high_open))
    )
    if not ok:
        if high is None:
            bounds = f"{'>' if low_open else '>='} {low:g}"
        else:
            bounds = f"in {'(' if low_open else '['}{low:g}, {high:g}{')' if high_open else ']'}"
        raise RuleError(name, f"must be a finite number {bounds}, got {show(value)}")
