"""The MB-MPO dashboard: its layout from hand-made metrics records, and `mbmpo train --dashboard` off a
terminal."""

from __future__ import annotations

import io
from types import SimpleNamespace

from rich.console import Console

from gorila_sim.cli import main
from mbmpo.dashboard import MBMPO, MBMPOSnapshot, imagined_per_iteration

CONFIG = SimpleNamespace(
    env_id="Pendulum-v1", iterations=5, models=2, rollouts_per_model=4, horizon=50, meta_steps=2
)
"""(2·2 + 1) meta-phase imaginings of 2×4 trajectories of 50 steps: 2,000 transitions an iteration."""

HISTORY = (
    {
        "iteration": 0,
        "backend": "numba",
        "real_steps": 400,
        "real_return": -1250.0,
        "collect_s": 0.1,
        "wall_s": 0.1,
    },
    {
        "iteration": 1,
        "real_steps": 800,
        "real_return": -1100.5,
        "real_return_per_model": [-1000.5, -1200.5],
        "imagined_return_before": -900.25,
        "imagined_return_after": -850.75,
        "meta_kl": 0.009,
        "model_val_loss": [0.5, 0.25],
        "fit_s": 0.3,
        "meta_s": 0.5,
        "collect_s": 0.2,
        "wall_s": 1.1,
    },
    {
        "iteration": 2,
        "real_steps": 1200,
        "real_return": -700.5,
        "real_return_per_model": [-650.5, -750.5],
        "imagined_return_before": -640.25,
        "imagined_return_after": -610.75,
        "meta_kl": 0.008,
        "model_val_loss": [0.125, 0.375],
        "fit_s": 0.4,
        "meta_s": 0.25,
        "collect_s": 0.2,
        "wall_s": 2.0,
    },
)


def draw(snapshot: MBMPOSnapshot, width: int = 120) -> str:
    console = Console(record=True, width=width, file=io.StringIO())
    console.print(MBMPO.render(snapshot))
    return console.export_text()


def test_imagined_transitions_per_iteration_follow_the_meta_phase():
    assert imagined_per_iteration(CONFIG) == 2_000


def test_the_layout_shows_progress_models_returns_and_imagined_rate():
    snapshot = MBMPOSnapshot.of(CONFIG, HISTORY, phase="iteration 3: fitting", wall_s=2.5)
    text = draw(snapshot)
    assert "iteration 2 of 5" in text
    assert "1,200 real samples so far" in text
    assert "iteration 3: fitting" in text
    model_rows = [row for row in text.splitlines() if "model 0 " in row or "model 1 " in row]
    assert len(model_rows) == 2
    assert "0.1250" in model_rows[0] and "▼ -75%" in model_rows[0]
    assert "0.3750" in model_rows[1] and "▲ +50%" in model_rows[1]
    assert "-640.2" in text and "-610.8" in text  # imagined, before and after adaptation
    assert "-700.5" in text and "-650.5 · -750.5" in text  # real, and real per model
    assert "8,000 imagined steps/s" in text  # 2,000 transitions in a 0.25 s meta phase
    assert "2,000 imagined transitions per iteration" in text
    assert "meta phase, numba backend" in text
    assert "wall time per phase (iteration 2)" in text
    for phase in ("fit", "meta", "collect"):
        assert any(row.lstrip("│ ").startswith(phase) for row in text.splitlines())
    assert len(draw(snapshot, width=80).splitlines()) > len(text.splitlines())  # one column when narrow


def test_the_layout_before_any_iteration_and_when_finished():
    assert "iteration 0 of 5" in draw(MBMPOSnapshot.of(CONFIG, phase="collecting random data"))
    assert "no model fitted yet" in draw(MBMPOSnapshot.of(CONFIG, HISTORY[:1]))
    assert "finished" in draw(MBMPOSnapshot.of(CONFIG, HISTORY, finished=True))


def test_the_line_form():
    line = MBMPO.line(MBMPOSnapshot.of(CONFIG, HISTORY, wall_s=2.5))
    assert line.startswith("MB-MPO Pendulum-v1: iteration 2/5, 1,200 real steps, real return -700.5")
    assert "imagined -640.2 -> -610.8" in line and "model loss 0.1250 0.3750" in line
    assert "8,000 imagined steps/s" in line and "\n" not in line


def test_train_dashboard_off_a_terminal_prints_plain_lines(tmp_path, capsys):
    out = tmp_path / "run"
    assert main(["mbmpo", "train", "--quick", "--dashboard", "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "\x1b" not in printed
    lines = printed.splitlines()
    assert any(row.startswith("MB-MPO Pendulum-v1: iteration 2/2") for row in lines)
    assert "imagined steps/s" in printed
    assert "real return of the adapted policies" in printed and "results in" in printed
    assert (out / "metrics.jsonl").read_text().count("\n") == 3


def test_a_resumed_run_on_the_dashboard_shows_its_earlier_iterations(tmp_path, capsys):
    command = ["mbmpo", "train", "--quick", "--out", str(tmp_path / "run")]
    assert main([*command, "--iterations", "1"]) == 0
    capsys.readouterr()
    assert main([*command, "--iterations", "2", "--resume", "--dashboard"]) == 0
    first_line = capsys.readouterr().out.splitlines()[0]
    assert first_line.startswith("MB-MPO Pendulum-v1: iteration 1/2")
