"""Sweeps over a grid and seeds: a results directory per trial, the mean and 95% interval across seeds, paired
comparisons, resuming an interrupted sweep, and the same tables from local processes and Ray."""

import math
import os
import signal
import subprocess
import sys
import time

import pytest

from gorila_sim.cli import main
from gorila_sim.ray_local import LOOPBACK_ENV
from gorila_sim.report import make_report
from gorila_sim.results import MARKER, read_results
from gorila_sim.stats import mean_ci, t_quantile
from gorila_sim.sweep import (
    Sweep,
    paired,
    parse_grid,
    parse_seeds,
    plot_sweep,
    prepare,
    sweep,
    write_tables,
)
from runcommon.cores import usable_cores

SCENARIO = "straggler-learners"
GRID = {"stop.env_steps": ["1500", "2500"], "training.staleness.max_staleness": ["2", "8"]}
DEFINITION = Sweep(SCENARIO, GRID, [0, 1, 2], [])
COMMAND = ["sweep", SCENARIO, "--seeds", "0-2"] + [f"--grid={key}={','.join(v)}" for key, v in GRID.items()]


def test_grids_split_at_top_level_commas_only():
    grid = parse_grid(["a.b=1,2", 'training.optimiser={name="adam", lr=0.001},"sgd"'])
    assert grid == {"a.b": ["1", "2"], "training.optimiser": ['{name="adam", lr=0.001}', '"sgd"']}
    assert len(Sweep("x", grid, [0, 1, 2], []).trials()) == 2 * 2 * 3
    for bad in (["nokey"], ["=1,2"], ["a=1", "a=2"]):
        with pytest.raises(ValueError, match="--grid"):
            parse_grid(bad)


def test_seeds_are_a_count_a_list_or_a_range():
    assert parse_seeds("3") == [0, 1, 2]
    assert parse_seeds("0,3,7") == [0, 3, 7]
    assert parse_seeds("10-12") == [10, 11, 12]
    assert parse_seeds("1, 4-6") == [1, 4, 5, 6]
    for bad in ("0", "x", "3-1", "1,1", "-1", "1,,2"):
        with pytest.raises(ValueError, match="--seeds"):
            parse_seeds(bad)


def test_t_intervals_on_fixed_numbers():
    for dof, quantile in ((1, 12.7062), (2, 4.3027), (4, 2.7764), (9, 2.2622), (30, 2.0423)):
        assert t_quantile(0.975, dof) == pytest.approx(quantile, abs=1e-4)  # the t table's 0.975 column
    mean, low, high = mean_ci([1.0, 2.0, 3.0, 4.0, 5.0])  # s = 1.5811, s/sqrt(5) = 0.70711
    assert (
        mean == 3.0 and high - mean == pytest.approx(2.7764 * 0.70711, abs=1e-4) and mean - low == high - mean
    )
    assert mean_ci([4.0, float("nan")])[0] == 4.0 and math.isnan(mean_ci([4.0])[1])  # one value: no interval


def test_paired_differences_take_the_same_seeds():
    def row(tau: str, seed: int, ret: float) -> dict:
        return {
            "tau": tau,
            "seed": seed,
            "final_mean_return": ret,
            "discard_rate": 0.5,
            "steps_to_target": math.nan,
        }

    rows = [row("1", s, r) for s, r in enumerate([10.0, 20.0, 30.0, 99.0])]
    rows += [row("8", s, r) for s, r in enumerate([11.0, 22.0, 33.0])]  # no seed 3: its 99 is left out
    (returns, discards) = paired(rows, {"tau": ["1", "8"]})
    assert (returns["measure"], returns["pairs"], returns["difference"]) == ("final_mean_return", 3, 2.0)
    assert returns["high"] - 2.0 == pytest.approx(4.3027 * 1.0 / math.sqrt(3), abs=1e-4)
    assert (discards["measure"], discards["difference"], discards["low"]) == ("discard_rate", 0.0, 0.0)


@pytest.mark.skipif(not hasattr(os, "sched_getaffinity"), reason="no CPU affinity on this OS")
def test_local_workers_default_to_the_cores_this_process_may_use(monkeypatch):
    monkeypatch.setattr(os, "sched_getaffinity", lambda pid: {0})
    monkeypatch.setattr(os, "cpu_count", lambda: 64)
    assert usable_cores() == 1


@pytest.fixture(scope="module")
def whole(tmp_path_factory):
    """The 2x2x3 sweep, never interrupted: its directory and rows."""
    out = tmp_path_factory.mktemp("sweep") / "whole"
    prepare(out, DEFINITION, resume=False, overwrite=False)
    rows = sweep(DEFINITION, out, workers=2)
    stats, _, _ = write_tables(rows, GRID, out)
    plot_sweep(stats, GRID, out)
    return out, rows


