"""What `run` prints: the scenario as it runs (overrides included) and the network's losses by reason."""

import json
import re

from gorila_sim.cli import main
from gorila_sim.scenario import load_scenario, resolve


def test_the_description_says_which_overrides_changed_the_scenario():
    plain = load_scenario(resolve("bad-day")).about()
    assert plain.splitlines()[0] == (
        "bad-day: lossy links, stragglers, crashing actors, a pause, a partition, a shard crash, spikes"
    )
    assert plain.splitlines()[1] == (
        "9 nodes (shard-0..1, replay-0, learner-0..1, actor-0..3), "
        "5 faults (pause, partition, crash, latency_spike, loss_burst), seed 0; "
        "stops at 20,000 env steps or 5 s simulated"
    )
    changed = load_scenario(resolve("bad-day"), ["topology.actors=6", "faults=[]", "stop.sim_time=inf"])
    assert changed.about().splitlines() == [
        plain.splitlines()[0] + " (with topology.actors=6, faults=[], stop.sim_time=inf)",
        "11 nodes (shard-0..1, replay-0, learner-0..1, actor-0..5), no faults, seed 0; "
        "stops at 20,000 env steps",
    ]


def test_run_prints_the_scenario_as_run_and_the_losses_by_reason(tmp_path, capsys):
    out = tmp_path / "run"
    argv = ["run", "bad-day", "--seed", "3", "--set", "stop.env_steps=5000", "--set", "topology.actors=5"]
    assert main([*argv, "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    flat = " ".join(printed.split())
    assert "spikes (with stop.env_steps=5000, topology.actors=5, scenario.seed=3)" in flat
    assert "10 nodes (shard-0..1, replay-0, learner-0..1, actor-0..4)" in flat
    assert "seed 3; stops at 5,000 env steps or 5 s simulated" in flat
    network = json.loads((out / "summary.json").read_text())["network"]
    assert all(network[key] > 0 for key in ("lost_link", "lost_partition", "lost_down"))
    for title, key in (
        ("messages lost on a link", "lost_link"),
        ("messages lost to a partition", "lost_partition"),
        ("messages lost to a down node", "lost_down"),
    ):
        assert re.search(rf"{title}\s*│\s*{network[key]:,}\s*│", printed), title
