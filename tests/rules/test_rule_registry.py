"""Building rules from specs: registry names, import paths, and one-line errors that name the field."""

from pathlib import Path

import numpy as np
import pytest

from gorila_sim.rules import (
    INTERFACES,
    RULES,
    SGD,
    AdaGrad,
    DelayCompensated,
    HardThreshold,
    NoOutlierRule,
    NoStaleness,
    RuleError,
    RunningMeanStd,
    build,
)

DOCS = Path(__file__).resolve().parents[2] / "docs" / "rules.md"
REQUIRED = {
    "hard_threshold": {"max_staleness": 3},
    "exponential_penalty": {"decay": 0.1},
    "stale_synchronous": {"bound": 2},
}
ALL_NAMES = [(kind, name) for kind, names in RULES.items() for name in names]


@pytest.fixture(autouse=True)
def plugins_importable(monkeypatch):
    monkeypatch.syspath_prepend(str(Path(__file__).parent))


@pytest.mark.parametrize(("kind", "name"), ALL_NAMES)
def test_every_name_builds(kind, name):
    rule = build(kind, {"name": name, **REQUIRED.get(name, {})})
    assert type(rule) is RULES[kind][name]
    assert all(hasattr(rule, attribute) for attribute in INTERFACES[kind])
    if name not in REQUIRED:
        assert type(build(kind, name)) is RULES[kind][name]


def test_parameters_reach_the_rule():
    assert build("staleness", {"name": "hard_threshold", "max_staleness": 10}) == HardThreshold(10)
    assert build("staleness", {"name": "delay_compensated", "lam": 0.5}) == DelayCompensated(lam=0.5)
    assert build("staleness", "none") == NoStaleness()
    assert build("outliers", "none") == NoOutlierRule()
    outliers = build("outliers", {"name": "running_mean_std", "k": 2.5, "decay": 0.99})
    assert (outliers.k, outliers.warmup, outliers.decay) == (2.5, 100, 0.99)
    assert isinstance(outliers, RunningMeanStd)
    optimiser = build("optimiser", {"name": "adagrad", "lr": 0.1})
    assert isinstance(optimiser, AdaGrad)
    assert optimiser.lr == 0.1
    assert build("optimiser", {"name": "sgd", "momentum": 0.5}).momentum == 0.5
    assert isinstance(build("optimiser", "sgd"), SGD)


def test_a_users_own_rules_by_import_path():
    staleness = build("staleness", {"name": "rules_plugins:LinearDecay", "horizon": 4})
    gradient = np.ones(3, dtype=np.float32)
    assert staleness.admit(gradient, 1, gradient, None) == (gradient, 0.75)
    assert staleness.admit(gradient, 4, gradient, None) is None

    optimiser = build("optimiser", "rules_plugins:SignSGD")
    params = np.zeros(2, dtype=np.float32)
    optimiser.step(params, np.array([3.0, -0.5], dtype=np.float32))
    np.testing.assert_allclose(params, [-0.01, 0.01])

    outliers = build("outliers", {"name": "rules_plugins:BelowThreshold", "threshold": 2.0})
    assert outliers.admit(1.0)
    assert not outliers.admit(3.0)


@pytest.mark.parametrize(
    ("kind", "spec", "field", "fragment"),
    [
        ("staleness", "hard_treshold", "staleness.name", "one of: hard_threshold, staleness_scaled"),
        ("outliers", "nope", "outliers.name", "running_mean_std, none"),
        ("staleness", {"max_staleness": 3}, "staleness.name", "missing"),
        ("staleness", {"name": 3}, "staleness.name", "got 3"),
        ("staleness", 3, "staleness", "must be a name or a table"),
        (
            "staleness",
            {"name": "hard_threshold", "max_stalenes": 3},
            "staleness.max_stalenes",
            "max_staleness",
        ),
        (
            "optimiser",
            {"name": "adagrad", "momentum": 0.9},
            "optimiser.momentum",
            "lr, eps, initial_accumulator",
        ),
        ("outliers", {"name": "none", "k": 3}, "outliers.k", "accepted: none"),
        ("staleness", {"name": "hard_threshold"}, "staleness.max_staleness", "missing"),
        ("staleness", {"name": "hard_threshold", "max_staleness": -1}, "staleness.max_staleness", "got -1"),
        ("staleness", {"name": "delay_compensated", "history": 1.5}, "staleness.history", "integer >= 0"),
        ("outliers", {"name": "running_mean_std", "decay": 1.0}, "outliers.decay", "in (0, 1)"),
        ("optimiser", {"name": "adam", "lr": "fast"}, "optimiser.lr", "got 'fast'"),
        (
            "optimiser",
            "no_such_module_xyz.sub:Opt",
            "optimiser.name",
            "cannot import 'no_such_module_xyz.sub'",
        ),
        ("optimiser", "rules_plugins:Missing", "optimiser.name", "has no class 'Missing'"),
        ("optimiser", ":SignSGD", "optimiser.name", "'package.module:ClassName'"),
        ("optimiser", "rules_plugins:", "optimiser.name", "'package.module:ClassName'"),
        ("staleness", "rules_plugins:NotARule", "staleness.name", "lacks admit"),
        ("optimiser", "rules_plugins:LinearDecay", "optimiser.name", "lacks step, state, load_state"),
        (
            "staleness",
            {"name": "rules_plugins:LinearDecay", "slope": 1},
            "staleness.slope",
            "accepted: horizon",
        ),
        ("outliers", "rules_plugins:BelowThreshold", "outliers.threshold", "missing"),
        (
            "outliers",
            {"name": "rules_plugins:BelowThreshold", "threshold": -1},
            "outliers",
            "threshold must be",
        ),
        ("optimizer", "adagrad", "kind", "staleness, outliers, optimiser"),
    ],
)
def test_errors_are_one_line_and_name_the_field(kind, spec, field, fragment):
    with pytest.raises(RuleError) as caught:
        build(kind, spec)
    message = str(caught.value)
    assert message.startswith(f"{field}: ")
    assert caught.value.param == field
    assert fragment in message
    assert "\n" not in message


def test_docs_name_every_rule():
    text = DOCS.read_text()
    for kind, name in ALL_NAMES:
        assert f"`{name}`" in text, (kind, name)
