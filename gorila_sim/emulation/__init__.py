"""The emulator: the runtime API in real time, nodes in OS processes talking HTTP over loopback, the
scenario's faults done for real (signals to processes, faults on the wire). See docs/emulation.md.

The names below are imported on first use, so that importing one part (the wire format, say) does not
import the rest.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .clock import RunClock
    from .coordinator import Coordinator, EmulationError, emulate_scenario
    from .host import Host
    from .local import LocalEmulation
    from .network import WireNetwork, WireStats
    from .runtime import EmulatedRuntime
    from .server import Rejected
    from .wire import WireError, decode, encode

_HOMES = {
    "Coordinator": "coordinator",
    "EmulatedRuntime": "runtime",
    "EmulationError": "coordinator",
    "Host": "host",
    "LocalEmulation": "local",
    "Rejected": "server",
    "RunClock": "clock",
    "WireError": "wire",
    "WireNetwork": "network",
    "WireStats": "network",
    "decode": "wire",
    "emulate_scenario": "coordinator",
    "encode": "wire",
}

__all__ = [
    "Coordinator",
    "EmulatedRuntime",
    "EmulationError",
    "Host",
    "LocalEmulation",
    "Rejected",
    "RunClock",
    "WireError",
    "WireNetwork",
    "WireStats",
    "decode",
    "emulate_scenario",
    "encode",
]


def __getattr__(name: str) -> Any:
    if name not in _HOMES:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(f".{_HOMES[name]}", __name__), name)
