"""Actors take the steps between two of their dealings with the cluster together, as one computation."""

import numpy as np

from gorila_sim.config import GorilaConfig
from gorila_sim.gorila import run
from gorila_sim.problems import SurrogateProblem
from gorila_sim.runtime.simulated import SimNode
from netmodels import Constant, LinkModel


def surrogate(**overrides) -> GorilaConfig:
    settings = dict(problem="surrogate", surrogate_size=100, bundled=False, learners=1, shards=2, seed=1)
    settings.update(link=LinkModel(latency=Constant(0.001)), learning_starts=64, batch_size=32)
    return GorilaConfig(**(settings | overrides))


def test_an_actor_spends_the_steps_up_to_each_send_or_episode_end_as_one_computation(monkeypatch):
    costs: list[float] = []
    compute = SimNode.compute

    def recording(node, cost):
        if node.name == "actor-0":
            costs.append(cost)
        return compute(node, cost)

    monkeypatch.setattr(SimNode, "compute", recording)
    config = surrogate(actors=1, surrogate_episode=50, transitions_per_message=8, total_env_steps=500)
    result = run(config)
    step = config.costs.act + config.costs.env_step
    # 50 steps an episode: six sends of 8 transitions, then the episode ends 2 steps later.
    assert np.allclose(costs[:14], [8 * step] * 6 + [2 * step] + [6 * step] + [8 * step] * 5 + [4 * step])
    assert result.summary["env_steps"] == 500
    assert np.isclose(sum(costs), 500 * step)


def test_each_step_of_a_batch_explores_with_its_own_epsilon(monkeypatch):
    epsilons: list[float] = []
    actor_env = SurrogateProblem.actor_env

    def recording(problem, seed):
        env = actor_env(problem, seed)
        act = env.act
        env.act = lambda obs, epsilon, rng: epsilons.append(epsilon) or act(obs, epsilon, rng)
        return env

    monkeypatch.setattr(SurrogateProblem, "actor_env", recording)
    run(surrogate(actors=1, transitions_per_message=8, total_env_steps=100, exploration_fraction=1.0))
    assert len(epsilons) >= 100
    assert np.all(np.diff(epsilons[:100]) < 0)  # epsilon decays step by step, inside batches too


def test_a_run_stops_at_exactly_its_total_while_batches_are_under_way():
    result = run(surrogate(actors=3, transitions_per_message=8, total_env_steps=1_003))
    assert result.summary["env_steps"] == 1_003
    episodes = result.trace.table("episodes")
    assert episodes["env_steps"].max() <= 1_003
