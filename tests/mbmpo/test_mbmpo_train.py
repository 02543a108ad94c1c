"""A whole MB-MPO iteration at tiny settings, its results directory, eval, the CLI and config errors."""

import argparse
import json
import os
import re
import subprocess
import sys
from dataclasses import replace

import gymnasium
import numpy as np
import pytest
import torch

from mbmpo.cli import OVERRIDES, add_commands, add_overrides, override_fields
from mbmpo.config import QUICK, ConfigError, MBMPOConfig
from mbmpo.train import evaluate, train


class OneLineParser(argparse.ArgumentParser):
    """As gorila-sim's parser: bad arguments give one line and exit status 2."""

    def error(self, message: str):
        self.exit(2, f"{self.prog}: error: {message}\n")


def parser() -> argparse.ArgumentParser:
    root = OneLineParser(prog="gorila-sim")
    add_commands(root.add_subparsers(dest="command", parser_class=OneLineParser))
    return root


META_PHASES = ("rollouts", "advantages", "adaptation", "trpo_gradient", "fisher_cg", "line_search")


def test_one_iteration_writes_the_results_directory_and_eval_runs_it(tmp_path):
    config = MBMPOConfig(**{**QUICK, "iterations": 1})
    history = train(config, tmp_path / "run")
    assert [m["iteration"] for m in history] == [0, 1]
    last = history[-1]
    assert last["real_steps"] >= QUICK["initial_random_steps"] + QUICK["real_steps_per_iteration"]
    assert len(last["model_val_loss"]) == len(last["real_return_per_model"]) == QUICK["models"]
    for key in (
        "real_return",
        "imagined_return_before",
        "imagined_return_after",
        "fit_s",
        "meta_s",
        "collect_s",
    ):
        assert isinstance(last[key], float)
    by_step = last["imagined_return_by_step"]
    assert len(by_step) == QUICK["meta_steps"] and by_step[-1] == last["imagined_return_before"]
    assert set(last["phase_s"]) == {f"meta/{name}" for name in META_PHASES}
    # The meta phase's parts are measured inside it, numba's compilations left out of both.
    assert 0 < sum(last["phase_s"].values()) <= last["meta_s"]
    assert last["cpu_s"] > 0 and last["compile_s"] >= 0
    run = tmp_path / "run"
    assert MBMPOConfig.from_json(json.loads((run / "config.json").read_text())) == config
    assert [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()] == history
    assert (run / "curve.png").read_bytes()[:4] == b"\x89PNG"
    # eval runs the saved adapted policies in the real environment: with policies that ask for a constant
    # torque (zero weights, σ = e^-20), its returns are those of Pendulum episodes run by hand.
    saved = torch.load(run / "policy.pt")
    torques = [0.5, -1.5]
    saved["adapted"].zero_()
    saved["adapted"][:, -2] = torch.tensor(torques)  # the last layer's bias: the mean action
    saved["adapted"][:, -1] = -20.0  # log σ
    torch.save(saved, run / "policy.pt")
    env = gymnasium.make("Pendulum-v1", max_episode_steps=QUICK["horizon"])
    env.reset(seed=0)
    by_hand = []
    for episode in range(3):
        env.reset()
        torque = np.array([torques[episode % 2]], dtype=np.float32)
        by_hand.append(sum(float(env.step(torque)[1]) for _ in range(QUICK["horizon"])))
    np.testing.assert_allclose(evaluate(run, episodes=3), by_hand, rtol=1e-5)


TIMINGS = ("fit_s", "meta_s", "collect_s", "compile_s", "phase_s", "cpu_s", "wall_s")


def without_timings(history):
    return [{key: value for key, value in m.items() if key not in TIMINGS} for m in history]


def test_a_resumed_run_is_the_run_never_stopped(tmp_path):
    config = MBMPOConfig(**{**QUICK, "iterations": 2})
    whole = train(config, tmp_path / "whole")
    train(replace(config, iterations=1), tmp_path / "stopped")
    (tmp_path / "stopped" / "metrics.jsonl").open("a").write('{"iteration": 2, "cut off": true}\n')
    resumed = train(config, tmp_path / "stopped", resume=True)
    assert without_timings(resumed) == without_timings(whole)
    stored = [json.loads(line) for line in (tmp_path / "stopped" / "metrics.jsonl").read_text().splitlines()]
    assert stored == resumed
    for name in ("whole", "stopped"):
        assert MBMPOConfig.from_json(json.loads((tmp_path / name / "config.json").read_text())) == config
    policies = [torch.load(tmp_path / name / "policy.pt") for name in ("whole", "stopped")]
    assert torch.equal(policies[0]["policy"]["theta"], policies[1]["policy"]["theta"])


