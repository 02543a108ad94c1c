"""Gorila end to end in simulated time: determinism, faults in the trace, robustness rules."""

import gc

import numpy as np
import pytest
from gorila_configs import small_surrogate as surrogate

from gorila_sim.config import ConfigError, GorilaConfig
from gorila_sim.gorila import build, run
from gorila_sim.nodes.cluster import Cluster
from gorila_sim.nodes.messages import Pull, Push
from gorila_sim.nodes.shard import shard
from gorila_sim.problems import make_problem
from gorila_sim.runtime import Simulation
from gorila_sim.runtime.simulated import YOUNG_COLLECTION_EVERY
from gorila_sim.trace import Trace
from netmodels import NodeModel, ShiftedExponential


def test_same_config_and_seed_give_the_same_trace_bit_for_bit():
    first = run(surrogate()).trace.without_wall()
    assert len(first["gradients"]) > 500
    assert first == run(surrogate()).trace.without_wall()
    assert first != run(surrogate(seed=4)).trace.without_wall()


def test_dqn_bundled_run_is_deterministic_too():
    config = GorilaConfig(total_env_steps=1_500, learning_starts=500, seed=5)
    first = run(config)
    # one gradient every 10 steps past 500; the run stops at step 1,500, before that step's gradient
    assert first.summary["gradients"]["applied"] == (1_500 - 500) // 10 - 1
    assert first.trace.without_wall() == run(config).trace.without_wall()


def final_loss_fraction(config: GorilaConfig) -> float:
    """The loss of the last 10 episodes as a fraction of the first episode's (returns are minus the loss)."""
    returns = run(config).trace.table("episodes")["ret"]
    return float(returns[-10:].mean() / returns[0])


def test_surrogate_learns_and_its_control_does_not():
    # Measured: 0.0019 with SGD at 0.05; exactly 1.0 for the control at lr 1e-12 (nothing learned).
    assert final_loss_fraction(surrogate(total_env_steps=40_000)) < 0.01
    control = surrogate(total_env_steps=40_000, optimiser={"name": "sgd", "lr": 1e-12})
    assert final_loss_fraction(control) >= 0.01


def test_hard_threshold_never_applies_a_gradient_staler_than_tau():
    slow = NodeModel(speed=0.05)
    config = surrogate(staleness={"name": "hard_threshold", "max_staleness": 3}, nodes={"learner": slow})
    result = run(config)
    gradients = result.trace.table("gradients")
    applied = gradients["staleness"][gradients["fate"] == "applied"]
    assert applied.max() <= 3
    assert result.summary["gradients"]["stale"] > 0
    unbounded = run(surrogate(nodes={"learner": slow})).trace.table("gradients")
    assert unbounded["staleness"][unbounded["fate"] == "applied"].max() > 3


def test_outlier_rule_discards_at_the_learner():
    config = surrogate(outliers={"name": "running_mean_std", "k": 0.5, "warmup": 10, "decay": 0.9})
    summary = run(config).summary
    assert summary["gradients"]["outlier"] > 0
    assert summary["gradients"]["applied"] > 0


def test_a_restarted_shard_resumes_from_its_checkpoint():
    config = surrogate(checkpoint_every=50, total_env_steps=30_000)
    trace = Trace()
    sim, _ = build(config, trace)
    sim.crash("shard-0", at=0.5, restart_at=0.6)
    sim.run(until=2.0)
    g = trace.table("gradients")
    shard0 = (g["shard"] == 0) & (g["fate"] == "applied")
    before = g["version"][shard0 & (g["time"] < 0.5)]
    after = g["version"][shard0 & (g["time"] > 0.6)]
    checkpoint = before.max() // 50 * 50
    assert before.max() > checkpoint  # updates after the last checkpoint were lost in the crash
    assert after[0] == checkpoint + 1
    down = (g["shard"] == 0) & (g["fate"] == "shard_down")
    assert np.all((g["time"][down] >= 0.5) & (g["time"][down] <= 0.6))
    assert down.sum() > 0


