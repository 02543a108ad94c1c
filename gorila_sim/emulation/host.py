"""The nodes one process runs: a runtime, a server and a task each, sending on one WireNetwork."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Collection, Iterable
from pathlib import Path
from typing import Any

from netmodels import Degradation, LinkModel, NodeModel, Partition

from ..runtime import Message, NodeMain
from .clock import RunClock
from .directory import AddressBook
from .disk import Disk
from .network import WireNetwork
from .runtime import EmulatedRuntime
from .server import Check, NodeServer, node_routes

DEFAULT_MAX_BODY = 16 * 2**20
"""Bytes: the request size limit of a server when the run does not size it."""


class Host:
    """Nodes of a run in this process. Use as `async with Host(...) as host:`; `await host.add(...)` each
    node (its server starts and its address is published), then `host.start()` runs their code.

    `nodes` names every node of the run (the ones a node may send to); `disks` is the directory of their
    disks; `on_delivered(message)` hears of every message handed to one of its nodes (past the ingress);
    `on_error(node, error)` hears of a node whose code raised; `cpu_credit` is each node's runtime's
    (see EmulatedRuntime: for a process that runs one node).
    """

    def __init__(
        self,
        *,
        nodes: Collection[str],
        seed: int,
        clock: RunClock,
        directory: AddressBook,
        key: bytes,
        disks: str | Path,
        link_for: Callable[[str, str], LinkModel],
        partitions: Iterable[Partition] = (),
        degradations: Iterable[Degradation] = (),
        check: Check | None = None,
        max_body: int = DEFAULT_MAX_BODY,
        bind: str = "127.0.0.1",
        ports: range | None = None,
        on_lost: Callable[[Message, str], None] | None = None,
        on_delivered: Callable[[Message], None] | None = None,
        on_error: Callable[[str, BaseException], None] | None = None,
        cpu_credit: bool = False,
    ) -> None:
        self.nodes = frozenset(nodes)
        self.seed = seed
        self.clock = clock
        self.directory = directory
        self.network = WireNetwork(
            seed=seed,
            clock=clock,
            directory=directory,
            key=key,
            link_for=link_for,
            partitions=partitions,
            degradations=degradations,
            on_lost=on_lost,
        )
        self.runtimes: dict[str, EmulatedRuntime] = {}
        self._key = key
        self._disk_dir = Path(disks)
        self._disk_dir.mkdir(parents=True, exist_ok=True)
        self._check = check
        self._max_body = max_body
        self._bind = bind
        self._ports = ports
        self._on_error = on_error
        self._on_delivered = on_delivered
        self._cpu_credit = cpu_credit
        self._mains: dict[str, NodeMain] = {}
        self._servers: list[NodeServer] = []
        self._disks: list[Disk] = []
        self._tasks: dict[str, asyncio.Task[None]] = {}

    async def __aenter__(self) -> Host:
        return self

    async def __aexit__(self, *exc: Any) -> None:
        await self.close()

    async def add(
        self, name: str, main: NodeMain, model: NodeModel | None = None, fault_factor: float = 1.0
    ) -> int:
        """Make node `name`, serve it and publish its address; its port."""
        if name not in self.nodes or name in self.runtimes:
            raise ValueError(f"add: {name!r} is not a node of the run, or was added already")
        disk = Disk(self._disk_dir / f"{name}.pickle")
        self._disks.append(disk)
        runtime = EmulatedRuntime(
            name,
            seed=self.seed,
            clock=self.clock,
            network=self.network,
            disk=disk,
            nodes=self.nodes,
            model=model,
            fault_factor=fault_factor,
            on_delivered=self._on_delivered,
            cpu_credit=self._cpu_credit,
        )
        server = NodeServer(
            node_routes(runtime, nodes=self.nodes, check=self._check),
            key=self._key,
            max_body=self._max_body,
            host=self._bind,
            on_refused=self._refused,
            ports=self._ports,
        )
        self._servers.append(server)
        await server.start()
        port = server.port
        self.runtimes[name] = runtime
        self._mains[name] = main
        self.directory.publish(name, self._bind, port)
        return port

    @property
    def failed_writes(self) -> int:
        """Writes to the nodes' disks that failed (each tried again later; see Disk)."""
        return sum(disk.failed_writes for disk in self._disks)

    def start(self) -> None:
        """Run the code of every node added and not yet started."""
        loop = asyncio.get_running_loop()
        for name, main in self._mains.items():
            if name not in self._tasks:
                task = loop.create_task(main(self.runtimes[name]), name=name)
                task.add_done_callback(self._exited)
                self._tasks[name] = task

    async def stop(self) -> None:
        """Stop the nodes' code where it is."""
        for task in self._tasks.values():
            task.cancel()
        await asyncio.gather(*self._tasks.values(), return_exceptions=True)

    async def close(self) -> None:
        await self.stop()
        for server in self._servers:
            await server.close()
        await self.network.close()

    def _refused(self) -> None:
        self.network.stats.refused += 1

    def _exited(self, task: asyncio.Task[None]) -> None:
        if task.cancelled() or task.exception() is None:
            return
        if self._on_error is not None:
            self._on_error(task.get_name(), task.exception())
