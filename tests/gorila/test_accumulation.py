"""A shard that sums the admitted gradients of `accumulate` pushes into one optimiser step."""

import asyncio

import numpy as np
import pytest
from gorila_configs import small_surrogate

from gorila_sim.config import ConfigError, GorilaConfig
from gorila_sim.gorila import run
from gorila_sim.nodes.cluster import Cluster
from gorila_sim.nodes.messages import Params, Pull, Push
from gorila_sim.nodes.shard import shard, summed
from gorila_sim.problems import make_problem
from gorila_sim.runtime import Simulation
from gorila_sim.scenario import ScenarioError, parse_scenario
from gorila_sim.trace import Trace


def config(**overrides) -> GorilaConfig:
    return small_surrogate(**({"surrogate_size": 100, "total_env_steps": 6_000} | overrides))


def one_shard(settings: GorilaConfig, pushes) -> tuple[list[Params], Trace]:
    """Run shard-0 alone; a client sends `pushes(size)` (version, gradient) one by one, pulling after each."""
    trace = Trace()
    sim = Simulation()
    cluster = Cluster(settings, make_problem(settings), trace, sim.loop.stop)
    sim.add_node("shard-0", lambda rt: shard(rt, cluster, 0))
    pulled: list[Params] = []

    async def client(rt):
        pulled.append(await rt.call("shard-0", Pull()))
        for clock, (version, gradient) in enumerate(pushes(pulled[0].values.size)):
            rt.send("shard-0", Push(version, gradient, "client", clock))
            pulled.append(await rt.call("shard-0", Pull()))

    sim.add_node("client", client)
    sim.run()
    return pulled, trace


def test_k_pushes_are_summed_into_one_step():
    gradients = [np.full(50, float(i + 1), dtype=np.float32) for i in range(3)]
    pulled, trace = one_shard(config(shards=2, accumulate=3), lambda size: [(0, g) for g in gradients])
    before = pulled[0].values
    assert [p.version for p in pulled] == [0, 0, 0, 1]
    np.testing.assert_array_equal(pulled[1].values, before)  # nothing applied before the third push
    np.testing.assert_allclose(pulled[3].values, before - 0.05 * sum(gradients), rtol=1e-6)
    assert [(row[4], row[5], row[6]) for row in trace.records["gradients"]] == [("applied", 0, 1)] * 3


def test_with_k_1_every_push_is_its_own_step():
    gradients = [np.full(50, float(i + 1), dtype=np.float32) for i in range(3)]
    pulled, _ = one_shard(config(shards=2), lambda size: [(i, g) for i, g in enumerate(gradients)])
    assert [p.version for p in pulled] == [0, 1, 2, 3]
    np.testing.assert_allclose(pulled[1].values, pulled[0].values - 0.05 * gradients[0], rtol=1e-6)


def test_the_staleness_rule_judges_each_push_and_discards_do_not_count():
    settings = config(shards=2, accumulate=2, staleness={"name": "hard_threshold", "max_staleness": 0})
    ones = np.ones(50, dtype=np.float32)
    bad = np.full(50, np.nan, dtype=np.float32)
    pushes = [(0, ones), (0, bad), (0, ones), (0, ones), (1, ones), (1, ones)]
    pulled, trace = one_shard(settings, lambda size: pushes)
    fates = [(row[4], row[5]) for row in trace.records["gradients"]]
    # the NaN push is refused and does not count; after the first step, version-0 pushes are stale
    assert fates == [("non_finite", 0), ("applied", 0), ("applied", 0), ("stale", 1)] + [("applied", 0)] * 2
    assert [p.version for p in pulled] == [0, 0, 0, 1, 1, 1, 2]


def test_each_push_keeps_its_own_step_scale_in_the_sum():
    a, b = np.array([1.0, 2.0], dtype=np.float32), np.array([4.0, 8.0], dtype=np.float32)
    total, scale = summed([(a, 0.5), (b, 0.25)])
    np.testing.assert_array_equal(total, [1.5, 3.0])
    assert scale == 1.0
    assert summed([(a, 0.5)]) == (a, 0.5)  # one push: the optimiser scales the step, as without accumulation
    np.testing.assert_array_equal(a, [1.0, 2.0])  # the inputs are left alone


def test_accumulation_gives_fewer_versions_and_less_staleness_in_a_run():
    plain, summing = run(config()), run(config(accumulate=4))
    for result in (plain, summing):
        g = result.trace.table("gradients")
        assert g["fate"].size > 200
    plain_g, summing_g = plain.trace.table("gradients"), summing.trace.table("gradients")
    applied = summing_g["fate"] == "applied"
    per_shard = summing_g["shard"][applied] == 0
    versions = summing_g["version"][applied][per_shard]
    assert np.all(np.bincount(versions)[1:] == 4)  # every version of shard 0 is four pushes
    plain_versions = plain_g["version"][(plain_g["fate"] == "applied") & (plain_g["shard"] == 0)]
    assert np.array_equal(plain_versions, np.arange(1, plain_versions.size + 1))
    assert summing.summary["staleness"]["p99"] < plain.summary["staleness"]["p99"]


def test_same_seed_same_trace_with_accumulation():
    first = run(config(accumulate=3)).trace.without_wall()
    assert first == run(config(accumulate=3)).trace.without_wall()


def test_a_bad_accumulate_is_named():
    with pytest.raises(ConfigError, match="accumulate"):
        config(accumulate=0)
    with pytest.raises(ScenarioError, match=r"training\.accumulate: must be a whole number >= 1, got 0"):
        parse_scenario('[scenario]\nname = "x"\n[training]\naccumulate = 0\n')
    assert parse_scenario('[scenario]\nname = "x"\n[training]\naccumulate = 8\n').config.accumulate == 8


def test_pulls_at_one_version_share_one_read_only_slice_and_a_step_makes_a_new_one():
    def pushes(size):
        return [(0, np.ones(size, dtype=np.float32))] * 2

    first, before_step, after_step = one_shard(config(accumulate=2), pushes)[0]
    assert before_step.version == 0 and before_step.values is first.values
    assert not first.values.flags.writeable
    assert after_step.version == 1 and not np.array_equal(after_step.values, first.values)
    assert np.array_equal(first.values, np.zeros_like(first.values))


def test_a_pull_sends_one_request_object_to_every_shard():
    class Recorder:
        def __init__(self, cluster: Cluster) -> None:
            self.requests: list[Pull] = []
            self.parts = iter(cluster.layout.split(cluster.problem.initial_params()))

        def call(self, dst, payload, size=0, timeout=None):
            self.requests.append(payload)
            return self.answer()

        async def answer(self) -> Params:
            return Params(0, next(self.parts))

    settings = config(shards=3)
    cluster = Cluster(settings, make_problem(settings), Trace(), lambda: None)
    recorder = Recorder(cluster)
    theta, versions = asyncio.run(cluster.pull(recorder, clock=7))
    assert versions == [0, 0, 0] and theta.size == settings.surrogate_size
    assert len(recorder.requests) == 3 and all(r is recorder.requests[0] for r in recorder.requests)
    assert recorder.requests[0] == Pull(7)
