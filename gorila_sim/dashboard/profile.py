"""Where a run's wall time goes: the run under cProfile, each function's own time put in a category.

A function's own time (cProfile's tottime, which excludes the functions it calls) goes to the category
of the package its file belongs to, as CATEGORIES lists them; anything else is node logic. A built-in
function (no file) goes by the package its name mentions (torch's and numpy's built-ins do), or else to
the categories of the functions that called it, in proportion to the time each call took. cProfile adds
its own cost to every Python call, so times are inflated, code that makes many small calls most of all:
the shares are the point, not the seconds.
"""

from __future__ import annotations

import cProfile
import json
import pstats
import re
import time
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Any

from rich.table import Table

CATEGORIES: dict[str, tuple[str, ...]] = {
    "environment stepping": ("gymnasium", "ale_py", "mujoco"),
    "network forward/backward (torch)": ("torch",),
    "kernel and messages": ("gorila_sim.runtime", "netmodels", "asyncio", "heapq", "_heapq"),
    "trace and results writing": ("gorila_sim.trace", "gorila_sim.results", "pyarrow"),
    "dashboard": ("gorila_sim.dashboard", "rich"),
    "numerics (numpy)": ("numpy",),
    "loading modules": ("importlib", "_imp", "zipimport"),
}
"""Each category and the packages (dotted names) whose functions' own time goes to it."""

NODE_LOGIC = "node logic"
"""Where everything else goes: the nodes, the rules, the learning problem, the rest of Python."""

NOTE = (
    "own time (tottime) per function under cProfile, by package; cProfile's own overhead inflates every "
    "Python call, so compare shares rather than seconds"
)

_PATTERNS = [
    (category, re.compile(rf"(?<![\w-]){re.escape(package)}(?![\w-])"))
    for category, packages in CATEGORIES.items()
    for package in packages
]

Function = tuple[str, int, str]
"""cProfile's key of a function: (file, line, name); file is "~" for a built-in."""


def category_of(function: Function) -> str | None:
    """The category a function's file (or a built-in's name) names; None for a built-in that names none."""
    file, _, name = function
    where = name if file == "~" else file.replace("\\", "/").removesuffix(".py").replace("/", ".")
    for category, pattern in _PATTERNS:
        if pattern.search(where):
            return category
    return None if file == "~" else NODE_LOGIC


@dataclass
class Breakdown:
    """The wall time of a profiled run, by category."""

    wall_s: float
    seconds: dict[str, float]
    """Own time per category, largest first."""
    top: list[tuple[str, str, float]]
    """The functions with most own time: (function, category, seconds)."""

    def table(self) -> Table:
        """The breakdown as a rich table."""
        total = sum(self.seconds.values()) or 1.0
        table = Table(
            title=f"where the wall time went ({self.wall_s:.1f} s under cProfile)",
            caption="cProfile slows each call: read shares, not seconds",
        )
        table.add_column("category")
        table.add_column("seconds", justify="right")
        table.add_column("share", justify="right")
        for category, seconds in self.seconds.items():
            table.add_row(category, f"{seconds:.2f}", f"{seconds / total:.1%}")
        return table

    def as_dict(self) -> dict[str, Any]:
        total = sum(self.seconds.values())
        return {
            "wall_s": self.wall_s,
            "profiled_s": total,
            "categories": {
                category: {"seconds": seconds, "share": seconds / total if total else 0.0}
                for category, seconds in self.seconds.items()
            },
            "top_functions": [
                {"function": function, "category": category, "seconds": seconds}
                for function, category, seconds in self.top
            ],
            "method": NOTE,
        }

    def write(self, directory: str | Path) -> Path:
        """Write `profile.json` in `directory` and return its path."""
        path = Path(directory) / "profile.json"
        path.write_text(json.dumps(self.as_dict(), indent=2) + "\n")
        return path


class Profiler:
    """Profiles the code run inside `with Profiler() as profiler:`; then `profiler.breakdown()`."""

    def __init__(self) -> None:
        self._profile = cProfile.Profile()
        self._started = 0.0
        self._wall = 0.0

    def __enter__(self) -> Profiler:
        self._started = time.perf_counter()
        self._profile.enable()
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        self._profile.disable()
        self._wall = time.perf_counter() - self._started

    def breakdown(self, top: int = 15) -> Breakdown:
        return breakdown(pstats.Stats(self._profile).stats, self._wall, top)


def breakdown(stats: dict[Function, Any], wall_s: float, top: int = 15) -> Breakdown:
    """Sort pstats' `stats` ({function: (calls, primitive calls, own time, total time, callers)}) into
    categories; callers map to (calls, primitive calls, own time, total time) of the calls they made."""
    seconds = dict.fromkeys([*CATEGORIES, NODE_LOGIC], 0.0)
    own: list[tuple[str, str, float]] = []
    for function, (_, _, tottime, _, callers) in stats.items():
        category = category_of(function)
        if category is not None:
            seconds[category] += tottime
        else:
            spread = sum(call[2] for call in callers.values())
            for caller, call in callers.items():
                share = tottime * call[2] / spread if spread > 0 else tottime / len(callers)
                seconds[category_of(caller) or NODE_LOGIC] += share
            if not callers:
                seconds[NODE_LOGIC] += tottime
        own.append((pstats.func_std_string(function), category or "by caller", tottime))
    own.sort(key=lambda row: -row[2])
    ordered = dict(sorted(seconds.items(), key=lambda item: -item[1]))
    return Breakdown(wall_s, ordered, own[:top])
