"""The nodes of a cluster, named as `gorila_sim.gorila.build` names them: `<role>-<index>`."""

from __future__ import annotations

from collections.abc import Sequence

from ..config import GorilaConfig


def node_names(config: GorilaConfig) -> tuple[str, ...]:
    """Every node of the cluster `config` describes, in the order `build` adds them."""
    shards = [f"shard-{s}" for s in range(config.shards)]
    if config.bundled:
        return (*shards, *(f"bundle-{i}" for i in range(config.actors)))
    replays = config.actors if config.replay == "local" else config.replay_nodes
    return (
        *shards,
        *(f"replay-{k}" for k in range(replays)),
        *(f"learner-{j}" for j in range(config.learners)),
        *(f"actor-{i}" for i in range(config.actors)),
    )


def role_of(node: str) -> str:
    return node.rsplit("-", 1)[0]


def roles(nodes: Sequence[str]) -> tuple[str, ...]:
    """The roles of `nodes`, each once, in order."""
    return tuple(dict.fromkeys(role_of(node) for node in nodes))


def describe(nodes: Sequence[str]) -> str:
    """A short list of `nodes` for messages, one range per role: "shard-0..1, bundle-0..3"."""
    parts = []
    for role in roles(nodes):
        count = sum(role_of(node) == role for node in nodes)
        parts.append(f"{role}-0" if count == 1 else f"{role}-0..{count - 1}")
    return ", ".join(parts)
