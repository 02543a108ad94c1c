"""The sending side of the emulated network: link models and network faults applied at the sender, then an
HTTP POST of the message's frame to the receiver's server when the model says it arrives."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from netmodels import Degradation, Fifo, LinkModel, Partition, Streams, degrade
from netmodels.link import Channel

from ..runtime import Message, NetworkStats
from .auth import SignedClient
from .clock import RunClock
from .directory import AddressBook
from .roundtrips import RoundTrips
from .server import IDLE_TIMEOUT_S
from .wire import encode

POST_TIMEOUT_S = 30.0
"""Wall seconds a POST may take (a paused receiver holds it) before the message counts as lost."""
KEEPALIVE_S = IDLE_TIMEOUT_S / 2
"""Wall seconds a sender keeps an idle connection: less than a server does, so that the server never closes
one that the sender is about to use."""


@dataclass(slots=True)
class WireStats(NetworkStats):
    """The simulator's message counts, for one process of the emulator, plus the messages that servers
    `rejected` (malformed, too large, or failing the payload checks), the answers at a node's address that
    were not signed with the run's key (`unsigned`: another program listens there; the message is lost as
    if the node were down), and the connections its own servers `refused` at their connection limit."""

    rejected: int = 0
    unsigned: int = 0
    refused: int = 0


class WireNetwork:
    """Carries the messages of one process's nodes: each goes through the partitions in force when it is
    sent, its sender's egress, its link's seeded channel (the same draws and the same transmission queue as
    in the simulator) and the degradations, then waits at the sender until its arrival time and is POSTed
    to the receiver. On a link that keeps order, a message is POSTed only once the one before it on that
    link was answered. The time it waited on the egress and the link is added to its `queued`. Each POST
    answered is timed in `round_trips`, beside the delay the model gave the message.

    `on_lost(message, reason)` hears of every message lost on a link, to a partition, or to a receiver
    that is down (reason "link", "partition" or "down").
    """

    def __init__(
        self,
        *,
        seed: int,
        clock: RunClock,
        directory: AddressBook,
        key: bytes,
        link_for: Callable[[str, str], LinkModel],
        partitions: Iterable[Partition] = (),
        degradations: Iterable[Degradation] = (),
        on_lost: Callable[[Message, str], None] | None = None,
    ) -> None:
        self.seed = seed
        self.clock = clock
        self.directory = directory
        self.stats = WireStats()
        self.round_trips = RoundTrips()
        self.on_lost = on_lost
        self._link_for = link_for
        self._partitions = list(partitions)
        self._degradations = list(degradations)
        self._degradation_rng = Streams(seed, "network")("degradations")
        self._client = SignedClient(key, self._unsigned, timeout=POST_TIMEOUT_S, keepalive=KEEPALIVE_S)
        self._channels: dict[tuple[str, str], tuple[Channel, bool]] = {}
        self._tails: dict[tuple[str, str], asyncio.Task[None]] = {}
        self._in_flight: set[asyncio.Task[None]] = set()

    async def close(self) -> None:
        for task in list(self._in_flight):
            task.cancel()
        await asyncio.gather(*self._in_flight, return_exceptions=True)
        await self._client.close()

    def send(self, message: Message, egress: Fifo | None = None) -> None:
        """Send `message` (its `sent_at` is now) through the sender's `egress` (None: infinite); TypeError if
        the wire cannot carry its payload."""
        data = encode(message)
        stats = self.stats
        stats.sent += 1
        src, dst, now = message.src, message.dst, message.sent_at
        if any(partition.cuts(src, dst, now) for partition in self._partitions):
            stats.lost_partition += 1
            self._lost(message, "partition")
            return
        departure = now
        if egress is not None:
            departure = egress.serve(now, message.size)
            message.queued += egress.last_wait
        channel, ordered = self._channel(src, dst)
        times = channel.transmit(departure, message.size)
        if channel.fifo is not None:
            message.queued += channel.fifo.last_wait
        if message.queued:
            data = encode(message)
        if times and self._degradations:
            times = degrade(self._degradations, src, dst, now, times, self._degradation_rng)
        if not times:
            stats.lost_link += 1
            self._lost(message, "link")
            return
        stats.duplicated += len(times) - 1
        for arrival in times:
            previous = self._tails.get((src, dst)) if ordered else None
            task = asyncio.get_running_loop().create_task(self._deliver(message, data, arrival, previous))
            if ordered:
                self._tails[(src, dst)] = task
            self._in_flight.add(task)
            task.add_done_callback(self._in_flight.discard)

    def _channel(self, src: str, dst: str) -> tuple[Channel, bool]:
        entry = self._channels.get((src, dst))
        if entry is None:
            model = self._link_for(src, dst)
            entry = self._channels[(src, dst)] = (
                model.channel(Streams(self.seed, "link", src, dst)),
                model.ordered,
            )
        return entry

    async def _deliver(
        self, message: Message, data: bytes, arrival: float, previous: asyncio.Task[None] | None
    ) -> None:
        await asyncio.sleep(self.clock.wall_until(arrival))
        if previous is not None and not previous.done():
            await asyncio.wait([previous])
        posted = time.perf_counter()
        outcome = await self._post(message.dst, data)
        if outcome != "down":
            modelled = (arrival - message.sent_at) * self.clock.scale
            self.round_trips.add(message.src, message.dst, time.perf_counter() - posted, modelled)
        if outcome == "delivered":
            self.stats.delivered += 1
        elif outcome == "rejected":
            self.stats.rejected += 1
        else:
            self.stats.lost_down += 1
            self._lost(message, "down")

    async def _post(self, dst: str, data: bytes) -> str:
        """POST a frame to `dst`: "delivered", "rejected" (a 4xx answer), or "down" (no signed answer from
        `dst` at its address, nor at a new one that it published meanwhile)."""
        tried = None
        for _ in range(2):
            address = self.directory.address(dst)
            if address is None or address == tried:
                break
            tried = address
            answer = await self._client.post(*address, "/message", data)
            if answer is None:
                continue
            if answer == 200:
                return "delivered"
            if answer != 404:  # 404: another node of the run listens there now
                return "rejected"
        return "down"

    def _unsigned(self) -> None:
        self.stats.unsigned += 1

    def _lost(self, message: Message, reason: str) -> None:
        if self.on_lost is not None:
            self.on_lost(message, reason)
