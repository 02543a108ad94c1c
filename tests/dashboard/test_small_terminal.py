"""The dashboards on an 80×24 terminal: the compact layout, within the screen, no number cut to `…`."""

from __future__ import annotations

import io
import math
import re
from pathlib import Path

import pytest
from dashboard_helpers import tracker_until
from rich.console import Console, RenderableType
from test_mbmpo_view import CONFIG, HISTORY

from gorila_sim.dashboard import render
from gorila_sim.trace import FATES
from mbmpo.dashboard import MBMPO, MBMPOSnapshot


def screen(renderable: RenderableType, width: int = 80, height: int = 24) -> list[str]:
    """What `renderable` draws on a terminal of `width` × `height`, line by line."""
    console = Console(record=True, width=width, height=height, file=io.StringIO(), force_terminal=True)
    console.print(renderable)
    return console.export_text().splitlines()


def test_the_gorila_dashboard_fits_80_by_24_with_every_panel_and_number(bad_day):
    scenario, result = bad_day
    for sim_time in (0.12, 0.55, math.inf):  # a paused learner, a loss burst and its end, the finish
        snapshot = tracker_until(scenario, result, sim_time).snapshot(min(sim_time, 5.0), 1.0, "live")
        lines = screen(render(snapshot))
        text = "\n".join(lines)
        assert len(lines) <= 24 and max(map(len, lines)) <= 80, text
        assert "…" not in text and "..." not in text, text
        for title in ("nodes", "versions and lag", "fault events", "throughput", "staleness", "mean return"):
            assert f"─ {title}" in text, title
        assert f"{snapshot.env_steps:,} of 3,000 env steps" in text
        for fate in FATES:
            assert re.search(rf"{fate}\s+\S+\s+{snapshot.gradients[fate]:,}\s+│", text), fate
        states = list(snapshot.nodes.values())
        for state in ("up", "down", "paused"):
            counts = re.search(rf"│ {state}((?: +\d+)*) +│", text).group(1).split()
            assert sum(map(int, counts)) == states.count(state), state


def test_the_full_layout_stays_where_it_fits_and_off_a_terminal(bad_day):
    scenario, result = bad_day
    snapshot = tracker_until(scenario, result, 0.55).snapshot(0.55, 1.0, "live")
    assert "■■■■" in "\n".join(screen(render(snapshot), 120, 40))  # the nodes' cells
    console = Console(record=True, width=80, file=io.StringIO())  # a file: no screen to fit
    console.print(render(snapshot))
    assert len(console.export_text().splitlines()) > 40


@pytest.mark.parametrize("models", [2, 5])
def test_the_mbmpo_dashboard_fits_80_by_24(models):
    history = [dict(record) for record in HISTORY]
    for record in history[1:]:
        record["model_val_loss"] = [0.5 + k for k in range(models)]
        record["real_return_per_model"] = [-700.5] * models
    snapshot = MBMPOSnapshot.of(
        CONFIG, history=tuple(history), phase="iteration 3: meta-step 1/2", wall_s=2.5
    )
    lines = screen(MBMPO.render(snapshot))
    text = "\n".join(lines)
    assert len(lines) <= 24 and max(map(len, lines)) <= 80, text
    assert "…" not in text and "..." not in text, text
    for title in ("dynamics models", "imagined rollouts", "returns", "wall time per phase"):
        assert f"─ {title}" in text, title
    assert "iteration 2 of 5" in text and "1,200 real samples so far" in text and "meta-step 1/2" in text


def test_the_docs_show_what_80_by_24_draws(bad_day):
    page = (Path(__file__).resolve().parents[2] / "docs" / "dashboard.md").read_text()
    shown = next(block for block in re.findall(r"```text\n(.*?)```", page, re.DOTALL) if "nodes (9)" in block)
    scenario, result = bad_day
    snapshot = tracker_until(scenario, result, 0.34).snapshot(0.34, 0.1, "live")
    assert "\n".join(line.rstrip() for line in screen(render(snapshot))) == shown.rstrip("\n")
