"""The dashboard drawn from snapshots: node states, fates, staleness bars, faults, time; bounded at scale."""

from __future__ import annotations

import math
import re

import pytest
from dashboard_helpers import text_of, tracker_until

from gorila_sim.dashboard import RunInfo, Tracker, line, render, timeline
from gorila_sim.scenario import NetworkFault, NodeFault, load_scenario, resolve, run_scenario
from netmodels import Partition


def test_a_crash_shows_in_the_node_counts_and_the_fault_events(bad_day):
    scenario, result = bad_day
    snapshot = tracker_until(scenario, result, 0.33).snapshot(0.33, 0.1, "live")
    assert snapshot.nodes["shard-0"] == "down"
    text = text_of(render(snapshot))
    assert re.search(r"shard\s+2\s+1\s+1\s+│", text)  # two shards: one up, one down
    assert re.search(r"0\.300 s\s+shard-0 crashed", text)
    assert "simulated 0.330 of 5 s · wall 0.1 s · 3.3 sim s per wall s" in text
    restarted = tracker_until(scenario, result, 0.4).snapshot(0.4, 0.2, "live")
    assert restarted.count("up", "shard") == 2
    assert "shard-0 restarted" in text_of(render(restarted))


def test_a_pause_and_a_partition_show_as_they_happen(bad_day):
    scenario, result = bad_day
    paused = tracker_until(scenario, result, 0.12).snapshot(0.12, 0.1, "live")
    assert paused.count("paused", "learner") == 1
    assert re.search(r"0\.100 s\s+learner-\d paused", text_of(render(paused)))
    cut = text_of(render(tracker_until(scenario, result, 0.2).snapshot(0.2, 0.1, "live")))
    assert re.search(r"0\.150 s\s+partition actor-\d ↔", cut)


def test_fates_staleness_bars_versions_and_lag():
    tracker = Tracker(RunInfo("made-up", env_steps_goal=1_000))
    tracker.feed("lifecycle", [(0.0, 0.0, name, "up") for name in ("shard-0", "shard-1", "learner-0")])
    applied = [(1.0, 0.1, "learner-0", 0, "applied", 0, v) for v in range(8)]
    applied += [(1.1, 0.1, "learner-0", 0, "applied", 1, 9), (1.2, 0.1, "learner-0", 1, "applied", 1, 3)] * 2
    applied += [(1.3, 0.1, "learner-0", 0, "applied", 5, 10)] * 2
    discarded = [(1.4, 0.1, "learner-0", 0, "stale", 12, 10)] * 3 + [
        (1.5, 0.1, "learner-0", -1, "outlier", -1, -1)
    ]
    discarded += [(1.6, 0.1, "learner-0", 1, "lost", -1, -1)] * 2
    tracker.feed("gradients", applied + discarded)
    snapshot = tracker.snapshot(2.0, 1.0, "live")
    assert snapshot.gradients == {
        "applied": 14,
        "stale": 3,
        "outlier": 1,
        "non_finite": 0,
        "shard_down": 0,
        "lost": 2,
    }
    assert snapshot.staleness == {0: 8, 1: 4, 5: 2}
    text = text_of(render(snapshot))
    bars = {m[1]: len(m[2]) for m in re.finditer(r"│\s+(\S+) (█+)\s+\d+", text)}
    assert bars == {"0": 24, "1": 12, "4–7": 6}
    assert re.search(r"discarded: stale\s+1\.5\s+3\b", text)  # 3 in 2 simulated seconds
    assert re.search(r"discarded: lost\s+1\.0\s+2\b", text)
    assert "2 shards at version 3 to 10" in text and "shard-1 v3 (−7) · shard-0 v10" in text
    assert "1 learner, lag median 12, max 12" in text  # its latest judged gradient was 12 updates stale


def test_slowdowns_and_network_faults_come_from_the_timeline():
    faults = (
        NodeFault("slowdown", ("learner-0",), at=1.0, until=2.0, factor=3.0),
        NetworkFault("partition", Partition(frozenset({"actor-0"}), frozenset({"shard-0"}), 1.5, 2.5)),
    )
    tracker = Tracker(RunInfo("made-up", 1_000, sim_end=10.0, timeline=timeline(faults)))
    tracker.feed("lifecycle", [(0.0, 0.0, name, "up") for name in ("shard-0", "learner-0", "actor-0")])
    during = tracker.snapshot(1.6, 1.0, "live")
    assert during.nodes["learner-0"] == "slow"
    text = text_of(render(during))
    assert "learner-0 3× slower" in text and "partition actor-0 ↔ shard-0" in text
    after = tracker.snapshot(2.6, 2.0, "live")
    assert after.nodes["learner-0"] == "up" and after.event_count == 4
    assert "ended: partition actor-0 ↔ shard-0" in text_of(render(after))


