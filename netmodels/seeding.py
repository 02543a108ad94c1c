"""Random generators derived from a run's seed and an entity's name, so entities never share draws."""

from __future__ import annotations

import hashlib
from numbers import Integral

import numpy as np

from .checks import show
from .errors import ModelError


def _stable_hash(name: str) -> int:
    # Python's hash() of a str is salted per process; a run must reproduce across processes.
    return int.from_bytes(hashlib.blake2b(name.encode(), digest_size=8).digest(), "little")


def generator(seed: int, *path: str) -> np.random.Generator:
    """The generator for the entity named by `path`, e.g. `generator(7, "link", "actor-3", "server")`.

    It depends only on `seed` and `path`: adding, removing or using other entities never changes it.
    """
    if not isinstance(seed, Integral) or isinstance(seed, bool) or seed < 0:
        raise ModelError("seed", f"must be an integer >= 0, got {show(seed)}")
    for i, name in enumerate(path):
        if not isinstance(name, str):
            raise ModelError(f"path[{i}]", f"must be a string, got {show(name)}")
    key = tuple(_stable_hash(name) for name in path)
    return np.random.default_rng(np.random.SeedSequence(int(seed), spawn_key=key))


def split(rng: np.random.Generator, *names: str) -> tuple[np.random.Generator, ...]:
    """Independent child generators, one per name, seeded by one draw from `rng`.

    A child depends on its name, not on its position or on the other names, so a stream that a model
    doesn't use can be added or dropped without changing the others.
    """
    entropy = rng.integers(0, 2**63, size=2).tolist()
    return tuple(
        np.random.default_rng(np.random.SeedSequence(entropy, spawn_key=(_stable_hash(name),)))
        for name in names
    )
