"""The simulated runtime: nodes, mailboxes and an in-process network on the virtual-time loop."""

from __future__ import annotations

import copy
import gc
import itertools
import math
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, fields
from heapq import heappush
from typing import Any

import numpy as np

from netmodels import Degradation, Fifo, LinkModel, NodeModel, Partition, Streams, degrade
from netmodels.link import Channel, FixedDelay

from .api import Message, NodeMain
from .loop import Process, VirtualTimeLoop, Wakeup


@dataclass(slots=True)
class NetworkStats:
    """Message counts since the start of the run."""

    sent: int = 0
    delivered: int = 0
    duplicated: int = 0
    lost_link: int = 0
    lost_partition: int = 0
    lost_down: int = 0
    late_replies: int = 0

    def as_dict(self) -> dict[str, int]:
        return {f.name: getattr(self, f.name) for f in fields(self)}


@dataclass(frozen=True, slots=True)
class LifecycleEvent:
    """A node changing state: `state` is one of up, crashed, paused, resumed."""

    time: float
    node: str
    state: str


class Network:
    """Carries messages between nodes through their links' models; cut or undeliverable ones are lost."""

    def __init__(
        self,
        sim: Simulation,
        link_for: Callable[[str, str], LinkModel],
        partitions: Iterable[Partition],
        on_lost: Callable[[Message, str], None] | None,
        on_delivered: Callable[[Message], None] | None = None,
        every_link: LinkModel | None = None,
    ) -> None:
        """`every_link`, when given, is the model `link_for` gives every link: if it draws nothing, all
        links share one sampler."""
        self._sim = sim
        self._loop = sim.loop
        self._link_for = link_for
        self._channels: dict[tuple[str, str], Channel | FixedDelay] = {}
        self._shared: FixedDelay | None = None
        if every_link is not None:
            channel = every_link.channel(Streams(sim.seed, "link"))
            if isinstance(channel, FixedDelay):
                self._shared = channel
        self.partitions: list[Partition] = list(partitions)
        self.degradations: list[Degradation] = []
        self._degradation_rng = Streams(sim.seed, "network")("degradations")
        self.stats = NetworkStats()
        self.on_lost = on_lost
        self.on_delivered = on_delivered

    def channel(self, src: str, dst: str) -> Channel | FixedDelay:
        if self._shared is not None:
            return self._shared
        key = (src, dst)
        channel = self._channels.get(key)
        if channel is None:
            channel = self._link_for(src, dst).channel(Streams(self._sim.seed, "link", src, dst))
            self._channels[key] = channel
        return channel

    def send(self, message: Message, egress: Fifo | None = None) -> None:
        """Carry `message`, sent now through the sender's `egress` (None: infinite), to its receiver."""
        stats = self.stats
        stats.sent += 1
        src, dst = message.src, message.dst
        loop = self._loop
        now = departure = loop.now
        if self.partitions:
            for partition in self.partitions:
                if partition.cuts(src, dst, now):
                    stats.lost_partition += 1
                    self.lost(message, "partition")
                    return
        if egress is not None:
            departure = egress.serve(now, message.size)
            message.queued += egress.last_wait
        channel = self._shared or self._channels.get((src, dst)) or self.channel(src, dst)
        times = channel.transmit(departure, message.size)
        if channel.fifo is not None:
            message.queued += channel.fifo.last_wait
        if times and self.degradations:
            times = degrade(self.degradations, src, dst, now, times, self._degradation_rng)
        if not times:
            stats.lost_link += 1
            self.lost(message, "link")
            return
        receiver = self._sim.nodes[dst]
        arrive = receiver.deliver if receiver.ingress is None else receiver.arrive
        heappush(loop._heap, (times[0], next(loop._seq), arrive, message))
        if len(times) > 1:
            stats.duplicated += len(times) - 1
            for when in times[1:]:
                loop.schedule(when, arrive, copy.copy(message))

    def lost(self, message: Message, reason: str) -> None:
        """Tell `on_lost` of a message lost to `reason`: link, partition or down (the receiver)."""
        if self.on_lost is not None:
            self.on_lost(message, reason)


