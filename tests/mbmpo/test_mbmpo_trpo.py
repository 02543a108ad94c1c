"""TRPO: conjugate gradient on small SPD systems, and the step's scale on a problem with a known answer."""

import numpy as np
import pytest
import torch

from mbmpo.trpo import conjugate_gradient, trpo_step


@pytest.mark.parametrize("size", [1, 3, 8])
def test_conjugate_gradient_solves_spd_systems(size):
    rng = np.random.default_rng(size)
    m = rng.normal(size=(size, size))
    a = torch.tensor(m @ m.T + size * np.eye(size))
    b = torch.tensor(rng.normal(size=size))
    x = conjugate_gradient(lambda v: a @ v, b, iterations=size)
    np.testing.assert_allclose(x.numpy(), np.linalg.solve(a.numpy(), b.numpy()), rtol=1e-8, atol=1e-10)


def test_conjugate_gradient_stops_at_a_zero_residual():
    a = torch.eye(4, dtype=torch.float64) * 2
    x = conjugate_gradient(lambda v: a @ v, torch.zeros(4, dtype=torch.float64), iterations=10)
    assert torch.equal(x, torch.zeros(4, dtype=torch.float64))


def test_step_of_a_linear_surrogate_under_a_quadratic_kl_is_the_natural_gradient_on_the_bound():
    """With surrogate gᵀθ and KL ½ ΔᵀAΔ the exact step is sqrt(2δ / gᵀA⁻¹g) A⁻¹g, KL exactly δ."""
    torch.manual_seed(0)
    a = torch.tensor([[2.0, 0.5, 0.0], [0.5, 1.0, 0.2], [0.0, 0.2, 3.0]], dtype=torch.float64)
    g = torch.tensor([1.0, -2.0, 0.5], dtype=torch.float64)
    theta0 = torch.tensor([0.3, -0.1, 0.2], dtype=torch.float64)

    def objective(theta):
        delta = theta - theta0
        return g @ theta, 0.5 * delta @ a @ delta

    step = trpo_step(theta0, objective, max_kl=0.01, cg_iterations=3, damping=0.0)
    natural = torch.linalg.solve(a, g)
    expected = theta0 + torch.sqrt(2 * 0.01 / (g @ natural)) * natural
    np.testing.assert_allclose(step.theta.numpy(), expected.numpy(), rtol=1e-9)
    assert step.backtracks == 0
    assert step.kl == pytest.approx(0.01, rel=1e-9)
    assert step.surrogate_after > step.surrogate_before


def test_line_search_rejects_steps_that_do_not_improve():
    theta0 = torch.zeros(2, dtype=torch.float64)

    def objective(theta):
        # The local gradient points up, but every finite step makes things worse.
        return theta.sum() - 1e6 * (theta**2).sum(), 0.5 * (theta**2).sum()

    step = trpo_step(theta0, objective, max_kl=0.01, max_backtracks=3)
    assert step.backtracks == -1
    assert torch.equal(step.theta, theta0)
