"""Fault profiles: drawn per seed buggify-style, written out as a plain timeline, checked field by field."""

import re
import tomllib
from pathlib import Path

import pytest

from gorila_sim.explore.profile import KEYS, KINDS
from gorila_sim.explore.properties import BUILT_IN
from gorila_sim.scenario import ScenarioError, load_scenario, parse_scenario, resolve, scenario_from_table
from gorila_sim.scenario.writer import scenario_text

BASE = """
[scenario]
name = "profiled"
[topology]
actors = 3
learners = 2
shards = 2
bundled = false
replay = "global"
[training]
problem = "surrogate"
[stop]
sim_time = 1.0
"""

PROFILE = """
[explore.crash]
role = "shard"
at = [0.1, 0.5]
duration = [0.05, 0.2]
[explore.pause]
role = "learner"
max = 3
at = [0.0, 0.9]
duration = 0.01
[explore.loss_burst]
a = { role = "actor" }
b = ["replay-0"]
at = [0.2, 0.3]
duration = [0.01, 0.02]
loss = [0.1, 0.5]
[explore.swizzle]
role = ["actor", "learner"]
at = [0.1, 0.2]
duration = [0.2, 0.4]
"""


def profile(text=PROFILE):
    return parse_scenario(BASE + text).explore


def test_each_seed_draws_its_own_timeline_and_the_same_seed_the_same_one():
    drawn = [profile().draw(seed) for seed in range(40)]
    assert drawn[7] == profile().draw(7)
    drew_something = [repr(d) for d in drawn if d]
    assert len(set(drew_something)) == len(drew_something) > 30  # (all four kinds are off in some runs)
    switched_on = [{kind for kind, _ in d} for d in drawn]
    for kind in ("crash", "pause", "loss_burst", "swizzle"):
        on = sum(kind in kinds for kinds in switched_on)
        assert 5 < on < 35, f"{kind} was on in {on} of 40 runs: each kind is switched on or off per run"
    pauses = [sum(kind == "pause" for kind, _ in d) for d in drawn]
    assert set(pauses) == {0, 1, 2, 3}  # one to `max` firings when switched on


def test_draws_fall_in_their_ranges_and_strike_the_named_roles():
    for seed in range(30):
        for kind, entry in profile().draw(seed):
            if kind == "crash":
                assert 0.1 <= entry["at"] <= 0.5 and 0.05 <= entry["duration"] <= 0.2
                assert entry["nodes"][0] in ("shard-0", "shard-1")
            elif kind == "pause":
                assert entry["duration"] == 0.01 and entry["nodes"][0].startswith("learner-")
            elif kind == "loss_burst":
                assert 0.1 <= entry["loss"] <= 0.5 and entry["b"] == ["replay-0"]
                assert entry["a"][0].startswith("actor-")


def test_a_swizzle_cuts_nodes_one_by_one_and_heals_them_in_a_random_order():
    orders = set()
    for seed in range(60):
        cuts = [entry for kind, entry in profile().draw(seed) if kind == "swizzle"]
        if len(cuts) < 2:
            continue
        starts = [cut["at"] for cut in cuts]
        heals = [cut["at"] + cut["duration"] for cut in cuts]
        assert starts == sorted(starts) and len(set(starts)) == len(starts)
        assert min(heals) >= max(starts)  # every node is cut before the first heals
        orders.add(tuple(sorted(range(len(cuts)), key=heals.__getitem__)))
        assert all(cut["kind"] == "partition" and len(cut["a"]) == 1 for cut in cuts)
    assert len(orders) > 2, "the heals come in varying orders"


def test_adding_a_kind_leaves_the_other_kinds_draws_as_they_were():
    extra = PROFILE + '[explore.slowdown]\nrole = "actor"\nat = [0, 1]\nduration = 0.1\nfactor = [2, 3]\n'
    for seed in range(10):
        with_extra = [draw for draw in profile(extra).draw(seed) if draw[0] != "slowdown"]
        assert with_extra == profile().draw(seed)


