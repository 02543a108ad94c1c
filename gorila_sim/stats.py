"""Confidence intervals across seeds: the mean and Student's t interval of a few numbers."""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np


def t_cdf(x: float, dof: int) -> float:
    """P(T <= x) for Student's t with `dof` degrees of freedom (Simpson's rule on the density)."""
    if x < 0:
        return 1.0 - t_cdf(-x, dof)
    t = np.linspace(0.0, x, 4001)
    log_scale = math.lgamma((dof + 1) / 2) - math.lgamma(dof / 2) - 0.5 * math.log(dof * math.pi)
    density = np.exp(log_scale - (dof + 1) / 2 * np.log1p(t * t / dof))
    h = x / 4000
    area = h / 3 * (density[0] + density[-1] + 4 * density[1:-1:2].sum() + 2 * density[2:-1:2].sum())
    return 0.5 + float(area)


def t_quantile(p: float, dof: int) -> float:
    """The x with P(T <= x) = p, for 0.5 <= p < 1 (bisection on `t_cdf`)."""
    low, high = 0.0, 1.0
    while t_cdf(high, dof) < p:
        low, high = high, high * 2
    for _ in range(60):
        middle = (low + high) / 2
        low, high = (middle, high) if t_cdf(middle, dof) < p else (low, middle)
    return (low + high) / 2


def mean_ci(values: Sequence[float], level: float = 0.95) -> tuple[float, float, float]:
    """(mean, low, high): the mean of the finite `values` and its t interval at `level`; the interval is NaN
    with fewer than two values, and everything is NaN with none."""
    finite = np.asarray([v for v in values if v is not None and math.isfinite(v)], dtype=float)
    if finite.size == 0:
        return math.nan, math.nan, math.nan
    mean = float(finite.mean())
    if finite.size < 2:
        return mean, math.nan, math.nan
    half = t_quantile(0.5 + level / 2, finite.size - 1) * float(finite.std(ddof=1)) / math.sqrt(finite.size)
    return mean, mean - half, mean + half
