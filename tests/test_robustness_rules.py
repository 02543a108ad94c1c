"""Robustness rules written as tests with gorila_sim.testing: examples users can copy."""

import pytest

from gorila_sim.testing import simulate


def test_no_gradient_staler_than_the_threshold_is_applied_with_straggler_learners():
    run = simulate("straggler-learners", seed=1)
    run.assert_no_applied_staler_than(4)
    assert run.discard_rate("stale") > 0  # the stragglers did produce stale gradients


BAD_DAY = ("bad-day", 2, ["stop.env_steps=15000"])


def test_a_bad_day_discards_little_and_the_cluster_still_learns_something():
    run = simulate(*BAD_DAY)
    run.assert_no_applied_staler_than(10)
    run.assert_discard_rate_below(0.1)
    # Measured: 53.7 learning, 31.1 for the same run with no gradient computed.
    run.assert_return_reaches(45, control=simulate(*BAD_DAY, learning=False))


def test_a_broken_rule_says_what_was_measured():
    run = simulate("straggler-learners", seed=1)
    with pytest.raises(AssertionError, match=r"applied gradients were staler than 0 \(the stalest: [1-4]\)"):
        run.assert_no_applied_staler_than(0)
    with pytest.raises(AssertionError, match=r"discard rate \(stale\) 0\.\d+ is not below 0\.0001"):
        run.assert_discard_rate_below(0.0001, "stale")
    with pytest.raises(AssertionError, match="peaked at"):
        run.assert_return_reaches(10_000)
    with pytest.raises(ValueError, match="unknown discard reason 'slow'"):
        run.discard_rate("slow")


def test_rules_about_gradients_refuse_a_run_that_has_none():
    control = simulate(*BAD_DAY, learning=False)
    assert sum(control.summary["gradients"].values()) == 0
    with pytest.raises(ValueError, match="no gradient met a fate in this run"):
        control.assert_discard_rate_below(0.1)
    with pytest.raises(AssertionError, match="no gradient was applied in this run"):
        control.assert_no_applied_staler_than(10)


def test_a_target_the_control_reaches_too_is_refused():
    run = simulate(*BAD_DAY)
    control = simulate(*BAD_DAY, learning=False)
    run.assert_return_reaches(20)  # the old target: a random CartPole policy averages about 22
    with pytest.raises(AssertionError, match=r"the control's mean return .* peaked at 31\.1, not below 20"):
        run.assert_return_reaches(20, control=control)
