"""What Gorila's nodes say to each other; sizes in bytes drive the links' bandwidth delays."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..dqn import Batch

HEADER_BYTES = 32


@dataclass(frozen=True, slots=True)
class Pull:
    """Ask a shard for its slice of θ; `clock` is the learner's gradient count (-1 for actors)."""

    clock: int = -1


@dataclass(frozen=True, slots=True)
class Params:
    """A shard's slice of θ at `version`."""

    version: int
    values: np.ndarray


@dataclass(frozen=True, slots=True)
class Push:
    """A learner's gradient slice, computed from the shard's θ at `version`."""

    version: int
    gradient: np.ndarray
    learner: str
    clock: int


@dataclass(frozen=True, slots=True)
class Transitions:
    """Transitions from an actor for a replay memory."""

    batch: Batch


@dataclass(frozen=True, slots=True)
class Sample:
    """Ask a replay memory for a uniform sample; the reply is a Batch, or None while it holds too few."""

    batch_size: int


def batch_bytes(batch: Batch) -> int:
    return HEADER_BYTES + sum(
        a.nbytes for a in (batch.obs, batch.actions, batch.rewards, batch.next_obs, batch.terminated)
    )
