"""The dashboard in a real terminal: tmux runs the command in a 120×40 (or 80×24) pane and the test reads
the screen."""

from __future__ import annotations

import itertools
import json
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

pytestmark = pytest.mark.skipif(shutil.which("tmux") is None, reason="tmux is not installed")


class Pane:
    """A tmux pane, 120×40 unless told, on a tmux server of the test's own: run a command in it, read the
    screen."""

    def __init__(self, sockets: Path, size: tuple[int, int] = (120, 40)) -> None:
        self._sockets = sockets
        self._size = size
        self._runs = itertools.count()
        self._server: list[str] = []

    def run(self, command: str) -> None:
        """Run `command` in a fresh pane (ending the previous one); the pane stays open when it ends."""
        self.close()
        self._server = ["tmux", "-S", str(self._sockets / f"tmux-{next(self._runs)}")]
        shell = f"env -u COLUMNS -u LINES {command}; sleep 60"  # the pane's own size, not the caller's
        size = ["-x", str(self._size[0]), "-y", str(self._size[1])]
        subprocess.run(
            [*self._server, "new-session", "-d", "-s", "test", *size, "-c", str(ROOT), shell], check=True
        )

    def screen(self, history: bool = False) -> str:
        extra = ["-S", "-500"] if history else []
        done = subprocess.run(
            [*self._server, "capture-pane", "-p", "-t", "test", *extra], capture_output=True, text=True
        )
        return done.stdout + done.stderr

    def wait_for(self, text: str, timeout: float = 120.0) -> list[str]:
        """Every distinct screen seen until `text` shows."""
        seen: list[str] = []
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            now = self.screen()
            if not seen or seen[-1] != now:
                seen.append(now)
            if text in now:
                return seen
            time.sleep(0.1)
        raise AssertionError(f"{text!r} never showed; the screen:\n{self.screen(history=True)}")

    def close(self) -> None:
        if self._server:
            subprocess.run([*self._server, "kill-server"], capture_output=True)


@pytest.fixture
def pane(tmp_path):
    pane = Pane(tmp_path)
    yield pane
    pane.close()


def test_run_and_replay_draw_the_dashboard_in_a_terminal(pane, tmp_path):
    out = tmp_path / "run"
    cli = f"{sys.executable} -m gorila_sim.cli"
    pane.run(f"{cli} run bad-day --set stop.env_steps=6000 --dashboard --out {out}")
    pane.wait_for("results in")
    history = pane.screen(history=True)
    for panel in ("nodes", "throughput", "staleness of applied gradients", "fault events", "finished"):
        assert panel in history
    assert "gorila-sim · bad-day · live" in history and "\x1b" not in history
    assert re.search(r"╭─ nodes ─+╮ ╭─ throughput", history)  # two columns at 120 wide

    sim_time = json.loads((out / "summary.json").read_text())["sim_time"]
    pane.run(f"{cli} replay {out} --speed {sim_time / 3}")
    screens = pane.wait_for("finished")
    assert any("replay at" in s and "finished" not in s for s in screens)  # drawn while it played
    final = screens[-1].splitlines()
    assert len(final) <= 40 and any("gorila-sim · bad-day · replay at" in line for line in final)


def test_at_80_by_24_every_frame_fits_and_no_number_is_cut(tmp_path):
    pane = Pane(tmp_path, (80, 24))
    try:
        out = tmp_path / "run"
        cli = f"{sys.executable} -m gorila_sim.cli"
        pane.run(f"{cli} run bad-day --set stop.env_steps=6000 --dashboard --out {out}")
        frames = [s for s in pane.wait_for("results in") if "· live ·" in s and "results in" not in s]
        sim_time = json.loads((out / "summary.json").read_text())["sim_time"]
        pane.run(f"{cli} replay {out} --speed {sim_time / 3}")
        frames += pane.wait_for("finished")[1:]
        time.sleep(0.5)
        last = pane.screen()
    finally:
        pane.close()
    assert len(frames) >= 3
    for frame in [*frames, last]:
        # Rich cuts a frame taller than the terminal to its top part and '...'; the header stays on top.
        assert "…" not in frame and "..." not in frame, frame
        assert frame.startswith("gorila-sim · bad-day · "), frame
    for title in ("nodes (9)", "versions and lag", "fault events", "throughput", "staleness", "mean return"):
        assert f"─ {title}" in last, (title, last)
    assert "finished" in last and "6,000 of 6,000 env steps" in last