def test_a_concrete_run_is_a_plain_scenario_with_its_timeline_written_out():
    scenario = parse_scenario(BASE + '[[faults]]\nkind = "pause"\nnodes = ["actor-0"]\nat = 0.5\n' + PROFILE)
    table = scenario.explore.concrete(scenario.table, 11)
    assert "explore" not in table and table["scenario"]["seed"] == 11
    assert table["faults"][0] == scenario.table["faults"][0]
    assert table["faults"][1:] == [entry for _, entry in scenario.explore.draw(11)]
    text = scenario_text(table, "a header\nof two lines")
    assert text.startswith("# a header\n# of two lines\n")
    assert tomllib.loads(text) == table
    again = parse_scenario(text)
    assert again.explore is None and len(again.faults) == len(table["faults"])
    assert again.faults[1:] == scenario_from_table(table).faults[1:]


@pytest.mark.parametrize("name", ["random-faults", "bad-day", "baseline"])
def test_library_scenarios_read_back_from_their_written_text(name):
    table = load_scenario(resolve(name)).table
    assert tomllib.loads(scenario_text(table)) == table


BAD = [
    ("[explore.boom]\nat = 1\nduration = 1\n", "explore.boom", "unknown key"),
    ("[explore]\n", "explore", "names no fault kind"),
    ('[explore.crash]\nrole = "shard"\nat = [2.0, 3.0]\nduration = 0.1\n', "explore.crash.at", "never fire"),
    (
        '[explore.crash]\nrole = "shard"\nchance = 0\nat = 0.1\nduration = 0.1\n',
        "explore.crash.chance",
        "never fire",
    ),
    ('[explore.crash]\nrole = "shard"\nat = [0.5, 0.1]\nduration = 0.1\n', "explore.crash.at", "low <= high"),
    ('[explore.crash]\nrole = "shard"\nat = "soon"\nduration = 0.1\n', "explore.crash.at", "range"),
    ('[explore.crash]\nrole = "shard"\nat = [0.1, -1]\nduration = 0.1\n', "explore.crash.at[1]", ">= 0"),
    (
        '[explore.crash]\nrole = "shard"\nat = 0.1\nduration = 0\n',
        "explore.crash.duration",
        "> 0",
    ),
    ('[explore.crash]\nrole = "shard"\nat = 0.1\n', "explore.crash.duration", "missing"),
    (
        '[explore.crash]\nrole = "bundle"\nat = 0.1\nduration = 0.1\n',
        "explore.crash.role",
        "no 'bundle' nodes",
    ),
    ('[explore.crash]\nnodes = ["shard-9"]\nat = 0.1\nduration = 0.1\n', "explore.crash.nodes[0]", "no node"),
    ('[explore.pause]\nrole = "learner"\nmax = 0\nat = 0.1\nduration = 0.1\n', "explore.pause.max", ">= 1"),
    ('[explore.slowdown]\nrole = "actor"\nat = 0.1\nduration = 0.1\n', "explore.slowdown.factor", "missing"),
    ("[explore.partition]\nat = 0.1\nduration = 0.1\n", "explore.partition.a", "missing"),
    (
        '[explore.partition]\na = ["shard-0"]\nb = ["shard-0"]\nat = 0.1\nduration = 0.1\n',
        "explore.partition.b",
        "no other node",
    ),
    (
        '[explore.partition]\na = ["shard-0"]\ndirection = "up"\nat = 0.1\nduration = 0.1\n',
        "explore.partition.direction",
        "one of",
    ),
    (
        '[explore.loss_burst]\na = ["shard-0"]\nat = 0.1\nduration = 0.1\nloss = [0.5, 2]\n',
        "explore.loss_burst.loss[1]",
        "1",
    ),
]


@pytest.mark.parametrize(("profile_text", "field", "problem"), BAD)
def test_a_bad_profile_is_one_line_naming_its_field(profile_text, field, problem):
    with pytest.raises(ScenarioError) as caught:
        parse_scenario(BASE + profile_text, "bad.toml")
    message = str(caught.value)
    assert "\n" not in message
    assert f": {field}: " in message and problem in message, message


def test_the_page_documents_every_key_and_kind_and_its_examples_are_valid():
    page = (Path(__file__).resolve().parents[2] / "docs" / "explore.md").read_text()
    keys = {key for keys in KEYS.values() for key in keys}
    assert sorted(key for key in keys if f"`{key}`" not in page) == []
    assert [kind for kind in KINDS if f"[explore.{kind}]" not in page] == []
    assert [name for name in BUILT_IN if f"`{name}`" not in page] == []
    examples = re.findall(r"```toml\n(.*?)```", page, re.DOTALL)
    assert [parse_scenario(example, "docs/explore.md").name for example in examples] == [
        "random-faults",
        "profiled",
    ]
