"""The dashboard during a run: it changes nothing the nodes do, draws on terminals, writes lines elsewhere."""

from __future__ import annotations

import io

from rich.console import Console

from gorila_sim.dashboard import watch_scenario
from gorila_sim.dashboard.live import Observer
from gorila_sim.runtime import Runtime, Simulation

WALL = ("wall_time", "env_steps_per_wall_s")


def test_a_run_with_the_dashboard_has_the_same_trace_as_one_without(bad_day):
    scenario, plain = bad_day
    terminal = Console(file=io.StringIO(), force_terminal=True, width=120, height=40)
    watched = watch_scenario(scenario, terminal, per_second=1_000)
    assert watched.trace.without_wall() == plain.trace.without_wall()
    assert {k: v for k, v in watched.summary.items() if k not in WALL} == {
        k: v for k, v in plain.summary.items() if k not in WALL
    }
    drawn = terminal.file.getvalue()
    assert drawn.count("gorila-sim · bad-day · live") >= 2
    assert "finished" in drawn and "\x1b[" in drawn


def test_off_a_terminal_it_prints_plain_progress_lines(bad_day):
    scenario, _ = bad_day
    out = io.StringIO()
    watch_scenario(scenario, Console(file=out, width=100))
    lines = out.getvalue().splitlines()
    assert "\x1b" not in out.getvalue()
    assert lines and all(line.startswith("bad-day: sim ") for line in lines)
    assert "3,000 env steps" in lines[-1]


def test_the_observer_lets_a_run_that_runs_dry_end():
    async def brief(rt: Runtime) -> None:
        for _ in range(3):
            await rt.sleep(0.1)

    sim = Simulation(seed=0)
    sim.add_node("brief", brief)
    draws = []
    observer = Observer(sim.loop, lambda: draws.append(sim.now), interval=0.0)
    sim.run()
    assert sim.now >= 0.3 and observer.ticks > 3 and draws
