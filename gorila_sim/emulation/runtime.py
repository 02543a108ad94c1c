"""The emulated runtime: the Runtime API that node code sees, in real time on asyncio."""

from __future__ import annotations

import asyncio
import itertools
import math
import secrets
import time
from collections.abc import Callable, Collection, Coroutine, MutableMapping
from functools import partial
from typing import Any

import numpy as np

from netmodels import Fifo, NodeModel, Streams

from ..runtime import Message
from .clock import RunClock
from .network import WireNetwork

QUANTUM_S = 0.001
"""Wall seconds: modelled computations shorter than this add up until they are worth a sleep (the event
loop cannot sleep much less than a millisecond), so that a node's total is right on average."""


class EmulatedRuntime:
    """One node's runtime in real time: the same API as a simulated node's (`gorila_sim.runtime.Runtime`).

    Time is the run's clock (`now()` is run seconds since the shared start; a time scale stretches every
    duration below into that many more wall seconds). `compute(cost)` sleeps the node model's compute time
    for `cost` (stragglers, slowdown episodes, a slowdown fault's factor), on top of whatever real
    computation the node did, on one of the model's `cores`: later computations wait for a free core in
    FIFO order, and the time is drawn when one starts, as in the simulator. Messages go out through the
    node's egress (a FIFO at the model's `egress` rate) and the process's WireNetwork; the node's server
    hands incoming ones to `deliver`, which passes them through the node's ingress (a FIFO at the model's
    `ingress` rate, in the order they came) before `on_delivered` hears of them and the node sees them.
    `disk` is the node's Disk, which outlives its process. With `cpu_credit` (for a node alone in its
    process), the CPU time the process used since the node's last computation ended (the node's own work,
    its messages' handling) counts towards the next computation's modelled time, as if the simulator's
    cost had been spent then: a computation sleeps only the rest.
    """

    def __init__(
        self,
        name: str,
        *,
        seed: int,
        clock: RunClock,
        network: WireNetwork,
        disk: MutableMapping[str, Any],
        nodes: Collection[str],
        model: NodeModel | None = None,
        fault_factor: float = 1.0,
        on_delivered: Callable[[Message], None] | None = None,
        cpu_credit: bool = False,
    ) -> None:
        self.name = name
        self.disk = disk
        self.fault_factor = fault_factor
        """Multiplies every compute time: the product of the slowdown faults in force."""
        self.on_delivered = on_delivered
        model = model or NodeModel()
        self.egress = None if model.egress in (None, math.inf) else Fifo(model.egress)
        self.ingress = None if model.ingress in (None, math.inf) else Fifo(model.ingress)
        self._streams = Streams(seed, "node", name)
        self._behaviour = model.behaviour(self._streams)
        self._clock = clock
        self._network = network
        self._nodes = nodes
        self._mailbox: asyncio.Queue[Message] = asyncio.Queue()
        self._calls: dict[int, asyncio.Future[Any]] = {}
        # Call ids start at a random place, so a reply meant for an earlier life of this node never matches.
        self._ids = itertools.count(secrets.randbits(62))
        self._free_cores: asyncio.Queue[int] = asyncio.Queue()
        for core in range(model.cores):
            self._free_cores.put_nowait(core)
        self._owed = [0.0] * model.cores  # per core: run time slept short (> 0) or long (< 0) so far
        self._cpu_credit = cpu_credit
        self._cpu_mark = time.process_time()

    # -- the runtime API ----------------------------------------------------------------------------
    @property
    def rng(self) -> np.random.Generator:
        return self._streams("code")

    def now(self) -> float:
        return self._clock.now()

    def sleep(self, delay: float) -> Coroutine[Any, Any, None]:
        if not delay >= 0:
            raise ValueError(f"sleep: delay must be >= 0, got {delay!r}")
        return asyncio.sleep(self._clock.wall(delay))

    def compute(self, cost: float) -> Coroutine[Any, Any, None]:
        if not cost >= 0:
            raise ValueError(f"compute: cost must be >= 0, got {cost!r}")
        return self._compute(cost)

    def send(self, dst: str, payload: Any, size: int = 0) -> None:
        self._check_node(dst, "send")
        self._network.send(Message(self.name, dst, payload, size, 0, None, self.now()), self.egress)

    def receive(self, timeout: float | None = None) -> Coroutine[Any, Any, Message]:
        if timeout is None:
            return self._mailbox.get()
        return asyncio.wait_for(self._mailbox.get(), self._clock.wall(timeout))

    def call(
        self, dst: str, payload: Any, size: int = 0, timeout: float | None = None
    ) -> asyncio.Future[Any]:
        """Send the request now; the future gives the reply's payload, or TimeoutError after `timeout`."""
        self._check_node(dst, "call")
        loop = asyncio.get_running_loop()
        call_id = next(self._ids)
        reply = loop.create_future()
        self._calls[call_id] = reply
        reply.add_done_callback(partial(self._call_done, call_id))
        self._network.send(Message(self.name, dst, payload, size, call_id, None, self.now()), self.egress)
        if timeout is not None:
            error = TimeoutError(f"call {call_id} from {self.name!r} to {dst!r} timed out")
            loop.call_later(self._clock.wall(timeout), _expire, reply, error)
        return reply

    def reply(self, request: Message, payload: Any, size: int = 0) -> None:
        reply = Message(self.name, request.src, payload, size, 0, request.id, self.now())
        self._network.send(reply, self.egress)

    # -- the emulator's side ------------------------------------------------------------------------
    def deliver(self, message: Message) -> None:
        """A message that reached this node's server: it takes its turn on the ingress, then is handed on."""
        ingress = self.ingress
        if ingress is None:
            self._hand_over(message)
            return
        done = ingress.serve(self.now(), message.size)
        message.queued += ingress.last_wait
        asyncio.get_running_loop().call_later(self._clock.wall_until(done), self._hand_over, message)

    def _hand_over(self, message: Message) -> None:
        """A reply for a pending call, or a message for the mailbox."""
        if self.on_delivered is not None:
            self.on_delivered(message)
        if message.reply_to is None:
            self._mailbox.put_nowait(message)
            return
        reply = self._calls.pop(message.reply_to, None)
        if reply is None or reply.done():
            self._network.stats.late_replies += 1
        else:
            reply.set_result(message.payload)

    def slow_down(self, factor: float) -> None:
        """Multiply the time of every computation started from now on by `factor`."""
        self.fault_factor *= factor

    async def _compute(self, cost: float) -> None:
        core = await self._free_cores.get()
        try:
            duration = self._clock.wall(self._behaviour.compute_time(cost, self.now()) * self.fault_factor)
            if self._cpu_credit:
                duration = max(0.0, duration - (time.process_time() - self._cpu_mark))
            await self._spend(core, duration)
        finally:
            if self._cpu_credit:
                self._cpu_mark = time.process_time()
            self._free_cores.put_nowait(core)

    async def _spend(self, core: int, seconds: float) -> None:
        owed = self._owed[core] + seconds
        if owed < QUANTUM_S:
            self._owed[core] = owed
            await asyncio.sleep(0)
            return
        started = time.monotonic()
        await asyncio.sleep(owed)
        # A late wake-up is credited to the core's next computations, up to a quantum.
        self._owed[core] = max(owed - (time.monotonic() - started), -QUANTUM_S)

    def _call_done(self, call_id: int, reply: asyncio.Future[Any]) -> None:
        self._calls.pop(call_id, None)
        if not reply.cancelled():
            reply.exception()  # retrieved here: a timed-out call nobody awaits any more is not an error

    def _check_node(self, dst: str, what: str) -> None:
        if dst not in self._nodes:
            raise ValueError(f"{what}: no node named {dst!r}")


def _expire(reply: asyncio.Future[Any], error: TimeoutError) -> None:
    if not reply.done():
        reply.set_exception(error)
