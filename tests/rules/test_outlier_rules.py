"""The running mean/std outlier rule: warm-up, decisions, statistics and checkpoints."""

import math

import numpy as np
import pytest

from gorila_sim.rules import NoOutlierRule, RuleError, RunningMeanStd


def warmed(losses, **params):
    rule = RunningMeanStd(warmup=len(losses), **params)
    assert all(rule.admit(loss) for loss in losses)
    return rule


def test_warm_up_admits_everything():
    rule = RunningMeanStd(warmup=10)
    losses = [1.0, 1.0, 1e6, 0.0, 1e-9, 5.0, 1e12, 1.0, 1.0, 1e9]
    assert [rule.admit(loss) for loss in losses] == [True] * 10
    assert not rule.admit(1e13)


@pytest.mark.parametrize("decay", [None, 0.9])
def test_zero_variance_admits_up_to_the_mean(decay):
    assert warmed([2.0] * 3, decay=decay).admit(2.0)
    assert warmed([2.0] * 3, decay=decay).admit(1.0)
    assert not warmed([2.0] * 3, decay=decay).admit(2.0000001)


@pytest.mark.parametrize("decay", [None, 0.99])
def test_clear_outlier_is_rejected_but_counted(decay):
    rng = np.random.default_rng(0)
    rule = warmed(np.abs(rng.normal(1.0, 0.1, 200)), decay=decay)
    mean = rule.mean
    assert not rule.admit(100.0)
    assert rule.count == 201
    assert rule.mean > mean
    assert rule.admit(1.0)


def test_the_loss_is_judged_before_it_joins_the_statistics():
    rule = warmed([0.0, 1.0], k=1.0)  # mean 0.5, std 0.5: threshold 1.0
    assert not rule.admit(1.2)  # with 1.2 folded in first, the threshold would be about 1.27


@pytest.mark.parametrize("loss", [math.nan, math.inf, -math.inf])
def test_non_finite_loss_is_rejected_without_touching_the_statistics(loss):
    rule = warmed([1.0, 2.0, 3.0])
    before = rule.state()
    assert not rule.admit(loss)
    assert rule.state() == before
    assert not RunningMeanStd().admit(loss)  # even during warm-up
    assert RunningMeanStd().count == 0


def test_sign_of_the_loss_is_ignored():
    rule = warmed([1.0, 1.0])
    assert rule.admit(-1.0)
    assert not rule.admit(-1.5)


def test_plain_statistics_are_the_population_mean_and_std():
    losses = np.abs(np.random.default_rng(1).normal(0.0, 3.0, 1000))
    rule = RunningMeanStd(warmup=1)
    for loss in losses:
        rule.admit(loss)
    assert rule.count == 1000
    assert rule.mean == pytest.approx(losses.mean(), rel=1e-12)
    assert rule.std == pytest.approx(losses.std(), rel=1e-12)


def test_weighted_statistics_weigh_the_past_by_decay():
    decay = 0.9
    losses = np.abs(np.random.default_rng(2).normal(1.0, 0.5, 50))
    rule = RunningMeanStd(warmup=1000, decay=decay)
    for loss in losses:
        rule.admit(loss)
    n = len(losses)
    weights = (1 - decay) * decay ** np.arange(n - 1, -1, -1.0)
    weights[0] = decay ** (n - 1)  # the first loss starts the average
    mean = weights @ losses
    assert rule.mean == pytest.approx(mean, rel=1e-12)
    assert rule.var == pytest.approx(weights @ (losses - mean) ** 2, rel=1e-12)


def test_weighted_statistics_track_a_drifting_loss():
    rng = np.random.default_rng(3)
    losses = 1.0 + 0.01 * np.arange(3000) + rng.normal(0.0, 0.1, 3000)
    weighted, plain = RunningMeanStd(decay=0.99), RunningMeanStd()
    kept = {"weighted": 0, "plain": 0}
    for loss in losses:
        kept["weighted"] += weighted.admit(loss)
        kept["plain"] += plain.admit(loss)
    assert weighted.mean == pytest.approx(losses[-100:].mean(), abs=0.5)
    assert plain.mean == pytest.approx(losses.mean(), rel=1e-9)
    assert weighted.std < 2.0 < plain.std
    assert kept["weighted"] > 0.95 * len(losses)


def test_state_round_trip_continues_identically():
    rng = np.random.default_rng(4)
    first, later = np.abs(rng.normal(1.0, 0.3, 150)), np.abs(rng.standard_cauchy(200))
    rule = RunningMeanStd(k=2.0, warmup=20)
    for loss in first:
        rule.admit(loss)
    restored = RunningMeanStd(k=2.0, warmup=20)
    restored.load_state(rule.state())
    assert [rule.admit(x) for x in later] == [restored.admit(x) for x in later]
    assert restored.state() == rule.state()


def test_reset_starts_a_new_warm_up():
    rule = warmed([1.0] * 5)
    assert not rule.admit(10.0)
    rule.reset()
    assert rule.state() == {"count": 0, "mean": 0.0, "var": 0.0}
    assert rule.admit(10.0)


def test_load_state_rejects_other_keys():
    with pytest.raises(RuleError, match=r"^state: "):
        RunningMeanStd().load_state({"count": 1, "mean": 1.0})


@pytest.mark.parametrize(
    ("field", "params"),
    [
        ("k", {"k": -1.0}),
        ("k", {"k": math.nan}),
        ("warmup", {"warmup": 0}),
        ("warmup", {"warmup": 1.5}),
        ("decay", {"decay": 0.0}),
        ("decay", {"decay": 1.0}),
        ("decay", {"decay": "0.9"}),
    ],
)
def test_bad_parameters(field, params):
    with pytest.raises(RuleError) as caught:
        RunningMeanStd(**params)
    assert str(caught.value).startswith(f"{field}: must be ")
    assert "\n" not in str(caught.value)


def test_no_outlier_rule_admits_everything():
    assert all(NoOutlierRule().admit(x) for x in (0.0, 1e300, math.inf, math.nan))
