"""An emulated run's processes placed on the nodes of a Ray cluster, which need share no file system and no
clock with the coordinator.

One agent actor per Ray node that the run uses starts the run's processes on its machine (with the same
start method as the coordinator's own), sends them the signals of the faults (SIGKILL, SIGSTOP, SIGCONT) and
tells the coordinator when one exits. Each Ray node has the run's work directory of its own, where its
processes keep their nodes' disks: `checkpoint_dir`/RUN/NODE when the user names one (kept), else
TMP/gorila-emulation/RUN/NODE in the node's temp directory (removed when the run ends); NODE begins the Ray
node's id, and a restarted process runs on the Ray node of the one it replaces, where its disks are. A
process talks to the coordinator over a TCP connection that both ends authenticate with the run's key
(multiprocessing's challenge, an HMAC: the key never travels), carrying the protocol of `process.py`
(addresses, clock readings and trace chunks included), and its servers bind the IP of its Ray node.
"""

from __future__ import annotations

import asyncio
import contextlib
import multiprocessing
import os
import shutil
import signal
import socket
import struct
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import replace
from multiprocessing.connection import Client, Connection, answer_challenge, deliver_challenge
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..ray_local import RayUnreachable, init_ray
from . import tempdir
from .ports import listen

if TYPE_CHECKING:
    from .process import RunSpec

PLACEMENTS = ("spread", "pack")
"""spread: the run's processes dealt in turn to every alive Ray node; pack: all on one node."""
HANDSHAKE_TIMEOUT_S = 5.0
"""Wall seconds a connection to the coordinator's listener may take to authenticate and say which process
it is; one that sends nothing meanwhile is closed."""
MAX_HANDSHAKES = 64
"""Connections the listener authenticates at once; more are closed as soon as they are accepted."""
NODE_ID_CHARS = 12
"""Characters of a Ray node's id that name its directory in the run's."""
POLL_S = 0.05
"""Wall seconds between two looks of an agent at a process that it waits for."""


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


def remote_worker_main(address: tuple[str, int], number: int, spec: RunSpec) -> None:
    """A process of the run on a Ray node: dial the coordinator, say which process it is, then serve."""
    from .process import worker_main

    conn = Client(address, authkey=spec.key)
    conn.send(("hello", number))
    worker_main(conn, spec)


class NodeAgent:
    """The Ray actor on one Ray node that starts the run's processes there, signals them, and waits for
    them to exit."""

    def __init__(self, start_method: str, run_id: str, node: str, checkpoint_dir: str | None) -> None:
        self._context = multiprocessing.get_context(start_method)
        if start_method == "forkserver":
            self._context.set_forkserver_preload([__name__])
            tempdir.claim()  # the fork server's socket goes there
        self._processes: dict[int, multiprocessing.process.BaseProcess] = {}
        self._keep = checkpoint_dir is not None
        base = Path(tempfile.gettempdir()) / "gorila-emulation" if checkpoint_dir is None else checkpoint_dir
        self.workdir = Path(base) / run_id / node[:NODE_ID_CHARS]
        self.workdir.mkdir(parents=True)

    def where(self) -> tuple[str, str]:
        """This node's IP address, and the run's work directory on it."""
        import ray

        return ray.util.get_node_ip_address(), str(self.workdir)

    def start(self, address: tuple[str, int], number: int, spec: RunSpec) -> int:
        process = self._context.Process(
            target=remote_worker_main,
            args=(address, number, replace(spec, workdir=self.workdir)),
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

    async def join(self, pid: int, timeout: float | None = None) -> int | None:
        """The process's exit code, once it has exited or after `timeout` seconds (None: still running)."""
        process = self._processes[pid]
        deadline = None if timeout is None else time.monotonic() + timeout
        while process.exitcode is None and (deadline is None or time.monotonic() < deadline):
            await asyncio.sleep(POLL_S)
        return process.exitcode

    def close(self) -> None:
        """Remove the run's work directory of this node, unless the user named where it goes."""
        if not self._keep:
            shutil.rmtree(self.workdir, ignore_errors=True)
            with contextlib.suppress(OSError):  # another Ray node of this machine may still use it
                self.workdir.parent.rmdir()


class RemoteProcess:
    """The coordinator's handle on a process that an agent started: the calls of multiprocessing's."""

    def __init__(self, ray: Any, agent: Any, pid: int, node: str, workdir: str) -> None:
        self._ray = ray
        self._agent = agent
        self.pid = pid
        self.node = node
        """The Ray node id of the machine the process runs on."""
        self.workdir = workdir
        """Its nodes' disks are there, on that machine."""
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

    async def exited(self) -> int:
        """Its exit code, when it exits (the agent tells)."""
        self.exitcode = await self._agent.join.remote(self.pid)
        assert self.exitcode is not None
        return self.exitcode


class DialBack:
    """The coordinator's listener for its remote processes: each connection must pass the key's challenge
    both ways and say which process it is within HANDSHAKE_TIMEOUT_S, each in a thread of its own, so that
    one that stalls holds up no other; `on_connect(number, conn)` hears of each that does (from a thread)."""

    def __init__(
        self, sock: socket.socket, key: bytes, on_connect: Callable[[int, Connection], None]
    ) -> None:
        self._socket = sock
        self.address: tuple[str, int] = sock.getsockname()[:2]
        self._key = key
        self._on_connect = on_connect
        self._slots = threading.BoundedSemaphore(MAX_HANDSHAKES)
        self._closed = False
        self._accepting = threading.Thread(target=self._accept, daemon=True)
        self._accepting.start()

    def _accept(self) -> None:
        while not self._closed:
            try:
                sock, _ = self._socket.accept()
            except OSError:
                return
            if self._closed or not self._slots.acquire(blocking=False):
                sock.close()
                continue
            threading.Thread(target=self._handshake, args=(sock,), daemon=True).start()

    def _handshake(self, sock: socket.socket) -> None:
        try:
            _set_timeouts(sock, HANDSHAKE_TIMEOUT_S)
            conn = Connection(sock.detach())
            try:
                deliver_challenge(conn, self._key)
                answer_challenge(conn, self._key)
                hello, number = conn.recv()
                if hello != "hello" or not isinstance(number, int):
                    raise ValueError(f"not a process of the run: {hello!r}")
                with socket.socket(fileno=conn.fileno()) as view:
                    _set_timeouts(view, 0.0)
                    view.detach()
            except Exception:  # no key, a stall, a hang-up: not a process of the run
                conn.close()
                return
            if self._closed:
                conn.close()
                return
            self._on_connect(number, conn)
        finally:
            self._slots.release()

    def close(self) -> None:
        self._closed = True
        with contextlib.suppress(OSError):
            self._socket.shutdown(socket.SHUT_RDWR)  # wakes the accepting thread
        self._socket.close()
        self._accepting.join(timeout=5.0)


def _set_timeouts(sock: socket.socket, seconds: float) -> None:
    """Reads and writes on `sock`'s descriptor (os.read included) fail after `seconds`; 0: never."""
    whole = int(seconds)
    value = struct.pack("ll", whole, int((seconds - whole) * 1e6))
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVTIMEO, value)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDTIMEO, value)


