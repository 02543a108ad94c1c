"""Properties: read from their names, checked on traces made by hand (each with the run that breaks it),
and on real runs."""

import math

import pytest

from gorila_sim.config import GorilaConfig
from gorila_sim.explore.properties import (
    Finite,
    MaxStaleness,
    Progress,
    PropertyError,
    Restore,
    Return,
    UserProperty,
    parse_property,
)
from gorila_sim.gorila import RunResult
from gorila_sim.testing import Outcome, simulate
from gorila_sim.trace import FATES, Trace


def outcome(gradients=(), lifecycle=(), episodes=(), end=1.0, checkpoint_every=50):
    """A run made by hand: gradient records (time, shard, fate, staleness, version)."""
    trace = Trace()
    for node in ("learner-0", "shard-0", "shard-1"):
        trace.lifecycle(0.0, node, "up")
    for time, node, state in sorted(lifecycle):
        trace.lifecycle(time, node, state)
    for time, shard, fate, staleness, version in gradients:
        trace.gradient(time, "learner-0", shard, fate, staleness, version)
    for time, ret, steps in episodes:
        trace.episode(time, "actor-0", ret, 10, steps)
    counts = dict.fromkeys(FATES, 0)
    for _, _, fate, _, _ in gradients:
        counts[fate] += 1
    summary = {"sim_time": end, "gradients": counts}
    return Outcome(RunResult(GorilaConfig(checkpoint_every=checkpoint_every), trace, summary))


def steady(start, stop, step=0.01, shard=0, version=0):
    """Applied gradients every `step` seconds from `start` to `stop`, versions counting up."""
    count = round((stop - start) / step)
    return [(start + i * step, shard, "applied", 0, version + i + 1) for i in range(count)]


def test_built_in_properties_are_read_with_their_parameters():
    assert parse_property("max-staleness:8") == MaxStaleness(8)
    assert parse_property("progress:0.1") == Progress(0.1)
    assert parse_property("finite") == Finite()
    assert parse_property("restore") == Restore()
    assert parse_property("return:150@20_000") == Return(150.0, 20_000)
    assert parse_property("return:-3.5@100").name == "return:-3.5@100"
    user = parse_property("math:isfinite")
    assert isinstance(user, UserProperty) and user.function is math.isfinite


@pytest.mark.parametrize(
    ("text", "names"),
    [
        ("progres:0.1", "unknown property 'progres'"),
        ("max-staleness", "TAU must be a whole number >= 0, got ''"),
        ("max-staleness:-1", "TAU must be a whole number >= 0"),
        ("max-staleness:soon", "TAU must be a whole number"),
        ("progress:0", "WINDOW must be > 0"),
        ("progress:abc", "WINDOW must be a number"),
        ("progress:inf", "WINDOW must be a finite number"),
        ("return:150", "expected return:Y@STEPS"),
        ("return:x@100", "Y must be a number"),
        ("return:150@0", "STEPS must be a whole number >= 1"),
        ("finite:3", "finite takes no parameter"),
        ("no_such_module.sub:check", "cannot import 'no_such_module.sub'"),
        ("math:no_such_function", "has no function 'no_such_function'"),
    ],
)
def test_a_bad_property_is_one_line_naming_it(text, names):
    with pytest.raises(PropertyError) as caught:
        parse_property(text)
    assert str(caught.value).startswith(f"property {text!r}: ") and names in str(caught.value)
    assert "\n" not in str(caught.value)


def test_max_staleness_fails_on_the_first_gradient_applied_staler_than_tau():
    run = outcome([(0.1, 0, "applied", 3, 1), (0.2, 0, "stale", 9, 1), (0.3, 0, "applied", 5, 2)])
    assert MaxStaleness(5).check(run).holds
    verdict = MaxStaleness(4).check(run)
    assert not verdict.holds and verdict.at == 0.3 and verdict.closest == 5
    assert "1 applied gradients were staler than 4" in verdict.message


