"""An actor: plays its own copy of the environment epsilon-greedily with θ pulled from the server, and
sends its transitions to its replay memory.

The steps between two of the actor's dealings with the rest of the cluster (a pull, a send, an
episode's end) use one θ and meet no one, so they are taken together and timed as one computation of
their summed cost; the cluster counts them when that computation ends.
"""

from __future__ import annotations

import numpy as np

from ..dqn import Batch
from ..runtime import Runtime
from .cluster import Cluster
from .messages import Transitions, batch_bytes


def as_batch(transitions: list[tuple]) -> Batch:
    obs, actions, rewards, next_obs, terminated = zip(*transitions, strict=True)
    return Batch(
        obs=np.array(obs),
        actions=np.array(actions, dtype=np.int64),
        rewards=np.array(rewards, dtype=np.float32),
        next_obs=np.array(next_obs),
        terminated=np.array(terminated, dtype=np.float32),
    )


async def actor(rt: Runtime, cluster: Cluster, index: int, replay: str) -> None:
    config, costs = cluster.config, cluster.config.costs
    env = cluster.problem.actor_env(cluster.env_seed(rt.name))
    step_cost = costs.act + costs.env_step
    per_message, pull_every = config.transitions_per_message, config.actor_pull_every
    outbox: list[tuple] = []
    while True:
        pulled = await cluster.pull(rt)
        if pulled is not None:
            env.set_params(pulled[0])
        obs, ret, length = env.reset(), 0.0, 0
        while True:
            steps, counted = 0, cluster.actor_steps.get(rt.name, 0)
            while True:
                action = env.act(obs, cluster.epsilon(index, counted + steps), rt.rng)
                next_obs, reward, terminated, truncated = env.step(action)
                outbox.append((obs, action, reward, next_obs, terminated))
                obs, ret, length, steps = next_obs, ret + reward, length + 1, steps + 1
                pull_due = pull_every and length % pull_every == 0
                if terminated or truncated or pull_due or len(outbox) >= per_message:
                    break
            await rt.compute(steps * step_cost)
            cluster.count_steps(rt.name, steps)
            if len(outbox) >= per_message:
                batch = as_batch(outbox)
                rt.send(replay, Transitions(batch), batch_bytes(batch))
                outbox = []
            if terminated or truncated:
                cluster.episode(rt, ret, length)
                break
            if pull_due:
                pulled = await cluster.pull(rt)
                if pulled is not None:
                    env.set_params(pulled[0])
