"""The runtime API that node code sees, and its simulated implementation."""

from .api import Message, NodeMain, Runtime
from .loop import Process, VirtualTimeLoop, Wakeup
from .simulated import LifecycleEvent, Network, NetworkStats, SimNode, Simulation

__all__ = [
    "LifecycleEvent",
    "Message",
    "Network",
    "NetworkStats",
    "NodeMain",
    "Process",
    "Runtime",
    "SimNode",
    "Simulation",
    "VirtualTimeLoop",
    "Wakeup",
]