class SimNode:
    """One simulated node: the runtime its code sees, and its lifecycle (up, crashed, paused)."""

    __slots__ = (
        "_behaviour",
        "_calls",
        "_cpu",
        "_crash_windows",
        "_down_since",
        "_fault_factor",
        "_loop",
        "_mailbox",
        "_main",
        "_network",
        "_pause_windows",
        "_paused_since",
        "_paused_total",
        "_paused_until",
        "_process",
        "_receivers",
        "_sim",
        "_streams",
        "cores",
        "disk",
        "egress",
        "ingress",
        "name",
        "paused",
        "up",
    )

    def __init__(self, sim: Simulation, name: str, main: NodeMain, model: NodeModel) -> None:
        self.name = name
        self._streams = Streams(sim.seed, "node", name)
        self.disk: dict[str, Any] = {}
        self.up = False
        self.paused = False
        self._sim = sim
        self._loop = sim.loop
        self._network = sim.network
        self._main = main
        self._behaviour = model.behaviour(self._streams)
        self.cores = model.cores
        self._cpu: Processor | None = None  # made on the first computation of each incarnation
        self.egress = None if model.egress in (None, math.inf) else Fifo(model.egress)
        self.ingress = None if model.ingress in (None, math.inf) else Fifo(model.ingress)
        self._process: Process | None = None
        self._mailbox: deque[Message] | None = None  # made on the first queued message
        self._receivers: list[Wakeup] = []
        self._calls: dict[int, Wakeup] = {}
        self._down_since = -math.inf
        self._fault_factor = 1.0
        self._paused_until = math.inf
        self._paused_since = 0.0
        self._paused_total = 0.0
        self._crash_windows = self._behaviour.crash_windows()
        self._pause_windows = self._behaviour.pause_windows()

    # -- the runtime API ----------------------------------------------------------------------------
    @property
    def rng(self) -> np.random.Generator:
        return self._streams("code")

    def now(self) -> float:
        return self._loop.now

    def sleep(self, delay: float) -> Wakeup:
        if not delay >= 0:
            raise ValueError(f"sleep: delay must be >= 0, got {delay!r}")
        loop = self._loop
        wakeup = Wakeup()
        heappush(loop._heap, (loop.now + delay, next(loop._seq), Wakeup.fire, wakeup))
        return wakeup

    def compute(self, cost: float) -> Wakeup:
        if not cost >= 0:
            raise ValueError(f"compute: cost must be >= 0, got {cost!r}")
        wakeup = Wakeup()
        cpu = self._cpu
        if cpu is None:
            cpu = self._cpu = Processor(self, self.cores)
        if cpu.busy < cpu.cores:
            cpu.busy += 1
            cpu.start(wakeup, cost)
        else:
            cpu.wait(wakeup, cost)
        return wakeup

    def send(self, dst: str, payload: Any, size: int = 0) -> None:
        if dst not in self._sim.nodes:
            raise ValueError(f"send: no node named {dst!r}")
        if self.up:
            self._network.send(Message(self.name, dst, payload, size, 0, None, self._loop.now), self.egress)

    def receive(self, timeout: float | None = None) -> Wakeup:
        wakeup = Wakeup()
        if self._mailbox:
            wakeup.fired = True
            wakeup.value = self._mailbox.popleft()
            return wakeup
        self._receivers.append(wakeup)
        if timeout is not None:
            self._loop.timeout(timeout, wakeup, _time_out, wakeup)
        return wakeup

    def call(self, dst: str, payload: Any, size: int = 0, timeout: float | None = None) -> Wakeup:
        if dst not in self._sim.nodes:
            raise ValueError(f"call: no node named {dst!r}")
        call_id = next(self._sim.message_ids)
        wakeup = Wakeup()
        self._calls[call_id] = wakeup
        if self.up:
            self._network.send(
                Message(self.name, dst, payload, size, call_id, None, self._loop.now), self.egress
            )
        if timeout is not None:
            self._loop.timeout(timeout, wakeup, self._call_expired, call_id)
        return wakeup

    def reply(self, request: Message, payload: Any, size: int = 0) -> None:
        if self.up:
            self._network.send(
                Message(self.name, request.src, payload, size, 0, request.id, self._loop.now), self.egress
            )

    # -- the kernel's side --------------------------------------------------------------------------
    def arrive(self, message: Message) -> None:
        """A message's last byte came off the link: it takes its turn on the ingress, then is delivered."""
        ingress = self.ingress
        done = ingress.serve(self._loop.now, message.size)
        message.queued += ingress.last_wait
        self._loop.schedule(done, self.deliver, message)

    def deliver(self, message: Message) -> None:
        network = self._network
        stats = network.stats
        if not self.up:
            stats.lost_down += 1
            network.lost(message, "down")
            return
        stats.delivered += 1
        if network.on_delivered is not None:
            network.on_delivered(message)
        if message.reply_to is not None:
            wakeup = self._calls.pop(message.reply_to, None)
            if wakeup is None:
                stats.late_replies += 1
            else:
                wakeup.fire(message.payload)
            return
        receivers = self._receivers
        while receivers:
            wakeup = receivers.pop(0)
            if not wakeup.fired:
                wakeup.fire(message)
                return
        if self._mailbox is None:
            self._mailbox = deque()
        self._mailbox.append(message)

    def _paused_total_at(self, t: float) -> float:
        if self.paused:
            return self._paused_total + (min(t, self._paused_until) - self._paused_since)
        return self._paused_total

    def _call_expired(self, call_id: int) -> None:
        wakeup = self._calls.pop(call_id, None)
        if wakeup is not None:
            wakeup.fail(TimeoutError(f"call {call_id} from {self.name!r} timed out"))

    def start(self) -> None:
        self.up = True
        self._sim.record(self.name, "up")
        self._process = Process(self._loop, self._main(self), self.name, self._on_exit)
        self._schedule_next(self._crash_windows, self._crash_window)
        self._schedule_next(self._pause_windows, self._pause_window)

    def crash(self, _: Any = None) -> None:
        """Stop at once; the running code, its mailbox and pending calls are lost, `disk` stays."""
        if not self.up:
            return
        if self.paused:
            self._end_pause()
        self.up = False
        self._down_since = self._loop.now
        if self._process is not None:
            self._process.kill()
            self._process = None
        self._mailbox = None
        self._receivers.clear()
        self._calls.clear()
        if self._cpu is not None:
            self._cpu.alive = False
            self._cpu = None
        self._sim.record(self.name, "crashed")

    def restart(self, down_since: float | None = None) -> None:
        """Start the node's code afresh (if it is down, and still down from `down_since` when given)."""
        if self.up or (down_since is not None and down_since != self._down_since):
            return
        self.up = True
        self._sim.record(self.name, "up")
        self._process = Process(self._loop, self._main(self), self.name, self._on_exit)

    def slow_down(self, factor: float) -> None:
        """Multiply the time every computation started from now on takes by `factor`."""
        self._fault_factor *= factor

    def pause(self, until: float) -> None:
        """Stop running until `until`; state and incoming messages are kept."""
        if not self.up or self.paused:
            return
        self.paused = True
        self._paused_since = self._loop.now
        self._paused_until = until
        if self._process is not None:
            self._process.hold()
        self._sim.record(self.name, "paused")
        if math.isfinite(until):
            self._loop.schedule(until, self._resume, until)

    def _resume(self, until: float) -> None:
        if self.paused and self._paused_until == until:
            self._end_pause()
            if self._process is not None:
                self._process.release()

    def _end_pause(self) -> None:
        self._paused_total = self._paused_total_at(self._loop.now)
        self.paused = False
        self._paused_until = math.inf
        self._sim.record(self.name, "resumed")

    def _schedule_next(self, windows: Iterator[tuple[float, float]], handler: Any) -> None:
        window = next(windows, None)
        if window is not None:
            self._loop.schedule(window[0], handler, window[1])

    def _crash_window(self, end: float) -> None:
        self.crash()
        if math.isfinite(end):
            self._loop.schedule(end, self._restart_window, self._down_since)

    def _restart_window(self, down_since: float) -> None:
        self.restart(down_since)
        self._schedule_next(self._crash_windows, self._crash_window)

    def _pause_window(self, end: float) -> None:
        self.pause(end)
        self._loop.schedule(end, self._next_pause_window, None)

    def _next_pause_window(self, _: Any) -> None:
        self._schedule_next(self._pause_windows, self._pause_window)

    def _on_exit(self, process: Process) -> None:
        if process is self._process:
            self._process = None
        if process.error is not None:
            error = process.error
            error.add_note(f"in node {self.name!r} at simulated time {self._loop.now:.6f}")
            self._loop.fail(error)


