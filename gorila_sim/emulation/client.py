"""The emulator's HTTP/1.1 client: POSTs over kept-alive connections, one request at a time on each.

Whoever listens at an address may be hostile (another program on a crashed node's port), so an answer must
be well-formed HTTP/1.1 with a Content-Length, and is bounded in size (MAX_HEAD, MAX_ANSWER) and in time
(the client's timeout, for the whole exchange): anything else raises HttpError and the connection is closed.
A connection is kept for the next request to its address while the server keeps it and it has been idle
under `keepalive` seconds.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass

MAX_HEAD = 8 * 1024
"""Bytes an answer's status line and headers may take."""
MAX_ANSWER = 64 * 1024
"""Bytes an answer's body may take."""


class HttpError(Exception):
    """The connection broke, or what came back is not an answer this client takes."""


@dataclass(frozen=True, slots=True)
class Answer:
    status: int
    headers: dict[str, str]
    """Each header's value by its name in lower case."""
    body: bytes


class _Connection(asyncio.Protocol):
    """One connection: reads the answer to the request in flight, refuses anything sent unasked."""

    def __init__(self) -> None:
        self.transport: asyncio.Transport | None = None
        self.idle_since = 0.0
        self.keep = True
        self._buffer = bytearray()
        self._head: tuple[int, dict[str, str], int] | None = None  # status, headers, head's length
        self._answer: asyncio.Future[Answer] | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def connection_lost(self, exc: Exception | None) -> None:
        self.keep = False
        self._fail(HttpError(f"connection lost ({exc or 'closed by the server'})"))

    def exchange(self, request: bytes) -> asyncio.Future[Answer]:
        assert self.transport is not None and self._answer is None
        self._answer = asyncio.get_running_loop().create_future()
        self.transport.write(request)
        return self._answer

    def data_received(self, data: bytes) -> None:
        if self._answer is None:
            self._fail(HttpError("bytes sent with no request in flight"))
            return
        self._buffer += data
        try:
            answer = self._parse()
        except HttpError as error:
            self._fail(error)
            return
        if answer is not None:
            if self._buffer:
                self._fail(HttpError("bytes after the answer"))
                return
            done, self._answer = self._answer, None
            if not done.done():
                done.set_result(answer)

    def close(self) -> None:
        self.keep = False
        if self.transport is not None:
            self.transport.abort()

    def _fail(self, error: HttpError) -> None:
        self.close()
        if self._answer is not None and not self._answer.done():
            self._answer.set_exception(error)
        self._answer = None

    def _parse(self) -> Answer | None:
        """The whole answer once it is in the buffer (taken out of it); None while it is still coming."""
        if self._head is None:
            end = self._buffer.find(b"\r\n\r\n", 0, MAX_HEAD)
            if end < 0:
                if len(self._buffer) >= MAX_HEAD:
                    raise HttpError(f"an answer's head over {MAX_HEAD} bytes")
                return None
            self._head = (*_head(bytes(self._buffer[:end]).split(b"\r\n")), end + 4)
        status, headers, start = self._head
        stop = start + int(headers["content-length"])
        if len(self._buffer) < stop:
            return None
        body = bytes(self._buffer[start:stop])
        del self._buffer[:stop]
        self._head = None
        if headers.get("connection", "").lower() == "close":
            self.keep = False
        return Answer(status, headers, body)


def _head(lines: list[bytes]) -> tuple[int, dict[str, str]]:
    version, _, rest = lines[0].partition(b" ")
    code = rest[:3]
    if version != b"HTTP/1.1" or len(code) != 3 or not code.isdigit() or rest[3:4] not in (b"", b" "):
        raise HttpError(f"not an HTTP/1.1 status line: {lines[0][:80]!r}")
    headers: dict[str, str] = {}
    for line in lines[1:]:
        name, colon, value = line.partition(b":")
        if not colon or not name or name != name.strip():
            raise HttpError(f"malformed header line {line[:80]!r}")
        headers[name.decode("latin-1").lower()] = value.strip().decode("latin-1")
    length = headers.get("content-length", "")
    if "transfer-encoding" in headers or not length.isdecimal() or len(length) > 9:
        raise HttpError("an answer must say its Content-Length (and no Transfer-Encoding)")
    if int(length) > MAX_ANSWER:
        raise HttpError(f"an answer's body over {MAX_ANSWER} bytes")
    return int(code), headers


class HttpClient:
    """POSTs with a time limit of `timeout` seconds each; connections kept `keepalive` seconds when idle, or
    (`reuse` False) a new connection for every request."""

    def __init__(self, *, timeout: float, keepalive: float, reuse: bool = True) -> None:
        self.timeout = timeout
        self.keepalive = keepalive
        self.reuse = reuse
        self._idle: dict[tuple[str, int], list[_Connection]] = {}
        self._busy: set[_Connection] = set()

    async def post(self, host: str, port: int, path: str, body: bytes, header: tuple[str, str]) -> Answer:
        """POST `body` to `path` at `host`:`port` with one more `header` (name, value); the answer.
        HttpError, OSError or TimeoutError if none came."""
        request = (
            f"POST {path} HTTP/1.1\r\nHost: {host}:{port}\r\nContent-Length: {len(body)}\r\n"
            f"{header[0]}: {header[1]}\r\n\r\n"
        ).encode("latin-1") + body
        connection = self._kept(host, port)
        try:
            async with asyncio.timeout(self.timeout):
                if connection is None:
                    _, connection = await asyncio.get_running_loop().create_connection(
                        _Connection, host, port
                    )
                self._busy.add(connection)
                answer = await connection.exchange(request)
        except BaseException:
            if connection is not None:
                connection.close()
                self._busy.discard(connection)
            raise
        self._busy.discard(connection)
        if self.reuse and connection.keep:
            connection.idle_since = time.monotonic()
            self._idle.setdefault((host, port), []).append(connection)
        else:
            connection.close()
        return answer

    async def close(self) -> None:
        for connection in [*self._busy, *(c for kept in self._idle.values() for c in kept)]:
            connection.close()
        self._idle.clear()
        self._busy.clear()

    def _kept(self, host: str, port: int) -> _Connection | None:
        """A kept connection to the address that is still good to use, if there is one."""
        kept = self._idle.get((host, port))
        while kept:
            connection = kept.pop()
            if connection.keep and time.monotonic() - connection.idle_since < self.keepalive:
                return connection
            connection.close()
        return None
