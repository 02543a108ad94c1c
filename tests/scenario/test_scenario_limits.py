"""Scenarios that could never run are refused before any work, in one line naming the field: nesting too deep
for the parser, and clusters that would not fit in this machine's memory."""

import pytest

from gorila_sim.config import GorilaConfig
from gorila_sim.memory import check_fits, estimate, parameters, size
from gorila_sim.scenario import ScenarioError, load_scenario, parse_scenario, resolve

HEAD = '[scenario]\nname = "deep"\n'


@pytest.mark.parametrize(
    "body",
    [
        "[training]\nhidden = " + "[" * 500 + "]" * 500,
        "[" + ".".join(["a"] * 500) + "]\nk = 1",
        "[training]\nhidden = " + "{a = " * 500 + "1" + "}" * 500,
    ],
    ids=["arrays", "tables", "inline-tables"],
)
def test_nesting_500_deep_is_one_error_not_a_recursion_error(body):
    with pytest.raises(ScenarioError, match="nested more than 32 levels deep") as error:
        parse_scenario(HEAD + body, "deep.toml")
    assert str(error.value).startswith("deep.toml") and "\n" not in str(error.value)


def test_an_override_nested_500_deep_is_one_error():
    with pytest.raises(ScenarioError, match="nested too deeply"):
        parse_scenario(HEAD, "x.toml", ["training.hidden=" + "[" * 500 + "]" * 500])


def test_parameters_of_the_mlp_and_the_surrogate():
    assert parameters(GorilaConfig(hidden=(3,))) == (1 + 1) * 3 + (3 + 1) * 2
    assert parameters(GorilaConfig(problem="surrogate", surrogate_size=123)) == 123


@pytest.mark.parametrize(
    "overrides, field",
    [
        (
            ["topology.bundled=false", "topology.replay='global'"]
            + [f"topology.{key}=10000" for key in ("actors", "learners", "shards", "replay_nodes")],
            "topology.actors",
        ),
        (["training.hidden=[100000, 100000]"], "training.hidden"),
        (["training.buffer_size=1000000000000"], "training.buffer_size"),
    ],
    ids=["10000-of-every-role", "hidden-100000", "buffer-1e12"],
)
def test_clusters_that_cannot_fit_this_machine_are_refused_naming_the_field(overrides, field):
    with pytest.raises(ScenarioError) as error:
        load_scenario(resolve("baseline"), overrides)
    assert error.value.field == field
    assert "more than this machine's" in error.value.problem and "per node:" in error.value.problem


def test_the_estimate_counts_what_each_node_holds():
    config = load_scenario(resolve("baseline"), ["training.buffer_size=1000000"]).config
    need = estimate(config)
    assert need.parts["replay memories"] == 1_000_000 * (
        16 + 2 * 4
    )  # one global replay, 1-float observations
    weights = parameters(config) * 4
    assert need.parts["parameters"] == 4 * 2 * weights + 2 * 4 * weights + 2 * 3 * (weights // 2)
    assert check_fits(config) is None
    field, problem = check_fits(config, available=need.total - 1)
    assert field == "training.buffer_size" and size(need.total) in problem
    assert size(1023) == "1023 B" and size(14.6 * 2**40) == "14.6 TiB"
