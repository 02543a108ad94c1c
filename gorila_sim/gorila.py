"""Run a Gorila cluster in simulated time: build the nodes from a config, run, summarise the trace."""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from netmodels import Fifo

from .config import GorilaConfig
from .nodes.actor import actor
from .nodes.bundle import bundle
from .nodes.cluster import Cluster
from .nodes.learner import learner
from .nodes.messages import Params, Push
from .nodes.replay import replay
from .nodes.shard import shard
from .problems import make_problem
from .runtime import Message, NodeMain, Simulation
from .topology import index_of, learner_names, link_for, node_names, replay_of, role_of
from .trace import FATES, Trace


@dataclass
class RunResult:
    """A finished run: its config, its trace, and the summary derived from the trace."""

    config: GorilaConfig
    trace: Trace
    summary: dict[str, Any]


class Interrupted(KeyboardInterrupt):
    """Ctrl-C during a run: `result` is the run up to that moment, summarised from its trace so far."""

    def __init__(self, result: RunResult) -> None:
        super().__init__()
        self.result = result


def node_main(name: str, cluster: Cluster) -> NodeMain:
    """The code node `name` runs, bound to `cluster` (the same in the simulator and the emulator)."""
    config = cluster.config
    role, index = role_of(name), index_of(name)
    if role == "shard":
        return lambda rt: shard(rt, cluster, index)
    if role == "bundle":
        return lambda rt: bundle(rt, cluster, index)
    if role == "replay":
        return lambda rt: replay(rt, cluster)
    if role == "learner":
        return lambda rt: learner(rt, cluster, replay_of(config, index))
    if role == "actor":
        return lambda rt: actor(rt, cluster, index, replay_of(config, index))
    raise ValueError(f"no Gorila node is named {name!r} (nodes: {', '.join(node_names(config))})")


INTERFACE_SAMPLE_S = 0.05
"""Run seconds between two samples of the finite network interfaces' busy time in the trace."""


def build(config: GorilaConfig, trace: Trace) -> tuple[Simulation, Cluster]:
    """The simulation with every node of the cluster added (and started)."""
    sim = Simulation(
        seed=config.seed,
        link_for=link_for(config),
        on_lost=lambda message, why: trace_lost(trace, sim.now, message, why),
        on_state=lambda event: trace.lifecycle(event.time, event.node, event.state),
        on_delivered=lambda message: trace_delivered(trace, sim.now, message),
    )
    cluster = Cluster(config, make_problem(config), trace, sim.loop.stop)
    cluster.learner_names = learner_names(config)
    for name in node_names(config):
        sim.add_node(name, node_main(name, cluster), config.nodes.get(role_of(name)))
    shaped = [name for name, node in sim.nodes.items() if node.egress or node.ingress]
    if shaped:

        def sample(_: object) -> None:
            now = sim.now
            for name in shaped:
                node = sim.nodes[name]
                trace_interfaces(trace, now, name, node.egress, node.ingress)
            sim.loop.schedule(now + INTERFACE_SAMPLE_S, sample, None)

        sim.loop.schedule(INTERFACE_SAMPLE_S, sample, None)
    return sim, cluster


def trace_lost(trace: Trace, now: float, message: Message, why: str) -> None:
    """Trace a gradient lost on its way to a shard: to a down shard, or on the link or a partition."""
    if isinstance(message.payload, Push):
        fate = "shard_down" if why == "down" else "lost"
        trace.gradient(now, message.payload.learner, index_of(message.dst), fate, -1)


def trace_delivered(trace: Trace, now: float, message: Message) -> None:
    """Trace a gradient slice reaching its shard, or a slice of θ its puller, with its queueing time."""
    payload = message.payload
    if type(payload) is Push:
        kind = "gradient"
    elif type(payload) is Params:
        kind = "params"
    else:
        return
    trace.message(now, kind, message.src, message.dst, payload.version, message.sent_at, message.queued)


def trace_interfaces(trace: Trace, now: float, node: str, egress: Fifo | None, ingress: Fifo | None) -> None:
    """Trace how long `node`'s interfaces have been busy since the start."""
    trace.interfaces(
        now,
        node,
        math.nan if egress is None else egress.busy_until(now),
        math.nan if ingress is None else ingress.busy_until(now),
    )


def run(
    config: GorilaConfig,
    on_progress: Callable[[int], None] | None = None,
    faults: Callable[[Simulation], None] | None = None,
    trace: Trace | None = None,
) -> RunResult:
    """Run until `total_env_steps`, `target_return` or `max_sim_time`, whichever comes first.

    `on_progress(env_steps)` hears of progress every 1,000 env steps; `faults(sim)` may schedule faults on
    the simulation before it runs; the records go to `trace` (a new one by default). Ctrl-C raises
    Interrupted, which holds the run so far.
    """
    trace = Trace() if trace is None else trace
    sim, cluster = build(config, trace)
    if faults is not None:
        faults(sim)
    cluster.on_progress = on_progress
    started = time.perf_counter()
    try:
        sim.run(until=config.max_sim_time)
    except KeyboardInterrupt:
        summary = summarise(trace, sim, cluster, time.perf_counter() - started)
        raise Interrupted(RunResult(config, trace, summary)) from None
    wall = time.perf_counter() - started
    return RunResult(config, trace, summarise(trace, sim, cluster, wall))


def mean_return_curve(trace: Trace, window: int = 10) -> tuple[np.ndarray, np.ndarray]:
    """(env steps, mean of the last `window` episode returns) after each episode."""
    episodes = trace.table("episodes")
    returns = episodes["ret"].astype(float)
    if returns.size < window:
        return np.array([]), np.array([])
    means = np.convolve(returns, np.ones(window) / window, mode="valid")
    return episodes["env_steps"][window - 1 :], means


def summarise(trace: Trace, sim: Simulation, cluster: Cluster, wall: float) -> dict[str, Any]:
    gradients = trace.table("gradients")
    fates = gradients["fate"]
    applied = gradients["staleness"][fates == "applied"].astype(float) if fates.size else np.array([])
    steps, means = mean_return_curve(trace)
    reached = {}
    if cluster.config.target_return is not None and means.size:
        hit = np.nonzero(means >= cluster.config.target_return)[0]
        reached = {"steps_to_target": int(steps[hit[0]]) if hit.size else None}
    return {
        "env_steps": cluster.env_steps,
        "episodes": len(trace.records["episodes"]),
        "final_mean_return": float(means[-1]) if means.size else math.nan,
        "best_mean_return": float(means.max()) if means.size else math.nan,
        **reached,
        "gradients": {fate: int(np.count_nonzero(fates == fate)) for fate in FATES},
        "staleness": {
            f"p{q}": float(np.percentile(applied, q)) if applied.size else math.nan for q in (50, 90, 99)
        }
        | {"max": float(applied.max()) if applied.size else math.nan},
        "sim_time": sim.now,
        "wall_time": wall,
        "events": sim.loop.events,
        "env_steps_per_wall_s": cluster.env_steps / wall if wall > 0 else math.nan,
        "network": sim.network.stats.as_dict(),
    }
