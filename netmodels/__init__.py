"""Seeded, declarative models of network links and compute nodes for simulation and emulation."""

from .capacity import Fifo, rate_from_spec
from .distributions import (
    Constant,
    Distribution,
    Empirical,
    Exponential,
    LogNormal,
    Mixture,
    Normal,
    Pareto,
    ShiftedExponential,
    Uniform,
    distribution_from_spec,
)
from .errors import ModelError
from .link import Channel, LinkModel, link_from_spec
from .loss import Bernoulli, GilbertElliott, GilbertElliottState, loss_from_spec
from .node import (
    CrashProcess,
    CrashSchedule,
    NodeBehaviour,
    NodeModel,
    PauseProcess,
    PauseSchedule,
    Slowdowns,
    node_from_spec,
)
from .partition import Degradation, Partition, degradation_from_spec, degrade, partition_from_spec
from .seeding import Streams, generator

__all__ = [
    "Bernoulli",
    "Channel",
    "Constant",
    "CrashProcess",
    "CrashSchedule",
    "Degradation",
    "Distribution",
    "Empirical",
    "Exponential",
    "Fifo",
    "GilbertElliott",
    "GilbertElliottState",
    "LinkModel",
    "LogNormal",
    "Mixture",
    "ModelError",
    "NodeBehaviour",
    "NodeModel",
    "Normal",
    "Pareto",
    "Partition",
    "PauseProcess",
    "PauseSchedule",
    "ShiftedExponential",
    "Slowdowns",
    "Streams",
    "Uniform",
    "degradation_from_spec",
    "degrade",
    "distribution_from_spec",
    "generator",
    "link_from_spec",
    "loss_from_spec",
    "node_from_spec",
    "partition_from_spec",
    "rate_from_spec",
]
