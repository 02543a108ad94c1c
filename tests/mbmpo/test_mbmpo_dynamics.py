"""The dynamics ensemble and its data: a known linear system, constant dimensions, per-model splits."""

from functools import partial

import numpy as np
import pytest
import torch

from mbmpo.buffer import TransitionBuffer
from mbmpo.dynamics import DynamicsEnsemble

A = np.array([[0.9, 0.1, 0.0], [-0.1, 0.95, 0.05], [0.0, 0.0, 1.0]], dtype=np.float32)
B = np.array([[0.0], [0.1], [0.0]], dtype=np.float32)


def linear_data(n: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """s' = A s + B a; the third state dimension never changes (its Δs is constant: zero)."""
    obs = rng.normal(size=(n, 3)).astype(np.float32)
    obs[:, 2] = 0.5
    actions = rng.uniform(-1, 1, size=(n, 1)).astype(np.float32)
    return obs, actions, obs @ A.T + actions @ B.T


@pytest.fixture(autouse=True)
def one_thread():
    torch.set_num_threads(1)


def test_ensemble_fits_a_linear_system():
    torch.manual_seed(0)
    rng = np.random.default_rng(0)
    obs, actions, next_obs = linear_data(2000, rng)
    buffer = TransitionBuffer(4000, 3, 1, models=3, validation_fraction=0.2, rng=rng)
    buffer.add(obs, actions, next_obs)
    ensemble = DynamicsEnsemble(3, 1, models=3, hidden=(64, 64))
    losses, _ = ensemble.fit(*buffer.arrays(), epochs=30, batch_size=64, lr=1e-3, patience=5, rng=rng)
    assert losses.shape == (3,) and np.all(np.isfinite(losses))
    assert losses.max() < 0.01  # normalised MSE: under 1% of the variance of Δs

    test_obs, test_actions, test_next = linear_data(100, rng)
    inputs = [torch.from_numpy(np.broadcast_to(x, (3, *x.shape)).copy()) for x in (test_obs, test_actions)]
    with torch.no_grad():
        predicted = ensemble.predict(*inputs).numpy()
    assert predicted.shape == (3, 100, 3)
    assert np.abs(predicted - test_next).max() < 0.1
    assert np.all(predicted[..., 2] == 0.5)  # the constant dimension stays exact


def small_fit(seed: int):
    """ensemble.fit of a 2-model ensemble on 500 transitions of the linear system, data bound."""
    torch.manual_seed(seed)
    rng = np.random.default_rng(seed)
    obs, actions, next_obs = linear_data(500, rng)
    validation = rng.random((500, 2)) < 0.3
    ensemble = DynamicsEnsemble(3, 1, models=2, hidden=(16,))
    return partial(ensemble.fit, obs, actions, next_obs, validation, batch_size=32, lr=3e-3, rng=rng)


def test_returned_losses_are_those_of_the_kept_parameters():
    fit = small_fit(1)
    losses, _ = fit(epochs=8, patience=2)
    again, _ = fit(epochs=0, patience=2)
    np.testing.assert_allclose(again, losses, rtol=1e-5)


def test_early_stopping_counts_only_improvements_larger_than_the_threshold():
    rng = np.random.default_rng(3)
    obs, actions, next_obs = linear_data(500, rng)
    validation = rng.random((500, 2)) < 0.3
    runs = {}
    for threshold in (0.0, 0.5):
        torch.manual_seed(3)
        ensemble = DynamicsEnsemble(3, 1, models=2, hidden=(16,))
        fit_rng = np.random.default_rng(4)
        _, runs[threshold] = ensemble.fit(
            obs,
            actions,
            next_obs,
            validation,
            epochs=40,
            batch_size=32,
            lr=3e-3,
            patience=2,
            min_improvement=threshold,
            rng=fit_rng,
        )
    assert runs[0.0] == 40  # a small network on a linear system keeps improving a little
    assert runs[0.5] < 20


def test_the_kept_parameters_are_those_of_the_lowest_loss_even_below_the_threshold():
    """Improvements too small to count against patience still count for the parameters kept."""
    fit = small_fit(5)
    before, _ = fit(epochs=0, patience=1)
    after, epochs = fit(epochs=10, patience=3, min_improvement=0.95)
    assert epochs == 3  # no epoch lowered a loss twentyfold
    assert (after < before).all()


def test_models_are_independent():
    """Training one model's block of parameters never changes another's prediction."""
    torch.manual_seed(2)
    ensemble = DynamicsEnsemble(3, 1, models=2, hidden=(8,))
    x = torch.randn(2, 5, 4)
    before = ensemble(x).detach()
    with torch.no_grad():
        for param in ensemble.parameters():
            param.view(2, -1)[1] += 0.5
    after = ensemble(x).detach()
    torch.testing.assert_close(after[0], before[0])
    assert not torch.allclose(after[1], before[1])


def test_a_snapshot_predicts_as_the_ensemble_and_keeps_its_weights_when_they_change():
    torch.manual_seed(3)
    ensemble = DynamicsEnsemble(3, 1, models=2, hidden=(8,))
    obs, actions = torch.randn(2, 5, 3), torch.randn(2, 5, 1)
    snapshot = ensemble.snapshot()
    with torch.no_grad():
        inputs = (torch.cat([obs, actions], dim=-1) - ensemble.input_mean) / ensemble.input_std
        through_the_module = obs + ensemble(inputs) * ensemble.delta_std + ensemble.delta_mean
        before = snapshot.predict(obs, actions)
        torch.testing.assert_close(before, through_the_module.clamp(ensemble.obs_low, ensemble.obs_high))
        for param in ensemble.parameters():
            param += 0.5
    assert not any(t.requires_grad for layer in snapshot.layers for t in layer)
    assert torch.equal(snapshot.predict(obs, actions), before)
    assert not torch.equal(ensemble.predict(obs, actions), before)


def test_fit_without_validation_data_is_a_clear_error():
    rng = np.random.default_rng(0)
    obs, actions, next_obs = linear_data(10, rng)
    ensemble = DynamicsEnsemble(3, 1, models=2, hidden=(8,))
    with pytest.raises(ValueError, match="too few transitions"):
        ensemble.fit(
            obs,
            actions,
            next_obs,
            np.zeros((10, 2), bool),
            epochs=1,
            batch_size=4,
            lr=1e-3,
            patience=1,
            rng=rng,
        )


def test_buffer_keeps_the_newest_transitions_and_their_marks():
    rng = np.random.default_rng(0)
    buffer = TransitionBuffer(5, 1, 1, models=4, validation_fraction=0.5, rng=rng)
    for start in (0, 3):
        values = np.arange(start, start + 3, dtype=np.float32).reshape(-1, 1)
        buffer.add(values, values, values)
    obs, _, _, validation = buffer.arrays()
    assert buffer.size == 5
    assert sorted(obs[:, 0].tolist()) == [1.0, 2.0, 3.0, 4.0, 5.0]
    assert validation.shape == (5, 4)
    assert 0 < validation.sum() < validation.size  # each model draws its own split
