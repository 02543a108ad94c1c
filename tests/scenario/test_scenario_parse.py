"""Reading scenario files: every section into the GorilaConfig, defaults, and one-line errors that name
the file, the line and the field."""

from __future__ import annotations

import math

import pytest

from gorila_sim.config import GorilaConfig
from gorila_sim.costs import CostProfile
from gorila_sim.gorila import build
from gorila_sim.scenario import (
    NetworkFault,
    NodeFault,
    ScenarioError,
    load_scenario,
    parse_scenario,
    run_scenario,
)
from gorila_sim.scenario.format import SECTIONS, Key
from gorila_sim.scenario.locate import line_of, render, split_path
from gorila_sim.topology import node_names
from gorila_sim.trace import Trace
from netmodels import CrashProcess, GilbertElliott, LinkModel, LogNormal, NodeModel, ShiftedExponential

FULL = """\
# every section of the format
[scenario]
name = "full"
description = "every section"
seed = 7

[topology]
actors = 3
learners = 2
shards = 2
bundled = false
replay = "global"
replay_nodes = 2

[training]
problem = "surrogate"
surrogate_size = 300
surrogate_noise = 0.5
hidden = [64, 64]
gamma = 0.9
learning_starts = 64
optimiser = { name = "adam", lr = 0.001 }
staleness = { name = "hard_threshold", max_staleness = 8 }
outliers = "none"
request_timeout = 0.05
checkpoint_every = 20

[stop]
sim_time = 3.0
env_steps = 5000
target_return = -1.5

[network]
latency = { kind = "lognormal", median = 0.0005, p99 = 0.005 }
bandwidth = "10Gbps"

[network.roles."learner->shard"]
loss = { kind = "gilbert_elliott", p_good_to_bad = 0.01, p_bad_to_good = 0.25 }

[network.links."actor-0->replay-0"]
latency = 0.01

[nodes.learner]
straggler = { kind = "shifted_exponential", shift = 1.0, mean = 0.5 }

[nodes.actor]
speed = 0.5
crashes = { kind = "process", mtbf = 10, mttr = 1 }

[costs]
profile = "machine.toml"
act = 1e-4

[[faults]]
kind = "crash"
nodes = ["shard-1"]
at = 0.5
duration = 0.25

[[faults]]
kind = "latency_spike"
a = { role = "learner" }
b = { role = "shard" }
extra_latency = { kind = "exponential", mean = 0.01 }
at = 1
duration = 0.5
"""


@pytest.fixture(autouse=True)
def machine(tmp_path, monkeypatch):
    """The cost profile that FULL names, in the working directory."""
    monkeypatch.chdir(tmp_path)
    CostProfile(env_step=1e-5, gradient_fixed=1e-3).save(tmp_path / "machine.toml")


@pytest.fixture
def full(tmp_path):
    (tmp_path / "scenarios").mkdir()
    (tmp_path / "scenarios" / "machine.toml").write_bytes((tmp_path / "machine.toml").read_bytes())
    (tmp_path / "scenarios" / "full.toml").write_text(FULL)
    return load_scenario(tmp_path / "scenarios" / "full.toml")


