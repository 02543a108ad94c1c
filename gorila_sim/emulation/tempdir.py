"""multiprocessing's temp directory (`pymp-*`, where the fork server's socket lives), marked as a run's so
that a later run can remove it when the run that made it was killed before it could.

multiprocessing removes its directory when the process that made it exits normally; a SIGKILLed coordinator
leaves it. Each coordinator writes an owner file into it (its pid and when that process started), and at its
own start removes every `pymp-*` directory of the same user whose owner file names a process that is gone.
Directories without an owner file belong to other programs and are left alone.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from multiprocessing import util
from pathlib import Path

OWNER = "gorila-owner"
"""The file that marks a multiprocessing temp directory as a run's: `PID START` of the process that made
it."""


def claim() -> Path:
    """Remove the temp directories that killed runs left, then mark this process's own (making it if need be)
    as a run's; returns it."""
    for stale in Path(tempfile.gettempdir()).glob("pymp-*"):
        if _left_behind(stale):
            shutil.rmtree(stale, ignore_errors=True)
    own = Path(util.get_temp_dir())
    (own / OWNER).write_text(f"{os.getpid()} {_started(os.getpid())}")
    return own


def _left_behind(directory: Path) -> bool:
    """Whether `directory` is this user's, marked by a run, and that run's process is gone."""
    try:
        if directory.is_symlink() or directory.stat().st_uid != os.getuid():
            return False
        pid, _, started = (directory / OWNER).read_text().partition(" ")
        return _started(int(pid)) != started
    except (OSError, ValueError):
        return False


def _started(pid: int) -> str | None:
    """When process `pid` started, as the kernel says (clock ticks since boot; '' where there is no /proc);
    None if there is no such process, or only its zombie."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        if Path("/proc/self/stat").exists():
            return None
        try:
            os.kill(pid, 0)  # no /proc: the pid alone says whether it is there
        except ProcessLookupError:
            return None
        except PermissionError:
            pass
        return ""
    except OSError:
        return None
    fields = stat.rpartition(")")[2].split()
    return None if fields[0] == "Z" else fields[19]
