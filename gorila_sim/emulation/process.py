"""One process of an emulated Gorila run: it gets ready (imports, builds the problem), waits to be assigned
nodes, runs them from the run's start until told to finish, and appends its trace to a file meanwhile.

It talks to the coordinator over a pipe, in small tuples:

    coordinator -> process   ("assign", nodes, actor_steps, fault_factors, start or None), ("go", start),
                             ("finish",)
    process -> coordinator   ("warm",), ("ready",), ("progress", env_steps, actor_steps), ("stop",),
                             ("error", where, traceback), ("done",)

A process dies with its coordinator: on the pipe's end, and (on Linux) by the parent-death signal.
"""

from __future__ import annotations

import asyncio
import ctypes
import itertools
import os
import signal
import sys
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
from .clock import RunClock
from .cluster import cluster_host, make_cluster, node_model
from .host import Host
from .traces import TraceWriter

_PR_SET_PDEATHSIG = 1

FLUSH_S = 0.01
"""Wall seconds between two flushes of a process's trace: what a crash may lose of it."""
PROGRESS_EVERY = 10
"""Flushes between two reports of the process's env steps to the coordinator."""


@dataclass(frozen=True)
class RunSpec:
    """What every process of a run knows: the cluster, the network faults, the key and where things are."""

    config: GorilaConfig
    partitions: tuple[Partition, ...]
    degradations: tuple[Degradation, ...]
    key: bytes
    workdir: Path
    time_scale: float = 1.0
    bind: str = "127.0.0.1"


def worker_main(conn: Connection, spec: RunSpec, trace_path: Path) -> None:
    """The entry point of a run's process (the target of multiprocessing)."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the coordinator's to handle
    _die_with_parent()
    try:
        asyncio.run(_RunProcess(conn, spec, trace_path).serve())
    except Exception as error:
        conn.send(("error", "a process of the run", "".join(traceback.format_exception(error))))
        raise SystemExit(1) from None


def _die_with_parent() -> None:
    if sys.platform.startswith("linux"):
        ctypes.CDLL(None).prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)


class _RunProcess:
    """This process's side of the pipe protocol (see the module's docstring), and its nodes' Host."""

    def __init__(self, conn: Connection, spec: RunSpec, trace_path: Path) -> None:
        self.conn = conn
        self.spec = spec
        self.trace_path = trace_path
        self.inbox: asyncio.Queue[tuple[Any, ...]] = asyncio.Queue()
        self.stop_sent = False

    async def serve(self) -> None:
        asyncio.get_running_loop().add_reader(self.conn.fileno(), self._read)
        config = self.spec.config
        problem = make_problem(config)
        self.conn.send(("warm",))
        _, nodes, actor_steps, factors, start = await self.inbox.get()
        cluster = make_cluster(config, problem, self._stop)
        cluster.actor_steps.update(actor_steps)
        clock = RunClock(self.spec.time_scale)
        writer = TraceWriter(self.trace_path, cluster.trace)
        host = cluster_host(
            cluster,
            clock=clock,
            key=self.spec.key,
            workdir=self.spec.workdir,
            partitions=self.spec.partitions,
            degradations=self.spec.degradations,
            bind=self.spec.bind,
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
            clock.started(start)
            await asyncio.sleep(clock.wall_until(0.0))
            host.start()
            flushing = asyncio.get_running_loop().create_task(self._flush_every(writer, cluster, host, clock))
            await self.inbox.get()  # finish
            flushing.cancel()
            await host.stop()
            _sample_interfaces(cluster, host, clock.now())
            writer.flush(cluster.env_steps, host.network.stats.as_dict(), host.failed_writes)
            writer.close()
        self.conn.send(("done",))

    async def _flush_every(self, writer: TraceWriter, cluster: Cluster, host: Host, clock: RunClock) -> None:
        sampled = 0.0
        for flushes in itertools.count(1):
            await asyncio.sleep(FLUSH_S)
            if clock.now() >= sampled + INTERFACE_SAMPLE_S:
                sampled = clock.now()
                _sample_interfaces(cluster, host, sampled)
            writer.flush(cluster.env_steps, host.network.stats.as_dict(), host.failed_writes)
            if flushes % PROGRESS_EVERY == 0:
                self.conn.send(("progress", cluster.env_steps, dict(cluster.actor_steps)))

    def _read(self) -> None:
        try:
            self.inbox.put_nowait(self.conn.recv())
        except (EOFError, OSError):
            os._exit(1)  # the coordinator is gone: so is this process

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
