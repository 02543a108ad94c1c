"""Both ends of a request prove that they hold the run's key: a program on a crashed node's port gets no key
and swallows no message unnoticed, and a request replayed to a server is refused."""

import asyncio
import time

import aiohttp
import numpy as np
from aiohttp import web
from emulation_helpers import serve_shard

from gorila_sim.emulation.auth import new_key
from gorila_sim.emulation.clock import RunClock
from gorila_sim.emulation.directory import AddressBook
from gorila_sim.emulation.host import Host
from gorila_sim.runtime import Message, Runtime
from netmodels import LinkModel

SENT = 20


async def idle(rt: Runtime) -> None:
    await asyncio.Event().wait()


def host(tmp_path, key: bytes, lost: list[tuple[Message, str]], book: AddressBook) -> Host:
    clock = RunClock()
    clock.started(time.monotonic())
    return Host(
        nodes={"sender", "receiver"},
        seed=0,
        clock=clock,
        directory=book,
        key=key,
        disks=tmp_path / "disks",
        link_for=lambda src, dst: LinkModel(),
        on_lost=lambda message, why: lost.append((message, why)),
    )


def test_a_squatter_on_a_crashed_nodes_port_learns_nothing_and_the_messages_count_as_lost(tmp_path):
    key = new_key()
    seen: list[tuple[dict[str, str], bytes]] = []

    async def squat(request: web.Request) -> web.Response:
        seen.append((dict(request.headers), await request.read()))
        return web.Response(status=200)

    async def run() -> tuple[Host, list[tuple[Message, str]]]:
        lost: list[tuple[Message, str]] = []
        book = AddressBook()
        async with host(tmp_path, key, [], book) as receiving:
            port = await receiving.add("receiver", idle)
        # The receiver's process is gone, its port free: another program listens there now.
        squatter = web.AppRunner(web.Application())
        squatter.app.router.add_post("/message", squat)
        await squatter.setup()
        await web.TCPSite(squatter, "127.0.0.1", port).start()
        try:
            async with host(tmp_path, key, lost, book) as sending:
                await sending.add("sender", idle)
                sender = sending.runtimes["sender"]
                for i in range(SENT):
                    sender.send("receiver", f"gradient {i}")
                deadline = time.monotonic() + 20
                while len(lost) < SENT and time.monotonic() < deadline:
                    await asyncio.sleep(0.01)
                return sending, lost
        finally:
            await squatter.cleanup()

    sending, lost = asyncio.run(run())
    assert len(seen) >= SENT  # the squatter was asked, once or twice a message
    for headers, body in seen:
        shown = " ".join([*headers.values(), body.hex(), repr(body)])
        assert key.hex() not in shown and key not in body
    assert sending.network.stats.delivered == 0
    assert sending.network.stats.lost_down == SENT and sending.network.stats.unsigned >= SENT
    assert sorted(why for _, why in lost) == ["down"] * SENT


def test_a_replayed_request_is_refused_and_changes_nothing(tmp_path):
    async def replay() -> None:
        async with serve_shard(tmp_path) as shard, aiohttp.ClientSession() as session:
            body = shard.push(shard.gradient(np.random.default_rng(0)))
            headers = shard.headers(body)
            statuses = []
            for _ in range(3):
                async with session.post(shard.url, data=body, headers=headers) as response:
                    statuses.append(response.status)
            assert statuses == [200, 401, 401]
            assert (await shard.state()).version == 1

    asyncio.run(asyncio.wait_for(replay(), 30))
