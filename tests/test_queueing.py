"""The kernel against queueing theory, with fixed seeds and real tolerances."""

import pytest

from gorila_sim.queueing import single_server_queue, straggler_rounds


@pytest.fixture(scope="module")
def mm1():
    return single_server_queue(arrival_rate=0.8, service_rate=1.0, customers=200_000, seed=0)


def test_mm1_mean_sojourn_matches_one_over_mu_minus_lambda(mm1):
    assert mm1.expected_sojourn == pytest.approx(5.0)
    assert mm1.customers == 200_000
    assert abs(mm1.sojourn_error) < 0.03


def test_littles_law_holds_on_the_same_run(mm1):
    assert abs(mm1.little_error) < 0.01
    assert mm1.arrival_rate_measured == pytest.approx(0.8, rel=0.01)
    assert mm1.mean_in_system == pytest.approx(mm1.expected_in_system, rel=0.04)  # rho / (1 - rho) = 4


def test_md1_mean_sojourn_matches_pollaczek_khinchine():
    md1 = single_server_queue(customers=200_000, service="deterministic", seed=1)
    assert md1.expected_sojourn == pytest.approx(3.0)
    assert abs(md1.sojourn_error) < 0.03


def test_mean_of_the_slowest_of_n_shifted_exponentials():
    result = straggler_rounds(workers=10, rounds=4_000, shift=1.0, mean=0.5, seed=2)
    assert result.expected_round_time == pytest.approx(1.0 + 0.5 * sum(1 / k for k in range(1, 11)))
    assert abs(result.error) < 0.02


def test_bad_queue_parameters_are_refused():
    with pytest.raises(ValueError, match="arrival_rate"):
        single_server_queue(arrival_rate=1.2, service_rate=1.0)
    with pytest.raises(ValueError, match="service"):
        single_server_queue(service="erlang")
