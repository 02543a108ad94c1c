"""Results are never lost and never clobbered: written as the run goes, published whole, marked when the run
was interrupted, and never replaced unless asked."""

import random
import signal
import subprocess
import sys
import time
from pathlib import Path

from gorila_sim.cli import main
from gorila_sim.report import make_report
from gorila_sim.results import MARKER, ResultsWriter, read_results

SHORT = ["straggler-learners", "--set", "stop.env_steps=1500"]
LONG = ["run", "straggler-learners", "--set", "stop.env_steps=10000000", "--set", "stop.sim_time=100000"]


def start(out: Path) -> subprocess.Popen[str]:
    command = [sys.executable, "-m", "gorila_sim.cli", *LONG, "--out", str(out)]
    return subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def files_of(directory: Path) -> dict[str, tuple[bytes, int]]:
    return {
        str(path.relative_to(directory)): (path.read_bytes(), path.stat().st_mtime_ns)
        for path in sorted(directory.rglob("*"))
        if path.is_file()
    }


def test_ctrl_c_during_a_run_publishes_it_marked_incomplete_and_report_draws_it(tmp_path):
    out = tmp_path / "run"
    process = start(out)
    deadline = time.monotonic() + 60
    while not list(tmp_path.glob(".run.partial-*/trace/*.parquet")):  # its first row groups are written
        assert time.monotonic() < deadline and process.poll() is None, process.stderr.read()
        time.sleep(0.1)
    time.sleep(1.0)
    process.send_signal(signal.SIGINT)
    _, stderr = process.communicate(timeout=60)
    assert process.returncode == 130
    assert len(stderr.strip().splitlines()) == 1 and "interrupted at" in stderr, stderr
    assert sorted(path.name for path in tmp_path.iterdir()) == ["run"]
    stored = read_results(out)
    assert stored.interrupted_at is not None and stored.interrupted_at == stored.summary["sim_time"]
    assert stored.summary["env_steps"] < 10_000_000 and len(stored.tables["episodes"]["ret"]) > 0
    written = make_report([stored], tmp_path / "report")
    assert f"run (interrupted at {stored.interrupted_at:.2f} s)" in written[-1].read_text()


def test_ctrl_c_at_random_moments_leaves_no_directory_or_a_whole_one(tmp_path):
    moments = random.Random(22).sample([0.3, 1.0, 2.0, 3.0, 4.0, 5.0, 6.0], 3)
    outs = [tmp_path / f"run{i}" for i in range(len(moments))]
    started = time.monotonic()
    processes = [start(out) for out in outs]
    for moment, process in sorted(zip(moments, processes, strict=True), key=lambda pair: pair[0]):
        time.sleep(max(0.0, started + moment - time.monotonic()))
        process.send_signal(signal.SIGINT)
    for process, out in zip(processes, outs, strict=True):
        process.communicate(timeout=60)
        if out.exists():
            stored = read_results(out)  # whole: a ValueError otherwise
            assert (out / MARKER).exists() and stored.interrupted_at is not None
            make_report([stored], out / "report")
    assert not list(tmp_path.glob(".*")), "a partial directory was left behind"


def test_a_second_run_never_changes_the_first_unless_asked(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert main(["run", *SHORT]) == 0
    first = Path("runs/straggler-learners-seed0-" + capsys.readouterr().out.split("seed0-")[1][:8])
    before = files_of(first)
    assert main(["run", *SHORT]) == 1  # the same run again: its default directory is taken
    assert "already holds results" in capsys.readouterr().err
    assert main(["run", *SHORT, "--set", "training.staleness.max_staleness=2"]) == 0
    assert main(["run", *SHORT, "--seed", "1"]) == 0
    assert len(list(Path("runs").iterdir())) == 3  # other overrides, another seed: other directories
    assert files_of(first) == before

    (first / "notes.txt").write_text("mine")
    assert main(["run", *SHORT, "--out", str(first)]) == 1
    assert files_of(first)["notes.txt"][0] == b"mine"
    assert main(["run", *SHORT, "--out", str(first), "--overwrite"]) == 0
    assert not (first / "notes.txt").exists() and read_results(first).summary["env_steps"] == 1500
    assert sorted(path.name for path in Path("runs").iterdir() if path.name.startswith(".")) == []


def test_output_paths_are_checked_before_any_work(tmp_path, capsys, monkeypatch):
    import gorila_sim.scenario.run

    def never(*args, **kwargs):
        raise AssertionError("ran before checking the output path")

    monkeypatch.setattr(gorila_sim.scenario.run, "run", never)
    file = tmp_path / "file"
    file.write_text("x")
    for args in (
        ["run", *SHORT, "--out", str(file)],
        ["run", *SHORT, "--out", str(file / "below")],
        ["report", str(tmp_path), "--out", str(file)],
    ):
        assert main(args) == 1, args
        err = capsys.readouterr().err
        assert len(err.strip().splitlines()) == 1 and "is a file, not a directory" in err, err


def test_a_writer_that_is_discarded_leaves_nothing(tmp_path):
    writer = ResultsWriter(tmp_path / "run", {"scenario": {"name": "x"}})
    assert writer.staging.exists()
    writer.discard()
    assert list(tmp_path.iterdir()) == []


def test_the_trace_is_written_as_the_run_goes(tmp_path, monkeypatch):
    import pyarrow.parquet as pq

    from gorila_sim import results
    from gorila_sim.scenario import load_scenario, resolve, run_scenario
    from gorila_sim.trace import Trace

    monkeypatch.setattr(results, "FLUSH_SECONDS", 0.0)
    scenario = load_scenario(resolve("straggler-learners"), ["stop.env_steps=3000"])
    writer = ResultsWriter(tmp_path / "run", scenario.table)
    trace = Trace()
    writer.follow(trace)
    result = run_scenario(scenario, on_progress=lambda _: writer.flush(), trace=trace)
    writer.publish(result)
    episodes = pq.ParquetFile(tmp_path / "run" / "trace" / "episodes.parquet")
    assert episodes.metadata.num_row_groups >= 3  # one per flush, at least at 1,000 and 2,000 env steps
    stored = read_results(tmp_path / "run")
    assert stored.interrupted_at is None
    assert list(stored.tables["gradients"]["fate"]) == list(result.trace.table("gradients")["fate"])
