"""`gorila-sim explore` on the library's random-faults scenario: it finds the shard stall, shrinks it to a
crash and the smallest cluster that stalls, and its replay line reproduces the failure bit for bit."""

import shlex
import tomllib

import numpy as np
import pytest

from gorila_sim.cli import main
from gorila_sim.explore.properties import Progress
from gorila_sim.explore.runs import check_run
from gorila_sim.explore.shrink import _without_node
from gorila_sim.results import read_results
from gorila_sim.scenario import load_scenario, resolve, run_scenario, scenario_from_table
from gorila_sim.trace import COLUMNS


@pytest.fixture(scope="module")
def explored(tmp_path_factory):
    out = tmp_path_factory.mktemp("explore")
    options = ["--runs", "20", "--workers", "1", "--out", str(out)]
    return main(["explore", "random-faults", "--property", "progress:0.1", *options]), out


def test_explore_finds_the_stall_and_says_how_to_replay_it(explored, capsys):
    status, out = explored
    assert status == 1
    text = (out / "failing.toml").read_text()
    assert "progress:0.1 failed: no gradient was applied" in text
    replay = next(line for line in text.splitlines() if line.startswith("# replay: "))
    assert replay == f"# replay: gorila-sim run {out / 'failing.toml'} --seed 0"
    failing = tomllib.loads(text)
    assert "explore" not in failing and failing["scenario"]["seed"] == 0
    assert any(f["kind"] == "crash" and f["nodes"][0].startswith("shard-") for f in failing["faults"])
    assert (out / "failing" / "trace" / "gradients.parquet").is_file()


def test_the_shrunk_scenario_is_one_crash_on_the_smallest_cluster_that_stalls(explored, capsys):
    _, out = explored
    shrunk = tomllib.loads((out / "shrunk.toml").read_text())
    assert [fault["kind"] for fault in shrunk["faults"]] == ["crash"]
    assert shrunk["faults"][0]["nodes"][0].startswith("shard-")
    topology = shrunk["topology"]
    assert (topology["actors"], topology["learners"], topology["shards"]) == (1, 1, 2)
    assert main(["validate", str(out / "shrunk.toml")]) == 0
    assert "ok (5 nodes, 1 faults)" in capsys.readouterr().out
    # one shard fewer and the crash takes the only shard down: nothing is expected to progress then
    smaller = _without_node(shrunk, "shards", "shard", 0)
    assert not check_run(smaller, "shrunk.toml", None, [Progress(0.1)]).failures
    assert check_run(shrunk, "shrunk.toml", None, [Progress(0.1)]).failures


def test_the_replay_line_reproduces_the_explored_run_bit_for_bit(explored, tmp_path, capsys):
    _, out = explored
    replay = next(
        line.removeprefix("# replay: ")
        for line in (out / "failing.toml").read_text().splitlines()
        if line.startswith("# replay: ")
    )
    command = shlex.split(replay)
    assert command[:2] == ["gorila-sim", "run"]
    assert main([*command[1:], "--out", str(tmp_path / "replayed")]) == 0
    scenario = load_scenario(resolve("random-faults"))
    explored_run = run_scenario(scenario_from_table(scenario.explore.concrete(scenario.table, 0)))
    replayed = read_results(tmp_path / "replayed").tables
    for name, columns in COLUMNS.items():
        rows = explored_run.trace.without_wall()[name]
        for index, column in enumerate(c for c in columns if c != "wall"):
            assert np.array_equal(replayed[name][column], np.array([row[index] for row in rows])), column


def explore(out, *options, runs=2):
    """`gorila-sim explore random-faults --property finite` in this process, into `out`."""
    arguments = ["explore", "random-faults", "--property", "finite", "--runs", str(runs), "--workers", "1"]
    return main([*arguments, "--out", str(out), *options])


def test_the_coverage_table_and_the_exit_status_when_nothing_fails(tmp_path, capsys):
    status = explore(tmp_path, "--set", "stop.sim_time=0.3", runs=3)
    text = capsys.readouterr().out
    assert status == 0 and "no property failed in 3 runs" in text
    assert "coverage of 3 runs" in text and "staleness rule admitted" in text
    assert "finite" in text and not (tmp_path / "failing.toml").exists()


def test_a_kind_switched_on_that_never_fired_is_reported(tmp_path, capsys):
    # the run stops at 300 env steps, long before any fault of the profile is due
    status = explore(tmp_path, "--set", "stop.env_steps=300")
    text = capsys.readouterr().out
    assert status == 0
    assert "switched on, but never fired within a run's window" in text


@pytest.mark.parametrize(
    ("arguments", "names"),
    [
        (["--property", "progres:0.1"], "unknown property 'progres'"),
        (["--property", "progress:soon"], "WINDOW must be a number"),
        (["--property", "max-staleness:-2"], "TAU must be a whole number >= 0"),
        (["--property", "finite", "--set", "explore.crash.at=[9.0, 9.5]"], "explore.crash.at: starts at 9 s"),
        (["--property", "finite", "--set", "explore.pause.chance=0"], "explore.pause.chance: is 0"),
    ],
)
def test_bad_input_is_one_line_and_exit_status_2(arguments, names, capsys):
    assert main(["explore", "random-faults", "--runs", "1", *arguments]) == 2
    err = capsys.readouterr().err
    assert names in err and err.count("\n") == 1, err


def test_run_warns_of_a_timeline_fault_that_never_fired(tmp_path, capsys):
    overrides = [
        "stop.sim_time=0.2",
        "faults[0].at=0.5",
        "faults[1]={kind='pause', nodes=['shard-1'], at=0.1}",
    ]
    overrides += ["faults[2]={kind='crash', nodes=['shard-1'], at=0.05}"]
    arguments = ["run", "shard-crash", "--out", str(tmp_path), "--set", "training.problem=surrogate"]
    assert main([*arguments, *(f"--set={o}" for o in overrides)]) == 0
    err = capsys.readouterr().err.splitlines()
    assert err == [
        "warning: faults[0] (crash) at 0.5 s falls after the run's end (0.2 s)",
        "warning: faults[1] (pause) at 0.1 s never fired (shard-1 not running then)",
    ]


def test_an_out_that_holds_anything_is_refused_unless_overwrite(tmp_path, capsys):
    (tmp_path / "notes.txt").write_text("mine")
    assert explore(tmp_path, "--set", "stop.sim_time=0.2", runs=1) == 2
    assert "already holds results or other files" in capsys.readouterr().err
    assert (tmp_path / "notes.txt").read_text() == "mine"
    assert explore(tmp_path, "--set", "stop.sim_time=0.2", "--overwrite", runs=1) == 0
    assert not (tmp_path / "notes.txt").exists()
