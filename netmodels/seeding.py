"""Random generators derived from a run's seed and an entity's name, so entities never share draws."""

from __future__ import annotations

import functools
import hashlib
from numbers import Integral

import numpy as np

from .checks import show
from .errors import ModelError


@functools.lru_cache(maxsize=1 << 16)
def _stable_hash(name: str) -> int:
    # Python's hash() of a str is salted per process; a run must reproduce across processes.
    return int.from_bytes(hashlib.blake2b(name.encode(), digest_size=8).digest(), "little")


def _check(seed: int, path: tuple[str, ...]) -> None:
    integer = type(seed) is int or (isinstance(seed, Integral) and not isinstance(seed, bool))
    if not integer or seed < 0:
        raise ModelError("seed", f"must be an integer >= 0, got {show(seed)}")
    for i, name in enumerate(path):
        if not isinstance(name, str):
            raise ModelError(f"path[{i}]", f"must be a string, got {show(name)}")


def generator(seed: int, *path: str) -> np.random.Generator:
    """The generator for the entity named by `path`, e.g. `generator(7, "link", "actor-3", "server")`.

    It depends only on `seed` and `path`: adding, removing or using other entities never changes it.
    """
    _check(seed, path)
    key = tuple(map(_stable_hash, path))
    return np.random.default_rng(np.random.SeedSequence(int(seed), spawn_key=key))


class Streams:
    """The named random streams of one entity, each made from the seed and the entity's path on first use.

    `Streams(7, "link", "a", "b")("latency")` is `generator(7, "link", "a", "b", "latency")`, so a stream
    depends on its own name only: a model that starts using one more stream changes no other stream.
    """

    __slots__ = ("_made", "path", "seed")

    def __init__(self, seed: int, *path: str) -> None:
        _check(seed, path)
        self.seed = seed
        self.path = path
        self._made: dict[str, np.random.Generator] = {}

    def __call__(self, name: str) -> np.random.Generator:
        """The stream `name`, the same object on every call."""
        rng = self._made.get(name)
        if rng is None:
            rng = self._made[name] = generator(self.seed, *self.path, name)
        return rng

    def fresh(self, name: str) -> np.random.Generator:
        """A new generator for stream `name`, replaying its draws from the start."""
        return generator(self.seed, *self.path, name)
