"""One process of an emulated Gorila run: it gets ready (imports, builds the problem, sets its clock against
the coordinator's), waits to be assigned nodes, runs them from the run's start until told to finish, and
sends its trace to the coordinator meanwhile.

It talks to the coordinator over one connection (a pipe, or a TCP connection from another machine), in small
tuples:

    coordinator -> process   ("time", coordinator's clock), ("assign", nodes, actor_steps, fault_factors,
                             start or None, addresses), ("addresses", addresses), ("go", start), ("finish",)
    process -> coordinator   ("time?",), ("warm", clock offset, uncertainty), ("address", node, address),
                             ("ready",), ("trace", chunk), ("progress", env_steps, actor_steps), ("stop",),
                             ("error", where, traceback), ("failed", why: one line), ("done",)

Times the coordinator sends (its clock, the start) are readings of its machine's monotonic clock; the
process reads them on its own through the offset it measured. Addresses are the nodes' servers, as
AddressBook holds them: each process says where its nodes listen, the coordinator tells every other process.
A process dies with its coordinator: on the connection's end, and (on Linux) by the parent-death signal.
"""

from __future__ import annotations

import asyncio
import ctypes
import itertools
import os
import signal
import sys
import time
import traceback
from dataclasses import dataclass
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

from netmodels import Degradation, Partition

from ..config import GorilaConfig
from ..gorila import INTERFACE_SAMPLE_S, node_main, trace_interfaces
from ..nodes.cluster import Cluster
from ..problems import make_problem
from .clock import RunClock, clock_offset
from .cluster import cluster_host, make_cluster, node_model
from .directory import Address, AddressBook
from .host import Host
from .ports import PortsExhausted
from .traces import TraceChunks

_PR_SET_PDEATHSIG = 1

FLUSH_S = 0.01
"""Wall seconds between two chunks of a process's trace sent to the coordinator: what a crash may lose."""
PROGRESS_EVERY = 10
"""Chunks between two reports of the process's env steps to the coordinator."""
CLOCK_EXCHANGES = 8
"""Readings of the coordinator's clock a process takes to set its own (the quickest round trip counts)."""


@dataclass(frozen=True)
class RunSpec:
    """What every process of a run knows: the cluster, the network faults, the key, and its work directory
    (its nodes' disks; on a Ray node, a directory of that machine)."""

    config: GorilaConfig
    partitions: tuple[Partition, ...]
    degradations: tuple[Degradation, ...]
    key: bytes
    workdir: Path
    time_scale: float = 1.0
    bind: str = "127.0.0.1"
    ports: range | None = None
    """Where its servers listen: the first free ports of this range, or any (None)."""


