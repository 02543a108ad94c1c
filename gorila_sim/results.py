"""A run's results directory: the resolved scenario, the trace as Parquet tables, and the summary.

DIR/scenario.json          the scenario as it ran (overrides applied, seed set)
DIR/summary.json           the summary derived from the trace
DIR/trace/<table>.parquet  one file per trace table (gradients, episodes, lifecycle, targets)
DIR/incomplete.json        only in a run that was interrupted: when (simulated time, env steps)

A run is written as it goes into a directory beside DIR (`.DIR.partial-PID`), its trace tables a Parquet
row group every few seconds of wall time, and renamed into place when it ends, finished or interrupted: DIR
is either absent, or whole. An existing DIR is replaced only when asked (`overwrite`). The partial directory
is marked as its process's while it is written (see leftovers.py): one that a killed run left is removed
when a later run writes results beside it.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import shutil
import signal
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from . import leftovers
from .trace import COLUMNS, Trace

if TYPE_CHECKING:
    from .gorila import RunResult

MARKER = "incomplete.json"
"""The file that marks a results directory as a run interrupted before its end."""

FLUSH_SECONDS = 2.0
"""Wall seconds between two writes of the trace's new records."""

_STRINGS = ("learner", "actor", "node", "state", "fate")
_FLOATS = ("time", "wall", "ret", "server_updates")


class OutputError(ValueError):
    """An output path that cannot be written, or that holds something not to be replaced; one line."""


