"""A shard of a small surrogate cluster, served in the test's own process, for the server tests."""

from __future__ import annotations

import asyncio
import socket
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from gorila_sim.config import GorilaConfig
from gorila_sim.emulation.auth import AUTH_HEADER, Signer, new_key
from gorila_sim.emulation.clock import RunClock
from gorila_sim.emulation.cluster import cluster_host, make_cluster
from gorila_sim.emulation.host import Host
from gorila_sim.emulation.wire import encode
from gorila_sim.gorila import node_main
from gorila_sim.nodes.cluster import Cluster
from gorila_sim.nodes.messages import Params, Pull, Push
from gorila_sim.problems import make_problem
from gorila_sim.runtime import Message, Runtime

CONFIG = GorilaConfig(
    problem="surrogate",
    surrogate_size=2_000,
    shards=2,
    bundled=False,
    actors=1,
    learners=2,
    replay="global",
    checkpoint_every=10,
)


async def idle(rt: Runtime) -> None:
    await asyncio.Event().wait()


@dataclass
class ShardUnderTest:
    """shard-0 behind its server, and learner-0 (idle) whose runtime the test uses to pull."""

    host: Host
    cluster: Cluster
    url: str
    key: bytes
    port: int
    signer: Signer

    @property
    def size(self) -> int:
        part = self.cluster.layout.slices[0]
        return part.stop - part.start

    def headers(self, body: bytes, path: str = "/message") -> dict[str, str]:
        """The headers of a request with `body`, signed with the run's key."""
        signature, _ = self.signer.sign("127.0.0.1", self.port, path, body)
        return {AUTH_HEADER: signature}

    async def state(self) -> Params:
        """The shard's version and slice of θ, pulled through the wire (after every message before it)."""
        return await self.host.runtimes["learner-0"].call("shard-0", Pull(), timeout=5.0)

    def push(
        self, gradient: np.ndarray, learner: str = "learner-0", dst: str = "shard-0", src: str | None = None
    ) -> bytes:
        payload = Push(0, gradient, learner, 0)
        return encode(Message(src or learner, dst, payload, 0, 0, None, 0.0))

    def gradient(self, rng: np.random.Generator) -> np.ndarray:
        return rng.normal(0.0, 0.1, self.size).astype(np.float32)


@asynccontextmanager
async def serve_shard(workdir: Path, config: GorilaConfig = CONFIG) -> AsyncIterator[ShardUnderTest]:
    cluster = make_cluster(config, make_problem(config))
    clock = RunClock()
    clock.started(time.monotonic())
    key = new_key()
    async with cluster_host(cluster, clock=clock, key=key, workdir=workdir) as host:
        port = await host.add("shard-0", node_main("shard-0", cluster))
        await host.add("learner-0", idle)
        host.start()
        url = f"http://127.0.0.1:{port}/message"
        yield ShardUnderTest(host, cluster, url, key, port, Signer(key))


def free_range(size: int) -> range:
    """`size` consecutive ports free on loopback just now."""
    for low in range(47000, 60000, 100):
        try:
            sockets = [socket.create_server(("127.0.0.1", port)) for port in range(low, low + size)]
        except OSError:
            continue
        for sock in sockets:
            sock.close()
        return range(low, low + size)
    raise AssertionError("no free ports")
