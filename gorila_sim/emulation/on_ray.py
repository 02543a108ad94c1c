"""An emulated run's processes placed on the nodes of a Ray cluster.

One agent actor per Ray node that the run uses starts the run's processes on its machine (with the same
start method as the coordinator's own), and sends them the signals of the faults (SIGKILL, SIGSTOP,
SIGCONT). A process talks to the coordinator over a TCP connection that both ends authenticate with the
run's key (multiprocessing's challenge, an HMAC: the key never travels), carrying the pipe protocol of
`process.py` unchanged, and its servers bind the IP of its Ray node.
"""

from __future__ import annotations

import multiprocessing
import os
import signal
import socket
import threading
from collections.abc import Callable
from dataclasses import replace
from multiprocessing.connection import Client, Connection, Listener
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..ray_local import RayUnreachable, init_ray
from . import tempdir

if TYPE_CHECKING:
    from .process import RunSpec

PLACEMENTS = ("spread", "pack")
"""spread: the run's processes dealt in turn to every alive Ray node; pack: all on one node."""


class RayUnavailable(RuntimeError):
    """The Ray cluster at the given address cannot be reached or has no node to run on."""


def connect(address: str) -> Any:
    """The `ray` module, joined to the cluster at `address` as its driver (HOST:PORT, "auto" or "local", as
    `ray_local.init_ray` takes them)."""
    try:
        return init_ray(address)
    except RayUnreachable as error:
        raise RayUnavailable(str(error)) from None
    except Exception as error:  # Ray raises ConnectionError, ValueError or RuntimeError for the same cause
        raise RayUnavailable(f"no Ray cluster at {address!r}: {str(error).splitlines()[0]}") from None


def remote_worker_main(address: tuple[str, int], number: int, spec: RunSpec, trace_path: Path) -> None:
    """A process of the run on a Ray node: dial the coordinator, say which process it is, then serve."""
    from .process import worker_main

    conn = Client(address, authkey=spec.key)
    conn.send(("hello", number))
    worker_main(conn, spec, trace_path)


class NodeAgent:
    """The Ray actor on one Ray node that starts the run's processes there and signals them."""

    def __init__(self, start_method: str) -> None:
        self._context = multiprocessing.get_context(start_method)
        if start_method == "forkserver":
            self._context.set_forkserver_preload([__name__])
            tempdir.claim()  # the fork server's socket goes there
        self._processes: dict[int, multiprocessing.process.BaseProcess] = {}

    def ip(self) -> str:
        import ray

        return ray.util.get_node_ip_address()

    def start(self, address: tuple[str, int], number: int, spec: RunSpec, trace_path: str) -> int:
        process = self._context.Process(
            target=remote_worker_main,
            args=(address, number, spec, Path(trace_path)),
            name=f"gorila-emulation-{number}",
            daemon=True,
        )
        process.start()
        assert process.pid is not None
        self._processes[process.pid] = process
        return process.pid

    def signal(self, pid: int, number: int) -> None:
        if pid in self._processes and self._processes[pid].exitcode is None:
            os.kill(pid, number)

    def join(self, pid: int, timeout: float) -> int | None:
        process = self._processes[pid]
        process.join(timeout)
        return process.exitcode


class RemoteProcess:
    """The coordinator's handle on a process that an agent started: the calls of multiprocessing's."""

    def __init__(self, ray: Any, agent: Any, pid: int, node: str) -> None:
        self._ray = ray
        self._agent = agent
        self.pid = pid
        self.node = node
        """The Ray node id of the machine the process runs on."""
        self.exitcode: int | None = None

    def send_signal(self, number: int) -> None:
        self._ray.get(self._agent.signal.remote(self.pid, number))

    def kill(self) -> None:
        self.send_signal(signal.SIGKILL)

    def join(self, timeout: float | None = None) -> None:
        self.exitcode = self._ray.get(self._agent.join.remote(self.pid, timeout or 0.0))

    def is_alive(self) -> bool:
        self.join(0.0)
        return self.exitcode is None


class RayPlacement:
    """Where the processes of a run go on a Ray cluster, and the connections they dial back on."""

    def __init__(self, ray: Any, placement: str, start_method: str, key: bytes) -> None:
        if placement not in PLACEMENTS:
            raise ValueError(f"placement must be one of {', '.join(PLACEMENTS)}, got {placement!r}")
        from ray.util.scheduling_strategies import NodeAffinitySchedulingStrategy

        self._ray = ray
        nodes = sorted(node["NodeID"] for node in ray.nodes() if node["Alive"])
        if not nodes:
            raise RayUnavailable("the Ray cluster has no alive node")
        self.nodes = nodes if placement == "spread" else nodes[:1]
        agent = ray.remote(num_cpus=0)(NodeAgent)
        self._agents = [
            agent.options(scheduling_strategy=NodeAffinitySchedulingStrategy(node, soft=False)).remote(
                start_method
            )
            for node in self.nodes
        ]
        self.ips = ray.get([a.ip.remote() for a in self._agents])
        self._listener = Listener((ray.util.get_node_ip_address(), 0), authkey=key)
        self._accepting = threading.Thread(target=self._accept, daemon=True)
        self._on_connect: Callable[[int, Connection], None] | None = None
        self._closed = False

    def listen(self, on_connect: Callable[[int, Connection], None]) -> None:
        """Hand each process's authenticated connection to `on_connect(number, conn)` (from a thread)."""
        self._on_connect = on_connect
        self._accepting.start()

    def _accept(self) -> None:
        while not self._closed:
            try:
                conn = self._listener.accept()
                _, number = conn.recv()
            except Exception:  # a dialer without the key, or one that hung up: not a process of the run
                continue
            if self._closed:
                conn.close()
                return
            assert self._on_connect is not None
            self._on_connect(number, conn)

    def start(self, number: int, spec: RunSpec, trace_path: Path) -> RemoteProcess:
        """Start process `number` of the run on the Ray node whose turn it is."""
        slot = number % len(self._agents)
        agent = self._agents[slot]
        spec = replace(spec, bind=self.ips[slot])
        pid = self._ray.get(agent.start.remote(self._listener.address, number, spec, str(trace_path)))
        return RemoteProcess(self._ray, agent, pid, self.nodes[slot])

    def close(self) -> None:
        self._closed = True
        if self._accepting.is_alive():
            with socket.create_connection(self._listener.address):  # wakes the accepting thread
                pass
            self._accepting.join(timeout=5.0)
        self._listener.close()
        for agent in self._agents:
            self._ray.kill(agent)
