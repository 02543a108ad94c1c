"""A replay memory node: stores actors' transitions, answers learners' sample requests."""

from __future__ import annotations

from ..dqn import ReplayBuffer
from ..runtime import Runtime
from .cluster import Cluster
from .messages import Sample, Transitions, batch_bytes


async def replay(rt: Runtime, cluster: Cluster) -> None:
    config = cluster.config
    problem = cluster.problem
    memory = ReplayBuffer(config.buffer_size, problem.obs_shape, problem.obs_dtype)
    ready = max(config.batch_size, config.learning_starts)
    while True:
        message = await rt.receive()
        payload = message.payload
        if isinstance(payload, Transitions):
            b = payload.batch
            memory.add_batch(b.obs, b.actions, b.rewards, b.next_obs, b.terminated)
            await rt.compute(config.costs.replay_per_transition * len(b.actions))
        elif isinstance(payload, Sample):
            if len(memory) < ready:
                rt.reply(message, None)
                continue
            batch = memory.sample(rt.rng, payload.batch_size)
            await rt.compute(config.costs.replay_per_transition * payload.batch_size)
            rt.reply(message, batch, batch_bytes(batch))