def test_resuming_checks_the_run_and_its_settings(tmp_path):
    config = MBMPOConfig(**{**QUICK, "iterations": 2})
    with pytest.raises(ConfigError, match=r"resume: no checkpoint\.pt"):
        train(config, tmp_path / "none", resume=True)
    done = train(config, tmp_path / "run")
    with pytest.raises(ConfigError, match=r"^inner_lr: 0\.5 differs from the run's 0\.001"):
        train(replace(config, inner_lr=0.5), tmp_path / "run", resume=True)
    with pytest.raises(ConfigError, match=r"^iterations: the run has done 2 already, got 1"):
        train(replace(config, iterations=1), tmp_path / "run", resume=True)
    assert train(config, tmp_path / "run", resume=True) == done


def test_cli_train_quick_then_eval(tmp_path, capsys):
    out = str(tmp_path / "run")
    args = parser().parse_args(
        [
            "mbmpo",
            "train",
            "--quick",
            "--iterations",
            "1",
            "--out",
            out,
            "--max-kl",
            "0.02",
            "--curvature-fraction",
            "0.5",
            "--backend",
            "numba",
        ]
    )
    assert args.handler(args) == 0
    printed = capsys.readouterr().out
    assert re.findall(r"^(random data|iteration \d+):", printed, re.MULTILINE) == [
        "random data",
        "iteration 1",
    ]
    assert not (tmp_path / "run" / "tensorboard").exists()  # only with --tensorboard
    saved = json.loads((tmp_path / "run" / "config.json").read_text())
    assert saved["max_kl"] == 0.02 and saved["curvature_fraction"] == 0.5 and saved["backend"] == "numba"
    first = json.loads((tmp_path / "run" / "metrics.jsonl").read_text().splitlines()[0])
    assert first["iteration"] == 0 and first["backend"] == "numba"
    for where in ([out], ["--run", out]):
        args = parser().parse_args(["mbmpo", "eval", *where, "--episodes", "2"])
        assert args.handler(args) == 0
        assert "2 episodes: mean return" in capsys.readouterr().out


def test_cli_resume_goes_on_with_the_same_command_and_refuses_other_settings(tmp_path, capsys):
    command = ["mbmpo", "train", "--quick", "--out", str(tmp_path / "run"), "--max-kl", "0.02"]
    args = parser().parse_args([*command, "--iterations", "1"])
    assert args.handler(args) == 0
    args = parser().parse_args([*command, "--iterations", "2", "--resume"])
    assert args.handler(args) == 0
    lines = (tmp_path / "run" / "metrics.jsonl").read_text().splitlines()
    assert [json.loads(line)["iteration"] for line in lines] == [0, 1, 2]
    capsys.readouterr()
    for changed, field in ((["--max-kl", "0.03"], "max_kl"), (["--seed", "1"], "seed")):
        args = parser().parse_args([*command, *changed, "--iterations", "3", "--resume"])
        with pytest.raises(SystemExit) as info:
            args.handler(args)
        assert info.value.code == 2
        error = capsys.readouterr().err
        assert len(error.strip().splitlines()) == 1 and f"error: {field}: " in error
    assert len((tmp_path / "run" / "metrics.jsonl").read_text().splitlines()) == 3

    metrics = (tmp_path / "run" / "metrics.jsonl").read_text()
    args = parser().parse_args([*command, "--iterations", "1"])  # not resumed: never started over unasked
    assert args.handler(args) == 1
    error = capsys.readouterr().err
    assert len(error.strip().splitlines()) == 1 and "already holds a run" in error
    assert (tmp_path / "run" / "metrics.jsonl").read_text() == metrics
    args = parser().parse_args([*command, "--iterations", "1", "--overwrite"])
    assert args.handler(args) == 0
    lines = (tmp_path / "run" / "metrics.jsonl").read_text().splitlines()
    assert [json.loads(line)["iteration"] for line in lines] == [0, 1]


