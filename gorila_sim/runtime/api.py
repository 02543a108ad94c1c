"""The one API that node code sees, whichever runtime runs it."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, MutableMapping
from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np


@dataclass(slots=True)
class Message:
    """A message between two nodes; `size` in bytes drives its transmission times.

    `queued` is the seconds it waited for its turn on finite capacity (the sender's egress, the link,
    the receiver's ingress), not counting its own transmission; 0 where every capacity is infinite.
    """

    src: str
    dst: str
    payload: Any
    size: int = 0
    id: int = 0
    reply_to: int | None = None
    sent_at: float = 0.0
    queued: float = 0.0


class Runtime(Protocol):
    """What a node's code may do: read the clock, wait, spend compute time, and exchange messages."""

    name: str
    rng: np.random.Generator
    disk: MutableMapping[str, Any]
    """Storage that survives a crash (checkpoints); everything else a node holds is lost."""

    def now(self) -> float:
        """Seconds since the start of the run."""
        ...

    def sleep(self, delay: float) -> Awaitable[None]:
        """Wait `delay` seconds."""
        ...

    def compute(self, cost: float) -> Awaitable[None]:
        """Spend `cost` seconds of work (as timed on a speed-1.0 node) on this node's processor."""
        ...

    def send(self, dst: str, payload: Any, size: int = 0) -> None:
        """Send a message; it may be delayed, reordered, duplicated or lost on the way."""
        ...

    def receive(self, timeout: float | None = None) -> Awaitable[Message]:
        """The next message for this node (not replies to `call`); TimeoutError after `timeout`."""
        ...

    def call(self, dst: str, payload: Any, size: int = 0, timeout: float | None = None) -> Awaitable[Any]:
        """Send a request and wait for its reply's payload; TimeoutError after `timeout` seconds."""
        ...

    def reply(self, request: Message, payload: Any, size: int = 0) -> None:
        """Answer a request received from `call`."""
        ...


NodeMain = Callable[[Runtime], Awaitable[None]]
"""A node's code: an async function of its runtime, started afresh at every (re)start."""