def test_a_gradient_with_nan_is_refused_and_leaves_the_shard_untouched():
    config = surrogate(shards=1)
    trace = Trace()
    sim = Simulation()
    cluster = Cluster(config, make_problem(config), trace, sim.loop.stop)
    sim.add_node("shard-0", lambda rt: shard(rt, cluster, 0))
    seen: dict = {}

    async def rogue(rt):
        seen["before"] = await rt.call("shard-0", Pull())
        size = seen["before"].values.size
        rt.send("shard-0", Push(0, np.full(size, np.nan, dtype=np.float32), "rogue", 0))
        rt.send("shard-0", Push(0, np.ones(size, dtype=np.float32), "rogue", 1))
        seen["after"] = await rt.call("shard-0", Pull())

    sim.add_node("rogue", rogue)
    sim.run()
    assert [row[4] for row in trace.records["gradients"]] == ["non_finite", "applied"]
    assert seen["after"].version == seen["before"].version + 1
    expected = seen["before"].values - 0.05 * np.ones_like(seen["before"].values)  # one SGD step, no NaN
    np.testing.assert_allclose(seen["after"].values, expected, rtol=1e-6)


def test_bad_config_values_name_the_field():
    for field, value in [
        ("actors", 0),
        ("gamma", 1.5),
        ("problem", "pong"),
        ("replay", "both"),
        ("seed", -1),
    ]:
        with pytest.raises(ConfigError, match=field):
            GorilaConfig(**{field: value})


def test_cost_profiles_round_trip_and_refuse_bad_values(tmp_path):
    from gorila_sim.costs import CostProfile

    profile = CostProfile(env_step=1e-4, act=2e-5)
    profile.save(tmp_path / "costs.toml")
    assert CostProfile.load(tmp_path / "costs.toml") == profile
    with pytest.raises(ValueError, match=r"costs\.act"):
        CostProfile(act=-1.0)
    (tmp_path / "bad.toml").write_text("env_stepz = 1.0\n")
    with pytest.raises(ValueError, match="env_stepz"):
        CostProfile.load(tmp_path / "bad.toml")


def test_atari_actors_use_preprocessed_frames_and_the_nature_cnn():
    pytest.importorskip("ale_py")
    config = GorilaConfig(
        env_id="ALE/Pong-v5",
        total_env_steps=120,
        learning_starts=60,
        train_every=20,
        batch_size=4,
        buffer_size=200,
        seed=2,
    )
    problem = make_problem(config)
    assert problem.obs_shape == (4, 84, 84) and problem.obs_dtype == np.uint8
    assert problem.param_size > 1_600_000  # the Nature CNN
    result = run(config)
    assert result.summary["env_steps"] == 120
    assert result.summary["gradients"]["applied"] >= 1


def test_an_unknown_environment_is_a_clear_error():
    with pytest.raises(ValueError, match="env_id"):
        run(GorilaConfig(env_id="NoSuchEnv-v0"))


def clock_spread(trace: Trace, learners: list[str]) -> int:
    """The largest gap, over the run, between the most and the fewest gradients any learner got to shard 0."""
    g = trace.table("gradients")
    at_shard0 = g["shard"] == 0
    counts = dict.fromkeys(learners, 0)
    spread = 0
    for learner in g["learner"][at_shard0]:
        counts[learner] += 1
        spread = max(spread, max(counts.values()) - min(counts.values()))
    return spread


def test_stale_synchronous_bounds_how_far_a_learner_runs_ahead():
    stragglers = {"learner": NodeModel(straggler=ShiftedExponential(shift=1.0, mean=3.0))}
    learners = [f"learner-{j}" for j in range(4)]
    free = run(surrogate(nodes=stragglers)).trace
    bounded = run(surrogate(nodes=stragglers, staleness={"name": "stale_synchronous", "bound": 2})).trace
    assert clock_spread(free, learners) > 10
    assert clock_spread(bounded, learners) <= 2 + 1  # the bound, plus the push in flight


def test_a_run_collects_young_garbage_rarely_and_restores_the_collector_after():
    before = gc.get_threshold()
    during = []
    run(surrogate(total_env_steps=3_000), on_progress=lambda steps: during.append(gc.get_threshold()))
    assert during and all(t == (YOUNG_COLLECTION_EVERY, *before[1:]) for t in during)
    assert gc.get_threshold() == before
