"""A node's HTTP server: the boundary where requests from the network are checked before the node sees them.

Every request is an HTTP/1.1 POST with a body; answered, in this order of checks:

    400 if the request's line or headers are malformed, over MAX_HEAD bytes, or without a Host header;
    404 for another method or path; 401 without a well-formed `X-Gorila-Auth` header (see auth.py), before
    the body is read; 411 without a Content-Length (or with a Transfer-Encoding), 413 over the size limit;
    408 if the body takes over BODY_TIMEOUT_S to come; 401 if the signature is wrong or the request was seen
    before; then the route's own answer, signed.

POST /message  a frame (see wire.py): 400 if it is not a valid frame, 404 if it is not for this node or not
               from a node of the run, 422 if the payload checks refuse it, and 200 once the message is in
               the node's mailbox (or has answered one of its calls).
POST /control  body `slow_down=FACTOR`: the coordinator's slowdown faults (400 if bad).

A connection carries one request after another. After a 404 or a first 401, the body (when its length is
given and within the limit) is read and dropped, and the connection goes on; after any other refusal before
the body, the server answers, stops reading and closes the connection. A server holds at most
`max_connections` connections that have not carried a signed request yet: past that, a new connection is
closed as soon as it is accepted, before anything is read from it. A connection that sends nothing, or only
part of a request's header, for IDLE_TIMEOUT_S is closed, and so is one idle that long between requests.
Each refused or abandoned request is logged in one line.
"""

from __future__ import annotations

import asyncio
import logging
import math
from collections.abc import Callable, Collection, Mapping
from http import HTTPStatus
from typing import TYPE_CHECKING

from ..runtime import Message
from .auth import AUTH_HEADER, Claim, Verifier
from .ports import listen
from .wire import WireError, decode

if TYPE_CHECKING:
    from .runtime import EmulatedRuntime

IDLE_TIMEOUT_S = 10.0
"""Wall seconds a connection may stay without a whole request's header: before its first request, between
two, or partway through one."""
BODY_TIMEOUT_S = 10.0
"""Wall seconds a request's body may take to arrive once its header has."""
MAX_HEAD = 8 * 1024
"""Bytes a request's line and headers may take."""
MAX_CONNECTIONS = 256
"""Connections one server holds at most, besides those that have carried a signed request."""
BACKLOG = 1024
"""Connections the system queues for a server before it accepts them (a queue that overflows delays new
connections by seconds)."""
ACCEPT_BATCH = 64
"""Connections a server accepts at once: with `max_connections` (and the run's own connections), what
bounds its file descriptors."""
LINGER_S = 1.0
"""Wall seconds a connection refused before its body is still read (and dropped) before it is closed, so
that its client, still sending, gets the answer rather than a reset."""

log = logging.getLogger(__name__)
_AUTH_KEY = AUTH_HEADER.lower().encode()


class Rejected(ValueError):
    """A well-formed message that a node must not see (wrong shape, not finite, not for it...)."""


Check = Callable[[Message], None]
"""Checks a message at a node's boundary; raises Rejected to refuse it."""

Route = Callable[[bytes], tuple[int, str]]
"""Answers the authenticated body of a request to one path: a status and a text."""


def node_routes(
    runtime: EmulatedRuntime, *, nodes: Collection[str], check: Check | None = None
) -> dict[str, Route]:
    """The paths of `runtime`'s node (see the module's docstring)."""

    def message(body: bytes) -> tuple[int, str]:
        try:
            incoming = decode(body)
        except WireError as error:
            return 400, str(error)
        if incoming.dst != runtime.name or incoming.src not in nodes:
            return 404, f"no route from {incoming.src!r} to {incoming.dst!r} here"
        if check is not None:
            try:
                check(incoming)
            except Rejected as error:
                return 422, str(error)
        runtime.deliver(incoming)
        return 200, ""

    def control(body: bytes) -> tuple[int, str]:
        name, _, value = body.decode("utf-8", "replace").partition("=")
        try:
            factor = float(value) if name == "slow_down" else math.nan
        except ValueError:
            factor = math.nan
        if not (factor > 0 and math.isfinite(factor)):
            return 400, "expected slow_down=FACTOR, a positive number"
        runtime.slow_down(factor)
        return 200, ""

    return {"/message": message, "/control": control}


class _BadRequest(Exception):
    """A request line or header that is not HTTP/1.1 as this server takes it."""


class _Request:
    """A request whose head has come: where its body starts and ends in the buffer, and what to do with it."""

    __slots__ = ("body_end", "body_start", "claim", "path", "route")

    def __init__(self, path: str, route: Route | None, claim: Claim | None, start: int, end: int) -> None:
        self.path = path
        self.route = route
        """None: the body is dropped (the request was answered already)."""
        self.claim = claim
        self.body_start = start
        self.body_end = end