def test_every_section_lands_in_the_config(full):
    config = full.config
    assert (full.name, full.description) == ("full", "every section")
    assert (config.seed, config.actors, config.learners, config.shards) == (7, 3, 2, 2)
    assert (config.bundled, config.replay, config.replay_nodes) == (False, "global", 2)
    assert (config.problem, config.surrogate_size, config.surrogate_noise) == ("surrogate", 300, 0.5)
    assert config.hidden == (64, 64) and config.gamma == 0.9 and config.learning_starts == 64
    assert config.optimiser == {"name": "adam", "lr": 0.001}
    assert config.staleness == {"name": "hard_threshold", "max_staleness": 8} and config.outliers == "none"
    assert (config.request_timeout, config.checkpoint_every) == (0.05, 20)
    assert (config.max_sim_time, config.total_env_steps, config.target_return) == (3.0, 5000, -1.5)
    assert config.link == LinkModel(latency=LogNormal.from_median_p99(0.0005, 0.005), bandwidth=1.25e9)
    assert config.role_links == {("learner", "shard"): LinkModel(loss=GilbertElliott(0.01, 0.25))}
    assert config.node_links[("actor-0", "replay-0")].latency.mean == 0.01
    assert config.nodes == {
        "learner": NodeModel(straggler=ShiftedExponential(1.0, 0.5)),
        "actor": NodeModel(speed=0.5, crashes=CrashProcess.from_mtbf_mttr(10, 1)),
    }
    assert config.costs == CostProfile(env_step=1e-5, gradient_fixed=1e-3, act=1e-4)
    crash, spike = full.faults
    assert crash == NodeFault("crash", ("shard-1",), 0.5, 0.75)
    assert isinstance(spike, NetworkFault) and spike.kind == "latency_spike"
    assert spike.between.a == {"learner-0", "learner-1"} and (spike.between.start, spike.between.end) == (
        1,
        1.5,
    )
    assert full.nodes == (
        *("shard-0", "shard-1", "replay-0", "replay-1", "learner-0", "learner-1"),
        *("actor-0", "actor-1", "actor-2"),
    )
    assert full.table["topology"]["actors"] == 3


def test_a_scenario_needs_only_a_name_and_takes_the_config_defaults():
    scenario = parse_scenario('[scenario]\nname = "tiny"\n')
    assert scenario.config == GorilaConfig()
    assert (scenario.description, scenario.faults) == ("", ())


@pytest.mark.parametrize(
    "topology",
    [
        {"actors": 3, "shards": 2},
        {"actors": 3, "learners": 2, "shards": 1, "bundled": False},
        {"actors": 3, "learners": 4, "shards": 2, "bundled": False, "replay": "global", "replay_nodes": 2},
    ],
)
def test_node_names_are_the_names_build_gives(topology):
    config = GorilaConfig(problem="surrogate", surrogate_size=10, **topology)
    sim, _ = build(config, Trace())
    sim.run(until=0.001)  # starts every node's code
    assert node_names(config) == tuple(sim.nodes)


def bad(text: str, source: str = "bad.toml") -> str:
    with pytest.raises(ScenarioError) as caught:
        parse_scenario(text, source)
    message = str(caught.value)
    assert len(message.splitlines()) == 1 and "Traceback" not in message
    return message


