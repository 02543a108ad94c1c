"""Directories that a run marks as its own while it works in them, and their removal once the process that
made them is gone: a SIGKILLed run cannot clean up after itself, so the next run does.

A run writes an owner file into such a directory (its pid, when that process started, and the machine's
name). `remove_left_behind` removes, of the directories it is given, only those of this user whose owner
file names a process of this machine that is gone; a directory without an owner file (another program's),
or marked on another machine (a shared file system), or whose owner still runs, is left alone.
"""

from __future__ import annotations

import os
import shutil
import socket
from collections.abc import Iterable
from pathlib import Path

OWNER = "gorila-run-owner"
"""The file that marks a directory as a run's: `PID START HOST` of the process that made it. (Earlier
versions wrote `gorila-owner`, without HOST: such directories are left to those versions.)"""


def mark(directory: Path) -> None:
    """Mark `directory` as this process's."""
    (directory / OWNER).write_text(f"{os.getpid()} {_started(os.getpid())} {socket.gethostname()}")


def unmark(directory: Path) -> None:
    (directory / OWNER).unlink(missing_ok=True)


def remove_left_behind(candidates: Iterable[Path]) -> None:
    """Remove the directories among `candidates` that a run left behind (see the module's docstring)."""
    for directory in candidates:
        if _left_behind(directory):
            shutil.rmtree(directory, ignore_errors=True)


def _left_behind(directory: Path) -> bool:
    try:
        if directory.is_symlink() or directory.stat().st_uid != os.getuid():
            return False
        pid, started, host = (directory / OWNER).read_text().split(" ", 2)
        return host == socket.gethostname() and _started(int(pid)) != started
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
