"""The server-side optimisers match torch.optim step for step, and checkpoint exactly."""

import numpy as np
import pytest
import torch

from gorila_sim.rules import SGD, AdaGrad, Adam, RMSProp, RuleError

SIZE, STEPS = 257, 300

CASES = [
    (AdaGrad, torch.optim.Adagrad, {}, {}),
    (AdaGrad, torch.optim.Adagrad, {"lr": 0.1, "eps": 1e-6, "initial_accumulator": 0.5},
     {"lr": 0.1, "eps": 1e-6, "initial_accumulator_value": 0.5}),
    (SGD, torch.optim.SGD, {}, {"lr": 0.01}),  # torch's default lr is 1e-3
    (SGD, torch.optim.SGD, {"lr": 0.05, "momentum": 0.9}, {"lr": 0.05, "momentum": 0.9}),
    (RMSProp, torch.optim.RMSprop, {}, {}),
    (RMSProp, torch.optim.RMSprop, {"lr": 1e-3, "alpha": 0.9, "eps": 1e-6},
     {"lr": 1e-3, "alpha": 0.9, "eps": 1e-6}),
    (Adam, torch.optim.Adam, {}, {}),
    (Adam, torch.optim.Adam, {"lr": 0.01, "beta1": 0.5, "beta2": 0.99, "eps": 1e-6},
     {"lr": 0.01, "betas": (0.5, 0.99), "eps": 1e-6}),
    (Adam, torch.optim.Adam, {"beta1": 0.0}, {"betas": (0.0, 0.999)}),
]  # fmt: skip
IDS = [f"{ours.__name__}-{i}" for i, (ours, *_) in enumerate(CASES)]


def gradients(seed, steps=STEPS):
    """Random float32 gradients whose size varies from step to step, some elements near zero."""
    rng = np.random.default_rng(seed)
    sizes = 10.0 ** rng.uniform(-3, 1, (steps, 1))
    return (rng.standard_normal((steps, SIZE)) * sizes).astype(np.float32)


def start(seed=0):
    return np.random.default_rng(seed).standard_normal(SIZE).astype(np.float32)


def assert_close(ours, theirs):
    np.testing.assert_allclose(ours, theirs, rtol=1e-5, atol=1e-6 * np.abs(theirs).max())


@pytest.mark.parametrize("varying_scale", [False, True], ids=["scale1", "scaled"])
@pytest.mark.parametrize(("ours_type", "torch_type", "ours_params", "torch_params"), CASES, ids=IDS)
def test_matches_torch(ours_type, torch_type, ours_params, torch_params, varying_scale):
    params = start()
    weights = torch.tensor(params.copy(), requires_grad=True)
    ours, theirs = ours_type(**ours_params), torch_type([weights], **torch_params)
    lr = theirs.param_groups[0]["lr"]
    scales = np.random.default_rng(1).uniform(0.05, 1.0, STEPS) if varying_scale else np.ones(STEPS)
    for gradient, scale in zip(gradients(2), scales, strict=True):
        ours.step(params, gradient, scale=float(scale))
        theirs.param_groups[0]["lr"] = lr * float(scale)
        weights.grad = torch.from_numpy(gradient.copy())
        theirs.step()
    assert params.dtype == np.float32
    assert_close(params, weights.detach().numpy())


@pytest.mark.parametrize(("ours_type", "ours_params"), [(case[0], case[2]) for case in CASES], ids=IDS)
def test_state_round_trip_continues_identically(ours_type, ours_params):
    grads = gradients(3, steps=200)
    params, optimiser = start(), ours_type(**ours_params)
    for gradient in grads[:100]:
        optimiser.step(params, gradient)
    saved_params, saved_state = params.copy(), optimiser.state()
    restored = ours_type(**ours_params)
    restored.load_state(saved_state)
    for value in saved_state.values():  # the restored optimiser owns its arrays
        if isinstance(value, np.ndarray):
            value.fill(np.nan)
    for gradient in grads[100:]:
        optimiser.step(params, gradient)
        restored.step(saved_params, gradient)
    np.testing.assert_array_equal(params, saved_params)


@pytest.mark.parametrize(("ours_type", "ours_params"), [(case[0], case[2]) for case in CASES], ids=IDS)
def test_state_is_created_on_the_first_step_and_reset_by_an_empty_state(ours_type, ours_params):
    grads = gradients(4, steps=20)
    optimiser = ours_type(**ours_params)
    assert optimiser.state() == {}
    params = start()
    for gradient in grads:
        optimiser.step(params, gradient)
    arrays = [value for value in optimiser.state().values() if isinstance(value, np.ndarray)]
    assert all(array.shape == params.shape and array.dtype == np.float32 for array in arrays)
    optimiser.load_state({})
    fresh, fresh_params, params = ours_type(**ours_params), start(), start()
    for gradient in grads:
        optimiser.step(params, gradient)
        fresh.step(fresh_params, gradient)
    np.testing.assert_array_equal(params, fresh_params)


@pytest.mark.parametrize("ours_type", [AdaGrad, SGD, RMSProp, Adam])
def test_step_is_in_place_and_leaves_the_gradient_alone(ours_type):
    params, gradient = start(), gradients(5, steps=1)[0]
    before, view = gradient.copy(), params
    ours_type().step(params, gradient)
    assert params is view
    assert not np.array_equal(params, start())
    np.testing.assert_array_equal(gradient, before)


def test_load_state_rejects_another_optimisers_state():
    adam = Adam()
    adam.step(start(), gradients(6, steps=1)[0])
    with pytest.raises(RuleError, match=r"^state: must have the keys sum or none"):
        AdaGrad().load_state(adam.state())


@pytest.mark.parametrize(
    ("field", "make"),
    [
        ("lr", lambda: AdaGrad(lr=0.0)),
        ("lr", lambda: AdaGrad(lr=float("nan"))),
        ("eps", lambda: AdaGrad(eps=-1e-10)),
        ("initial_accumulator", lambda: AdaGrad(initial_accumulator=-1.0)),
        ("lr", lambda: SGD(lr=-0.1)),
        ("momentum", lambda: SGD(momentum=1.0)),
        ("momentum", lambda: SGD(momentum=-0.1)),
        ("alpha", lambda: RMSProp(alpha=1.5)),
        ("eps", lambda: RMSProp(eps="small")),
        ("beta1", lambda: Adam(beta1=1.0)),
        ("beta2", lambda: Adam(beta2=-0.1)),
        ("lr", lambda: Adam(lr=True)),
    ],
)
def test_bad_parameters(field, make):
    with pytest.raises(RuleError) as caught:
        make()
    assert str(caught.value).startswith(f"{field}: must be a finite number ")
    assert "\n" not in str(caught.value)
