"""An emulated run in this process: nodes in real time, each behind its own server, without process faults."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterable, Mapping
from pathlib import Path

from netmodels import Degradation, LinkModel, NodeModel, Partition

from ..runtime import NodeMain
from . import tempdir
from .auth import new_key
from .clock import RunClock
from .directory import AddressBook
from .host import Host
from .network import WireStats


class LocalEmulation:
    """Like `Simulation`, but in real time over loopback HTTP: `add_node` each node, then `run(until)`.

    Every node gets its own server on 127.0.0.1 and the run's messages go through their links' models at
    the sender, as in a multi-process emulation; there are no crashes or pauses (the coordinator makes those
    by signalling processes). `time_scale` stretches the run: `until` run seconds take that many times more
    wall seconds. Disks live in `workdir` (a temporary directory when None).
    """

    def __init__(
        self,
        seed: int = 0,
        default_link: LinkModel | None = None,
        links: Mapping[tuple[str, str], LinkModel] | None = None,
        partitions: Iterable[Partition] = (),
        degradations: Iterable[Degradation] = (),
        time_scale: float = 1.0,
        workdir: str | Path | None = None,
    ) -> None:
        self.seed = seed
        self.clock = RunClock(time_scale)
        self.stats = WireStats()
        self._default = default_link or LinkModel()
        self._links = dict(links or {})
        self._partitions = list(partitions)
        self._degradations = list(degradations)
        self._workdir = workdir
        self._nodes: dict[str, tuple[NodeMain, NodeModel | None]] = {}

    def add_node(self, name: str, main: NodeMain, model: NodeModel | None = None) -> None:
        if name in self._nodes:
            raise ValueError(f"add_node: a node named {name!r} exists already")
        self._nodes[name] = (main, model)

    def link_for(self, src: str, dst: str) -> LinkModel:
        return self._links.get((src, dst), self._default)

    def run(self, until: float) -> None:
        """Run for `until` run seconds; an exception raised by a node's code stops the run and is raised."""
        if not until >= 0:
            raise ValueError(f"run: until must be >= 0, got {until!r}")
        if self._workdir is not None:
            asyncio.run(self._run(until, Path(self._workdir)))
            return
        with tempdir.work_directory() as workdir:
            asyncio.run(self._run(until, workdir))

    async def _run(self, until: float, workdir: Path) -> None:
        failed: asyncio.Future[tuple[str, BaseException, float]] = asyncio.get_running_loop().create_future()

        def on_error(node: str, error: BaseException) -> None:
            if not failed.done():
                failed.set_result((node, error, self.clock.now()))

        host = Host(
            nodes=self._nodes,
            seed=self.seed,
            clock=self.clock,
            directory=AddressBook(),
            key=new_key(),
            disks=workdir / "disks",
            link_for=self.link_for,
            partitions=self._partitions,
            degradations=self._degradations,
            on_error=on_error,
        )
        async with host:
            for name, (main, model) in self._nodes.items():
                await host.add(name, main, model)
            self.clock.started(time.monotonic())
            host.start()
            await asyncio.wait([failed], timeout=self.clock.wall(until))
            self.stats = host.network.stats
        if failed.done():
            node, error, when = failed.result()
            error.add_note(f"in node {node!r} at run time {when:.6f}")
            raise error
