"""Temp directories of a run, marked as its own (see leftovers.py) so that a later run removes them when the
run that made them was killed before it could: multiprocessing's (`pymp-*`, where the fork server's socket
lives; multiprocessing removes it only when its process exits normally), and the run's work directory when
there is no `--out` (`gorila-emulation-*`).
"""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from multiprocessing import util
from pathlib import Path

from .. import leftovers

PREFIX = "gorila-emulation-"


def claim() -> Path:
    """Remove the multiprocessing temp directories that killed runs left, then mark this process's own
    (making it if need be) as a run's; returns it."""
    leftovers.remove_left_behind(Path(tempfile.gettempdir()).glob("pymp-*"))
    own = Path(util.get_temp_dir())
    leftovers.mark(own)
    return own


@contextmanager
def work_directory() -> Iterator[Path]:
    """A temp directory for a run's work files, marked as this process's, removed at the end; the ones that
    killed runs left are removed first."""
    leftovers.remove_left_behind(Path(tempfile.gettempdir()).glob(f"{PREFIX}*"))
    with tempfile.TemporaryDirectory(prefix=PREFIX) as workdir:
        leftovers.mark(Path(workdir))
        yield Path(workdir)
