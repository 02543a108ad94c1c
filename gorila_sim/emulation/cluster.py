"""A Gorila cluster's nodes as the emulator runs them (the same code, links and node models as in the
simulator: `gorila.node_main` and `topology`), and the Host that serves them in a process."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from pathlib import Path

from netmodels import Degradation, NodeModel, Partition

from ..config import GorilaConfig
from ..gorila import trace_delivered, trace_lost
from ..nodes.cluster import Cluster
from ..problems import Problem
from ..topology import learner_names, link_for, node_names, role_of
from ..trace import Trace
from .clock import RunClock
from .directory import AddressBook
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
    key: bytes,
    workdir: Path,
    directory: AddressBook | None = None,
    partitions: Iterable[Partition] = (),
    degradations: Iterable[Degradation] = (),
    bind: str = "127.0.0.1",
    ports: range | None = None,
    on_error: Callable[[str, BaseException], None] | None = None,
    cpu_credit: bool = False,
) -> Host:
    """A Host for nodes of `cluster` (add them with `node_main` and `node_model`): the run's nodes and
    links, the payload checks and size limit at its servers, disks in `workdir`/disks and addresses in
    `directory` (a book of its own when None); a gradient lost on the way, and a gradient or a slice of θ
    delivered, are traced as the simulator traces them."""
    config = cluster.config

    return Host(
        nodes=node_names(config),
        seed=config.seed,
        clock=clock,
        directory=directory if directory is not None else AddressBook(),
        key=key,
        disks=workdir / "disks",
        link_for=link_for(config),
        partitions=partitions,
        degradations=degradations,
        check=PayloadCheck(cluster, clock),
        max_body=body_limit(cluster),
        bind=bind,
        ports=ports,
        on_lost=lambda message, why: trace_lost(cluster.trace, clock.now(), message, why),
        on_delivered=lambda message: trace_delivered(cluster.trace, clock.now(), message),
        on_error=on_error,
        cpu_credit=cpu_credit,
    )


def node_model(config: GorilaConfig, name: str) -> NodeModel | None:
    return config.nodes.get(role_of(name))