def test_every_trial_keeps_a_results_directory_that_report_reads(whole, tmp_path):
    out, rows = whole
    assert [(r["stop.env_steps"], r["training.staleness.max_staleness"], r["seed"]) for r in rows] == [
        (steps, tau, seed) for steps in GRID["stop.env_steps"] for tau in ("2", "8") for seed in (0, 1, 2)
    ]
    assert all(row["env_steps"] == int(row["stop.env_steps"]) for row in rows)
    members = [read_results(out / "trials" / row["trial"]) for row in rows]
    assert [run.summary["env_steps"] for run in members] == [row["env_steps"] for row in rows]
    assert members[0].scenario["scenario"]["seed"] == 0 and members[1].scenario["scenario"]["seed"] == 1
    make_report(members[:2], tmp_path / "overlay")
    assert (tmp_path / "overlay" / "report.md").exists()
    stale = {
        tau: sum(r["stale"] for r in rows if r["training.staleness.max_staleness"] == tau) for tau in "28"
    }
    assert stale["2"] > stale["8"]  # a tighter threshold discards more
    assert (out / "sweep-stop_env_steps.png").exists() and not (out / MARKER).exists()
    points = (out / "points.csv").read_text().splitlines()
    assert len(points) == 1 + 4 and points[0].startswith(
        "stop.env_steps,training.staleness.max_staleness,seeds"
    )
    assert len((out / "paired.csv").read_text().splitlines()) > 1


def test_an_interrupted_sweep_resumed_equals_one_never_interrupted(whole, tmp_path, capsys):
    out = tmp_path / "sweep"
    command = [sys.executable, "-m", "gorila_sim.cli", *COMMAND, "--workers", "2", "--out", str(out)]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 120
    while len(list((out / "trials").glob("[!.]*"))) < 3:
        assert time.monotonic() < deadline and process.poll() is None, process.stderr.read()
        time.sleep(0.05)
    process.send_signal(signal.SIGINT)
    _, stderr = process.communicate(timeout=60)
    assert process.returncode == 130
    assert len(stderr.strip().splitlines()) == 1 and "--resume" in stderr, stderr
    kept = {path.name: path.stat().st_mtime_ns for path in (out / "trials").iterdir()}
    assert 3 <= len(kept) < 12 and (out / MARKER).exists() and not (out / "sweep.csv").exists()
    assert not [name for name in kept if name.startswith(".")]

    assert main([*COMMAND, "--out", str(out), "--resume"]) == 0
    printed = capsys.readouterr().out
    for name in ("sweep.csv", "points.csv", "paired.csv", "sweep.md"):
        assert (out / name).read_text() == (whole[0] / name).read_text(), name
    assert {name: (out / "trials" / name).stat().st_mtime_ns for name in kept} == kept  # not run again
    assert not (out / MARKER).exists()
    assert "training.staleness.max_staleness" in printed and "…" not in printed  # full width off a terminal


def test_sweep_output_is_refused_unless_resumed_or_overwritten(tmp_path, capsys):
    out = tmp_path / "sweep"
    out.mkdir()
    (out / "mine.txt").write_text("x")
    small = ["sweep", SCENARIO, "--grid", "stop.env_steps=800", "--out", str(out)]
    for args, expected in (
        (small, "already holds"),
        ([*small, "--resume"], "no sweep to resume"),
        ([*small, "--seeds", "1-0"], "--seeds"),
        ([*small, "--grid", "topology.actors=-1"], "topology.actors"),
    ):
        assert main(args) == 1, args
        err = capsys.readouterr().err
        assert len(err.strip().splitlines()) == 1 and expected in err, err
    assert [path.name for path in out.iterdir()] == ["mine.txt"]
    assert main([*small, "--overwrite", "--set", "topology.actors=2"]) == 0
    assert not (out / "mine.txt").exists()
    assert read_results(out / "trials" / "env_steps=800-seed0").scenario["topology"]["actors"] == 2
    assert main([*small, "--resume", "--seeds", "2"]) == 1
    assert "holds another sweep" in capsys.readouterr().err


@pytest.fixture(scope="module")
def ray_cluster():
    """A one-node Ray cluster of this test's own on loopback; shutting it down stops only its processes."""
    cluster_utils = pytest.importorskip("ray.cluster_utils")
    with pytest.MonkeyPatch.context() as env:
        for name, value in LOOPBACK_ENV.items():  # loopback only, no token in ~/.ray
            env.setenv(name, value)
        cluster = cluster_utils.Cluster(initialize_head=True, head_node_args={"num_cpus": 2})
        try:
            yield cluster.address
        finally:
            cluster.shutdown()


def test_the_same_sweep_on_a_local_ray_instance_gives_the_same_rows(whole, ray_cluster, tmp_path):
    seed_zero = Sweep(SCENARIO, GRID, [0], [])
    prepare(tmp_path / "ray", seed_zero, resume=False, overwrite=False)
    rows = sweep(seed_zero, tmp_path / "ray", ray_address=ray_cluster)
    assert rows == [row for row in whole[1] if row["seed"] == 0]
    assert read_results(tmp_path / "ray" / "trials" / rows[0]["trial"]).summary["env_steps"] == 1500
