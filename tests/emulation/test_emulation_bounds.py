"""A pushed gradient finite but huge (3e38) is refused at the shard's boundary with 422, traced as
non_finite, and the shard is untouched."""

import asyncio

import aiohttp
import numpy as np
from emulation_helpers import serve_shard


def test_a_gradient_of_3e38_is_refused_and_leaves_the_shard_untouched(tmp_path):
    async def push() -> None:
        async with serve_shard(tmp_path) as shard, aiohttp.ClientSession() as session:
            before = await shard.state()
            gradient = shard.gradient(np.random.default_rng(0))
            gradient[7] = 3e38
            body = shard.push(gradient)
            async with session.post(shard.url, data=body, headers=shard.headers(body)) as response:
                assert response.status == 422
            after = await shard.state()
            assert after.version == before.version == 0
            np.testing.assert_array_equal(after.values, before.values)
            fates = [row[4] for row in shard.cluster.trace.records["gradients"]]
            assert fates == ["non_finite"]

    asyncio.run(asyncio.wait_for(push(), 30))
