"""Staleness rules at their edges: fresh gradients, the threshold, one past it, and very stale ones."""

import dataclasses
import math

import numpy as np
import pytest

from gorila_sim.rules import (
    DelayCompensated,
    ExponentialPenalty,
    HardThreshold,
    NoStaleness,
    RuleError,
    StalenessScaled,
    StaleSynchronous,
)

HUGE = 10**9
GRADIENT = np.array([1.0, -2.0, 0.5], dtype=np.float32)
PARAMS = np.array([1.0, 1.0, 1.0], dtype=np.float32)
STALE = np.array([0.5, 2.0, 1.0], dtype=np.float32)


def admit(rule, staleness, stale_params=None):
    return rule.admit(GRADIENT, staleness, PARAMS, stale_params)


def test_hard_threshold_discards_only_past_the_threshold():
    rule = HardThreshold(max_staleness=3)
    for staleness in (0, 1, 3):
        gradient, scale = admit(rule, staleness)
        assert gradient is GRADIENT
        assert scale == 1.0
    assert admit(rule, 4) is None
    assert admit(rule, HUGE) is None


def test_hard_threshold_zero_keeps_only_fresh_gradients():
    rule = HardThreshold(max_staleness=0)
    assert admit(rule, 0) == (GRADIENT, 1.0)
    assert admit(rule, 1) is None


def test_staleness_scaled_divides_the_step_by_the_staleness():
    rule = StalenessScaled()
    assert [admit(rule, s)[1] for s in (0, 1, 2, 10)] == [1.0, 1.0, 0.5, 0.1]
    assert admit(rule, HUGE)[1] == pytest.approx(1e-9)


def test_staleness_scaled_with_a_bound_also_discards():
    rule = StalenessScaled(max_staleness=5)
    assert admit(rule, 5)[1] == pytest.approx(0.2)
    assert admit(rule, 6) is None


def test_exponential_penalty():
    rule = ExponentialPenalty(decay=0.5)
    assert admit(rule, 0) == (GRADIENT, 1.0)
    assert admit(rule, 2)[1] == pytest.approx(math.exp(-1.0))
    assert admit(rule, 4)[1] == pytest.approx(math.exp(-2.0))
    assert admit(rule, HUGE)[1] == 0.0
    assert admit(ExponentialPenalty(decay=0.0), HUGE)[1] == 1.0


def test_delay_compensation_formula():
    rule = DelayCompensated(lam=0.1)
    gradient, scale = admit(rule, 3, STALE)
    # g + lam·g·g·(params − stale): 1 + 0.1·1·0.5, −2 + 0.1·4·(−1), 0.5 + 0.
    np.testing.assert_allclose(gradient, [1.05, -2.4, 0.5], rtol=1e-6)
    assert gradient.dtype == np.float32
    assert scale == 1.0


def test_delay_compensation_leaves_its_inputs_alone():
    before = (GRADIENT.copy(), PARAMS.copy(), STALE.copy())
    admit(DelayCompensated(lam=1.0), 2, STALE)
    for array, copy in zip((GRADIENT, PARAMS, STALE), before, strict=True):
        np.testing.assert_array_equal(array, copy)


def test_delay_compensation_of_a_fresh_gradient_changes_nothing():
    assert admit(DelayCompensated(), 0) == (GRADIENT, 1.0)
    assert admit(DelayCompensated(), 0, PARAMS)[0] is GRADIENT


def test_delay_compensation_discards_without_history_or_past_its_bound():
    assert admit(DelayCompensated(), 1, None) is None
    assert admit(DelayCompensated(), HUGE, None) is None
    bounded = DelayCompensated(max_staleness=2)
    assert admit(bounded, 2, STALE) is not None
    assert admit(bounded, 3, STALE) is None


def test_delay_compensation_with_zero_lambda_is_plain_asgd():
    gradient, _ = admit(DelayCompensated(lam=0.0), 5, STALE)
    np.testing.assert_array_equal(gradient, GRADIENT)


def test_history():
    assert DelayCompensated().history == 32
    assert DelayCompensated(history=4).history == 4
    others = [HardThreshold(1), StalenessScaled(), ExponentialPenalty(1.0), StaleSynchronous(1)]
    others.append(NoStaleness())
    assert [rule.history for rule in others] == [0] * len(others)


def test_stale_synchronous_admits_everything_and_holds_back_at_the_bound():
    rule = StaleSynchronous(bound=2)
    assert admit(rule, HUGE) == (GRADIENT, 1.0)
    assert rule.may_proceed(clock=3, slowest_clock=3)
    assert rule.may_proceed(clock=5, slowest_clock=3)
    assert not rule.may_proceed(clock=6, slowest_clock=3)
    assert StaleSynchronous(bound=0).may_proceed(clock=4, slowest_clock=4)
    assert not StaleSynchronous(bound=0).may_proceed(clock=5, slowest_clock=4)


def test_no_staleness_admits_everything():
    assert admit(NoStaleness(), 0) == (GRADIENT, 1.0)
    assert admit(NoStaleness(), HUGE) == (GRADIENT, 1.0)


def test_rules_are_frozen():
    with pytest.raises(dataclasses.FrozenInstanceError):
        HardThreshold(3).max_staleness = 4


def test_bad_parameter_message():
    with pytest.raises(RuleError) as caught:
        HardThreshold(-1)
    assert str(caught.value) == "max_staleness: must be an integer >= 0, got -1"
    assert isinstance(caught.value, ValueError)


@pytest.mark.parametrize(
    ("field", "make"),
    [
        ("max_staleness", lambda: HardThreshold(1.5)),
        ("max_staleness", lambda: HardThreshold(True)),
        ("max_staleness", lambda: HardThreshold("3")),
        ("max_staleness", lambda: StalenessScaled(-1)),
        ("decay", lambda: ExponentialPenalty(-0.1)),
        ("decay", lambda: ExponentialPenalty(math.nan)),
        ("decay", lambda: ExponentialPenalty(math.inf)),
        ("decay", lambda: ExponentialPenalty("1")),
        ("lam", lambda: DelayCompensated(lam=-1.0)),
        ("max_staleness", lambda: DelayCompensated(max_staleness=-1)),
        ("history", lambda: DelayCompensated(history=-1)),
        ("history", lambda: DelayCompensated(history=2.0)),
        ("bound", lambda: StaleSynchronous(-1)),
        ("bound", lambda: StaleSynchronous(2.0)),
    ],
)
def test_bad_parameters(field, make):
    with pytest.raises(RuleError) as caught:
        make()
    assert str(caught.value).startswith(f"{field}: must be ")
    assert "\n" not in str(caught.value)
