"""A node's disk: a dict that survives the node's process, kept in one file of the run's work directory."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import pickle
from collections.abc import Iterator, MutableMapping
from pathlib import Path
from typing import Any

RETRY_S = 1.0
"""Wall seconds between a failed write and the next try, when nothing changes meanwhile."""

log = logging.getLogger(__name__)


class Disk(MutableMapping[str, Any]):
    """A dict written through to `path` (pickled) on every change, and read back from it when made.

    Each write goes to a temporary file, is flushed to the device (fsync), then replaces `path`, and the
    directory is flushed too: a process killed mid-write, or a machine that loses power after it, leaves the
    previous contents or the new ones whole. A write that fails (a full disk, no file descriptor left) is
    logged in one line and counted in `failed_writes`; the file keeps the previous contents, and the write is
    tried again at the next change, or after RETRY_S when an event loop runs. The file is the node's own,
    written by the emulator's processes only.
    """

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)
        self.failed_writes = 0
        self._data: dict[str, Any] = {}
        self._retry: asyncio.TimerHandle | None = None
        if self.path.exists():
            self._data = pickle.loads(self.path.read_bytes())

    def __getitem__(self, key: str) -> Any:
        return self._data[key]

    def __setitem__(self, key: str, value: Any) -> None:
        self._data[key] = value
        self._save()

    def __delitem__(self, key: str) -> None:
        del self._data[key]
        self._save()

    def __iter__(self) -> Iterator[str]:
        return iter(self._data)

    def __len__(self) -> int:
        return len(self._data)

    def _save(self) -> None:
        if self._retry is not None:
            self._retry.cancel()
            self._retry = None
        try:
            self._write()
        except OSError as error:
            self.failed_writes += 1
            log.warning("%s: write failed, the previous contents stay (%s)", self.path, error)
            with contextlib.suppress(RuntimeError):  # without an event loop, the next change tries again
                self._retry = asyncio.get_running_loop().call_later(RETRY_S, self._save)

    def _write(self) -> None:
        partial = self.path.with_name(self.path.name + ".partial")
        with partial.open("wb") as file:
            file.write(pickle.dumps(self._data, protocol=pickle.HIGHEST_PROTOCOL))
            file.flush()
            os.fsync(file.fileno())
        os.replace(partial, self.path)
        directory = os.open(self.path.parent, os.O_RDONLY)
        try:
            os.fsync(directory)
        finally:
            os.close(directory)
