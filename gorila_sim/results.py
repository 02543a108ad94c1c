"""A run's results directory: the resolved scenario, the trace as Parquet tables, and the summary.

DIR/scenario.json        the scenario as it ran (overrides applied, seed set)
DIR/summary.json         the summary derived from the trace
DIR/trace/<table>.parquet  one file per trace table (gradients, episodes, lifecycle, targets)
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from .gorila import RunResult
from .trace import COLUMNS


def _plain(value: Any) -> Any:
    """JSON has no NaN or infinity: write them as null."""
    if isinstance(value, dict):
        return {key: _plain(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(item) for item in value]
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def write_results(result: RunResult, out: str | Path, scenario: dict[str, Any]) -> Path:
    """Write a finished run to `out` (created if missing) and return it."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    out = Path(out)
    (out / "trace").mkdir(parents=True, exist_ok=True)
    (out / "scenario.json").write_text(json.dumps(_plain(scenario), indent=2) + "\n")
    (out / "summary.json").write_text(json.dumps(_plain(result.summary), indent=2) + "\n")
    for name in COLUMNS:
        columns = result.trace.table(name)
        table = (
            pa.table({column: pa.array(values) for column, values in columns.items()})
            if len(result.trace.records[name])
            else pa.table({column: pa.array([], pa.float64()) for column in columns})
        )
        pq.write_table(table, out / "trace" / f"{name}.parquet")
    return out


@dataclass
class StoredRun:
    """A results directory read back: its scenario, summary and trace tables (columns as numpy arrays)."""

    path: Path
    scenario: dict[str, Any]
    summary: dict[str, Any]
    tables: dict[str, dict[str, np.ndarray]]

    @property
    def label(self) -> str:
        return self.path.name


def read_results(path: str | Path) -> StoredRun:
    """Read a results directory; a missing or damaged one is a ValueError naming what is wrong."""
    import pyarrow.parquet as pq

    path = Path(path)
    if not path.is_dir():
        raise ValueError(f"{path}: not a results directory")
    try:
        scenario = json.loads((path / "scenario.json").read_text())
        summary = json.loads((path / "summary.json").read_text())
        tables = {}
        for name in COLUMNS:
            table = pq.read_table(path / "trace" / f"{name}.parquet")
            tables[name] = {
                column: table.column(column).to_numpy(zero_copy_only=False) for column in table.column_names
            }
    except (OSError, json.JSONDecodeError, ValueError) as error:
        raise ValueError(f"{path}: not a complete results directory ({error})") from None
    return StoredRun(path, scenario, summary, tables)