def _plain(value: Any) -> Any:
    """JSON has no NaN or infinity: write them as null."""
    if isinstance(value, dict):
        return {key: _plain(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(item) for item in value]
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def write_json(path: Path, value: Any) -> None:
    path.write_text(json.dumps(_plain(value), indent=2) + "\n")


def check_out(out: str | Path, overwrite: bool = False) -> Path:
    """`out` if a directory can be written there: it is absent or empty (or `overwrite`), and its parent can
    be made and written. Otherwise an OutputError saying why, in one line."""
    out = Path(out)
    if out.exists() and not out.is_dir():
        raise OutputError(f"{out}: is a file, not a directory")
    if out.is_dir() and any(out.iterdir()) and not overwrite:
        raise OutputError(
            f"{out}: already holds results or other files (choose another directory, or add --overwrite to "
            "replace it)"
        )
    ancestor = out.absolute().parent
    while not ancestor.exists():
        ancestor = ancestor.parent
    if not ancestor.is_dir():
        raise OutputError(f"{out}: {ancestor} is a file, not a directory")
    if not os.access(ancestor, os.W_OK | os.X_OK):
        raise OutputError(f"{out}: {ancestor} is not writable")
    return out


def default_dir(name: str, seed: int, overrides: list[str], suffix: str = "") -> Path:
    """runs/NAME-seedSEED, with a short hash of the overrides when there are any: one directory per distinct
    run."""
    tag = ""
    if overrides:
        tag = "-" + hashlib.sha256("\n".join(overrides).encode()).hexdigest()[:8]
    return Path("runs") / f"{name}-seed{seed}{tag}{suffix}"


@contextmanager
def uninterrupted(reraise: bool = True) -> Iterator[None]:
    """Hold Ctrl-C back while files are written, so that none is left half-written; a Ctrl-C that came
    meanwhile is raised after (or dropped, without `reraise`)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    pending = []
    previous = signal.signal(signal.SIGINT, lambda signum, frame: pending.append(signum))
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)
    if pending and reraise and previous is not signal.SIG_IGN:
        raise KeyboardInterrupt


def partial_dir(out: Path) -> Path:
    """Where the results for `out` are written before they are published."""
    return out.parent / f".{out.name}.partial-{os.getpid()}"


def publish(staging: Path, out: Path) -> Path:
    """Move the finished directory `staging` to `out` in one rename; an `out` already there (which
    `check_out` allowed) is moved aside first and then removed."""
    with uninterrupted(reraise=False):
        old = None
        if out.exists():
            old = out.parent / f".{out.name}.replaced-{os.getpid()}"
            out.rename(old)
        staging.rename(out)
        if old is not None:
            shutil.rmtree(old)
    return out


def _column(name: str, values: tuple[Any, ...]) -> Any:
    import pyarrow as pa

    if name in _STRINGS:
        return pa.array(values, pa.string())
    if name in _FLOATS:
        return pa.array(values, pa.float64())
    return pa.array(values) if values else pa.array([], pa.float64())


class ResultsWriter:
    """A results directory written as a run goes: `follow(trace)`, then `flush()` as often as liked (it writes
    the trace's new records every FLUSH_SECONDS), then `publish(result)` once, or `discard()`.

    The output path is checked when the writer is made, before any work; the scenario is written at once.
    """

    def __init__(self, out: str | Path, scenario: dict[str, Any], overwrite: bool = False) -> None:
        self.out = check_out(out, overwrite)
        self.staging = partial_dir(self.out)
        leftovers.remove_left_behind(self.out.parent.glob(".*.partial-*"))
        if self.staging.exists():
            shutil.rmtree(self.staging)
        (self.staging / "trace").mkdir(parents=True)
        leftovers.mark(self.staging)
        write_json(self.staging / "scenario.json", scenario)
        self.trace: Trace | None = None
        self._writers: dict[str, Any] = {}
        self._written = dict.fromkeys(COLUMNS, 0)
        self._due = 0.0

    def follow(self, trace: Trace) -> None:
        self.trace = trace

    def flush(self, force: bool = False) -> None:
        """Append the records made since the last write, if FLUSH_SECONDS have passed (or `force`)."""
        if self.trace is None or not (force or time.monotonic() >= self._due):
            return
        with uninterrupted():
            for name in COLUMNS:
                rows = self.trace.records[name][self._written[name] :]
                if rows:
                    self._write(name, rows)
                    self._written[name] += len(rows)
        self._due = time.monotonic() + FLUSH_SECONDS

    def _write(self, name: str, rows: list[tuple[Any, ...]]) -> None:
        import pyarrow as pa
        import pyarrow.parquet as pq

        columns = zip(COLUMNS[name], zip(*rows, strict=True), strict=True)
        table = pa.table({column: _column(column, values) for column, values in columns})
        if name not in self._writers:
            path = self.staging / "trace" / f"{name}.parquet"
            self._writers[name] = pq.ParquetWriter(path, table.schema)
        writer = self._writers[name]
        writer.write_table(table.cast(writer.schema))

    def publish(self, result: RunResult, interrupted: bool = False) -> Path:
        """Write the rest of the trace and the summary (and, if `interrupted`, the marker), then rename the
        directory into place."""
        import pyarrow as pa
        import pyarrow.parquet as pq

        with uninterrupted(reraise=False):
            self.trace = result.trace
            self.flush(force=True)
            for writer in self._writers.values():
                writer.close()
            for name, columns in COLUMNS.items():
                if name not in self._writers:
                    empty = pa.table({column: _column(column, ()) for column in columns})
                    pq.write_table(empty, self.staging / "trace" / f"{name}.parquet")
            write_json(self.staging / "summary.json", result.summary)
            if interrupted:
                summary = result.summary
                marker = {"interrupted_at": summary["sim_time"], "env_steps": summary["env_steps"]}
                write_json(self.staging / MARKER, marker)
            leftovers.unmark(self.staging)
            return publish(self.staging, self.out)

    def discard(self) -> None:
        for writer in self._writers.values():
            writer.close()
        shutil.rmtree(self.staging, ignore_errors=True)


def write_results(
    result: RunResult, out: str | Path, scenario: dict[str, Any], overwrite: bool = False
) -> Path:
    """Write a finished run's results directory at `out` and return it (see the module's docstring)."""
    writer = ResultsWriter(out, scenario, overwrite)
    try:
        return writer.publish(result)
    except BaseException:
        writer.discard()
        raise


@dataclass
class StoredRun:
    """A results directory read back: its scenario, summary and trace tables (columns as numpy arrays)."""

    path: Path
    scenario: dict[str, Any]
    summary: dict[str, Any]
    tables: dict[str, dict[str, np.ndarray]]
    interrupted_at: float | None = None
    """The simulated time at which the run was interrupted; None for a finished run."""

    @property
    def label(self) -> str:
        return self.path.name

    @property
    def title(self) -> str:
        """The label, and when the run was interrupted if it was."""
        if self.interrupted_at is None:
            return self.label
        return f"{self.label} (interrupted at {self.interrupted_at:.2f} s)"


ADDED_TABLES = ("messages", "interfaces")
"""Trace tables that results directories written by earlier versions lack; they read as empty."""


def read_results(path: str | Path) -> StoredRun:
    """Read a results directory; a missing or damaged one is a ValueError naming what is wrong."""
    import pyarrow.parquet as pq

    path = Path(path)
    if not path.is_dir():
        raise ValueError(f"{path}: not a results directory")
    try:
        scenario = json.loads((path / "scenario.json").read_text())
        summary = json.loads((path / "summary.json").read_text())
        marker = json.loads((path / MARKER).read_text()) if (path / MARKER).exists() else None
        tables = {}
        for name in COLUMNS:
            file = path / "trace" / f"{name}.parquet"
            if name in ADDED_TABLES and not file.exists():  # written before the table existed
                tables[name] = {column: np.array([]) for column in COLUMNS[name]}
                continue
            table = pq.read_table(file)
            tables[name] = {
                column: table.column(column).to_numpy(zero_copy_only=False) for column in table.column_names
            }
    except (OSError, json.JSONDecodeError, ValueError) as error:
        raise ValueError(f"{path}: not a complete results directory ({error})") from None
    return StoredRun(path, scenario, summary, tables, marker["interrupted_at"] if marker else None)