class RayPlacement:
    """Where the processes of a run go on a Ray cluster, and the listener they dial back to."""

    def __init__(
        self,
        ray: Any,
        placement: str,
        start_method: str,
        key: bytes,
        run_id: str,
        checkpoint_dir: str | None = None,
    ) -> None:
        if placement not in PLACEMENTS:
            raise ValueError(f"placement must be one of {', '.join(PLACEMENTS)}, got {placement!r}")
        from ray.util.scheduling_strategies import NodeAffinitySchedulingStrategy

        self._ray = ray
        self._key = key
        self._listener: DialBack | None = None
        nodes = sorted(node["NodeID"] for node in ray.nodes() if node["Alive"])
        if not nodes:
            raise RayUnavailable("the Ray cluster has no alive node")
        self.nodes = nodes if placement == "spread" else nodes[:1]
        agent = ray.remote(num_cpus=0)(NodeAgent)
        self._agents = [
            agent.options(scheduling_strategy=NodeAffinitySchedulingStrategy(node, soft=False)).remote(
                start_method, run_id, node, checkpoint_dir
            )
            for node in self.nodes
        ]
        try:
            where = ray.get([a.where.remote() for a in self._agents])
        except Exception as error:  # an agent could not make its work directory
            self.close()
            raise RayUnavailable(f"checkpoint_dir: {str(error).strip().splitlines()[-1]}") from None
        self.ips = [ip for ip, _ in where]
        self.workdirs = [workdir for _, workdir in where]

    def listen(self, on_connect: Callable[[int, Connection], None], ports: range | None = None) -> None:
        """Hand each process's authenticated connection to `on_connect(number, conn)` (from a thread); listen
        on the first free port of `ports` (None: any)."""
        sock = listen(self._ray.util.get_node_ip_address(), ports)
        self._listener = DialBack(sock, self._key, on_connect)

    def slot_for(self, group: int) -> int:
        """The Ray node (its index) that the processes of node group `group` run on, every time."""
        return group % len(self._agents)

    def start(self, number: int, spec: RunSpec, slot: int) -> RemoteProcess:
        """Start process `number` of the run on Ray node `slot`."""
        assert self._listener is not None
        agent = self._agents[slot]
        spec = replace(spec, bind=self.ips[slot])
        pid = self._ray.get(agent.start.remote(self._listener.address, number, spec))
        return RemoteProcess(self._ray, agent, pid, self.nodes[slot], self.workdirs[slot])

    def close(self) -> None:
        if self._listener is not None:
            self._listener.close()
        with contextlib.suppress(Exception):  # an agent that is gone has nothing to remove
            self._ray.get([agent.close.remote() for agent in self._agents], timeout=30)
        for agent in self._agents:
            self._ray.kill(agent)
