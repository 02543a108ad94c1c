"""The emulator's HTTP client against servers that answer wrongly, too much, too slowly or not at all: each
such answer is an error (never a hang, never an answer taken), and a kept connection is used again only
while it is good."""

import asyncio

import pytest

from gorila_sim.emulation.client import MAX_ANSWER, MAX_HEAD, HttpClient, HttpError

OK = b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nX-Test: yes\r\n\r\nhi"


async def serve(answer: bytes, *, close: bool = False) -> tuple[asyncio.Server, list[int]]:
    """A server that reads one request's head and body (Content-Length) and writes `answer` for each; the
    list counts the connections it accepted."""
    accepted: list[int] = []

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        accepted.append(1)
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                length = int(head.lower().split(b"content-length: ")[1].split(b"\r\n")[0])
                await reader.readexactly(length)
                writer.write(answer)
                await writer.drain()
                if close:
                    break
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        writer.close()

    return await asyncio.start_server(handle, "127.0.0.1", 0), accepted


def exchange(
    answer: bytes, times: int = 1, timeout: float = 2.0, close: bool = False, keepalive: float = 5.0
) -> tuple[list, int]:
    """What each of `times` POSTs gave (an Answer or the error's type), and the connections it took."""

    async def run() -> tuple[list, int]:
        server, accepted = await serve(answer, close=close)
        port = server.sockets[0].getsockname()[1]
        client = HttpClient(timeout=timeout, keepalive=keepalive)
        got: list = []
        try:
            for _ in range(times):
                try:
                    got.append(await client.post("127.0.0.1", port, "/m", b"body", ("X-A", "1")))
                except (HttpError, OSError, TimeoutError) as error:
                    got.append(type(error))
                await asyncio.sleep(0.01)
        finally:
            await client.close()
            server.close()
        return got, len(accepted)

    return asyncio.run(asyncio.wait_for(run(), 20))


def test_a_good_answer_is_read_and_its_connection_kept():
    got, connections = exchange(OK, times=3)
    assert [(a.status, a.body, a.headers["x-test"]) for a in got] == [(200, b"hi", "yes")] * 3
    assert connections == 1


def test_a_connection_the_server_closed_or_idle_too_long_is_not_used_again():
    for options in ({"close": True}, {"keepalive": 0.005}):
        got, connections = exchange(OK, times=3, **options)
        assert [a.status for a in got] == [200] * 3
        assert connections == 3


@pytest.mark.parametrize(
    "answer",
    [
        b"HTTP/1.1 200 OK\r\n\r\nhi",  # no Content-Length
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nContent-Length: 2\r\n\r\nhi",
        b"HTTP/1.1 200 OK\r\nContent-Length: -2\r\n\r\nhi",
        b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n" % (MAX_ANSWER + 1) + b"x" * (MAX_ANSWER + 1),
        b"HTTP/1.1 200 OK\r\nX-Long: " + b"x" * MAX_HEAD + b"\r\nContent-Length: 0\r\n\r\n",
        b"HTTP/1.0 200 OK\r\nContent-Length: 2\r\n\r\nhi",
        b"SSH-2.0-OpenSSH_9.6\r\n\r\n",
        b"HTTP/1.1 2000 OK\r\nContent-Length: 2\r\n\r\nhi",
        b"HTTP/1.1 200 OK\r\nno colon here\r\nContent-Length: 2\r\n\r\nhi",
        OK + b"HTTP/1.1 200 OK\r\n",  # bytes after the answer
    ],
)
def test_a_malformed_or_oversized_answer_is_an_error_and_its_connection_closed(answer):
    got, connections = exchange(answer, times=2)
    assert got == [HttpError, HttpError]
    assert connections == 2


def test_an_answer_that_never_ends_times_out():
    got, _ = exchange(b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nhi", timeout=0.3)
    assert got == [TimeoutError]


def test_nobody_listening_is_an_error():
    async def run() -> None:
        client = HttpClient(timeout=2.0, keepalive=5.0)
        with pytest.raises(OSError):
            await client.post("127.0.0.1", 1, "/m", b"", ("X-A", "1"))
        await client.close()

    asyncio.run(run())
