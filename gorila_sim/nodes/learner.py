"""A learner: samples replay, pulls θ, computes the DQN gradient with θ⁻ and pushes its slices to the
shards. It never updates a network of its own; θ⁻ is refreshed from the server every `target_every`
server updates, and the loss-outlier rule may discard a gradient before it is sent."""

from __future__ import annotations

from ..rules import build
from ..runtime import Runtime
from .cluster import Cluster
from .messages import HEADER_BYTES, Push, Sample

RETRY_S = 0.01
"""How long a learner waits before asking again when replay holds too little or a shard is silent."""


class GradientStep:
    """The learner's side of one gradient: pull θ, refresh θ⁻ when due, compute, filter, push."""

    def __init__(self, rt: Runtime, cluster: Cluster) -> None:
        self.rt = rt
        self.cluster = cluster
        self.source = cluster.problem.gradient_source()
        self.outliers = build("outliers", cluster.config.outliers)
        self.target_updates: float | None = None
        self.clock = 0

    async def pull(self) -> tuple | None:
        return await self.cluster.pull(self.rt, self.clock)

    async def run(self, batch, pulled) -> None:
        rt, cluster, config = self.rt, self.cluster, self.cluster.config
        theta, versions = pulled
        updates = sum(versions) / len(versions)
        if self.target_updates is None or updates - self.target_updates >= config.target_every:
            self.source.set_target(theta)
            self.target_updates = updates
            cluster.trace.target(rt.now(), rt.name, updates)
        result = self.source.gradient(batch, theta, rt.rng)
        await rt.compute(config.costs.gradient(config.batch_size))
        if not self.outliers.admit(result.abs_loss):
            cluster.trace.gradient(rt.now(), rt.name, -1, "outlier", -1)
            return
        for s, part in enumerate(cluster.layout.split(result.gradient)):
            rt.send(
                cluster.shard_names[s],
                Push(versions[s], part, rt.name, self.clock),
                HEADER_BYTES + part.nbytes,
            )
        self.clock += 1


async def learner(rt: Runtime, cluster: Cluster, replay: str) -> None:
    step = GradientStep(rt, cluster)
    batch_size = cluster.config.batch_size
    while True:
        try:
            batch = await rt.call(replay, Sample(batch_size), HEADER_BYTES, cluster.config.request_timeout)
        except TimeoutError:
            batch = None
        if batch is None:
            await rt.sleep(RETRY_S)
            continue
        pulled = await step.pull()
        if pulled is None:
            await rt.sleep(RETRY_S)
            continue
        await step.run(batch, pulled)
