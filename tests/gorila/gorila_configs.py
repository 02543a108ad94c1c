"""The small surrogate cluster that Gorila's end-to-end tests start from."""

from gorila_sim.config import GorilaConfig
from netmodels import LinkModel, LogNormal


def small_surrogate(**overrides) -> GorilaConfig:
    """Two actors, four learners and two shards learning a 200-parameter surrogate over lognormal links
    (median 1 ms, p99 10 ms); `overrides` replace any field."""
    settings = dict(
        problem="surrogate",
        surrogate_size=200,
        bundled=False,
        actors=2,
        learners=4,
        shards=2,
        replay="global",
        batch_size=32,
        buffer_size=1_000,
        learning_starts=64,
        transitions_per_message=8,
        surrogate_episode=50,
        total_env_steps=20_000,
        optimiser={"name": "sgd", "lr": 0.05},
        link=LinkModel(latency=LogNormal.from_median_p99(0.001, 0.01)),
        seed=3,
    )
    return GorilaConfig(**(settings | overrides))