class _Connection(asyncio.Protocol):
    """One client's connection: reads requests one after the other and answers each in turn."""

    def __init__(self, server: NodeServer) -> None:
        self._server = server
        self._loop = asyncio.get_running_loop()
        self._transport: asyncio.Transport | None = None
        self._peer = "?"
        self._buffer = bytearray()
        self._request: _Request | None = None
        self._lingering = False
        self._deadline = 0.0
        self._timer: asyncio.TimerHandle | None = None

    # -- asyncio's calls ----------------------------------------------------------------------------
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self._transport = transport  # type: ignore[assignment]
        peer = transport.get_extra_info("peername")
        self._peer = str(peer[0]) if isinstance(peer, tuple) else str(peer)
        self._server._opened(self)
        self._wait(IDLE_TIMEOUT_S)

    def connection_lost(self, exc: Exception | None) -> None:
        request = self._request
        if request is not None and request.route is not None and not self._lingering:
            said = " ".join(str(exc).split()) if exc else "the client closed the connection"
            log.warning("%s: request from %s aborted (%s)", request.path, self._peer, said)
        if self._timer is not None:
            self._timer.cancel()
        self._server._closed(self)

    def eof_received(self) -> bool:
        return False  # closes the connection (the answers are written already)

    def data_received(self, data: bytes) -> None:
        if self._lingering:
            return
        buffer = self._buffer
        buffer += data
        while buffer and self._transport is not None and not self._transport.is_closing():
            request = self._request
            if request is None:
                end = buffer.find(b"\r\n\r\n", 0, MAX_HEAD + 4)
                if end < 0:
                    if len(buffer) > MAX_HEAD:
                        self._refuse(400, f"a request's head over {MAX_HEAD} bytes")
                    return
                try:
                    request = self._request = self._head(bytes(buffer[:end]), end + 4)
                except _BadRequest as error:
                    self._refuse(400, str(error))
                    return
                if request is None:
                    return
                self._wait(BODY_TIMEOUT_S)
            if len(buffer) < request.body_end:
                return
            body = bytes(buffer[request.body_start : request.body_end])
            del buffer[: request.body_end]
            self._request = None
            self._wait(IDLE_TIMEOUT_S)
            if request.route is not None:
                self._answer(request, body)

    # -- requests -----------------------------------------------------------------------------------
    def _head(self, head: bytes, start: int) -> _Request | None:
        """The request whose head is `head`; None if it was refused before its body (and the connection is
        closing); _BadRequest if it is not a request."""
        lines = head.split(b"\r\n")
        method, _, rest = lines[0].partition(b" ")
        target, _, version = rest.partition(b" ")
        if version != b"HTTP/1.1" or not method or not target.startswith(b"/"):
            raise _BadRequest(f"not an HTTP/1.1 request line: {lines[0][:80]!r}")
        headers: dict[bytes, bytes] = {}
        for line in lines[1:]:
            name, colon, value = line.partition(b":")
            if not colon or not name or name != name.strip() or name.lower() in headers:
                raise _BadRequest(f"malformed or repeated header line {line[:80]!r}")
            headers[name.lower()] = value.strip()
        if b"host" not in headers:
            raise _BadRequest("no Host header")
        path = target.decode("latin-1")
        route = self._server._routes.get(path)
        length = headers.get(b"content-length", b"")
        framed = length.isdigit() and len(length) <= 19 and b"transfer-encoding" not in headers
        size = int(length) if framed else -1
        droppable = 0 <= size <= self._server._max_body
        if route is None or method != b"POST":
            return self._drop(
                404, f"no {method.decode('latin-1')} {path[:80]} here", path, droppable, start, size
            )
        claim = Verifier.claim(headers[_AUTH_KEY].decode("latin-1") if _AUTH_KEY in headers else None)
        if claim is None:
            return self._drop(401, f"missing or malformed {AUTH_HEADER} header", path, droppable, start, size)
        if not framed:
            self._refuse(411, "a request must say its Content-Length (and no Transfer-Encoding)")
            return None
        if not droppable:
            self._refuse(413, f"over the limit of {self._server._max_body} bytes")
            return None
        return _Request(path, route, claim, start, start + size)

    def _drop(
        self, status: int, text: str, path: str, droppable: bool, start: int, size: int
    ) -> _Request | None:
        """Answer a request refused before its body; its body is read and dropped when it can be."""
        if not droppable:
            self._refuse(status, text)
            return None
        self._write(status, text.encode(), None)
        return _Request(path, None, None, start, start + size)

    def _answer(self, request: _Request, body: bytes) -> None:
        assert request.route is not None and request.claim is not None
        server = self._server
        if not server._verifier.genuine(request.claim, request.path, body):
            self._write(401, b"wrong signature, or a request seen before", None)
            return
        server.trusted.add(self)
        try:
            status, text = request.route(body)
        except Exception as error:  # a bug in a route: the server goes on
            log.error(
                "%s: request from %s failed (%s: %s)", request.path, self._peer, type(error).__name__, error
            )
            status, text = 500, "the node failed on this request"
        answer = text.encode()
        self._write(status, answer, server._verifier.sign(request.claim, status, answer))

    def _refuse(self, status: int, text: str) -> None:
        """Answer, stop reading, and close the connection after a while (LINGER_S), so that a client still
        sending the refused request's body reads the answer."""
        log.warning("request from %s refused with %d (%s)", self._peer, status, text)
        self._write(status, text.encode(), None, close=True)
        self._lingering = True
        self._buffer.clear()
        assert self._transport is not None
        if self._transport.can_write_eof():
            self._transport.write_eof()
        self._wait(LINGER_S)

    def _write(self, status: int, body: bytes, signature: str | None, close: bool = False) -> None:
        assert self._transport is not None
        head = _STATUS_LINES.get(status) or _status_line(status)
        signed = f"{AUTH_HEADER}: {signature}\r\n" if signature is not None else ""
        ending = "Connection: close\r\n" if close else ""
        self._transport.write(
            b"%sContent-Type: text/plain; charset=utf-8\r\nContent-Length: %d\r\n%s\r\n%s"
            % (head, len(body), (signed + ending).encode(), body)
        )

    # -- time limits --------------------------------------------------------------------------------
    def _wait(self, seconds: float) -> None:
        """Give the connection `seconds` from now to do its next thing (see _expired)."""
        self._deadline = self._loop.time() + seconds
        if self._timer is None:
            self._timer = self._loop.call_at(self._deadline, self._expired)

    def _expired(self) -> None:
        self._timer = None
        if self._transport is None or self._transport.is_closing():
            return
        if self._loop.time() < self._deadline:  # it moved on since the timer was set
            self._timer = self._loop.call_at(self._deadline, self._expired)
            return
        request = self._request
        if request is not None and not self._lingering:
            log.warning("%s: request from %s timed out waiting for its body", request.path, self._peer)
            self._request = None
            self._write(408, f"the body took over {BODY_TIMEOUT_S:g} s".encode(), None, close=True)
            self._transport.close()
            return
        self._transport.abort()