def test_progress_fails_on_a_gap_while_a_learner_and_a_shard_run():
    gap = outcome(steady(0.1, 0.4) + steady(0.6, 1.0, version=30))
    verdict = Progress(0.1).check(gap)
    assert not verdict.holds
    assert verdict.closest == pytest.approx(0.21) and verdict.at == pytest.approx(0.39 + 0.1)
    assert Progress(0.25).check(gap).holds


def test_progress_expects_nothing_while_every_shard_or_every_learner_is_down():
    shards_down = [(0.4, "shard-0", "crashed"), (0.4, "shard-1", "crashed")]
    shards_down += [(0.59, "shard-0", "up"), (0.59, "shard-1", "up")]
    gap = steady(0.1, 0.4) + steady(0.6, 1.0, version=30)
    assert Progress(0.1).check(outcome(gap, shards_down)).holds
    paused = [(0.4, "learner-0", "paused"), (0.59, "learner-0", "resumed")]
    assert Progress(0.1).check(outcome(gap, paused)).holds
    one_shard_down = shards_down[::2]  # the other shard still runs: the cluster is expected to progress
    assert not Progress(0.1).check(outcome(gap, one_shard_down)).holds


def test_progress_counts_a_gap_at_the_end_of_the_run_and_not_before_the_first_gradient():
    assert not Progress(0.1).check(outcome(steady(0.5, 0.8), end=1.0)).holds
    assert Progress(0.1).check(outcome(steady(0.5, 1.0), end=1.0)).holds


def test_restore_wants_a_restarted_shard_at_its_checkpoint_and_versions_never_going_back():
    before = steady(0.0, 1.2, version=0)  # versions 1..120: the last checkpoint is at 100
    crash = [(1.25, "shard-0", "crashed"), (1.3, "shard-0", "up")]
    good = outcome([*before, (1.35, 0, "applied", 0, 101)], crash, end=2.0)
    verdict = Restore().check(good)
    assert verdict.holds and verdict.closest == 1
    kept_its_version = outcome([*before, (1.35, 0, "applied", 0, 121)], crash, end=2.0)
    verdict = Restore().check(kept_its_version)
    assert not verdict.holds and "came back at version 120" in verdict.message and "100" in verdict.message
    stale_first = outcome([*before, (1.35, 0, "stale", 9, 100)], crash, end=2.0)
    assert Restore().check(stale_first).holds
    went_back = outcome([*before, (1.35, 0, "applied", 0, 90)], end=2.0)
    assert "went back from 120 to 90" in Restore().check(went_back).message
    other_shard = outcome([*before, (1.3, 1, "applied", 0, 5)], crash, end=2.0)
    assert Restore().check(other_shard).holds


def test_restore_holds_on_a_real_shard_crash():
    run = simulate("shard-crash", overrides=["training.problem=surrogate", "stop.sim_time=0.6"])
    verdict = Restore().check(run)
    assert verdict.holds and verdict.closest >= 1, verdict.message


def test_finite_fails_on_a_non_finite_gradient_or_return():
    assert Finite().check(outcome([(0.1, 0, "applied", 0, 1)], episodes=[(0.1, 5.0, 10)])).holds
    assert not Finite().check(outcome([(0.1, 0, "non_finite", 0, 1)])).holds
    assert not Finite().check(outcome(episodes=[(0.1, math.nan, 10)])).holds


def test_return_is_the_mean_over_ten_episodes_by_the_given_env_steps():
    episodes = [(i * 0.1, float(i), 100 * (i + 1)) for i in range(20)]  # returns 0..19
    run = outcome(episodes=episodes)
    assert Return(14.5, 2_000).check(run).holds  # episodes 10..19 end by 2,000 steps: mean 14.5
    verdict = Return(14.5, 1_900).check(run)
    assert not verdict.holds and verdict.closest == 13.5


def test_a_user_property_fails_by_assertion_or_by_returning_false():
    run = outcome([(0.1, 0, "applied", 7, 1)])
    verdict = UserProperty(lambda r: r.assert_no_applied_staler_than(5)).check(run)
    assert not verdict.holds and "staler than 5 (the stalest: 7)" in verdict.message
    assert not UserProperty(lambda r: False).check(run).holds
    assert UserProperty(lambda r: None).check(run).holds
