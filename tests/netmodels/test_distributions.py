import math

import numpy as np
import pytest

from netmodels import (
    Constant,
    Empirical,
    Exponential,
    LogNormal,
    Mixture,
    ModelError,
    Normal,
    Pareto,
    ShiftedExponential,
    Uniform,
    distribution_from_spec,
)

N = 200_000

CASES = [
    (Constant(0.003), 0.0),
    (Uniform(0.001, 0.004), 0.01),
    (Normal(0.01, 0.002), 0.01),
    (Normal(1.0, 2.0), 0.01),
    (LogNormal(-6.0, 0.7), 0.01),
    (LogNormal.from_median_p99(0.002, 0.01), 0.01),
    (Exponential(0.5), 0.01),
    (ShiftedExponential(shift=1.0, mean=0.2), 0.01),
    (Pareto(0.001, 3.0), 0.02),
    (Mixture((Constant(0.001), Exponential(0.01)), (3, 1)), 0.01),
    (Empirical((0.001, 0.002, 0.01)), 0.01),
]


@pytest.mark.parametrize(("distribution", "rel"), CASES, ids=lambda c: type(c).__name__)
def test_sample_mean_matches_closed_form(distribution, rel):
    draws = distribution.sample(np.random.default_rng(1), N)
    assert draws.shape == (N,)
    assert draws.min() >= 0
    assert draws.mean() == pytest.approx(distribution.mean, rel=rel, abs=1e-12)


@pytest.mark.parametrize(("distribution", "rel"), CASES, ids=lambda c: type(c).__name__)
def test_single_draw_is_a_python_float_and_seeded(distribution, rel):
    first = distribution.sample(np.random.default_rng(5))
    assert type(first) is float
    assert first == distribution.sample(np.random.default_rng(5))


def test_lognormal_from_median_p99_hits_both_quantiles():
    draws = LogNormal.from_median_p99(0.002, 0.01).sample(np.random.default_rng(2), N)
    assert np.median(draws) == pytest.approx(0.002, rel=0.02)
    assert np.quantile(draws, 0.99) == pytest.approx(0.01, rel=0.03)


def test_truncated_normal_has_no_negatives_and_the_truncated_mean():
    normal = Normal(0.0, 1.0)
    draws = normal.sample(np.random.default_rng(3), N)
    assert draws.min() >= 0
    assert normal.mean == pytest.approx(math.sqrt(2 / math.pi))
    assert draws.mean() == pytest.approx(normal.mean, rel=0.01)


def test_normal_without_spread_is_its_mean():
    assert Normal(2.0, 0.0).mean == 2.0
    assert set(Normal(2.0, 0.0).sample(np.random.default_rng(0), 10)) == {2.0}


def test_mixture_respects_weights():
    mixture = Mixture((Constant(1.0), Constant(2.0), Constant(3.0)), (1, 2, 7))
    assert mixture.weights == pytest.approx((0.1, 0.2, 0.7))
    draws = mixture.sample(np.random.default_rng(4), N)
    for value, weight in zip((1.0, 2.0, 3.0), mixture.weights, strict=True):
        assert np.mean(draws == value) == pytest.approx(weight, abs=0.005)


def test_mixture_mean_is_infinite_with_an_infinite_component():
    assert Mixture((Constant(1.0), Pareto(1.0, 1.0)), (1, 1)).mean == math.inf


def test_pareto_values_start_at_scale_and_heavy_tails_have_infinite_mean():
    assert Pareto(2.0, 1.5).sample(np.random.default_rng(0), 1000).min() >= 2.0
    assert Pareto(1.0, 1.0).mean == math.inf
    assert Pareto(1.0, 0.5).mean == math.inf
    assert Pareto(1.0, 2.0).mean == 2.0


@pytest.mark.parametrize("n", [1, 4, 32])
def test_shifted_exponential_expected_max_matches_simulation(n):
    straggler = ShiftedExponential(shift=1.0, mean=0.2)
    rounds = straggler.sample(np.random.default_rng(n), 20_000 * n).reshape(20_000, n)
    assert rounds.max(axis=1).mean() == pytest.approx(straggler.expected_max(n), rel=0.01)
    assert straggler.expected_max(1) == pytest.approx(straggler.mean)


