"""An actor: plays its own copy of the environment epsilon-greedily with θ pulled from the server, and
sends its transitions to its replay memory."""

from __future__ import annotations

import numpy as np

from ..dqn import Batch
from ..runtime import Runtime
from .cluster import Cluster
from .messages import Transitions, batch_bytes


def as_batch(transitions: list[tuple]) -> Batch:
    obs, actions, rewards, next_obs, terminated = zip(*transitions, strict=True)
    return Batch(
        obs=np.stack(obs),
        actions=np.array(actions, dtype=np.int64),
        rewards=np.array(rewards, dtype=np.float32),
        next_obs=np.stack(next_obs),
        terminated=np.array(terminated, dtype=np.float32),
    )


async def actor(rt: Runtime, cluster: Cluster, index: int, replay: str) -> None:
    config, costs = cluster.config, cluster.config.costs
    env = cluster.problem.actor_env(cluster.env_seed(rt.name))
    outbox: list[tuple] = []
    while True:
        pulled = await cluster.pull(rt)
        if pulled is not None:
            env.set_params(pulled[0])
        obs, ret, length = env.reset(), 0.0, 0
        while True:
            action = env.act(obs, cluster.epsilon(rt.name, index), rt.rng)
            next_obs, reward, terminated, truncated = env.step(action)
            await rt.compute(costs.act + costs.env_step)
            cluster.count_step(rt.name)
            outbox.append((obs, action, reward, next_obs, terminated))
            if len(outbox) >= config.transitions_per_message:
                batch = as_batch(outbox)
                rt.send(replay, Transitions(batch), batch_bytes(batch))
                outbox = []
            obs, ret, length = next_obs, ret + reward, length + 1
            if terminated or truncated:
                cluster.episode(rt, ret, length)
                break
            if config.actor_pull_every and length % config.actor_pull_every == 0:
                pulled = await cluster.pull(rt)
                if pulled is not None:
                    env.set_params(pulled[0])
