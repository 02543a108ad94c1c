"""How much memory a Gorila cluster needs, estimated from its config before anything is built, and whether it
fits in this machine's memory.

The estimate errs low: where the environment's sizes are not known without making it (the observation of
a vector environment, the number of actions), the smallest possible are taken. What is counted, per node of
each role:

- parameters: 4 bytes each; an actor holds 2 copies (its policy, the θ it pulled), a learner 4 (θ, θ⁻, the
  gradient, autograd's buffers), a shard 3 of its slice (θ, the optimiser's state, its checkpoint);
- a replay memory: `buffer_size` transitions of two observations, an int64 action and two float32s;
- NODE_BYTES for what every node keeps besides (measured: 40-130 KB for CartPole's nodes);
- LINK_BYTES per directed link the nodes use (measured: about 10 KB, its generators and queues): a learner
  or actor talks to every shard, both ways.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from itertools import pairwise

from .config import GorilaConfig

BYTES_PER_PARAM = 4
NODE_BYTES = 64 * 1024
LINK_BYTES = 8 * 1024
TRANSITION_BYTES = 8 + 4 + 4
"""A transition besides its two observations: the action (int64), the reward and `terminated` (float32)."""

ATARI_OBSERVATION_BYTES = 84 * 84 * 4
"""Four stacked 84x84 frames of one byte each."""


def machine_memory() -> int:
    """This machine's physical memory in bytes."""
    return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")


def parameters(config: GorilaConfig) -> int:
    """The fewest parameters the problem's model can have: the surrogate's size, the Nature CNN for Atari,
    else the MLP with one input and two actions."""
    if config.problem == "surrogate":
        return config.surrogate_size
    if config.env_id.startswith("ALE/"):
        convolutions = (8 * 8 * 4 + 1) * 32 + (4 * 4 * 32 + 1) * 64 + (3 * 3 * 64 + 1) * 64
        return convolutions + (3136 + 1) * 512 + (512 + 1) * 2
    sizes = (1, *config.hidden, 2)
    return sum((inputs + 1) * outputs for inputs, outputs in pairwise(sizes))


def observation_bytes(config: GorilaConfig) -> int:
    if config.problem == "dqn" and config.env_id.startswith("ALE/"):
        return ATARI_OBSERVATION_BYTES
    return 4


@dataclass(frozen=True)
class Estimate:
    """The memory a config needs: by node role (bytes per node, and how many), and by what it holds."""

    per_node: dict[str, tuple[int, int]]
    """role: (nodes, bytes each)."""
    parts: dict[str, int]
    """parameters, replay memories, nodes, links: bytes in all."""

    @property
    def total(self) -> int:
        return sum(self.parts.values())

    def field(self, config: GorilaConfig) -> str:
        """The scenario field most to blame: what sizes the largest part."""
        largest = max(self.parts, key=lambda part: self.parts[part])
        if largest == "replay memories":
            return "training.buffer_size"
        if largest == "parameters":
            return "training.surrogate_size" if config.problem == "surrogate" else "training.hidden"
        counts = {"topology.actors": config.actors, "topology.shards": config.shards}
        if not config.bundled:
            counts["topology.learners"] = config.learners
            if config.replay == "global":
                counts["topology.replay_nodes"] = config.replay_nodes
        return max(counts, key=lambda name: counts[name])


def estimate(config: GorilaConfig) -> Estimate:
    """The memory a config needs to run in simulated time (see the module's docstring)."""
    weights = parameters(config) * BYTES_PER_PARAM
    replay = config.buffer_size * (TRANSITION_BYTES + 2 * observation_bytes(config))
    shard = 3 * -(-weights // config.shards)
    if config.bundled:  # a bundle: an actor's 2 copies and a learner's 4, and a replay memory
        held = {"bundle": (config.actors, 6 * weights, replay), "shard": (config.shards, shard, 0)}
        talkers = config.actors
    else:
        replays = config.actors if config.replay == "local" else config.replay_nodes
        held = {
            "actor": (config.actors, 2 * weights, 0),
            "learner": (config.learners, 4 * weights, 0),
            "replay": (replays, 0, replay),
            "shard": (config.shards, shard, 0),
        }
        talkers = config.actors + config.learners
    nodes = sum(n for n, _, _ in held.values())
    parts = {
        "parameters": sum(n * params for n, params, _ in held.values()),
        "replay memories": sum(n * memory for n, _, memory in held.values()),
        "nodes": nodes * NODE_BYTES,
        "links": 2 * talkers * (config.shards + 1) * LINK_BYTES,
    }
    per_node = {role: (n, params + memory + NODE_BYTES) for role, (n, params, memory) in held.items()}
    return Estimate(per_node, parts)


def size(nbytes: float) -> str:
    """Bytes in binary units: 512 B, 3.2 MiB, 14.6 TiB."""
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if nbytes < 1024 or unit == "TiB":
            return f"{nbytes:.0f} {unit}" if unit == "B" else f"{nbytes:.1f} {unit}"
        nbytes /= 1024
    raise AssertionError("unreachable")


def check_fits(config: GorilaConfig, available: int | None = None) -> tuple[str, str] | None:
    """None if the config's estimate fits in `available` bytes (default: this machine's memory), else the
    field to blame and what is wrong, in words."""
    available = machine_memory() if available is None else available
    need = estimate(config)
    if need.total <= available:
        return None
    parts = ", ".join(f"{part} {size(nbytes)}" for part, nbytes in need.parts.items() if nbytes)
    nodes = ", ".join(f"{n:,} {role} x {size(each)}" for role, (n, each) in need.per_node.items() if n)
    return need.field(config), (
        f"the cluster needs about {size(need.total)} of memory ({parts}; per node: {nodes}), more than "
        f"this machine's {size(available)}"
    )