def worker_main(conn: Connection, spec: RunSpec) -> None:
    """The entry point of a run's process (the target of multiprocessing)."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the coordinator's to handle
    _die_with_parent()
    try:
        asyncio.run(_RunProcess(conn, spec).serve())
    except PortsExhausted as error:
        conn.send(("failed", str(error)))
        raise SystemExit(1) from None
    except Exception as error:
        conn.send(("error", "a process of the run", "".join(traceback.format_exception(error))))
        raise SystemExit(1) from None


def _die_with_parent() -> None:
    if sys.platform.startswith("linux"):
        ctypes.CDLL(None).prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)


class _RunProcess:
    """This process's side of the protocol (see the module's docstring), and its nodes' Host."""

    def __init__(self, conn: Connection, spec: RunSpec) -> None:
        self.conn = conn
        self.spec = spec
        self.inbox: asyncio.Queue[tuple[Any, ...]] = asyncio.Queue()
        self.addresses = AddressBook(self._published)
        self.stop_sent = False
        self._time: asyncio.Future[float] | None = None

    async def serve(self) -> None:
        asyncio.get_running_loop().add_reader(self.conn.fileno(), self._read)
        config = self.spec.config
        problem = make_problem(config)
        offset, uncertainty = await self._measure_clock()
        self.conn.send(("warm", offset, uncertainty))
        _, nodes, actor_steps, factors, start, addresses = await self.inbox.get()
        self.addresses.update(addresses)
        cluster = make_cluster(config, problem, self._stop)
        cluster.actor_steps.update(actor_steps)
        clock = RunClock(self.spec.time_scale)
        chunks = TraceChunks(cluster.trace)
        host = cluster_host(
            cluster,
            clock=clock,
            key=self.spec.key,
            workdir=self.spec.workdir,
            directory=self.addresses,
            partitions=self.spec.partitions,
            degradations=self.spec.degradations,
            bind=self.spec.bind,
            ports=self.spec.ports,
            on_error=self._error,
            cpu_credit=len(nodes) == 1,
        )
        async with host:
            for node in nodes:
                await host.add(
                    node, node_main(node, cluster), node_model(config, node), factors.get(node, 1.0)
                )
            self.conn.send(("ready",))
            if start is None:
                _, start = await self.inbox.get()
            clock.started(start - offset)
            await asyncio.sleep(clock.wall_until(0.0))
            host.start()
            flushing = asyncio.get_running_loop().create_task(self._flush_every(chunks, cluster, host, clock))
            await self.inbox.get()  # finish
            flushing.cancel()
            await host.stop()
            _sample_interfaces(cluster, host, clock.now())
            self._send_chunk(chunks, cluster, host)
        self.conn.send(("done",))

    async def _measure_clock(self) -> tuple[float, float]:
        """The coordinator's clock's offset from this machine's, and its uncertainty (see clock_offset)."""
        exchanges = []
        for _ in range(CLOCK_EXCHANGES):
            self._time = asyncio.get_running_loop().create_future()
            sent = time.monotonic()
            self.conn.send(("time?",))
            theirs = await self._time
            exchanges.append((sent, theirs, time.monotonic()))
        return clock_offset(exchanges)

    async def _flush_every(self, chunks: TraceChunks, cluster: Cluster, host: Host, clock: RunClock) -> None:
        sampled = 0.0
        for flushes in itertools.count(1):
            await asyncio.sleep(FLUSH_S)
            if clock.now() >= sampled + INTERFACE_SAMPLE_S:
                sampled = clock.now()
                _sample_interfaces(cluster, host, sampled)
            self._send_chunk(chunks, cluster, host)
            if flushes % PROGRESS_EVERY == 0:
                self.conn.send(("progress", cluster.env_steps, dict(cluster.actor_steps)))

    def _send_chunk(self, chunks: TraceChunks, cluster: Cluster, host: Host) -> None:
        network = host.network
        chunk = chunks.next(
            cluster.env_steps, network.stats.as_dict(), host.failed_writes, network.round_trips.take()
        )
        self.conn.send(("trace", chunk))

    def _read(self) -> None:
        try:
            message = self.conn.recv()
        except (EOFError, OSError):
            os._exit(1)  # the coordinator is gone: so is this process
        if message[0] == "time":
            assert self._time is not None
            self._time.set_result(message[1])
        elif message[0] == "addresses":
            self.addresses.update(message[1])
        else:
            self.inbox.put_nowait(message)

    def _published(self, node: str, address: Address) -> None:
        self.conn.send(("address", node, address))

    def _stop(self) -> None:
        if not self.stop_sent:
            self.stop_sent = True
            self.conn.send(("stop",))

    def _error(self, node: str, error: BaseException) -> None:
        self.conn.send(("error", f"node {node}", "".join(traceback.format_exception(error))))


def _sample_interfaces(cluster: Cluster, host: Host, now: float) -> None:
    """Trace the busy time of this process's nodes' finite interfaces, as the simulator samples it."""
    for name, runtime in host.runtimes.items():
        if runtime.egress is not None or runtime.ingress is not None:
            trace_interfaces(cluster.trace, now, name, runtime.egress, runtime.ingress)
