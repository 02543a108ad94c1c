"""What the real network added: each sender times its requests (from the POST to the receiver's signed answer:
the round trip over the real network and HTTP stack) per pair of nodes, beside the delay its link model gave
the message; the coordinator adds them up per pair of machines for the summary.

Times are kept as counts in logarithmic bins (BINS_PER_DECADE per factor of ten, from SMALLEST_S), so that
they add up across processes and cost the same whatever the number of messages; a quantile is its bin's
geometric middle, within half a bin (about 2.3%).
"""

from __future__ import annotations

import math
from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping
from typing import Any

BINS_PER_DECADE = 50
SMALLEST_S = 1e-6
"""Times below this count in the first bin."""

Pair = tuple[str, str]
Counts = dict[int, int]
"""Bin index -> number of times in it."""


def bin_of(seconds: float) -> int:
    return max(0, math.floor(math.log10(max(seconds, SMALLEST_S) / SMALLEST_S) * BINS_PER_DECADE))


def quantile(counts: Mapping[int, int], q: float) -> float:
    """The `q` quantile (0 to 1) of the times counted in `counts`, in seconds; nan when there are none."""
    total = sum(counts.values())
    if not total:
        return math.nan
    seen = 0
    for index in sorted(counts):
        seen += counts[index]
        if seen >= q * total:
            return SMALLEST_S * 10 ** ((index + 0.5) / BINS_PER_DECADE)
    raise AssertionError("unreachable")


class RoundTrips:
    """One process's timings per (sender, receiver): the real round trips and the modelled delays, in wall
    seconds; `take()` hands over what came since the last take (as a trace chunk carries it)."""

    def __init__(self) -> None:
        self._new: dict[Pair, tuple[Counter[int], Counter[int]]] = defaultdict(lambda: (Counter(), Counter()))

    def add(self, src: str, dst: str, real: float, modelled: float) -> None:
        reals, models = self._new[(src, dst)]
        reals[bin_of(real)] += 1
        models[bin_of(modelled)] += 1

    def take(self) -> dict[Pair, tuple[Counts, Counts]]:
        new = {pair: (dict(reals), dict(models)) for pair, (reals, models) in self._new.items()}
        self._new.clear()
        return new


def add_up(
    chunks: Iterable[Mapping[Pair, tuple[Counts, Counts]]], into: dict[Pair, tuple[Counts, Counts]]
) -> None:
    """Add the counts of `chunks` (what `take` returned) to `into`."""
    for chunk in chunks:
        for pair, (reals, models) in chunk.items():
            total_reals, total_models = into.setdefault(pair, ({}, {}))
            for counts, total in ((reals, total_reals), (models, total_models)):
                for index, count in counts.items():
                    total[index] = total.get(index, 0) + count


def by_machine(
    pairs: Mapping[Pair, tuple[Counts, Counts]], machine_of: Mapping[str, str]
) -> list[dict[str, Any]]:
    """One row per (sending machine, receiving machine): messages timed, the real round trip's median and
    95th percentile, and the modelled delay's median, in milliseconds."""
    merged: dict[Pair, tuple[Counts, Counts]] = {}
    for (src, dst), counts in pairs.items():
        add_up([{(machine_of[src], machine_of[dst]): counts}], merged)
    rows = []
    for (src, dst), (reals, models) in sorted(merged.items()):
        rows.append(
            {
                "from": src,
                "to": dst,
                "messages": sum(reals.values()),
                "median_ms": round(1e3 * quantile(reals, 0.5), 4),
                "p95_ms": round(1e3 * quantile(reals, 0.95), 4),
                "modelled_median_ms": round(1e3 * quantile(models, 0.5), 4),
            }
        )
    return rows
