"""A node's HTTP server: the boundary where requests from the network are checked before the node sees them.

Every request is a POST with a body; answered, in this order of checks:

    404 for another path; 401 without a well-formed `X-Gorila-Auth` header (see auth.py), before the body is
    read; 411 without a Content-Length, 413 over the size limit; 408 if the body takes over BODY_TIMEOUT_S to
    come; 401 if the signature is wrong or the request was seen before; then the route's own answer, signed.

POST /message  a frame (see wire.py): 400 if it is not a valid frame, 404 if it is not for this node or not
               from a node of the run, 422 if the payload checks refuse it, and 200 once the message is in
               the node's mailbox (or has answered one of its calls).
POST /control  body `slow_down=FACTOR`: the coordinator's slowdown faults (400 if bad).

A server holds at most `max_connections` connections that have not carried a signed request yet: past that,
a new connection is closed as soon as it is accepted, before anything is read from it. A connection that
sends nothing, or only part of a request's header, for IDLE_TIMEOUT_S is closed, and so is one idle that
long between requests.
"""

from __future__ import annotations

import asyncio
import logging
import math
import socket
import sys
from collections.abc import Callable, Collection, Mapping
from typing import TYPE_CHECKING

from aiohttp import web
from aiohttp.web_protocol import RequestHandler

from ..runtime import Message
from .auth import AUTH_HEADER, Verifier
from .wire import WireError, decode

if TYPE_CHECKING:
    from .runtime import EmulatedRuntime

IDLE_TIMEOUT_S = 10.0
"""Wall seconds a connection may stay without a whole request's header: before its first request, between
two, or partway through one."""
BODY_TIMEOUT_S = 10.0
"""Wall seconds a request's body may take to arrive once its header has."""
MAX_CONNECTIONS = 256
"""Connections one server holds at most, besides those that have carried a signed request."""
BACKLOG = 1024
"""Connections the system queues for a server before it accepts them (a queue that overflows delays new
connections by seconds)."""
ACCEPT_BATCH = 64
"""Connections a server accepts at once: with `max_connections` (and the run's own connections), what
bounds its file descriptors."""

log = logging.getLogger(__name__)


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


class _OneLine(logging.LoggerAdapter):
    """aiohttp's log of a server, one line a record: an exception by its type and message, no traceback."""

    def log(self, level: int, msg: object, *args: object, exc_info: object = None, **kwargs: object) -> None:
        error = exc_info if isinstance(exc_info, BaseException) else sys.exc_info()[1] if exc_info else None
        if error is not None:
            said = " ".join(str(error).split()).replace("%", "%%")
            msg = f"{msg} ({type(error).__name__}: {said})"
        super().log(level, msg, *args, **kwargs)  # type: ignore[arg-type]


class _Server(web.Server):
    """aiohttp's low-level server, holding at most `max_connections` unauthenticated connections (see the
    module's docstring)."""

    def __init__(self, handler: Callable, max_connections: int, on_refused: Callable[[], None]) -> None:
        super().__init__(
            handler,
            keepalive_timeout=IDLE_TIMEOUT_S,
            access_log=None,
            handler_cancellation=False,
            logger=_OneLine(logging.getLogger("aiohttp.server")),
        )
        self.max_connections = max_connections
        self.trusted: set[RequestHandler] = set()
        """Connections that have carried a signed request."""
        self._on_refused = on_refused

        self._opening = 0
        """Connections accepted whose handler is made but not yet connected (a batch of accepts)."""

    def connection_made(self, handler: RequestHandler, transport: asyncio.Transport) -> None:
        self._opening -= 1
        super().connection_made(handler, transport)

    def connection_lost(self, handler: RequestHandler, exc: BaseException | None = None) -> None:
        super().connection_lost(handler, exc)
        self.trusted.discard(handler)

    def __call__(self) -> RequestHandler | asyncio.Protocol:
        if len(self._connections) + self._opening - len(self.trusted) >= self.max_connections:
            self._on_refused()
            return _Refused()
        self._opening += 1
        return super().__call__()


class _Refused(asyncio.Protocol):
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        transport.abort()  # type: ignore[attr-defined]


class NodeServer:
    """Serves `routes` on `host`, at the port the system picked when it was made (`port`), to requests signed
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
    ) -> None:
        self.host = host
        self._routes = dict(routes)
        self._max_body = max_body
        self._socket = socket.create_server((host, 0), backlog=BACKLOG)
        self.port: int = self._socket.getsockname()[1]
        self._verifier = Verifier(key, self.port)
        self._max_connections = max_connections
        self._on_refused = on_refused
        self._server: _Server | None = None
        self._listener: asyncio.Server | None = None

    async def start(self) -> None:
        self._server = _Server(self._handle, self._max_connections, self._on_refused)
        self._listener = await asyncio.get_running_loop().create_server(
            self._server, sock=self._socket, backlog=ACCEPT_BATCH
        )
        self._socket.listen(BACKLOG)  # asyncio listened with its batch size

    async def close(self) -> None:
        if self._listener is None or self._server is None:
            self._socket.close()
            return
        self._listener.close()
        await self._server.shutdown(0.5)
        await self._listener.wait_closed()

    async def _handle(self, request: web.BaseRequest) -> web.StreamResponse:
        route = self._routes.get(request.path)
        if route is None or request.method != "POST":
            return web.Response(status=404, text=f"no {request.method} {request.path} here")
        claim = self._verifier.claim(request.headers.get(AUTH_HEADER))
        if claim is None:
            return web.Response(status=401, text=f"missing or malformed {AUTH_HEADER} header")
        length = request.content_length
        if length is None:
            return web.Response(status=411, text="a request must say its Content-Length")
        if length > self._max_body:
            return web.Response(status=413, text=f"over the limit of {self._max_body} bytes")
        peer = request.remote
        try:
            async with asyncio.timeout(BODY_TIMEOUT_S):
                body = await request.content.readexactly(length)
        except TimeoutError:
            response = web.Response(status=408, text=f"the body took over {BODY_TIMEOUT_S:g} s")
            response.force_close()
            return response
        except (ConnectionError, asyncio.IncompleteReadError) as error:
            log.warning("%s: request from %s aborted (%s)", request.path, peer, error or type(error).__name__)
            return web.Response(status=400)  # nobody is there to read it
        if not self._verifier.genuine(claim, request.path, body):
            return web.Response(status=401, text="wrong signature, or a request seen before")
        assert self._server is not None
        self._server.trusted.add(request.protocol)
        status, text = route(body)
        answer = text.encode()
        signature = self._verifier.sign(claim, status, answer)
        return web.Response(status=status, body=answer, headers={AUTH_HEADER: signature})
