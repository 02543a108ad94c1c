"""A Gorila cluster's nodes as the emulator runs them: each name's code, links and node model, wired as
`gorila_sim.gorila.build` wires them in the simulator, and the Host that serves them in a process."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from pathlib import Path

from netmodels import Degradation, LinkModel, NodeModel, Partition

from ..config import GorilaConfig
from ..nodes.actor import actor
from ..nodes.bundle import bundle
from ..nodes.cluster import Cluster
from ..nodes.learner import learner
from ..nodes.messages import Push
from ..nodes.replay import replay
from ..nodes.shard import shard
from ..problems import Problem
from ..runtime import Message, NodeMain
from ..scenario.topology import node_names, role_of
from ..trace import Trace
from .clock import RunClock
from .directory import PortDirectory
from .host import Host
from .validation import PayloadCheck, body_limit


def make_cluster(config: GorilaConfig, problem: Problem, stop: Callable[[], None] = lambda: None) -> Cluster:
    """The run-wide context of one process's nodes. Each process has its own, so env steps, returns and
    `stop` (called when its own count or target return is reached) are per process."""
    cluster = Cluster(config, problem, Trace(), stop)
    cluster.learner_names = learner_names(config)
    return cluster


def cluster_host(
    cluster: Cluster,
    *,
    clock: RunClock,
    token: str,
    workdir: Path,
    partitions: Iterable[Partition] = (),
    degradations: Iterable[Degradation] = (),
    bind: str = "127.0.0.1",
    on_error: Callable[[str, BaseException], None] | None = None,
) -> Host:
    """A Host for nodes of `cluster` (add them with `node_main` and `node_model`): the run's nodes and
    links, the payload checks and size limit at its servers, disks in `workdir`/disks and addresses in
    `workdir`/ports; a gradient lost on the way is traced as the simulator traces it."""
    config = cluster.config

    def on_lost(message: Message, why: str) -> None:
        if isinstance(message.payload, Push):
            shard = cluster.shard_names.index(message.dst)
            fate = "shard_down" if why == "down" else "lost"
            cluster.trace.gradient(clock.now(), message.payload.learner, shard, fate, -1)

    return Host(
        nodes=node_names(config),
        seed=config.seed,
        clock=clock,
        directory=PortDirectory.of_run(workdir),
        token=token,
        disks=workdir / "disks",
        link_for=link_for(config),
        partitions=partitions,
        degradations=degradations,
        check=PayloadCheck(cluster, clock),
        max_body=body_limit(cluster),
        bind=bind,
        on_lost=on_lost,
        on_error=on_error,
    )


def learner_names(config: GorilaConfig) -> list[str]:
    """The nodes that push gradients: bundles in bundled mode, learners otherwise."""
    if config.bundled:
        return [f"bundle-{i}" for i in range(config.actors)]
    return [f"learner-{j}" for j in range(config.learners)]


def node_main(name: str, cluster: Cluster) -> NodeMain:
    """The code node `name` runs, bound to `cluster`."""
    config = cluster.config
    role, index = role_of(name), int(name.rsplit("-", 1)[1])
    replays = config.actors if config.replay == "local" else config.replay_nodes
    if role == "shard":
        return lambda rt: shard(rt, cluster, index)
    if role == "bundle":
        return lambda rt: bundle(rt, cluster, index)
    if role == "replay":
        return lambda rt: replay(rt, cluster)
    if role == "learner":
        return lambda rt: learner(rt, cluster, f"replay-{index % replays}")
    if role == "actor":
        return lambda rt: actor(rt, cluster, index, f"replay-{index % replays}")
    raise ValueError(f"no Gorila node is named {name!r} (nodes: {', '.join(node_names(config))})")


def node_model(config: GorilaConfig, name: str) -> NodeModel | None:
    return config.nodes.get(role_of(name))


def link_for(config: GorilaConfig) -> Callable[[str, str], LinkModel]:
    """The link model of each directed pair of nodes: by node pair, else by role pair, else the default."""

    def link(src: str, dst: str) -> LinkModel:
        named = config.node_links.get((src, dst))
        if named is not None:
            return named
        return config.role_links.get((role_of(src), role_of(dst)), config.link)

    return link
