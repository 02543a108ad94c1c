"""Finite but huge gradients never make an optimiser's state or the parameters non-finite."""

import numpy as np
import pytest

from gorila_sim.rules.optimisers import SGD, AdaGrad, Adam, RMSProp


@pytest.mark.parametrize(
    "optimiser", [AdaGrad(), SGD(), SGD(momentum=0.9), RMSProp(), Adam()], ids=lambda o: repr(o)
)
def test_gradients_of_3e38_leave_the_state_and_the_parameters_finite(optimiser):
    params = np.zeros(10, dtype=np.float32)
    gradient = np.full(10, 3e38, dtype=np.float32)
    gradient[::2] *= -1
    for _ in range(200):
        optimiser.step(params, gradient, scale=1.0)
    state = optimiser.state()
    assert np.isfinite(params).all()
    assert all(np.isfinite(value).all() for value in state.values())
    optimiser.step(params, np.full(10, 0.5, dtype=np.float32))  # and ordinary gradients go on working
    assert np.isfinite(params).all()