def test_three_hundred_nodes_stay_within_a_screen():
    overrides = [
        "stop.sim_time=0.1",
        "training.learning_starts=32",
        'faults=[{kind="crash", role="actor", fraction=0.1, at=0.03}, '
        '{kind="pause", role="learner", fraction=0.05, at=0.04, duration=1}]',
    ]
    scenario = load_scenario(resolve("paper-scale"), overrides)
    result = run_scenario(scenario)
    tracker = tracker_until(scenario, result, math.inf)
    snapshot = tracker.snapshot(0.1, 1.0, "live", env_steps=result.summary["env_steps"])
    assert len(snapshot.nodes) == 331
    for width in (120, 80):
        lines = text_of(render(snapshot), width).splitlines()
        assert len(lines) < 60 if width == 120 else len(lines) < 80
        assert max(map(len, lines)) <= width
    text = text_of(render(snapshot))
    assert re.search(r"actor\s+100\s+90\s+10\s+│", text) and re.search(r"learner\s+100\s+95\s+5\s+│", text)
    assert "(≤ 2 nodes a cell)" in text
    assert "shards at version" in text and "learners, lag median" in text
    assert "paper-scale: sim 0.10 s" in line(snapshot) and "nodes down 10 paused 5" in line(snapshot)


def test_interfaces_busy_and_queue_wait_show_per_role():
    tracker = Tracker(RunInfo("made-up", env_steps_goal=1_000))
    tracker.feed("lifecycle", [(0.0, 0.0, name, "up") for name in ("shard-0", "shard-1", "bundle-0")])
    nan = math.nan
    tracker.feed(
        "interfaces",
        [
            (0.05, 0.1, "shard-0", nan, 0.01),
            (0.05, 0.1, "shard-1", nan, 0.02),
            (0.05, 0.1, "bundle-0", 0.001, 0.0),
            (0.10, 0.2, "shard-0", nan, 0.06),  # busy 0.05 s of the latest 0.05 s
            (0.10, 0.2, "shard-1", nan, 0.06),  # 0.04 of 0.05
            (0.10, 0.2, "bundle-0", 0.006, 0.002),
        ],
    )
    tracker.feed(
        "messages",
        [(0.1, 0.2, "gradient", "bundle-0", "shard-0", 3, 0.05, q) for q in (0.01, 0.03)]
        + [(0.1, 0.2, "params", "shard-0", "bundle-0", 3, 0.09, 0.0)],
    )
    snapshot = tracker.snapshot(0.1, 0.2, "live")
    assert snapshot.interfaces["shard"]["ingress"] == pytest.approx(0.9)
    assert math.isnan(snapshot.interfaces["shard"]["egress"])
    assert snapshot.interfaces["bundle"] == pytest.approx({"egress": 0.1, "ingress": 0.04})
    assert snapshot.queue_wait == pytest.approx({"gradient": 0.02, "params": 0.0})
    text = text_of(render(snapshot))
    assert re.search(r"shard\s+–\s+90%", text) and re.search(r"bundle\s+10%\s+4%", text)
    assert "queue wait: gradients 20.0 ms · θ 0.0 ms" in text


def test_without_limited_interfaces_the_network_panel_is_left_out():
    tracker = Tracker(RunInfo("made-up", env_steps_goal=1_000))
    tracker.feed("messages", [(0.1, 0.2, "gradient", "bundle-0", "shard-0", 3, 0.05, 0.0)])
    assert "network interfaces busy" not in text_of(render(tracker.snapshot(0.1, 0.2, "live")))


def test_the_live_dashboard_of_ps_bottleneck_shows_the_busy_shard_ingress():
    scenario = load_scenario(resolve("ps-bottleneck"), ["stop.sim_time=0.25"])
    result = run_scenario(scenario)
    snapshot = tracker_until(scenario, result, 0.25).snapshot(0.25, 1.0, "live")
    assert snapshot.interfaces["shard"]["ingress"] > 0.9
    assert snapshot.queue_wait["gradient"] > 10 * snapshot.queue_wait["params"]
    assert re.search(r"shard\s+–\s+\d+%", text_of(render(snapshot)))
