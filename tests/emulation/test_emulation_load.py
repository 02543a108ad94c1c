"""A shard under load on loopback: every acknowledged update is applied; after a restart the shard is exactly
as it was at its last checkpoint's version."""

import asyncio
import time

import aiohttp
import numpy as np
from emulation_helpers import CONFIG, serve_shard

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
    checkpoint = pushes // CONFIG.checkpoint_every * CONFIG.checkpoint_every
    seen: dict[int, np.ndarray] = {}

    async def first_life() -> None:
        async with serve_shard(tmp_path) as shard, aiohttp.ClientSession() as session:
            rng = np.random.default_rng(5)
            seen[0] = (await shard.state()).values
            for _ in range(pushes):
                body = shard.push(shard.gradient(rng))
                async with session.post(shard.url, data=body, headers=shard.headers(body)) as r:
                    assert r.status == 200
                state = await shard.state()  # the shard's own slice of θ at each version, through the wire
                seen[state.version] = state.values
            assert sorted(seen) == list(range(pushes + 1))

    async def second_life() -> tuple[int, np.ndarray]:
        async with serve_shard(tmp_path) as shard:
            state = await shard.state()
            return state.version, state.values

    asyncio.run(asyncio.wait_for(first_life(), 30))
    version, values = asyncio.run(asyncio.wait_for(second_life(), 30))
    assert version == checkpoint == 30
    np.testing.assert_array_equal(values, seen[checkpoint])
    assert not np.array_equal(values, seen[pushes]) and not np.array_equal(values, seen[0])
