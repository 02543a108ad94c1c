"""Replaying a stored run's dashboard: the same snapshots as live, to the end, and from the command line."""

from __future__ import annotations

import io

import pytest
from dashboard_helpers import text_of, tracker_until
from rich.console import Console

from gorila_sim.cli import main
from gorila_sim.dashboard import render, replay
from gorila_sim.dashboard.replay import ReplaySource
from gorila_sim.results import read_results, write_results


@pytest.fixture(scope="module")
def stored(bad_day, tmp_path_factory):
    scenario, result = bad_day
    return write_results(result, tmp_path_factory.mktemp("run") / "bad-day", scenario.table)


def test_a_replay_shows_what_the_live_dashboard_showed(bad_day, stored):
    scenario, result = bad_day
    source = ReplaySource(read_results(stored), speed=1.0)
    for sim_time in (0.12, 0.33, 0.7):
        replayed = source.at(sim_time)
        live = tracker_until(scenario, result, sim_time).snapshot(
            sim_time, replayed.wall_time, replayed.clock
        )
        assert replayed == live


def test_a_replay_runs_to_the_end_of_the_run(bad_day, stored):
    _, result = bad_day
    out = io.StringIO()
    last = replay(stored, Console(file=out, width=120), speed=1e6)
    assert last.finished and last.sim_time == result.summary["sim_time"]
    assert last.gradients == result.summary["gradients"] and last.env_steps == 3_000
    printed = out.getvalue()
    assert "\x1b" not in printed
    assert printed.splitlines()[0].startswith("bad-day: sim ")
    assert "gorila-sim · bad-day · replay at 1e+06 sim s per wall s" in printed
    assert "finished" in printed and "fault events" in printed
    assert text_of(render(last)) in printed


def test_replay_from_the_command_line(stored, capsys):
    assert main(["replay", str(stored), "--speed", "1000"]) == 0
    assert "staleness of applied gradients" in capsys.readouterr().out
    assert main(["replay", str(stored / "nowhere")]) == 1
    assert "not a results directory" in capsys.readouterr().err