class Processor:
    """One incarnation of a node's processors: `cores` computations run at once, later ones wait their
    turn in FIFO order. A crash ends the incarnation and everything running or waiting on it."""

    __slots__ = ("alive", "busy", "cores", "node", "waiting")

    def __init__(self, node: SimNode, cores: int) -> None:
        self.node = node
        self.cores = cores
        self.busy = 0
        self.waiting: deque[tuple[Wakeup, float]] | None = None  # made when a computation first waits
        self.alive = True

    def start(self, wakeup: Wakeup, cost: float) -> None:
        """Run `cost` on a core taken for it; `wakeup` fires when done."""
        node = self.node
        now = node._loop.now
        wakeup.value = node._paused_total_at(now)
        duration = node._behaviour.compute_time(cost, now) * node._fault_factor
        node._loop.schedule(now + duration, self.due, wakeup)

    def wait(self, wakeup: Wakeup, cost: float) -> None:
        if self.waiting is None:
            self.waiting = deque()
        self.waiting.append((wakeup, cost))

    def due(self, wakeup: Wakeup) -> None:
        if not self.alive:
            return
        node = self.node
        now = node._loop.now
        stolen = node._paused_total_at(now) - wakeup.value
        if stolen > 0:
            # Pauses stole `stolen` seconds of this computation: finish that much after the node runs again.
            start = node._paused_until if node.paused else now
            if math.isfinite(start):
                wakeup.value = node._paused_total_at(start)
                node._loop.schedule(start + stolen, self.due, wakeup)
            return
        # The core goes to the next waiting computation before this one's code runs on, so FIFO holds.
        waiting = self.waiting
        while waiting:
            queued, cost = waiting.popleft()
            if not queued.fired:  # a waiting computation whose awaiter was cancelled gives up its turn
                self.start(queued, cost)
                break
        else:
            self.busy -= 1
        wakeup.value = None
        wakeup.fire()


