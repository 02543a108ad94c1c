"""A shard's server under a storm of bad requests: every one refused with a 4xx, the server still up, and the
shard's version and parameters exactly as they were."""

import asyncio
import socket
import struct

import aiohttp
import numpy as np
from emulation_helpers import ShardUnderTest, serve_shard

from gorila_sim.emulation.auth import AUTH_HEADER, Signer, new_key
from gorila_sim.emulation.validation import body_limit
from gorila_sim.emulation.wire import MAGIC, decode

REQUESTS = 1_200


def malformed(
    shard: ShardUnderTest, rng: np.random.Generator, i: int
) -> tuple[bytes, dict[str, str] | None, int]:
    """The i-th bad request: (body, headers (None: signed with the run's key), the status expected)."""
    good = shard.push(shard.gradient(rng))
    kind = i % 12
    if kind == 0:  # random bytes
        return rng.bytes(int(rng.integers(0, 300))), None, 400
    if kind == 1:  # a valid frame cut short
        return good[: int(rng.integers(0, len(good)))], None, 400
    if kind == 2:  # a wrong tag for the payload
        data = bytearray(good)
        payload = len(MAGIC) + 40 + 2 + len("learner-0") + len("shard-0")
        data[payload] = int(rng.choice([7, 8, 15, 22, 99, 255]))
        return bytes(data), None, 400
    if kind == 3:  # a wrong dtype code, or a shape that does not match the data
        data = bytearray(good)
        array = data.index(bytes((6, 11, 1)))  # ARRAY, float32, one dimension
        if rng.random() < 0.5:
            data[array + 1] = int(rng.integers(13, 256))
        else:
            data[array + 3 : array + 7] = struct.pack("<I", shard.size + int(rng.integers(1, 1000)))
        return bytes(data), None, 400
    if kind == 4:  # no signature, a malformed one, or one made with another key
        forged, _ = Signer(new_key()).sign("127.0.0.1", shard.port, "/message", good)
        wrong = [{}, {AUTH_HEADER: rng.bytes(8).hex()}, {AUTH_HEADER: forged}][i % 3]
        return good, wrong, 401
    if kind == 5:  # over the size limit
        return good + bytes(body_limit(shard.cluster)), None, 413
    if kind == 6:  # NaN or infinite gradients
        gradient = shard.gradient(rng)
        gradient[int(rng.integers(shard.size))] = rng.choice([np.nan, np.inf, -np.inf])
        return shard.push(gradient), None, 422
    if kind == 7:  # a gradient for another shard (its length), or of the wrong dtype, or of the wrong shape
        options = [
            np.zeros(shard.size + 1, dtype=np.float32),
            np.zeros(shard.size, dtype=np.float64),
            np.zeros((shard.size, 1), dtype=np.float32),
        ]
        return shard.push(options[i % 3]), None, 422
    if kind == 8:  # a shard that is not this one, or not there at all
        return shard.push(shard.gradient(rng), dst=str(rng.choice(["shard-1", "shard-7", "x"]))), None, 404
    if kind == 9:  # a learner that is not the sender, or not a learner
        return shard.push(shard.gradient(rng), learner="learner-1", src="learner-0"), None, 422
    if kind == 10:  # a sender that is not a node of the run
        return shard.push(shard.gradient(rng), src="intruder"), None, 404
    return b"", None, 400  # empty


def test_a_thousand_bad_requests_leave_the_shard_untouched(tmp_path):
    rng = np.random.default_rng(11)

    async def storm() -> None:
        async with serve_shard(tmp_path) as shard:
            before = await shard.state()
            statuses: list[tuple[int, int]] = []
            limit = asyncio.Semaphore(16)

            async def one(session: aiohttp.ClientSession, i: int) -> None:
                body, headers, expected = malformed(shard, rng, i)
                headers = shard.headers(body) if headers is None else headers
                async with limit, session.post(shard.url, data=body, headers=headers) as response:
                    await response.read()
                    statuses.append((response.status, expected))

            async with aiohttp.ClientSession() as session:
                await asyncio.gather(*(one(session, i) for i in range(REQUESTS)))
            await asyncio.get_running_loop().run_in_executor(None, raw_garbage, shard.url)
            after = await shard.state()
            assert len(statuses) == REQUESTS
            assert [got for got, expected in statuses if got != expected] == []
            assert after.version == before.version == 0
            np.testing.assert_array_equal(after.values, before.values)
            fates = {row[4] for row in shard.cluster.trace.records["gradients"]}
            assert fates <= {"non_finite"}

    asyncio.run(asyncio.wait_for(storm(), 60))


def raw_garbage(url: str) -> None:
    """Bytes that are not HTTP at all, on fresh connections."""
    port = int(url.split(":")[2].split("/")[0])
    rng = np.random.default_rng(3)
    for _ in range(30):
        with socket.create_connection(("127.0.0.1", port), timeout=2.0) as connection:
            connection.sendall(rng.bytes(200))
            connection.shutdown(socket.SHUT_WR)
            while connection.recv(4096):
                pass


def test_the_frames_used_above_are_valid_when_not_spoiled(tmp_path):
    async def check() -> None:
        async with serve_shard(tmp_path) as shard:
            message = decode(shard.push(shard.gradient(np.random.default_rng(0))))
            assert message.payload.gradient.shape == (shard.size,)
            body = shard.push(shard.gradient(np.random.default_rng(1)))
            async with (
                aiohttp.ClientSession() as session,
                session.post(shard.url, data=body, headers=shard.headers(body)) as response,
            ):
                assert response.status == 200
            assert (await shard.state()).version == 1

    asyncio.run(asyncio.wait_for(check(), 30))


def test_the_control_endpoint_slows_a_node_down_and_checks_its_input(tmp_path):
    async def control() -> None:
        async with serve_shard(tmp_path) as shard, aiohttp.ClientSession() as session:
            url = shard.url.replace("/message", "/control")
            asked = [
                (b"slow_down=5", True, 200),
                (b"slow_down=0.5", True, 200),
                (b"slow_down=nan", True, 400),
                (b"slow_down=-1", True, 400),
                (b"speed=2", True, 400),
                (b"slow_down=5", False, 401),
            ]
            for body, signed, expected in asked:
                headers = shard.headers(body, "/control") if signed else {}
                async with session.post(url, data=body, headers=headers) as response:
                    assert response.status == expected, body
            assert shard.host.runtimes["shard-0"].fault_factor == 2.5

    asyncio.run(asyncio.wait_for(control(), 30))