def edit(old: str, new: str) -> str:
    assert old in FULL
    return FULL.replace(old, new, 1)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            edit("[stop]", "[stop"),
            "bad.toml:28: not valid TOML: Expected ']' at the end of a table declaration",
        ),
        (
            edit("seed = 7", "seed = 7\nsead = 8"),
            "bad.toml:6: scenario.sead: unknown key (allowed: name, description,",
        ),
        (FULL + "[extra]\n", "bad.toml:67: extra: unknown key (allowed: scenario, topology, training, stop,"),
        ('topology = 4\n[scenario]\nname = "x"\n', "bad.toml:1: topology: must be a table, got 4"),
        (edit('name = "full"\n', ""), "bad.toml:2: scenario.name: missing (this key is required)"),
        (
            edit("actors = 3", "actors = 0"),
            "bad.toml:8: topology.actors: must be a whole number in [1, 10000], got 0",
        ),
        (
            edit("actors = 3", "actors = 2.5"),
            "bad.toml:8: topology.actors: must be a whole number in [1, 10000]",
        ),
        (
            edit("bundled = false", 'bundled = "no"'),
            "bad.toml:11: topology.bundled: must be true or false, got 'no'",
        ),
        (
            edit('replay = "global"', 'replay = "all"'),
            "bad.toml:12: topology.replay: must be one of: 'local', 'global'",
        ),
        (edit("bundled = false\n", ""), "bad.toml:9: topology.learners: has no effect in bundled mode"),
        (
            edit("gamma = 0.9", "gamma = 1.5"),
            "bad.toml:20: training.gamma: must be a number in [0, 1], got 1.5",
        ),
        (
            edit("[64, 64]", "[64, -1]"),
            "bad.toml:19: training.hidden[1]: must be a whole number in [1, 100000], got -1",
        ),
        (edit("max_staleness", "max_stale"), "bad.toml:23: training.staleness.max_stale: unknown parameter"),
        (
            edit('name = "adam"', 'name = "adamw"'),
            "bad.toml:22: training.optimiser.name: unknown name 'adamw'",
        ),
        (edit("sim_time = 3.0", "sim_time = 0"), "bad.toml:29: stop.sim_time: must be a number > 0, got 0"),
        (
            edit("p99 = 0.005", "p99 = 0.0001"),
            "bad.toml:34: network.latency.p99: must be greater than median",
        ),
        (
            edit("p_bad_to_good = 0.25", "p_bad_to_good = 2"),
            'bad.toml:38: network.roles."learner->shard".loss.p_',
        ),
        (
            edit("learner->shard", "learner->server"),
            "bad.toml:37: network.roles.\"learner->server\": no role 'server'",
        ),
        (
            edit("actor-0->replay-0", "actor-3->replay-0"),
            'bad.toml:40: network.links."actor-3->replay-0": no node',
        ),
        (
            edit('"actor-0->replay-0"', '"actor-0"'),
            "bad.toml:40: network.links.actor-0: must name a sender and a",
        ),
        (
            edit("[nodes.actor]", "[nodes.bundle]"),
            "bad.toml:46: nodes.bundle: unknown key (allowed: shard, replay,",
        ),
        (
            edit("mtbf = 10", "mtbf = -10"),
            "bad.toml:48: nodes.actor.crashes.mtbf: must be a finite number > 0, got -10",
        ),
        (
            edit("act = 1e-4", "act = -1e-4"),
            "bad.toml:52: costs.act: must be a finite number >= 0, got -0.0001",
        ),
        (
            edit("machine.toml", "missing.toml"),
            "bad.toml:51: costs.profile: cannot read 'missing.toml' (No such file",
        ),
        (
            edit('"crash"', '"reboot"'),
            "bad.toml:55: faults[0].kind: must be one of: crash, latency_spike, loss_burst,",
        ),
        (
            edit('["shard-1"]', '["shard-2"]'),
            "bad.toml:56: faults[0].nodes[0]: no node 'shard-2' in this topology (it",
        ),
        (
            edit('["shard-1"]', '["shard-1", "shard-1"]'),
            "bad.toml:56: faults[0].nodes[1]: names 'shard-1' twice",
        ),
        (
            edit('nodes = ["shard-1"]', 'role = "shard"\nfraction = 0'),
            "bad.toml:57: faults[0].fraction: must be a number in",
        ),
        (
            edit('nodes = ["shard-1"]', 'role = "shard"\nfraction = 1.5'),
            "bad.toml:57: faults[0].fraction: must be a number",
        ),
        (
            edit('["shard-1"]', '["shard-1"]\nfraction = 0.5'),
            "bad.toml:57: faults[0].fraction: goes with role, not with",
        ),
        (
            edit('nodes = ["shard-1"]', 'role = "server"'),
            "bad.toml:56: faults[0].role: no 'server' nodes in this topology",
        ),
        (
            edit('nodes = ["shard-1"]\n', ""),
            "bad.toml:54: faults[0]: needs exactly one of the keys nodes, role",
        ),
        (edit("at = 0.5", "at = -0.5"), "bad.toml:57: faults[0].at: must be a finite number >= 0, got -0.5"),
        (
            edit("duration = 0.25", "duration = 0"),
            "bad.toml:58: faults[0].duration: must be a number > 0, got 0",
        ),
        (
            edit("duration = 0.25", "factor = 2"),
            "bad.toml:58: faults[0].factor: unknown key (allowed: kind, at, duration,",
        ),
        (
            edit('b = { role = "shard" }', 'b = { role = "learner" }'),
            "bad.toml:63: faults[1].b: must not share nodes with a",
        ),
        (
            edit('b = { role = "shard" }', 'b = { nodes = "shard-0" }'),
            "bad.toml:63: faults[1].b.nodes: must be a non-empty list",
        ),
        (
            edit("mean = 0.01 }", "mean = -0.01 }"),
            "bad.toml:64: faults[1].extra_latency.mean: must be a finite number >= 0",
        ),
        (edit('a = { role = "learner" }\n', ""), "bad.toml:60: faults[1].a: missing (this key is required)"),
        (
            '[scenario]\nname = "x"\n[faults]\nkind = "crash"\n',
            "bad.toml:3: faults: must be an array of tables ([[faults]]",
        ),
    ],
)
def test_a_bad_file_is_one_line_naming_file_line_and_field(text, expected):
    assert bad(text).startswith(expected)


