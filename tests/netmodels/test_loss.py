import numpy as np
import pytest

from netmodels import Bernoulli, GilbertElliott, loss_from_spec


def burst_lengths(lost: np.ndarray) -> np.ndarray:
    edges = np.diff(np.concatenate(([0], lost.astype(np.int8), [0])))
    return np.flatnonzero(edges == -1) - np.flatnonzero(edges == 1)


def chain_losses(model: GilbertElliott, seed: int, blocks: list[int]) -> np.ndarray:
    rng = np.random.default_rng(seed)
    state = model.initial_state(rng)
    return np.concatenate([state.losses(rng, n) for n in blocks])


@pytest.mark.parametrize("p", [0.0, 0.01, 0.3, 1.0])
def test_bernoulli_loss_rate(p):
    lost = Bernoulli(p).losses(np.random.default_rng(0), 100_000)
    assert lost.dtype == bool
    assert lost.mean() == pytest.approx(p, abs=0.005)
    assert Bernoulli(p).stationary_loss == p


def test_gilbert_elliott_stationary_loss_closed_form():
    model = GilbertElliott(0.01, 0.24, loss_good=0.001, loss_bad=0.5)
    bad = 0.01 / 0.25
    assert model.stationary_bad == pytest.approx(bad)
    assert model.stationary_loss == pytest.approx((1 - bad) * 0.001 + bad * 0.5)


@pytest.mark.parametrize(
    "model",
    [
        GilbertElliott(0.01, 0.25),
        GilbertElliott(0.05, 0.1, loss_good=0.01, loss_bad=0.6),
        GilbertElliott(0.5, 0.5),
        GilbertElliott(1.0, 1.0, loss_good=0.2),
    ],
    ids=repr,
)
def test_gilbert_elliott_long_run_loss(model):
    lost = chain_losses(model, 1, [1024] * 400)
    assert lost.mean() == pytest.approx(model.stationary_loss, rel=0.05)


def test_gilbert_elliott_losses_are_bursty():
    model = GilbertElliott(0.01, 0.2)
    lost = chain_losses(model, 2, [1024] * 400)
    assert burst_lengths(lost).mean() == pytest.approx(1 / 0.2, rel=0.05)
    independent = Bernoulli(model.stationary_loss).losses(np.random.default_rng(2), lost.size)
    assert burst_lengths(independent).mean() < 1.1


def test_gilbert_elliott_statistics_do_not_depend_on_block_sizes():
    model = GilbertElliott(0.02, 0.1)
    lost = chain_losses(model, 3, [1, 7, 0, 300, 1024, 5000] * 80)
    assert lost.size == 6332 * 80
    assert lost.mean() == pytest.approx(model.stationary_loss, rel=0.05)
    assert burst_lengths(lost).mean() == pytest.approx(10, rel=0.05)


def test_gilbert_elliott_without_bad_transitions_never_loses():
    lost = chain_losses(GilbertElliott(0.0, 0.5), 4, [1024] * 10)
    assert not lost.any()


def test_gilbert_elliott_state_carries_over_between_calls():
    model = GilbertElliott(0.3, 0.3)
    rng = np.random.default_rng(5)
    state, other = model.initial_state(rng), model.initial_state(rng)
    other_bad = other.bad
    for n in [1, 2, 5, 1024] * 50:
        bad = state.bad
        assert state.losses(rng, n)[0] == bad
    assert other.bad == other_bad


def test_loss_from_spec():
    assert loss_from_spec({"kind": "bernoulli", "p": 0.01}) == Bernoulli(0.01)
    spec = {"kind": "gilbert_elliott", "p_good_to_bad": 0.01, "p_bad_to_good": 0.3, "loss_bad": 0.8}
    assert loss_from_spec(spec) == GilbertElliott(0.01, 0.3, loss_bad=0.8)
