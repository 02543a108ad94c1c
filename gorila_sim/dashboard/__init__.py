"""The live terminal dashboard of a run, its replay from a results directory, and the profiler.

    watch_scenario(scenario, console)   run a scenario with the dashboard (`gorila-sim run --dashboard`)
    replay(path, console, speed)        play a finished run's dashboard back (`gorila-sim replay`)
    Profiler, Breakdown                 where the wall time went, by category (`--profile`)
    Tracker, Snapshot, render           the pieces: trace records -> snapshot -> rich renderable

See docs/dashboard.md.
"""

from runcommon.display import Display, View

from .live import watch_scenario
from .profile import Breakdown, Profiler
from .replay import replay
from .snapshot import RunInfo, Snapshot, Tracker
from .timeline import Timeline, timeline
from .view import GORILA, line, render

__all__ = [
    "GORILA",
    "Breakdown",
    "Display",
    "Profiler",
    "RunInfo",
    "Snapshot",
    "Timeline",
    "Tracker",
    "View",
    "line",
    "render",
    "replay",
    "timeline",
    "watch_scenario",
]
