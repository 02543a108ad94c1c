"""Overrides of scenario fields ("path=value"): TOML values, new tables and fault entries, clear errors."""

from __future__ import annotations

import pytest

from gorila_sim.scenario import (
    ScenarioError,
    library_scenarios,
    load_scenario,
    parse_scenario,
    with_overrides,
)

TABLE = {"scenario": {"name": "x"}, "faults": [{"kind": "crash", "nodes": ["shard-0"], "at": 1.0}]}


def test_overrides_set_toml_values_and_make_what_they_need():
    result = with_overrides(
        TABLE,
        [
            "training.total=5000",
            "stop.sim_time=1.5",
            "scenario.name=renamed",
            'training.env_id="CartPole-v1"',
            'training.optimiser={name="adam", lr=0.001}',
            'network.roles."learner->shard".latency = 0.002',
            "topology.bundled=false",
            "faults[0].duration=inf",
            'faults[1]={kind="pause", role="learner", at=2}',
            "faults[1].fraction=0.5",
        ],
    )
    assert result["training"] == {
        "total": 5000,
        "env_id": "CartPole-v1",
        "optimiser": {"name": "adam", "lr": 0.001},
    }
    assert result["stop"] == {"sim_time": 1.5} and result["scenario"] == {"name": "renamed"}
    assert result["network"] == {"roles": {"learner->shard": {"latency": 0.002}}}
    assert result["topology"] == {"bundled": False}
    assert result["faults"] == [
        {"kind": "crash", "nodes": ["shard-0"], "at": 1.0, "duration": float("inf")},
        {"kind": "pause", "role": "learner", "at": 2, "fraction": 0.5},
    ]
    assert TABLE["faults"] == [{"kind": "crash", "nodes": ["shard-0"], "at": 1.0}]  # the input is untouched


def test_a_bare_word_is_a_string_so_shell_quotes_need_no_escaping():
    result = with_overrides({}, ["training.env_id=ALE/Pong-v5", "training.staleness=hard_threshold"])
    assert result["training"] == {"env_id": "ALE/Pong-v5", "staleness": "hard_threshold"}


def test_overrides_apply_to_a_loaded_scenario():
    path = library_scenarios()["shard-crash"]
    scenario = load_scenario(
        path, ["stop.env_steps=3000", "topology.actors=2", 'faults[0].nodes=["shard-0"]']
    )
    assert (scenario.config.total_env_steps, scenario.config.actors) == (3000, 2)
    assert scenario.faults[0].nodes == ("shard-0",)
    assert scenario.table["stop"]["env_steps"] == 3000


@pytest.mark.parametrize(
    ("override", "expected"),
    [
        ("topology.actors", "override 'topology.actors': must look like path.to.key=VALUE"),
        ("=4", "override '=4': '' is not a field path"),
        ("topology..actors=4", "override 'topology..actors=4': 'topology..actors' is not a field path"),
        ("faults[0=1", "override 'faults[0=1': 'faults[0' is not a field path"),
        ("[0].at=1", "override '[0].at=1': '[0].at' is not a field path"),
        ("topology.actors=4 4", "override 'topology.actors=4 4': '4 4' is not a TOML value"),
        ("training.optimiser={name=", "override 'training.optimiser={name=': '{name=' is not a TOML value"),
        (
            "scenario.name.first=x",
            "override 'scenario.name.first=x': scenario.name is not a table, so it has no key",
        ),
        (
            "faults[3].at=1",
            "override 'faults[3].at=1': faults has no entry [3] (the next one to add is [1])",
        ),
        ("scenario[0]=1", "override 'scenario[0]=1': scenario is not a list, so it has no entry [0]"),
    ],
)
def test_a_bad_override_is_one_line_naming_it(override, expected):
    with pytest.raises(ScenarioError) as caught:
        with_overrides(TABLE, [override])
    assert str(caught.value).startswith(expected)
    assert len(str(caught.value).splitlines()) == 1


def test_a_bad_value_from_an_override_names_the_override_not_a_line_of_the_file():
    with pytest.raises(ScenarioError) as caught:
        parse_scenario('[scenario]\nname = "x"\n[topology]\nactors = 2\n', "x.toml", ["topology.actors=-2"])
    assert str(caught.value) == (
        "x.toml: topology.actors: must be a whole number in [1, 10000], got -2"
        " (set by override 'topology.actors=-2')"
    )