@pytest.mark.parametrize(
    "argv, field",
    [
        (["train", "--env", "CartPole-v1"], "env_id"),
        (["train", "--inner-lr", "-1"], "inner_lr"),
        (["train", "--models", "0"], "models"),
        (["train", "--model-hidden", "512,x"], "model_hidden"),
        (["train", "--curvature-fraction", "0"], "curvature_fraction"),
        (["eval", "nowhere"], "DIR"),
        (["eval", "--run", "nowhere"], "DIR"),
        (["eval"], "DIR"),
        (["eval", "a", "--run", "b"], "DIR"),
    ],
)
def test_cli_bad_values_are_one_line_errors_naming_the_field(argv, field, capsys):
    args = parser().parse_args(["mbmpo", *argv])
    with pytest.raises(SystemExit) as info:
        args.handler(args)
    assert info.value.code == 2
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"gorila-sim mbmpo {argv[0]}: error: {field}")


@pytest.mark.parametrize(
    "change, field",
    [
        ({"env_id": "Nope-v0"}, "env_id"),
        ({"horizon": 0}, "horizon"),
        ({"iterations": 2.5}, "iterations"),
        ({"max_kl": 0.0}, "max_kl"),
        ({"discount": 1.5}, "discount"),
        ({"validation_fraction": 1.0}, "validation_fraction"),
        ({"policy_hidden": (32, 0)}, "policy_hidden"),
        ({"backend": "fortran"}, "backend"),
        ({"model_min_improvement": 1.0}, "model_min_improvement"),
        ({"buffer_size": 10}, "buffer_size"),
        ({"seed": True}, "seed"),
        ({"curvature_fraction": 0.0}, "curvature_fraction"),
        ({"curvature_fraction": 1.5}, "curvature_fraction"),
    ],
)
def test_config_errors_name_the_field(change, field):
    with pytest.raises(ConfigError, match=f"^{field}: ") as info:
        replace(MBMPOConfig(), **change)
    assert "\n" not in str(info.value)


@pytest.mark.skipif(torch.cuda.is_available(), reason="a GPU is present here")
def test_the_gpu_backend_without_a_gpu_is_a_config_error():
    with pytest.raises(ConfigError, match=r"^backend: 'cuda' needs a GPU"):
        MBMPOConfig(backend="cuda")
    assert MBMPOConfig().backend == "auto"


def test_config_json_round_trip_and_unknown_keys():
    config = MBMPOConfig(env_id="HalfCheetah-v5", model_hidden=(64, 32))
    assert MBMPOConfig.from_json(json.loads(json.dumps(config.to_json()))) == config
    with pytest.raises(ConfigError, match=r"^colour: not a field"):
        MBMPOConfig.from_json({"colour": "blue"})


@pytest.mark.parametrize(
    "flag, field, text", [(o[0], o[1], o[3]) for o in OVERRIDES], ids=[o[0] for o in OVERRIDES]
)
def test_the_cli_help_states_the_config_default(flag, field, text):
    parser = argparse.ArgumentParser()
    add_overrides(parser)
    stated = re.search(r"\(default ([^)]+)\)$", text).group(1)
    assert override_fields(parser.parse_args([flag, stated])) == {field: getattr(MBMPOConfig(), field)}


def test_importing_the_cli_loads_no_heavy_package():
    probe = "import sys, mbmpo.cli; print(sorted({'torch', 'numpy', 'rich', 'gymnasium'} & set(sys.modules)))"
    loaded = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True).stdout
    assert loaded.strip() == "[]"


PINNED_RUN = """
import os
import numba
from mbmpo.config import QUICK, MBMPOConfig
from mbmpo.train import train
os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})
train(MBMPOConfig(**{**QUICK, "iterations": 1, "backend": "numba"}))
print(numba.get_num_threads())
"""


@pytest.mark.skipif(
    not hasattr(os, "sched_setaffinity") or len(os.sched_getaffinity(0)) < 2, reason="needs 2 usable cores"
)
def test_a_run_pinned_to_one_core_runs_one_numba_thread():
    """Under taskset (here: the process's own affinity), numba starts no more threads than cores."""
    done = subprocess.run([sys.executable, "-c", PINNED_RUN], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    assert done.stdout.split()[-1] == "1"
