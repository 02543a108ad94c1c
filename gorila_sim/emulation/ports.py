"""The ports an emulated run listens on: any the system picks, or the first free one of a range the user
gives (so that a firewall can let the run's traffic through and nothing else)."""

from __future__ import annotations

import errno
import socket


class PortsExhausted(RuntimeError):
    """Every port of the range is taken."""


def port_range(text: str) -> range:
    """`LO-HI` (both included, 1 to 65535, LO <= HI) as a range; ValueError naming what is wrong."""
    low, dash, high = text.partition("-")
    if not (dash and low.strip().isdigit() and high.strip().isdigit()):
        raise ValueError(f"port range: expected LO-HI, e.g. 47000-47099, got {text!r}")
    lo, hi = int(low), int(high)
    if not 1 <= lo <= hi <= 65535:
        raise ValueError(f"port range: expected 1 <= LO <= HI <= 65535, got {text!r}")
    return range(lo, hi + 1)


def listen(host: str, ports: range | None = None, backlog: int = 128) -> socket.socket:
    """A TCP socket listening on `host`, at a port the system picks (`ports` None) or at the first free
    port of `ports`; PortsExhausted when none is free."""
    if ports is None:
        return socket.create_server((host, 0), backlog=backlog)
    for port in ports:
        try:
            return socket.create_server((host, port), backlog=backlog)
        except OSError as error:
            if error.errno != errno.EADDRINUSE:
                raise
    raise PortsExhausted(f"port range {ports.start}-{ports.stop - 1}: no free port left on {host}")
