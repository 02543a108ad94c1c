"""Bundled mode, as in the paper: an actor, its local replay memory and a learner on one node.

The loop reads like a single-process DQN: act, step, store; every `train_every` steps past
`learning_starts`, one gradient through the parameter server.
"""

from __future__ import annotations

from ..dqn import ReplayBuffer
from ..runtime import Runtime
from .cluster import Cluster
from .learner import RETRY_S, GradientStep


async def bundle(rt: Runtime, cluster: Cluster, index: int) -> None:
    config, costs, problem = cluster.config, cluster.config.costs, cluster.problem
    env = problem.actor_env(cluster.env_seed(rt.name))
    memory = ReplayBuffer(config.buffer_size, problem.obs_shape, problem.obs_dtype)
    learner = GradientStep(rt, cluster)
    steps = 0
    while True:
        pulled = await learner.pull()
        while pulled is None:
            await rt.sleep(RETRY_S)
            pulled = await learner.pull()
        env.set_params(pulled[0])
        obs, ret, length = env.reset(), 0.0, 0
        while True:
            action = env.act(obs, cluster.epsilon(index, cluster.actor_steps.get(rt.name, 0)), rt.rng)
            next_obs, reward, terminated, truncated = env.step(action)
            await rt.compute(costs.act + costs.env_step + costs.replay_per_transition)
            memory.add(obs, action, reward, next_obs, terminated)
            cluster.count_steps(rt.name)
            steps += 1
            obs, ret, length = next_obs, ret + reward, length + 1
            if steps > config.learning_starts and steps % config.train_every == 0:
                pulled = await learner.pull()
                if pulled is not None:
                    env.set_params(pulled[0])
                    batch = memory.sample(rt.rng, config.batch_size)
                    await rt.compute(costs.replay_per_transition * config.batch_size)
                    await learner.run(batch, pulled)
            if terminated or truncated:
                cluster.episode(rt, ret, length)
                break
