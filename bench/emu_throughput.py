"""How many gradient pushes and parameter pulls one emulated shard serves per second, against a plain aiohttp
echo server measured in the same run as the anchor.

One shard of a surrogate cluster (θ of the size of CartPole's Q-network, in one shard) is served in this
process with its checks, as in an emulated run. Pushes: concurrent clients POST valid Push frames, each
signed with the run's key as a node signs it, and count the 200 answers whose signature is right (each an
acknowledged update). Pulls: concurrent calls from a learner's runtime, each a
Pull request and a Params reply through the wire (two POSTs). Echo: the same clients POST bodies of a
push's size to an aiohttp server that answers with the body. Clients and servers share one event loop
(one core), the same for the three. The three take turns, five rounds (three with --quick); each rate is
the median of its rounds.

    python bench/emu_throughput.py [--quick] [--clients N]

The last line is `RESULT mode=... pushes_per_s=... pulls_per_s=... echo_per_s=...`.
"""

from __future__ import annotations

import argparse
import asyncio
import socket
import statistics
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

import aiohttp
import numpy as np
from aiohttp import web

from gorila_sim.config import GorilaConfig
from gorila_sim.emulation.auth import SignedClient, new_key
from gorila_sim.emulation.clock import RunClock
from gorila_sim.emulation.cluster import cluster_host, make_cluster
from gorila_sim.emulation.wire import encode
from gorila_sim.gorila import node_main
from gorila_sim.nodes.messages import Pull, Push
from gorila_sim.problems import make_problem
from gorila_sim.runtime import Message, Runtime

PARAMS = 10_986
"""Parameters of CartPole's Q-network (4 -> 120 -> 84 -> 2), all in one shard."""


async def idle(rt: Runtime) -> None:
    await asyncio.Event().wait()


async def rate(clients: int, seconds: float, one: Callable[[int], Awaitable[bool]]) -> tuple[int, float]:
    """Successful operations, and per second: `clients` loops each calling `one` until `seconds` passed."""
    done = 0
    deadline = time.monotonic() + seconds

    async def client(index: int) -> None:
        nonlocal done
        while time.monotonic() < deadline:
            succeeded = await one(index)
            done += succeeded

    started = time.monotonic()
    await asyncio.gather(*(client(i) for i in range(clients)))
    return done, done / (time.monotonic() - started)


async def echo_server() -> tuple[web.AppRunner, str]:
    async def echo(request: web.Request) -> web.Response:
        return web.Response(body=await request.read())

    app = web.Application(client_max_size=2**22)
    app.router.add_post("/echo", echo)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    sock = socket.create_server(("127.0.0.1", 0))
    await web.SockSite(runner, sock).start()
    return runner, f"http://127.0.0.1:{sock.getsockname()[1]}/echo"


async def measure(
    clients: int, seconds: float, rounds: int, workdir: Path
) -> tuple[float, float, float, int, int]:
    config = GorilaConfig(
        problem="surrogate", surrogate_size=PARAMS, shards=1, bundled=False, replay="global", learners=1
    )
    cluster = make_cluster(config, make_problem(config))
    clock = RunClock()
    clock.started(time.monotonic())
    key = new_key()
    signed = SignedClient(key)
    rng = np.random.default_rng(0)
    gradient = rng.normal(0.0, 0.01, PARAMS).astype(np.float32)
    frame = encode(Message("learner-0", "shard-0", Push(0, gradient, "learner-0", 0)))
    async with (
        cluster_host(cluster, clock=clock, key=key, workdir=workdir) as host,
        aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0)) as session,
    ):
        port = await host.add("shard-0", node_main("shard-0", cluster))
        await host.add("learner-0", idle)
        host.start()
        learner = host.runtimes["learner-0"]

        async def push(_: int) -> bool:
            return await signed.post("127.0.0.1", port, "/message", frame) == 200

        async def pull(_: int) -> bool:
            await learner.call("shard-0", Pull(), timeout=10.0)
            return True

        runner, echo_url = await echo_server()

        async def echo(_: int) -> bool:
            async with session.post(echo_url, data=frame) as response:
                return len(await response.read()) == len(frame)

        rates: dict[str, list[float]] = {"push": [], "pull": [], "echo": []}
        acks = 0
        try:
            for _ in range(rounds):
                rates["echo"].append((await rate(clients, seconds, echo))[1])
                acked, pushes = await rate(clients, seconds, push)
                acks += acked
                rates["push"].append(pushes)
                rates["pull"].append((await rate(clients, seconds, pull))[1])
            version = (await learner.call("shard-0", Pull(), timeout=10.0)).version
        finally:
            await signed.close()
            await runner.cleanup()
    pushes, pulls, echoes = (statistics.median(rates[name]) for name in ("push", "pull", "echo"))
    return pushes, pulls, echoes, acks, version


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="3 rounds of 1 s instead of 5 of 5 s")
    parser.add_argument("--clients", type=int, default=16, help="concurrent clients (default 16)")
    args = parser.parse_args()
    seconds, rounds = (1.0, 3) if args.quick else (5.0, 5)
    with tempfile.TemporaryDirectory() as workdir:
        pushes, pulls, echoes, acks, version = asyncio.run(
            measure(args.clients, seconds, rounds, Path(workdir))
        )
    frame_bytes = PARAMS * 4
    print(f"one shard of {PARAMS:,} float32 parameters ({frame_bytes / 1024:.0f} KiB a push or pull reply)")
    print(f"{args.clients} concurrent clients, {seconds:g} s per measurement, medians of {rounds} rounds")
    print(f"  echo (plain aiohttp)   {echoes:10,.0f} requests/s")
    print(f"  gradient pushes        {pushes:10,.0f} acknowledged/s ({pushes / echoes:.0%} of echo)")
    print(
        f"  parameter pulls        {pulls:10,.0f} replies/s    ({pulls / echoes:.0%} of echo; two POSTs each)"
    )
    print(f"  {acks:,} pushes acknowledged, shard version after them {version:,}")
    mode = "quick" if args.quick else "full"
    print(f"RESULT mode={mode} pushes_per_s={pushes:.0f} pulls_per_s={pulls:.0f} echo_per_s={echoes:.0f}")


if __name__ == "__main__":
    main()