def test_shifted_exponential_mean_property_includes_the_shift():
    straggler = ShiftedExponential(shift=1.0, mean=0.2)
    assert straggler.shift == 1.0
    assert straggler.scale == 0.2
    assert straggler.mean == pytest.approx(1.2)
    assert repr(straggler) == "ShiftedExponential(shift=1.0, mean=0.2)"


def test_empirical_draws_only_its_samples_uniformly():
    empirical = Empirical(np.array([0.5, 1.0, 4.0]))
    assert empirical.samples == (0.5, 1.0, 4.0)
    draws = empirical.sample(np.random.default_rng(6), 30_000)
    for value in empirical.samples:
        assert np.mean(draws == value) == pytest.approx(1 / 3, abs=0.01)


def test_empirical_from_file_skips_blank_lines_and_comments(tmp_path):
    path = tmp_path / "latencies.txt"
    path.write_text("# measured RTT/2 in seconds\n0.001\n\n  0.002  # slow one\n3e-3\n")
    assert Empirical.from_file(path).samples == (0.001, 0.002, 0.003)
    assert distribution_from_spec({"kind": "empirical", "file": str(path)}) == Empirical(
        (0.001, 0.002, 0.003)
    )


@pytest.mark.parametrize(
    ("text", "line", "shown"),
    [
        ("0.001\n\nfast\n", 3, "'fast'"),
        ("0.1\n-0.2\n", 2, "-0.2"),
        ("1 2\n", 1, "'1 2'"),
        ("nan\n", 1, "nan"),
    ],
)
def test_empirical_from_file_names_the_file_and_bad_line(tmp_path, text, line, shown):
    path = tmp_path / "bad.txt"
    path.write_text(text)
    with pytest.raises(ModelError) as error:
        Empirical.from_file(path)
    assert str(error.value).startswith(f"{path}:{line}: ")
    assert str(error.value).endswith(f"got {shown}")
    with pytest.raises(ModelError) as error:
        distribution_from_spec({"kind": "empirical", "file": str(path)}, "link.latency")
    assert str(error.value).startswith(f"link.latency.file: {path}:{line}: ")


def test_empirical_from_file_rejects_empty_and_missing_files(tmp_path):
    empty = tmp_path / "empty.txt"
    empty.write_text("# nothing yet\n\n")
    with pytest.raises(ModelError, match="at least one number"):
        Empirical.from_file(empty)
    with pytest.raises(ModelError, match="cannot be read"):
        Empirical.from_file(tmp_path / "missing.txt")


@pytest.mark.parametrize(
    ("spec", "expected"),
    [
        (0.004, Constant(0.004)),
        ({"kind": "constant", "value": 0.001}, Constant(0.001)),
        ({"kind": "uniform", "low": 0.001, "high": 0.002}, Uniform(0.001, 0.002)),
        ({"kind": "normal", "mean": 0.01, "std": 0.001}, Normal(0.01, 0.001)),
        ({"kind": "lognormal", "mu": -6.0, "sigma": 0.5}, LogNormal(-6.0, 0.5)),
        ({"kind": "lognormal", "median": 0.002, "p99": 0.01}, LogNormal.from_median_p99(0.002, 0.01)),
        ({"kind": "exponential", "mean": 0.5}, Exponential(0.5)),
        ({"kind": "shifted_exponential", "shift": 1.0, "mean": 0.2}, ShiftedExponential(1.0, 0.2)),
        ({"kind": "pareto", "scale": 0.001, "alpha": 2.5}, Pareto(0.001, 2.5)),
        ({"kind": "empirical", "samples": [0.1, 0.2]}, Empirical((0.1, 0.2))),
        (
            {
                "kind": "mixture",
                "components": [0.001, {"kind": "exponential", "mean": 0.1}],
                "weights": [9, 1],
            },
            Mixture((Constant(0.001), Exponential(0.1)), (0.9, 0.1)),
        ),
    ],
)
def test_distribution_from_spec_builds_the_model(spec, expected):
    assert distribution_from_spec(spec) == expected
