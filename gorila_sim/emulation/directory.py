"""Where each node of a run listens, as every process of the run knows it."""

from __future__ import annotations

from collections.abc import Callable, Mapping

Address = tuple[str, int]
"""A node's server: host and port."""


class AddressBook:
    """Nodes' addresses, in memory. A process `publish`es the address of each node it serves (and
    `on_publish` passes it on: to the coordinator, which tells every process of the run); the addresses of
    the others come in through `update`. A restarted node listens on a new address, which replaces the old.
    """

    def __init__(self, on_publish: Callable[[str, Address], None] | None = None) -> None:
        self._addresses: dict[str, Address] = {}
        self._on_publish = on_publish

    def publish(self, node: str, host: str, port: int) -> None:
        self._addresses[node] = (host, port)
        if self._on_publish is not None:
            self._on_publish(node, (host, port))

    def update(self, addresses: Mapping[str, Address]) -> None:
        self._addresses.update(addresses)

    def address(self, node: str) -> Address | None:
        """Where `node` listens, or None if no address is known yet."""
        return self._addresses.get(node)

    def all(self) -> dict[str, Address]:
        return dict(self._addresses)
