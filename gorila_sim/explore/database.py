"""Failing seeds remembered between explorations, tried first next time (as Hypothesis keeps its examples).

One small JSON file maps a key (the scenario and the properties) to the seeds that failed them.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

DEFAULT = Path(".gorila-sim") / "explore-seeds.json"


def key(table: Mapping[str, Any], properties: Sequence[str]) -> str:
    """The key of an exploration: a digest of its scenario table and its properties' names."""
    text = json.dumps({"scenario": table, "properties": list(properties)}, sort_keys=True, default=repr)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


class SeedDatabase:
    """The failing seeds of each exploration, in a JSON file (a missing or unreadable file is empty)."""

    def __init__(self, path: str | Path = DEFAULT) -> None:
        self.path = Path(path)

    def _read(self) -> dict[str, list[int]]:
        try:
            data = json.loads(self.path.read_text())
        except (OSError, ValueError):
            return {}
        return data if isinstance(data, dict) else {}

    def seeds(self, exploration: str) -> list[int]:
        return [seed for seed in self._read().get(exploration, []) if isinstance(seed, int)]

    def save(self, exploration: str, seeds: Sequence[int]) -> None:
        """Remember `seeds` (and only those) for `exploration`."""
        data = self._read()
        if seeds:
            data[exploration] = list(dict.fromkeys(seeds))
        else:
            data.pop(exploration, None)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        temporary = self.path.with_suffix(".tmp")
        temporary.write_text(json.dumps(data, indent=1, sort_keys=True) + "\n")
        temporary.replace(self.path)
