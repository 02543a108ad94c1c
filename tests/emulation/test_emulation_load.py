"""A shard under load on loopback: every acknowledged update is applied; after a restart the shard is exactly
at its last checkpoint."""

import asyncio
import time

import aiohttp
import numpy as np
from emulation_helpers import CONFIG, serve_shard

from gorila_sim.emulation.disk import Disk

CLIENTS = 24
SECONDS = 1.0


def test_no_acknowledged_update_is_lost_under_concurrent_load(tmp_path):
    async def load() -> None:
        async with serve_shard(tmp_path) as shard:
            acks = 0
            deadline = time.monotonic() + SECONDS

            async def client(session: aiohttp.ClientSession, seed: int) -> None:
                nonlocal acks
                rng = np.random.default_rng(seed)
                for _ in range(100_000):
                    if time.monotonic() >= deadline:
                        return
                    body = shard.push(shard.gradient(rng))
                    async with session.post(shard.url, data=body, headers=shard.headers(body)) as response:
                        await response.read()
                        acks += response.status == 200

            async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0)) as session:
                await asyncio.gather(*(client(session, seed) for seed in range(CLIENTS)))
            state = await shard.state()
            applied = [row for row in shard.cluster.trace.records["gradients"] if row[4] == "applied"]
            assert acks > 100
            assert state.version == acks == len(applied)

    asyncio.run(asyncio.wait_for(load(), 60))


def test_a_restarted_shard_is_exactly_at_its_checkpoint(tmp_path):
    pushes = 37  # checkpoints at 10, 20, 30

    async def first_life() -> None:
        async with serve_shard(tmp_path) as shard, aiohttp.ClientSession() as session:
            rng = np.random.default_rng(5)
            for _ in range(pushes):
                body = shard.push(shard.gradient(rng))
                async with session.post(shard.url, data=body, headers=shard.headers(body)) as r:
                    assert r.status == 200
            assert (await shard.state()).version == pushes

    async def second_life() -> tuple[int, np.ndarray]:
        async with serve_shard(tmp_path) as shard:
            state = await shard.state()
            return state.version, state.values

    asyncio.run(asyncio.wait_for(first_life(), 30))
    saved, _, saved_version = Disk(tmp_path / "disks" / "shard-0.pickle")["checkpoint"]
    version, values = asyncio.run(asyncio.wait_for(second_life(), 30))
    assert saved_version == version == pushes // CONFIG.checkpoint_every * CONFIG.checkpoint_every
    np.testing.assert_array_equal(values, saved)