_DEFAULT_NODE = NodeModel()

YOUNG_COLLECTION_EVERY = 100_000
"""Allocations between two collections of the cyclic garbage collector's youngest generation in a run."""


def _time_out(wakeup: Wakeup) -> None:
    wakeup.fail(TimeoutError("receive timed out"))


class Simulation:
    """Many nodes on one virtual-time loop, linked by a modelled network; a pure function of its seed."""

    def __init__(
        self,
        seed: int = 0,
        default_link: LinkModel | None = None,
        links: Mapping[tuple[str, str], LinkModel] | None = None,
        partitions: Iterable[Partition] = (),
        link_for: Callable[[str, str], LinkModel] | None = None,
        on_lost: Callable[[Message, str], None] | None = None,
        on_state: Callable[[LifecycleEvent], None] | None = None,
        on_delivered: Callable[[Message], None] | None = None,
    ) -> None:
        """`links` names the model of some directed links, `default_link` (ideal unless given) serves the
        rest; or `link_for(src, dst)` gives every link's model. `on_lost(message, reason)` hears of every
        message lost on a link, to a partition or to a down receiver; `on_state(event)` of every node state
        change as it happens; `on_delivered(message)` of every message delivered to a node that is up, when
        it is delivered."""
        self.seed = seed
        self.loop = VirtualTimeLoop()
        self.nodes: dict[str, SimNode] = {}
        every_link = None
        if link_for is None:
            named, default = dict(links or {}), default_link or LinkModel()
            every_link = None if named else default

            def link_for(src: str, dst: str) -> LinkModel:
                return named.get((src, dst), default)

        self.network = Network(self, link_for, partitions, on_lost, on_delivered, every_link)
        self.on_state = on_state
        self.lifecycle: list[LifecycleEvent] = []
        self.message_ids = itertools.count(1)

    @property
    def now(self) -> float:
        return self.loop.now

    def add_node(self, name: str, main: NodeMain, model: NodeModel | None = None) -> SimNode:
        """Add a node running `main`; it starts at the current time."""
        if name in self.nodes:
            raise ValueError(f"add_node: a node named {name!r} exists already")
        node = SimNode(self, name, main, model or _DEFAULT_NODE)
        self.nodes[name] = node
        node.start()
        return node

    def crash(self, name: str, at: float, restart_at: float = math.inf) -> None:
        """Crash node `name` at time `at`, and restart it at `restart_at` if that is finite."""
        node = self._node(name)
        self.loop.schedule(at, node.crash, None)
        if math.isfinite(restart_at):
            if restart_at < at:
                raise ValueError(f"crash: restart_at ({restart_at}) is before at ({at})")
            self.loop.schedule(restart_at, node.restart, None)

    def pause(self, name: str, at: float, until: float) -> None:
        """Pause node `name` from `at` to `until`."""
        if until < at:
            raise ValueError(f"pause: until ({until}) is before at ({at})")
        self.loop.schedule(at, self._node(name).pause, until)

    def partition(self, partition: Partition) -> None:
        """Cut links as `partition` says, from now on."""
        self.network.partitions.append(partition)

    def degrade(self, degradation: Degradation) -> None:
        """Slow down or lose messages on links as `degradation` says, from now on."""
        self.network.degradations.append(degradation)

    def slow(self, name: str, at: float, until: float, factor: float) -> None:
        """Node `name` computes `factor` times slower from `at` to `until` (a slowdown fault)."""
        if not factor > 0:
            raise ValueError(f"slow: factor must be > 0, got {factor!r}")
        if until < at:
            raise ValueError(f"slow: until ({until}) is before at ({at})")
        node = self._node(name)
        self.loop.schedule(at, node.slow_down, factor)
        if math.isfinite(until):
            self.loop.schedule(until, node.slow_down, 1.0 / factor)

    def run(self, until: float = math.inf) -> None:
        """Run until simulated time `until`, or until nothing is left to happen.

        While it runs, the cyclic garbage collector works less: what exists when the run starts (the
        nodes, their state) is set aside from its scans, so that collections cost what the run allocates,
        not what the simulation holds (unless the process has frozen objects of its own); and its
        youngest generation is collected every `YOUNG_COLLECTION_EVERY` allocations instead of Python's
        700, since the run's messages, wake-ups and records are freed by reference counting or live on."""
        collecting = gc.isenabled()
        freeze = collecting and gc.get_freeze_count() == 0
        threshold = gc.get_threshold()
        if collecting and 0 < threshold[0] < YOUNG_COLLECTION_EVERY:
            gc.set_threshold(YOUNG_COLLECTION_EVERY, *threshold[1:])
        if freeze:
            gc.freeze()
        try:
            self.loop.run_until(until)
        finally:
            if freeze:
                gc.unfreeze()
            gc.set_threshold(*threshold)

    def record(self, node: str, state: str) -> None:
        event = LifecycleEvent(self.loop.now, node, state)
        self.lifecycle.append(event)
        if self.on_state is not None:
            self.on_state(event)

    def _node(self, name: str) -> SimNode:
        node = self.nodes.get(name)
        if node is None:
            raise ValueError(f"no node named {name!r}")
        return node
