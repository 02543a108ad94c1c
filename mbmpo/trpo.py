"""Trust-region policy optimisation (Schulman et al. 2015) of a flat parameter vector."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import torch
from torch import Tensor

from .phases import PhaseClock

Objective = Callable[[Tensor], tuple[Tensor, Tensor]]
"""θ -> (surrogate to maximise, mean KL from the distribution the data came from), both scalars."""


@dataclass(frozen=True)
class TRPOStep:
    """What one TRPO step did."""

    theta: Tensor
    """The new parameters (the old ones if the line search found no acceptable step)."""
    surrogate_before: float
    """The surrogate at the old parameters."""
    surrogate_after: float
    """The surrogate at the new parameters."""
    kl: float
    """Mean KL of the accepted step (0 if none)."""
    backtracks: int
    """Times the line search shrank the step before accepting it; -1 if it accepted none."""


def conjugate_gradient(
    matvec: Callable[[Tensor], Tensor], b: Tensor, iterations: int, tolerance: float = 1e-10
) -> Tensor:
    """Approximate solution x of A x = b for a symmetric positive-definite A given as x -> A x."""
    x = torch.zeros_like(b)
    residual = b.clone()
    direction = b.clone()
    residual_norm = residual @ residual
    for _ in range(iterations):
        if residual_norm < tolerance:
            break
        a_direction = matvec(direction)
        step = residual_norm / (direction @ a_direction)
        x += step * direction
        residual -= step * a_direction
        new_norm = residual @ residual
        direction = residual + (new_norm / residual_norm) * direction
        residual_norm = new_norm
    return x


def trpo_step(
    theta: Tensor,
    objective: Objective,
    max_kl: float,
    cg_iterations: int = 10,
    damping: float = 0.1,
    backtrack_ratio: float = 0.8,
    max_backtracks: int = 15,
    fisher_product: Callable[[Tensor], Tensor] | None = None,
    gradient: Callable[[Tensor], tuple[Tensor, Tensor]] | None = None,
    clock: PhaseClock | None = None,
) -> TRPOStep:
    """Maximise the surrogate subject to mean KL ≤ max_kl: natural-gradient direction by conjugate
    gradient on Fisher-vector products (Hessian of the KL at θ), scaled to the KL bound, then shrunk
    until the surrogate improves and the KL bound holds.

    `fisher_product` v -> F v may stand in for the Hessian-vector product of the objective's KL, which
    is otherwise computed by differentiating the KL twice; with it, `gradient` θ -> (surrogate, its
    gradient) may stand in for differentiating the objective, which is then only evaluated. `clock`
    counts the time under meta/trpo_gradient (the objective and its gradient), meta/fisher_cg (the
    conjugate gradient) and meta/line_search."""
    clock = clock or PhaseClock()
    theta = theta.detach().requires_grad_()
    if gradient is not None and fisher_product is None:
        raise ValueError("gradient: needs fisher_product (the KL's Hessian comes from the objective's graph)")
    with clock.phase("meta/trpo_gradient"):
        if gradient is None:
            surrogate, kl = objective(theta)
            (ascent,) = torch.autograd.grad(surrogate, theta, retain_graph=fisher_product is None)
        else:
            surrogate, ascent = gradient(theta.detach())
    if fisher_product is None:
        (kl_gradient,) = torch.autograd.grad(kl, theta, create_graph=True)

        def fisher_product(v: Tensor) -> Tensor:
            (product,) = torch.autograd.grad(kl_gradient @ v, theta, retain_graph=True)
            return product

    def fisher_vector_product(v: Tensor) -> Tensor:
        return fisher_product(v) + damping * v

    with clock.phase("meta/fisher_cg"):
        direction = conjugate_gradient(fisher_vector_product, ascent, cg_iterations)
        curvature = direction @ fisher_vector_product(direction)
    full_step = torch.sqrt(2 * max_kl / curvature.clamp_min(1e-12)) * direction
    before = float(surrogate.detach())
    with clock.phase("meta/line_search"):
        for backtrack in range(max_backtracks):
            candidate = (theta + backtrack_ratio**backtrack * full_step).detach()
            new_surrogate, new_kl = (float(value.detach()) for value in objective(candidate))
            if new_kl <= max_kl and new_surrogate > before:
                return TRPOStep(candidate, before, new_surrogate, new_kl, backtrack)
    return TRPOStep(theta.detach(), before, before, 0.0, -1)
