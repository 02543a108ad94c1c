"""`mbmpo train --tensorboard`: each iteration's scalars against real steps, read back by TensorBoard's own
reader; a resumed run's log holds every iteration once."""

import argparse
import json

import pytest
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

from mbmpo.cli import add_commands
from mbmpo.train import scalars

TINY = ["--quick", "--meta-steps", "1", "--model-epochs", "2", "--backend", "torch", "--horizon", "20"]


def train(*argv: str) -> None:
    parser = argparse.ArgumentParser(prog="gorila-sim")
    add_commands(parser.add_subparsers())
    args = parser.parse_args(["mbmpo", "train", *TINY, *argv])
    assert args.handler(args) == 0


def read(logdir) -> dict[str, list[tuple[int, float]]]:
    events = EventAccumulator(str(logdir), size_guidance={"scalars": 0})
    events.Reload()
    return {tag: [(e.step, e.value) for e in events.Scalars(tag)] for tag in events.Tags()["scalars"]}


def expected(out) -> dict[str, list[tuple[int, float]]]:
    """The scalars of every record in out/metrics.jsonl, by tag."""
    points: dict[str, list[tuple[int, float]]] = {}
    for line in (out / "metrics.jsonl").read_text().splitlines():
        m = json.loads(line)
        for tag, value in scalars(m).items():
            points.setdefault(tag, []).append((m["real_steps"], pytest.approx(value, rel=1e-6)))
    return points


def test_each_iteration_is_logged_once_also_after_a_resume_with_the_dashboard(tmp_path):
    out = tmp_path / "run"
    train("--iterations", "1", "--out", str(out))
    assert not (out / "tensorboard").exists()
    train("--iterations", "2", "--out", str(out), "--tensorboard", "--resume")
    logged = read(out / "tensorboard")
    assert logged == expected(out) and len(logged["charts/real_return"]) == 3  # the first run's too
    train("--iterations", "3", "--out", str(out), "--tensorboard", "--resume", "--dashboard")
    logged = read(out / "tensorboard")
    assert logged == expected(out) and len(logged["charts/real_return"]) == 4  # each once
    assert len(logged["meta/kl"]) == 3
