"""The gorila-sim command: fast help, the queueing demo, clear errors for bad arguments."""

import subprocess
import sys

from gorila_sim.cli import main


def run_cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "gorila_sim.cli", *args], capture_output=True, text=True, timeout=120
    )


def test_help_imports_no_heavy_package():
    result = run_cli("--help")
    assert result.returncode == 0
    assert "queueing" in result.stdout
    heavy = "{'torch', 'numpy', 'rich', 'numba', 'gymnasium', 'aiohttp'}"
    probe = f"import sys, gorila_sim.cli; print(sorted({heavy} & set(sys.modules)))"
    loaded = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True).stdout
    assert loaded.strip() == "[]"


def test_queueing_demo_prints_the_comparison_table(capsys):
    assert main(["queueing", "--customers", "5000", "--seed", "3"]) == 0
    out = capsys.readouterr().out
    assert "M/M/1 ρ=0.8" in out and "M/D/1 ρ=0.8" in out and "Little" in out
    assert "kernel events" in out


def test_bad_arguments_give_one_line_and_exit_2():
    for args in (["queueing", "--customers", "-5"], ["queueing", "--seed", "x"], ["nonsense"], []):
        result = run_cli(*args)
        assert result.returncode == 2, args
        assert "Traceback" not in result.stderr
        lines = result.stderr.strip().splitlines()
        assert len(lines) == 1, result.stderr
        assert lines[0].startswith("gorila-sim")


def test_demo_runs_a_library_scenario_and_makes_its_report(tmp_path, capsys):
    out = tmp_path / "demo"
    assert main(["demo", "--out", str(out), "--set", "stop.env_steps=3000"]) == 0
    printed = capsys.readouterr().out
    assert "bad-day" in printed and "3,000" in printed and "gradients applied" in printed
    assert (out / "summary.json").exists() and (out / "trace" / "gradients.parquet").exists()
    assert (out / "report" / "report.md").exists() and (out / "report" / "learning.png").exists()
    assert str(out / "report" / "report.md") in printed


def test_run_and_report_from_the_command_line(tmp_path):
    out = tmp_path / "run"
    result = run_cli("run", "baseline", "--set", "stop.env_steps=2000", "--seed", "4", "--out", str(out))
    assert result.returncode == 0, result.stderr
    assert (out / "scenario.json").exists()
    report = run_cli("report", str(out), str(out), "--out", str(tmp_path / "both"))
    assert report.returncode == 0, report.stderr
    assert (tmp_path / "both" / "report.md").exists()


def test_run_and_report_refuse_bad_input_in_one_line(tmp_path):
    continuous = tmp_path / "continuous.toml"
    continuous.write_text('[scenario]\nname = "x"\n[training]\nenv_id = "Pendulum-v1"\n')
    for args in (
        ["run", str(continuous)],
        ["run", "no-such-scenario"],
        ["run", "baseline", "--set", "topology.actors=-1"],
        ["report", str(tmp_path)],
    ):
        result = run_cli(*args)
        assert result.returncode == 1, args
        assert len(result.stderr.strip().splitlines()) == 1 and "Traceback" not in result.stderr


def test_calibrate_writes_a_profile_that_loads(tmp_path):
    from gorila_sim.costs import CostProfile

    out = tmp_path / "costs.toml"
    assert main(["calibrate", "--quick", "--out", str(out)]) == 0
    profile = CostProfile.load(out)
    assert 0 < profile.env_step < 0.01 and 0 < profile.act < 0.01
    assert profile.gradient_fixed > 0 and profile.apply_per_param > 0


def test_calibrate_refuses_environments_dqn_cannot_learn_in_one_line(tmp_path, capsys):
    for env, problem in (("Pendulum-v1", "Discrete action space"), ("Foo-v1", "doesn't exist")):
        assert main(["calibrate", "--env", env, "--quick", "--out", str(tmp_path / "costs.toml")]) == 1
        err = capsys.readouterr().err
        assert err.startswith(f"gorila-sim calibrate: --env {env}: ") and problem in err
        assert len(err.strip().splitlines()) == 1
    assert main(["calibrate", "--quick", "--out", str(tmp_path / "nowhere" / "costs.toml")]) == 1
    assert "is not a directory" in capsys.readouterr().err
    assert not (tmp_path / "costs.toml").exists()
