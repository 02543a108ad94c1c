"""The gorila-sim command: fast help, the queueing demo, clear errors for bad arguments."""

import subprocess
import sys
import time

from gorila_sim.cli import main


def run_cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "gorila_sim.cli", *args], capture_output=True, text=True, timeout=120
    )


def test_help_answers_fast_without_heavy_imports():
    started = time.perf_counter()
    result = run_cli("--help")
    assert result.returncode == 0
    assert "queueing" in result.stdout
    assert time.perf_counter() - started < 5.0  # generous for CI; the bench-free check is below
    probe = subprocess.run(
        [
            sys.executable,
            "-c",
            "import sys, gorila_sim.cli; print(sorted({'torch','numpy','rich','numba'} & set(sys.modules)))",
        ],
        capture_output=True,
        text=True,
    )
    assert probe.stdout.strip() == "[]"


def test_queueing_demo_prints_the_comparison_table(capsys):
    assert main(["queueing", "--customers", "5000", "--seed", "3"]) == 0
    out = capsys.readouterr().out
    assert "M/M/1 rho=0.8" in out and "M/D/1 rho=0.8" in out and "Little" in out
    assert "kernel events" in out


def test_bad_arguments_give_one_line_and_exit_2():
    for args in (["queueing", "--customers", "-5"], ["queueing", "--seed", "x"], ["nonsense"], []):
        result = run_cli(*args)
        assert result.returncode == 2, args
        assert "Traceback" not in result.stderr
        lines = result.stderr.strip().splitlines()
        assert len(lines) == 1, result.stderr
        assert lines[0].startswith("gorila-sim")
