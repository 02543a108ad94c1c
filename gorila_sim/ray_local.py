"""Connecting to Ray: a cluster at an address, or a private Ray of this process's own that listens on loopback
only, started when none is running.

Ray's servers (its GCS, raylets, object managers and workers) listen on the node's IP address, and on Linux
Ray takes the machine's outward address for it even when told 127.0.0.1, unless
`RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER=0` makes it keep every node on this machine: then all of them listen on
127.0.0.1. Token authentication stays off (`RAY_AUTH_MODE=disabled`), so nothing is written to ~/.ray.
"""

from __future__ import annotations

import contextlib
import os
import socket
import sys
from collections.abc import Iterator
from types import ModuleType
from typing import Any

LOOPBACK_ENV = {"RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER": "0", "RAY_AUTH_MODE": "disabled"}
"""The environment under which Ray's processes all listen on 127.0.0.1 and use no token."""
CONNECT_TIMEOUT_S = 5.0
"""Seconds a cluster's address may take to accept a connection."""
PRIVATE = ("auto", "local")
"""Addresses that start a private Ray: `local` always, `auto` when no cluster is running."""


class RayUnreachable(RuntimeError):
    """No Ray cluster answers at the address given."""


def init_ray(address: str, **options: Any) -> ModuleType:
    """The `ray` module, connected: to the cluster at `address`; for "auto" to the cluster this machine
    belongs to or, when none is running, to a private Ray bound to loopback (said in one line on stderr);
    for "local" to a private one. `options` go to `ray.init`. RayUnreachable if no cluster answers at an
    address."""
    os.environ["RAY_AUTH_MODE"] = LOOPBACK_ENV["RAY_AUTH_MODE"]
    import ray

    options = {"log_to_driver": False, "configure_logging": False, **options}
    if address not in PRIVATE:
        refusal = _refusal(address)
        if refusal is not None:  # ray.init would try again for minutes
            raise RayUnreachable(f"no Ray cluster answers at {address} ({refusal})")
        host = address.rpartition(":")[0].strip("[]")
        with _on_loopback(host in ("localhost", "::1") or host.startswith("127.")):
            ray.init(address=address, **options)
        return ray
    if address == "auto":
        try:
            ray.init(address="auto", **options)
            return ray
        except ConnectionError:
            print("no Ray cluster running: starting a private one on 127.0.0.1 for this run", file=sys.stderr)
    with _on_loopback(True):
        ray.init(address="local", include_dashboard=False, **options)
    return ray


@contextlib.contextmanager
def _on_loopback(loopback: bool) -> Iterator[None]:
    """While it lasts (when `loopback`), Ray keeps its nodes on this machine's 127.0.0.1: what a Ray started
    then listens on, and how this process reaches a Ray that listens there."""
    if not loopback:
        yield
        return
    from ray._private import ray_constants

    saved = {name: os.environ.get(name) for name in LOOPBACK_ENV}
    os.environ.update(LOOPBACK_ENV)  # for Ray's processes, started from this one
    cluster_mode = ray_constants.ENABLE_RAY_CLUSTER
    ray_constants.ENABLE_RAY_CLUSTER = False  # read from the environment once, when ray was imported
    try:
        yield
    finally:
        ray_constants.ENABLE_RAY_CLUSTER = cluster_mode
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


def _refusal(address: str) -> str | None:
    """Why a connection to `address` (HOST:PORT) fails, or None if one is accepted (or `address` is of
    another form, left to ray.init)."""
    host, _, port = address.rpartition(":")
    if not host or not port.isdecimal():
        return None
    try:
        with socket.create_connection((host.strip("[]"), int(port)), timeout=CONNECT_TIMEOUT_S):
            return None
    except OSError as error:
        return error.strerror or type(error).__name__
