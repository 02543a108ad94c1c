"""Where each node listens: one small file per node in a directory that every process of the run knows."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any


class PortDirectory:
    """Nodes' addresses (host, port, and the pid of the process serving each), as `<node>.json` files.

    A sender caches what it read; it reads again (`refresh`) when a node does not answer, since a restarted
    node listens on a new port.
    """

    def __init__(self, root: str | os.PathLike[str]) -> None:
        self.root = Path(root)
        self.root.mkdir(parents=True, exist_ok=True)
        self._addresses: dict[str, tuple[str, int]] = {}

    @classmethod
    def of_run(cls, workdir: str | os.PathLike[str]) -> PortDirectory:
        """The directory of the run whose work directory is `workdir`: `workdir`/ports."""
        return cls(Path(workdir) / "ports")

    def publish(self, node: str, host: str, port: int) -> None:
        partial = self.root / f".{node}.json.partial"
        partial.write_text(json.dumps({"host": host, "port": port, "pid": os.getpid()}))
        os.replace(partial, self.root / f"{node}.json")
        self._addresses[node] = (host, port)

    def address(self, node: str, refresh: bool = False) -> tuple[str, int] | None:
        """Where `node` listens, or None if it has not published an address."""
        if refresh or node not in self._addresses:
            entry = self.entry(node)
            if entry is None:
                return None
            self._addresses[node] = (entry["host"], entry["port"])
        return self._addresses[node]

    def entry(self, node: str) -> dict[str, Any] | None:
        """What `node` published (host, port, pid); None if nothing yet."""
        try:
            return json.loads((self.root / f"{node}.json").read_text())
        except FileNotFoundError:
            return None
