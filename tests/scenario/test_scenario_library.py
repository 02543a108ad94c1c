"""The scenario library: every scenario checks, runs to completion on CI settings and shows what its header
says; finding scenarios by name; the `validate` and `scenarios` commands."""

from __future__ import annotations

import argparse
import subprocess
import sys
from collections.abc import Callable
from typing import Any

import pytest

from gorila_sim.delays import age_split, utilisation
from gorila_sim.gorila import RunResult
from gorila_sim.scenario import ScenarioError, library_scenarios, load_scenario, resolve, run_scenario
from gorila_sim.scenario.commands import add_commands


def lifecycle(result: RunResult, node: str) -> list[tuple[float, str]]:
    table = result.trace.table("lifecycle")
    return [(t, s) for t, n, s in zip(table["time"], table["node"], table["state"], strict=True) if n == node]


def ingress_is_the_bottleneck(result: RunResult) -> bool:
    """Most of a gradient's age is queueing on its way to its shard, whose ingress is seldom idle."""
    split = age_split(result.trace.table("messages"))
    busy = utilisation(result.trace.table("interfaces"))
    return split["gradient_queueing"] > 0.4 * split["age"] and busy["shard"]["ingress"] > 0.6


SHOWS: dict[str, Callable[[RunResult], Any]] = {
    "baseline": lambda r: (
        not any(r.summary["network"][k] for k in ("lost_link", "lost_partition", "lost_down"))
    ),
    "paper-scale": lambda r: r.summary["gradients"]["stale"] > 0,
    "lossy-network": lambda r: r.summary["network"]["lost_link"] > 0 and r.summary["gradients"]["lost"] > 0,
    "straggler-learners": lambda r: r.summary["gradients"]["stale"] > 0,
    "shard-crash": lambda r: (
        lifecycle(r, "shard-1") == [(0.0, "up"), (0.3, "crashed"), (pytest.approx(0.4), "up")]
    ),
    "partitioned-actors": lambda r: r.summary["network"]["lost_partition"] > 0,
    "random-faults": lambda r: (  # its faults come from its [explore] profile, not from a timeline
        r.summary["gradients"]["applied"] > 0
        and not any(r.summary["network"][k] for k in ("lost_partition", "lost_down"))
    ),
    "ps-bottleneck": ingress_is_the_bottleneck,
    "bad-day": lambda r: all(
        r.summary["network"][k] > 0 for k in ("lost_link", "lost_partition", "lost_down")
    ),
}
"""What each library scenario shows, as a check of its run."""


def test_the_library_holds_the_documented_scenarios_each_with_its_header():
    library = library_scenarios()
    assert set(library) == set(SHOWS)
    for name, path in library.items():
        scenario = load_scenario(path)
        assert scenario.name == name and scenario.description
        assert path.read_text().startswith(f"# {name}: ")


@pytest.mark.parametrize("name", sorted(SHOWS))
def test_each_library_scenario_runs_to_completion_and_shows_its_point(name):
    scenario = load_scenario(resolve(name))
    result = run_scenario(scenario)
    summary, config = result.summary, scenario.config
    assert summary["env_steps"] == config.total_env_steps or summary["sim_time"] == config.max_sim_time
    assert SHOWS[name](result)


def test_paper_scale_is_the_papers_cluster():
    assert (
        len(load_scenario(resolve("paper-scale")).nodes) == 100 + 100 + 31 + 100
    )  # local replay: one per actor


def test_resolve_takes_a_path_or_a_library_name(tmp_path):
    assert resolve("baseline") == library_scenarios()["baseline"]
    (tmp_path / "baseline").write_text("a file of that name comes first")
    assert resolve(tmp_path / "baseline") == tmp_path / "baseline"
    with pytest.raises(
        ScenarioError, match=r"^nowhere: no such file, nor a library scenario \(the library has bad-day,"
    ):
        resolve("nowhere")


def gorila_sim(*args: str) -> int:
    parser = argparse.ArgumentParser(prog="gorila-sim")
    add_commands(parser.add_subparsers())
    parsed = parser.parse_args(args)
    return parsed.handler(parsed)


def test_validate_says_ok_with_the_size_of_the_scenario(capsys):
    assert gorila_sim("validate", "bad-day", str(library_scenarios()["paper-scale"])) == 0
    out = capsys.readouterr().out.splitlines()
    assert out == [
        "bad-day: ok (9 nodes, 5 faults)",
        f"{library_scenarios()['paper-scale']}: ok (331 nodes, 0 faults)",
    ]


def test_validate_gives_one_line_per_bad_file_and_exit_status_1(tmp_path, capsys):
    (tmp_path / "bad.toml").write_text('[scenario]\nname = "bad"\n\n[topology]\nactors = -1\n')
    assert gorila_sim("validate", str(tmp_path / "bad.toml"), "baseline") == 1
    captured = capsys.readouterr()
    assert (
        captured.err
        == f"{tmp_path / 'bad.toml'}:5: topology.actors: must be a whole number in [1, 10000], got -1\n"
    )
    assert captured.out == "baseline: ok (9 nodes, 0 faults)\n"


def test_validate_checks_overrides_too(capsys):
    assert (
        gorila_sim("validate", "baseline", "--set", "topology.actors=6", "--set", "topology.learners=3") == 0
    )
    assert capsys.readouterr().out == "baseline: ok (12 nodes, 0 faults)\n"
    assert gorila_sim("validate", "baseline", "--set", "topology.actors=none") == 1
    assert "got 'none' (set by override 'topology.actors=none')" in capsys.readouterr().err


def test_scenarios_lists_the_library_with_descriptions(capsys):
    assert gorila_sim("scenarios") == 0
    lines = capsys.readouterr().out.splitlines()
    assert [line.split()[0] for line in lines] == sorted(SHOWS)
    assert any("shard-1 crashes at 0.3 s" in line for line in lines)


def test_validate_loads_neither_torch_nor_gymnasium():
    probe = (
        "import sys, argparse\n"
        "from gorila_sim.scenario.commands import add_commands\n"
        "assert 'numpy' not in sys.modules\n"
        "parser = argparse.ArgumentParser()\n"
        "add_commands(parser.add_subparsers())\n"
        "args = parser.parse_args(['validate', 'bad-day'])\n"
        "status = args.handler(args)\n"
        "print(status, sorted({'torch', 'gymnasium'} & set(sys.modules)))\n"
    )
    result = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=60)
    assert result.stdout.splitlines()[-1] == "0 []", result.stderr
