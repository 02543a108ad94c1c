"""Trace files of an emulated run: each process sends its new records to the coordinator every so often,
which appends them to the process's file; at the end it merges every process's file into one Trace in the
simulator's format."""

from __future__ import annotations

import pickle
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..trace import COLUMNS, Trace
from .roundtrips import Counts, Pair, add_up


@dataclass
class ProcessTrace:
    """What one process recorded: its trace rows, its counts at its last flush (env steps, messages, and
    writes to its nodes' disks that failed), and its round trips (see roundtrips)."""

    records: dict[str, list[tuple[Any, ...]]] = field(default_factory=lambda: {name: [] for name in COLUMNS})
    env_steps: int = 0
    stats: dict[str, int] = field(default_factory=dict)
    failed_writes: int = 0
    round_trips: dict[Pair, tuple[Counts, Counts]] = field(default_factory=dict)


class TraceChunks:
    """The records a Trace gained since the last chunk, with the process's env steps and message counts, as
    one pickled chunk: what a process sends its coordinator every so often, and the coordinator appends to
    the process's trace file. A killed process loses the records since its last chunk."""

    def __init__(self, trace: Trace) -> None:
        self.trace = trace
        self._written = dict.fromkeys(COLUMNS, 0)

    def next(
        self,
        env_steps: int,
        stats: dict[str, int],
        failed_writes: int = 0,
        round_trips: dict[Pair, tuple[Counts, Counts]] | None = None,
    ) -> bytes:
        new = {}
        for name, rows in self.trace.records.items():
            new[name] = rows[self._written[name] :]
            self._written[name] = len(rows)
        chunk = {"records": new, "env_steps": env_steps, "stats": stats, "failed_writes": failed_writes}
        chunk["round_trips"] = round_trips or {}
        return pickle.dumps(chunk, protocol=pickle.HIGHEST_PROTOCOL)


def read_trace(path: str | Path) -> ProcessTrace:
    """A process's trace file; a chunk cut short by the process's death ends it."""
    result = ProcessTrace()
    if not Path(path).exists():
        return result
    with Path(path).open("rb") as file:
        while True:
            try:
                chunk = pickle.load(file)
            except (EOFError, pickle.UnpicklingError, ValueError):
                break
            for name, rows in chunk["records"].items():
                result.records[name] += rows
            result.env_steps, result.stats = chunk["env_steps"], chunk["stats"]
            result.failed_writes = chunk["failed_writes"]
            add_up([chunk["round_trips"]], result.round_trips)
    return result


def merge(processes: Iterable[ProcessTrace], lifecycle: Trace, time_scale: float) -> Trace:
    """One trace of the whole run, each table in time order; lifecycle records come from `lifecycle` (the
    coordinator's). In the emulator wall time is run time times the scale, and an episode's env steps are
    the run's total at its end: the sum of each process's latest count."""
    processes = list(processes)
    merged = Trace()
    for name in COLUMNS:
        if name == "episodes":
            merged.records[name] = _total_env_steps(processes, time_scale)
            continue
        sources = [lifecycle.records[name]] if name == "lifecycle" else [p.records[name] for p in processes]
        rows = sorted((row for rows in sources for row in rows), key=_time)
        merged.records[name] = [(row[0], row[0] * time_scale, *row[2:]) for row in rows]
    return merged


def _time(row: tuple[Any, ...]) -> float:
    return row[0]


def _total_env_steps(processes: list[ProcessTrace], time_scale: float) -> list[tuple[Any, ...]]:
    episodes = sorted(
        ((row, index) for index, process in enumerate(processes) for row in process.records["episodes"]),
        key=lambda item: item[0][0],
    )
    latest = [0] * len(processes)
    total, rows = 0, []
    for (time, _, actor, ret, length, steps), index in episodes:
        total += steps - latest[index]
        latest[index] = steps
        rows.append((time, time * time_scale, actor, ret, length, total))
    return rows