def test_errors_in_a_multi_line_description_do_not_confuse_the_locator():
    text = '[scenario]\nname = "x"\ndescription = """\nseed = 1\n[topology]\n"""\nseed = -1\n'
    assert bad(text) == "bad.toml:7: scenario.seed: must be a whole number >= 0, got -1"


def test_a_syntax_error_at_the_end_of_the_file_points_at_its_last_line():
    assert bad('[scenario]\nname = "x"\nseed = [1,\n').startswith("bad.toml:4: not valid TOML")


def test_files_that_cannot_be_read_are_one_line_errors_too(tmp_path):
    with pytest.raises(ScenarioError, match=r"^.*nothing\.toml: cannot be read \(No such file"):
        load_scenario(tmp_path / "nothing.toml")
    (tmp_path / "latin1.toml").write_bytes(b'[scenario]\nname = "caf\xe9"\n')
    with pytest.raises(ScenarioError, match=r"latin1\.toml: is not UTF-8 text \(byte 22"):
        load_scenario(tmp_path / "latin1.toml")


def test_a_config_error_from_below_is_named_by_its_scenario_field(monkeypatch):
    monkeypatch.setitem(SECTIONS["training"], "gamma", Key(lambda path, value: value, "gamma"))
    assert (
        bad(edit("gamma = 0.9", "gamma = 1.5"))
        == "bad.toml:20: training.gamma: must be a number in [0, 1], got 1.5"
    )


def test_an_environment_gymnasium_does_not_know_is_named_when_the_run_starts():
    scenario = parse_scenario('[scenario]\nname = "x"\n[training]\nenv_id = "NoSuchEnv-v0"\n', "x.toml")
    with pytest.raises(ScenarioError, match=r"^x\.toml: training\.env_id: ") as caught:
        run_scenario(scenario)
    assert len(str(caught.value).splitlines()) == 1


@pytest.mark.parametrize(
    ("text", "path"),
    [
        ("topology.actors", ("topology", "actors")),
        ("faults[2].a.role", ("faults", 2, "a", "role")),
        ('network.roles."learner->shard".latency', ("network", "roles", "learner->shard", "latency")),
        ("nodes.actor.crashes.events[1][0]", ("nodes", "actor", "crashes", "events", 1, 0)),
        ("network . 'a b'", ("network", "a b")),
    ],
)
def test_field_paths_split_and_render(text, path):
    assert split_path(text) == path
    assert split_path(render(path)) == path


@pytest.mark.parametrize("text", ["", "a..b", "a.", "[0]", "a b", 'a."b'])
def test_what_is_not_a_field_path(text):
    assert split_path(text) is None


def test_the_locator_finds_tables_keys_and_array_entries():
    lines = {
        ("scenario",): 2,
        ("scenario", "seed"): 5,
        ("network", "roles", "learner->shard"): 37,
        ("network", "roles", "learner->shard", "loss", "p_bad_to_good"): 38,
        ("faults", 0): 54,
        ("faults", 0, "duration"): 58,
        ("faults", 1, "b", "role"): 63,
        ("faults", 1, "kind"): 61,
        ("faults", 7): None,
        ("nodes",): 43,
        ("elsewhere",): None,
    }
    assert {path: line_of(FULL, path) for path in lines} == lines


def test_the_resolved_table_keeps_infinite_times():
    scenario = parse_scenario('[scenario]\nname = "x"\n[stop]\nsim_time = inf\n')
    assert scenario.config.max_sim_time == math.inf


def test_lines_are_counted_as_toml_counts_them():
    text = '[scenario]\r\nname = "x"\r\ndescription = "one\u2028line"\r\nseed = -1\r\n'
    assert bad(text) == "bad.toml:4: scenario.seed: must be a whole number >= 0, got -1"
