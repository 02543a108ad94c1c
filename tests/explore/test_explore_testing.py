"""Exploration as tests use it (`gorila_sim.testing.explore`), its database of failing seeds, and the
determinism self-check."""

from pathlib import Path

import pytest

from gorila_sim.cli import main
from gorila_sim.explore.database import SeedDatabase, key
from gorila_sim.explore.runs import first_difference
from gorila_sim.scenario import load_scenario
from gorila_sim.testing import explore

PLANTED = Path(__file__).with_name("planted.toml")
SHORT = ["stop.sim_time=0.1", "training.staleness=none"]


def no_staleness_above_4(run):
    run.assert_no_applied_staler_than(4)


def test_a_failing_seed_is_remembered_and_tried_first_next_time(tmp_path):
    database = tmp_path / "seeds.json"
    options = {"overrides": SHORT, "out": tmp_path / "out", "database": database}
    with pytest.raises(AssertionError) as caught:
        explore(PLANTED, [no_staleness_above_4], runs=40, **options)
    failing = caught.value.finding.failure.seed
    assert "no_staleness_above_4 failed: " in str(caught.value) and "replay: gorila-sim run" in str(
        caught.value
    )
    exploration = key(load_scenario(PLANTED, SHORT).table, ["no_staleness_above_4"])
    assert SeedDatabase(database).seeds(exploration) == [failing]
    # seeds from 1,000 on: the remembered seed is run first, and fails again at once
    with pytest.raises(AssertionError) as again:
        explore(PLANTED, [no_staleness_above_4], runs=5, seed=1_000, **options)
    assert [report.seed for report in again.value.finding.reports] == [failing]


def test_a_remembered_seed_that_passes_now_is_forgotten(tmp_path):
    database = tmp_path / "seeds.json"
    exploration = key(load_scenario(PLANTED, SHORT).table, ["finite"])
    SeedDatabase(database).save(exploration, [7])
    finding = explore(PLANTED, ["finite"], runs=2, overrides=SHORT, out=tmp_path, database=database)
    assert [report.seed for report in finding.reports] == [7, 0, 1]
    assert SeedDatabase(database).seeds(exploration) == []


def test_two_runs_of_a_seed_give_the_same_trace(tmp_path, capsys):
    arguments = ["explore", str(PLANTED), "--property", "finite", "--runs", "2", "--workers", "1"]
    assert (
        main([*arguments, "--check-determinism", "--out", str(tmp_path), *(f"--set={o}" for o in SHORT)]) == 0
    )


def test_the_determinism_check_names_the_first_record_that_differs(tmp_path, capsys):
    coin_flip = "--set=training.staleness={name='planted_rules:CoinFlip'}"
    arguments = ["explore", str(PLANTED), "--property", "finite", "--runs", "2", "--workers", "1"]
    status = main(
        [*arguments, "--check-determinism", "--out", str(tmp_path), coin_flip, "--set=stop.sim_time=0.1"]
    )
    text = capsys.readouterr().out
    assert status == 1
    assert "seed 0: not deterministic: gradients[" in text and "differs:" in text
    assert (tmp_path / "failing.toml").is_file() and not (tmp_path / "shrunk.toml").exists()


def test_first_difference_names_the_table_and_the_record():
    first = {"gradients": [(0.1, "learner-0", 0, "applied", 0, 1)], "episodes": []}
    same = {"gradients": [(0.1, "learner-0", 0, "applied", 0, 1)], "episodes": []}
    assert first_difference(first, same) is None
    other = {"gradients": [(0.1, "learner-0", 0, "stale", 3, 1)], "episodes": []}
    assert first_difference(first, other).startswith("gradients[0] differs: (0.1, 'learner-0', 0, 'applied'")
    longer = {"gradients": same["gradients"] * 2, "episodes": []}
    assert first_difference(first, longer) == "gradients has 1 records in the first run and 2 in the second"
