"""A node's HTTP server: the boundary where messages from the network are checked before the node sees them.

POST /message  a frame (see wire.py); answered, in this order of checks:
               401 without the run's token, 413 over the size limit, 400 if it is not a valid frame, 404 if it
               is not for this node or not from a node of the run, 422 if the payload checks refuse it, and
               200 once the message is in the node's mailbox (or has answered one of its calls).
POST /control  ?slow_down=FACTOR: the coordinator's slowdown faults (401 without the token, 400 if bad).
"""

from __future__ import annotations

import hmac
import math
import socket
from collections.abc import Callable, Collection

from aiohttp import web

from ..runtime import Message
from .network import TOKEN_HEADER
from .runtime import EmulatedRuntime
from .wire import WireError, decode


class Rejected(ValueError):
    """A well-formed message that a node must not see (wrong shape, not finite, not for it...)."""


Check = Callable[[Message], None]
"""Checks a message at a node's boundary; raises Rejected to refuse it."""


def node_app(
    runtime: EmulatedRuntime,
    *,
    token: str,
    max_body: int,
    nodes: Collection[str],
    check: Check | None = None,
) -> web.Application:
    """The web application of `runtime`'s node: bodies over `max_body` bytes are refused."""
    expected = token.encode()

    def authorised(request: web.Request) -> bool:
        given = request.headers.get(TOKEN_HEADER, "")
        return hmac.compare_digest(given.encode("utf-8", "surrogateescape"), expected)

    async def message(request: web.Request) -> web.Response:
        if not authorised(request):
            return web.Response(status=401, text="missing or wrong token")
        if request.content_length is not None and request.content_length > max_body:
            return web.Response(status=413, text=f"over the limit of {max_body} bytes")
        body = await request.read()  # aiohttp answers 413 itself past client_max_size
        try:
            incoming = decode(body)
        except WireError as error:
            return web.Response(status=400, text=str(error))
        if incoming.dst != runtime.name or incoming.src not in nodes:
            return web.Response(status=404, text=f"no route from {incoming.src!r} to {incoming.dst!r} here")
        if check is not None:
            try:
                check(incoming)
            except Rejected as error:
                return web.Response(status=422, text=str(error))
        runtime.deliver(incoming)
        return web.Response(status=200)

    async def control(request: web.Request) -> web.Response:
        if not authorised(request):
            return web.Response(status=401, text="missing or wrong token")
        try:
            factor = float(request.query.get("slow_down", ""))
        except ValueError:
            factor = math.nan
        if not (factor > 0 and math.isfinite(factor)):
            return web.Response(status=400, text="expected ?slow_down=FACTOR, a positive number")
        runtime.slow_down(factor)
        return web.Response(status=200)

    app = web.Application(client_max_size=max_body + 1)
    app.router.add_post("/message", message)
    app.router.add_post("/control", control)
    return app


class NodeServer:
    """An application served on `host` at a port the system picks."""

    def __init__(self, app: web.Application, host: str = "127.0.0.1") -> None:
        self.host = host
        self._runner = web.AppRunner(app, access_log=None, handle_signals=False)
        self._socket: socket.socket | None = None

    async def start(self) -> int:
        """Start serving; the port."""
        await self._runner.setup()
        self._socket = socket.create_server((self.host, 0), backlog=512)
        await web.SockSite(self._runner, self._socket).start()
        return self._socket.getsockname()[1]

    async def close(self) -> None:
        await self._runner.cleanup()
        if self._socket is not None:
            self._socket.close()
