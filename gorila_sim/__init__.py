"""Gorila (distributed DQN) simulated in virtual time and emulated over loopback sockets."""

__version__ = "0.1.0"
