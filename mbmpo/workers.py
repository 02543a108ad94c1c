"""Worker threads for the meta phase's policy-gradient work: the models split into groups, each group's
work one batched pass, the groups in parallel. torch's operations release the GIL and run one torch
thread each, so two groups keep two cores busy without the synchronisation of torch's own threads at every
operation (on a loaded machine each such barrier waits for whichever thread lost its core)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from itertools import pairwise
from typing import TypeVar

Item = TypeVar("Item")
Result = TypeVar("Result")


class Workers:
    """A pool of `threads` threads (none for one: the calling thread does the work)."""

    def __init__(self, threads: int) -> None:
        if threads < 1:
            raise ValueError(f"threads: must be at least 1, got {threads}")
        self.threads = threads
        self._pool = ThreadPoolExecutor(threads) if threads > 1 else None

    def map(self, work: Callable[[Item], Result], items: Sequence[Item]) -> list[Result]:
        """[work(item) for item in items], on the pool's threads where there are several items."""
        if self._pool is None or len(items) < 2:
            return [work(item) for item in items]
        return list(self._pool.map(work, items))

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown()


def model_groups(models: int, groups: int) -> list[slice]:
    """models 0..models-1 in at most `groups` contiguous groups of sizes that differ by at most one."""
    count = min(models, groups)
    bounds = [i * models // count for i in range(count + 1)]
    return [slice(lo, hi) for lo, hi in pairwise(bounds)]
