"""A node's disk: a dict that survives the node's process, kept in one file of the run's work directory."""

from __future__ import annotations

import os
import pickle
from collections.abc import Iterator, MutableMapping
from pathlib import Path
from typing import Any


class Disk(MutableMapping[str, Any]):
    """A dict written through to `path` (pickled) on every change, and read back from it when made.

    Each write goes to a temporary file that then replaces `path`, so a process killed mid-write leaves the
    previous contents whole. The file is the node's own, written by the emulator's processes only.
    """

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)
        self._data: dict[str, Any] = {}
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
        partial = self.path.with_name(self.path.name + ".partial")
        partial.write_bytes(pickle.dumps(self._data, protocol=pickle.HIGHEST_PROTOCOL))
        os.replace(partial, self.path)
