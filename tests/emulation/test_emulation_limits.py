"""A node's server bounds time and connections: a connection without a whole request header is closed after
the idle timeout, connections past the limit are refused while the authenticated ones go on, and a request
abandoned by its client is logged in one line."""

import asyncio
import logging
import socket
import time

from gorila_sim.emulation import server
from gorila_sim.emulation.auth import SignedClient, new_key
from gorila_sim.emulation.server import NodeServer


def echo(body: bytes) -> tuple[int, str]:
    return 200, f"{len(body)} bytes"


async def closed(connection: socket.socket, within: float) -> bool:
    """Whether the server closes `connection` within `within` seconds."""
    connection.setblocking(False)
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        try:
            if connection.recv(4096) == b"":
                return True
        except BlockingIOError:
            pass
        except ConnectionResetError:
            return True
        await asyncio.sleep(0.02)
    return False


def test_idle_and_half_sent_connections_are_closed_after_the_idle_timeout(monkeypatch):
    monkeypatch.setattr(server, "IDLE_TIMEOUT_S", 0.5)

    async def run() -> list[bool]:
        node = NodeServer({"/message": echo}, key=new_key(), max_body=1024)
        await node.start()
        try:
            idle = socket.create_connection(("127.0.0.1", node.port))
            half = socket.create_connection(("127.0.0.1", node.port))
            half.sendall(b"POST /message HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Le")
            return await asyncio.gather(closed(idle, 5.0), closed(half, 5.0))
        finally:
            await node.close()

    assert asyncio.run(run()) == [True, True]


def test_past_the_connection_limit_new_connections_wait_for_the_idle_ones_to_be_closed(monkeypatch):
    monkeypatch.setattr(server, "IDLE_TIMEOUT_S", 1.0)
    key = new_key()
    refused = []

    async def run() -> list[int | None]:
        node = NodeServer(
            {"/message": echo},
            key=key,
            max_body=1024,
            max_connections=8,
            on_refused=lambda: refused.append(1),
        )
        await node.start()
        running, fresh = SignedClient(key), SignedClient(key, reuse=False)
        answers = [await running.post("127.0.0.1", node.port, "/message", b"before")]
        flood = [socket.create_connection(("127.0.0.1", node.port)) for _ in range(40)]
        try:
            await asyncio.sleep(0.3)
            answers.append(await running.post("127.0.0.1", node.port, "/message", b"during"))
            answers.append(await fresh.post("127.0.0.1", node.port, "/message", b"during, new"))
            await asyncio.sleep(1.5)  # the flood's connections are closed
            answers.append(await fresh.post("127.0.0.1", node.port, "/message", b"after, new"))
            return answers
        finally:
            for connection in flood:
                connection.close()
            await running.close()
            await fresh.close()
            await node.close()

    assert asyncio.run(run()) == [200, 200, None, 200]
    assert len(refused) >= 32


def test_a_request_its_client_abandons_and_one_that_is_not_http_are_logged_in_one_line_each(caplog):
    key = new_key()

    async def run() -> None:
        node = NodeServer({"/message": echo}, key=key, max_body=1024)
        await node.start()
        try:
            signature, _ = SignedClient(key).signer.sign("127.0.0.1", node.port, "/message", b"x" * 100)
            head = f"POST /message HTTP/1.1\r\nHost: a\r\nContent-Length: 100\r\nX-Gorila-Auth: {signature}"
            for request in [head.encode() + b"\r\n\r\n" + b"x" * 10] * 3 + [b"GET / HTTP/1.1\r\n\r\n"]:
                with socket.create_connection(("127.0.0.1", node.port)) as connection:
                    connection.sendall(request)
                    await asyncio.sleep(0.05)
            await asyncio.sleep(0.2)
        finally:
            await node.close()

    with caplog.at_level(logging.DEBUG):
        asyncio.run(run())
    said = [r for r in caplog.records if r.levelno >= logging.WARNING]
    assert [r.getMessage().split(": ")[0] for r in said].count("/message") == 3
    assert len(said) == 4, [r.getMessage() for r in said]
    assert all(r.exc_info is None and "\n" not in r.getMessage() for r in said)
