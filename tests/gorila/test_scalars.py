"""A run's scalars against env steps, and `run --tensorboard` writing them as event files that
TensorBoard's own reader reads back."""

import numpy as np
import pytest
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

from gorila_sim.cli import main
from gorila_sim.results import read_results
from gorila_sim.scalars import run_scalars
from gorila_sim.scenario import load_scenario, resolve, run_scenario
from gorila_sim.trace import COLUMNS

TABLES = {
    "episodes": {
        "time": np.array([0.5, 1.5]),
        "wall": np.array([1.0, 2.0]),
        "ret": np.array([1.0, 3.0]),
        "env_steps": np.array([10, 30]),
    },
    "gradients": {
        "time": np.array([0.2, 0.7, 1.2, 2.0]),
        "fate": np.array(["applied", "stale", "applied", "applied"]),
        "staleness": np.array([1, 5, 2, 4]),
    },
}


def test_scalars_of_a_small_trace_worked_by_hand():
    scalars = run_scalars(TABLES, end=2.0, bins=2)
    # Interval ends at 1 s and 2 s: 20 env steps (halfway between the episodes) and 30; wall 1.5 s and 2 s.
    assert scalars["charts/episodic_return"] == [(10, 1.0, 1.0), (30, 2.0, 3.0)]
    assert "charts/mean_return_last_10" not in scalars  # fewer than 10 episodes
    assert scalars["gradients/applied_per_s"] == [(20, 1.5, 1.0), (30, 2.0, 2.0)]  # the end is in the last
    assert scalars["gradients/stale_per_s"] == [(20, 1.5, 1.0), (30, 2.0, 0.0)]
    assert scalars["gradients/lost_per_s"] == [(20, 1.5, 0.0), (30, 2.0, 0.0)]
    assert scalars["staleness/p50"] == [(20, 1.5, 1.0), (30, 2.0, 3.0)]  # the stale one is not applied
    assert scalars["staleness/p99"] == [(20, 1.5, 1.0), (30, 2.0, pytest.approx(3.98))]
    assert scalars["throughput/env_steps_per_sim_s"] == [(20, 1.5, 20.0), (30, 2.0, 10.0)]
    assert scalars["throughput/env_steps_per_wall_s"] == [(20, 1.5, 20 / 1.5), (30, 2.0, 20.0)]
    assert scalars["time/simulated_s"] == [(20, 1.5, 1.0), (30, 2.0, 2.0)]


def test_run_tensorboard_writes_every_scalar_and_tensorboard_reads_them_back(tmp_path, capsys):
    out = tmp_path / "run"
    argv = ["run", "bad-day", "--set", "stop.env_steps=3000", "--out", str(out), "--tensorboard"]
    assert main(argv) == 0
    assert f"TensorBoard scalars in {out / 'tensorboard'}/" in " ".join(capsys.readouterr().out.split())
    stored = read_results(out)
    expected = run_scalars(stored.tables, stored.summary["sim_time"])
    events = EventAccumulator(str(out / "tensorboard"), size_guidance={"scalars": 0})
    events.Reload()
    assert sorted(events.Tags()["scalars"]) == sorted(expected)
    assert len(expected["charts/mean_return_last_10"]) > 100 and len(expected["staleness/p99"]) > 10
    for tag, points in expected.items():
        read = events.Scalars(tag)
        assert [event.step for event in read] == [step for step, _, _ in points], tag
        np.testing.assert_allclose([e.value for e in read], [v for _, _, v in points], rtol=1e-6)
        walls = np.array([e.wall_time for e in read]) - read[0].wall_time
        np.testing.assert_allclose(walls, [w - points[0][1] for _, w, _ in points], atol=1e-3)


def test_report_tensorboard_exports_runs_made_without_it(tmp_path):
    runs = [tmp_path / f"seed{seed}" for seed in (1, 2)]
    for seed, out in zip((1, 2), runs, strict=True):
        argv = ["run", "baseline", "--set", "stop.env_steps=2000", "--seed", str(seed), "--out", str(out)]
        assert main(argv) == 0
        assert not (out / "tensorboard").exists()
    assert main(["report", *map(str, runs), "--out", str(tmp_path / "report"), "--tensorboard"]) == 0
    for out in runs:
        stored = read_results(out)
        expected = run_scalars(stored.tables, stored.summary["sim_time"])
        events = EventAccumulator(str(tmp_path / "report" / "tensorboard" / out.name), {"scalars": 0})
        events.Reload()
        assert len(expected["staleness/p50"]) >= 5
        assert sorted(events.Tags()["scalars"]) == sorted(expected)
        for tag, points in expected.items():
            np.testing.assert_allclose(
                [e.value for e in events.Scalars(tag)], [v for *_, v in points], rtol=1e-6
            )


def test_the_scalars_but_wall_times_are_a_function_of_scenario_and_seed():
    def simulated(seed: int) -> dict[str, list[tuple[int, float]]]:
        result = run_scenario(
            load_scenario(resolve("bad-day"), ["stop.env_steps=2000", f"scenario.seed={seed}"])
        )
        tables = {name: result.trace.table(name) for name in COLUMNS}
        scalars = run_scalars(tables, result.summary["sim_time"])
        del scalars["throughput/env_steps_per_wall_s"]
        return {tag: [(step, value) for step, _, value in points] for tag, points in scalars.items()}

    assert simulated(1) == simulated(1) != simulated(2)
