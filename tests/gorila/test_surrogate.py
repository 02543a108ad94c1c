"""The surrogate problem's gradients: their noise is numpy's normal draw, made in scratch arrays."""

import tracemalloc

import numpy as np

from gorila_sim.config import GorilaConfig
from gorila_sim.dqn import Batch
from gorila_sim.problems import SurrogateProblem


def batch(size: int) -> Batch:
    zeros = np.zeros((size, 1), dtype=np.float32)
    return Batch(zeros, np.zeros(size, dtype=np.int64), zeros[:, 0], zeros, zeros[:, 0])


def test_a_gradient_is_the_quadratics_gradient_plus_rng_normal_noise_bit_for_bit():
    problem = SurrogateProblem(GorilaConfig(problem="surrogate", surrogate_size=5_000, surrogate_noise=0.7))
    source = problem.gradient_source()
    theta = np.random.default_rng(1).normal(size=5_000).astype(np.float32)
    ours, numpys = np.random.default_rng(2), np.random.default_rng(2)
    for size in (32, 7, 32):
        result = source.gradient(batch(size), theta, ours)
        expected = problem.curvature * (theta - problem.optimum)
        expected += numpys.normal(0.0, 0.7 / np.sqrt(size), 5_000).astype(np.float32)
        expected_loss = problem.loss(theta) * numpys.gamma(size, 1.0 / size)
        assert result.gradient.tobytes() == expected.tobytes()
        assert result.loss == expected_loss


def test_a_gradients_noise_allocates_no_arrays_of_its_own():
    """The float64 draws and their float32 copy reuse the problem's scratch: at its peak a gradient holds
    3 float32 arrays of its own (its result and the loss's two temporaries); fresh draws made it 4."""
    size = 100_000
    problem = SurrogateProblem(GorilaConfig(problem="surrogate", surrogate_size=size))
    source, theta, rng = problem.gradient_source(), problem.initial_params(), np.random.default_rng(0)
    source.gradient(batch(32), theta, rng)
    tracemalloc.start()
    source.gradient(batch(32), theta, rng)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert peak < 3.5 * 4 * size
