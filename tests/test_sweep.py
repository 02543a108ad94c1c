"""Sweeps over a grid and seeds: the table, the plots, and the same table from local processes and Ray."""

import os
import shutil
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from gorila_sim.sweep import parse_grid, plot_sweep, points, sweep, usable_cores, write_table

GRID = {"stop.env_steps": ["1500", "2500"], "training.staleness.max_staleness": ["2", "8"]}
SCENARIO = "straggler-learners"


def test_grids_split_at_top_level_commas_only():
    grid = parse_grid(["a.b=1,2", 'training.optimiser={name="adam", lr=0.001},"sgd"'])
    assert grid == {"a.b": ["1", "2"], "training.optimiser": ['{name="adam", lr=0.001}', '"sgd"']}
    assert len(points(grid, seeds=3)) == 2 * 2 * 3
    for bad in (["nokey"], ["=1,2"], ["a=1", "a=2"]):
        with pytest.raises(ValueError, match="--grid"):
            parse_grid(bad)


@pytest.mark.skipif(not hasattr(os, "sched_getaffinity"), reason="no CPU affinity on this OS")
def test_local_workers_default_to_the_cores_this_process_may_use(monkeypatch):
    monkeypatch.setattr(os, "sched_getaffinity", lambda pid: {0})
    monkeypatch.setattr(os, "cpu_count", lambda: 64)
    assert usable_cores() == 1


@pytest.fixture(scope="module")
def local_rows():
    return sweep(SCENARIO, GRID, seeds=2, workers=2)


def test_a_local_sweep_gives_one_row_per_point_in_grid_order(local_rows, tmp_path):
    assert [(r["stop.env_steps"], r["training.staleness.max_staleness"], r["seed"]) for r in local_rows] == [
        (steps, tau, seed) for steps in ("1500", "2500") for tau in ("2", "8") for seed in (0, 1)
    ]
    assert all(row["env_steps"] == int(row["stop.env_steps"]) for row in local_rows)
    csv_path, markdown = write_table(local_rows, GRID, tmp_path)
    assert csv_path.read_text().count("\n") == 1 + 8
    assert markdown.read_text().count("\n") == 2 + 8
    stale = {
        tau: sum(r["stale"] for r in local_rows if r["training.staleness.max_staleness"] == tau)
        for tau in "28"
    }
    assert stale["2"] > stale["8"]  # a tighter threshold discards more
    plots = plot_sweep(local_rows, GRID, tmp_path)
    assert [p.name for p in plots] == [
        "sweep-stop_env_steps.png",
        "sweep-training_staleness_max_staleness.png",
    ]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def ray_cluster():
    pytest.importorskip("ray")
    ray_cli = Path(sys.executable).parent / "ray"
    if not ray_cli.exists():
        ray_cli = Path(shutil.which("ray") or "ray")
    port = free_port()
    start = [
        str(ray_cli),
        "start",
        "--head",
        "--node-ip-address=127.0.0.1",
        f"--port={port}",
        "--num-cpus=2",
        "--include-dashboard=false",
        "--disable-usage-stats",
    ]
    subprocess.run(start, check=True, capture_output=True, timeout=120)
    try:
        yield f"127.0.0.1:{port}"
    finally:
        subprocess.run([str(ray_cli), "stop", "--force"], capture_output=True, timeout=120)


def test_the_same_sweep_on_a_local_ray_instance_gives_the_same_table(local_rows, ray_cluster):
    assert sweep(SCENARIO, GRID, seeds=2, ray_address=ray_cluster) == local_rows