def _status_line(status: int) -> bytes:
    try:
        phrase = HTTPStatus(status).phrase
    except ValueError:
        phrase = "Unknown"
    return b"HTTP/1.1 %d %s\r\n" % (status, phrase.encode())


_STATUS_LINES = {status.value: _status_line(status.value) for status in HTTPStatus}


class _Refused(asyncio.Protocol):
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        transport.abort()  # type: ignore[attr-defined]


class NodeServer:
    """Serves `routes` on `host`, at the port the system picked when it was made (`port`; the first free one
    of `ports` when given), to requests signed
    with `key`; bodies over `max_body` bytes are refused. `on_refused()` hears of every connection refused at
    the connection limit."""

    def __init__(
        self,
        routes: Mapping[str, Route],
        *,
        key: bytes,
        max_body: int,
        host: str = "127.0.0.1",
        max_connections: int = MAX_CONNECTIONS,
        on_refused: Callable[[], None] = lambda: None,
        ports: range | None = None,
    ) -> None:
        self.host = host
        self._routes = dict(routes)
        self._max_body = max_body
        self._socket = listen(host, ports, BACKLOG)
        self.port: int = self._socket.getsockname()[1]
        self._verifier = Verifier(key, self.port)
        self._max_connections = max_connections
        self._on_refused = on_refused
        self._connections: set[_Connection] = set()
        self.trusted: set[_Connection] = set()
        """Connections that have carried a signed request."""
        self._opening = 0
        """Connections accepted whose protocol is made but not yet connected (a batch of accepts)."""
        self._listener: asyncio.Server | None = None

    async def start(self) -> None:
        self._listener = await asyncio.get_running_loop().create_server(
            self._accept, sock=self._socket, backlog=ACCEPT_BATCH
        )
        self._socket.listen(BACKLOG)  # asyncio listened with its batch size

    async def close(self) -> None:
        if self._listener is None:
            self._socket.close()
            return
        self._listener.close()
        for connection in list(self._connections):
            if connection._transport is not None:
                connection._transport.abort()
        await self._listener.wait_closed()

    def _accept(self) -> asyncio.Protocol:
        if len(self._connections) + self._opening - len(self.trusted) >= self._max_connections:
            self._on_refused()
            return _Refused()
        self._opening += 1
        return _Connection(self)

    def _opened(self, connection: _Connection) -> None:
        self._opening -= 1
        self._connections.add(connection)

    def _closed(self, connection: _Connection) -> None:
        self._connections.discard(connection)
        self.trusted.discard(connection)
