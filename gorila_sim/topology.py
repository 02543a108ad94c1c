"""A Gorila cluster's shape: its nodes, named `<role>-<index>`, who talks to which replay memory, and the
link model of each pair. Light to import: the scenario checks use it without loading torch."""

from __future__ import annotations

from collections.abc import Callable, Sequence

from netmodels import LinkModel

from .config import GorilaConfig


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


def index_of(node: str) -> int:
    return int(node.rsplit("-", 1)[1])


def learner_names(config: GorilaConfig) -> list[str]:
    """The nodes that push gradients: bundles in bundled mode, learners otherwise."""
    if config.bundled:
        return [f"bundle-{i}" for i in range(config.actors)]
    return [f"learner-{j}" for j in range(config.learners)]


def replay_of(config: GorilaConfig, index: int) -> str:
    """The replay memory that actor or learner number `index` uses."""
    replays = config.actors if config.replay == "local" else config.replay_nodes
    return f"replay-{index % replays}"


def link_for(config: GorilaConfig) -> Callable[[str, str], LinkModel]:
    """The link model of each directed pair of nodes: by node pair, else by role pair, else the default."""

    def link(src: str, dst: str) -> LinkModel:
        named = config.node_links.get((src, dst))
        if named is not None:
            return named
        return config.role_links.get((role_of(src), role_of(dst)), config.link)

    return link


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
