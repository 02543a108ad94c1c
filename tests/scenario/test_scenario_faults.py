"""Each fault kind of a scenario's timeline, seen in the trace and the network: crash, pause, slowdown,
partition, latency spike, loss burst; and how role and fraction targets pick their nodes."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pytest

from gorila_sim.gorila import build
from gorila_sim.nodes.messages import Push
from gorila_sim.runtime import Message, Simulation
from gorila_sim.runtime.simulated import SimNode
from gorila_sim.scenario import NetworkFault, NodeFault, Scenario, apply_faults, parse_scenario
from gorila_sim.trace import Trace
from netmodels import Fifo

SMALL = """
[scenario]
name = "small"
seed = 3

[topology]
actors = 2
learners = 2
shards = 2
bundled = false
replay = "global"

[training]
problem = "surrogate"
surrogate_size = 200
surrogate_episode = 50
batch_size = 32
buffer_size = 1000
learning_starts = 64
transitions_per_message = 8
optimiser = { name = "sgd", lr = 0.05 }

[stop]
env_steps = 1_000_000_000
sim_time = 0.6

[network]
latency = 0.001
"""
"""A small cluster on the surrogate problem, on links with a constant 1 ms latency."""


@dataclass
class Observed:
    """A run of a scenario with every message sent, lost and delivered on record."""

    scenario: Scenario
    sim: Simulation
    trace: Trace
    sent: list[tuple[float, Message]] = field(default_factory=list)
    lost: list[tuple[float, Message, str]] = field(default_factory=list)
    delivered: list[tuple[float, Message]] = field(default_factory=list)

    def sent_by(self, node: str, start: float, end: float) -> list[Message]:
        return [m for t, m in self.sent if m.src == node and start <= t < end]

    def states(self, node: str) -> list[tuple[float, str]]:
        return [(e.time, e.state) for e in self.sim.lifecycle if e.node == node]


def observe(faults: str, monkeypatch: pytest.MonkeyPatch, *overrides: str) -> Observed:
    scenario = parse_scenario(SMALL + faults, "small.toml", overrides)
    trace = Trace()
    sim, _ = build(scenario.config, trace)
    apply_faults(scenario, sim)
    seen = Observed(scenario, sim, trace)
    network = sim.network
    send, on_lost, deliver = network.send, network.on_lost, SimNode.deliver

    def sending(message: Message, egress: Fifo | None = None) -> None:
        seen.sent.append((sim.now, message))
        send(message, egress)

    def losing(message: Message, why: str) -> None:
        seen.lost.append((sim.now, message, why))
        on_lost(message, why)

    def delivering(node: SimNode, message: Message) -> None:
        if node.up:
            seen.delivered.append((sim.now, message))
        deliver(node, message)

    monkeypatch.setattr(network, "send", sending)
    monkeypatch.setattr(network, "on_lost", losing)
    monkeypatch.setattr(SimNode, "deliver", delivering)
    sim.run(until=scenario.config.max_sim_time)
    return seen


def test_a_crashed_node_sends_nothing_while_down_and_restarts(monkeypatch):
    seen = observe(
        '[[faults]]\nkind = "crash"\nnodes = ["learner-0"]\nat = 0.2\nduration = 0.1\n', monkeypatch
    )
    assert seen.states("learner-0") == [(0.0, "up"), (0.2, "crashed"), (pytest.approx(0.3), "up")]
    assert seen.sent_by("learner-0", 0.1, 0.2) and seen.sent_by("learner-0", 0.3, 0.4)
    assert seen.sent_by("learner-0", 0.2, 0.3) == []
    assert len(seen.sent_by("learner-1", 0.2, 0.3)) > 20  # the rest of the cluster carries on


def test_a_crash_without_a_duration_is_for_good(monkeypatch):
    seen = observe('[[faults]]\nkind = "crash"\nnodes = ["actor-1"]\nat = 0.2\n', monkeypatch)
    assert seen.states("actor-1") == [(0.0, "up"), (0.2, "crashed")]
    assert seen.sent_by("actor-1", 0.2, 1.0) == []


def test_a_shard_restarted_from_its_checkpoint_resumes_from_the_checkpoints_version(monkeypatch):
    faults = '[[faults]]\nkind = "crash"\nnodes = ["shard-0"]\nat = 0.25\nduration = 0.05\n'
    seen = observe(faults, monkeypatch, "training.checkpoint_every=50")
    g = seen.trace.table("gradients")
    applied = (g["shard"] == 0) & (g["fate"] == "applied")
    before = g["version"][applied & (g["time"] < 0.25)]
    after = g["version"][applied & (g["time"] > 0.3)]
    checkpoint = before.max() // 50 * 50
    assert before.max() > checkpoint  # the updates since the last checkpoint are lost with the crash
    assert after[0] == checkpoint + 1
    down = g["time"][g["fate"] == "shard_down"]
    assert down.size > 0 and np.all((down >= 0.25) & (down <= 0.3))


def test_a_pause_holds_a_node_then_lets_it_carry_on(monkeypatch):
    seen = observe(
        '[[faults]]\nkind = "pause"\nnodes = ["learner-1"]\nat = 0.2\nduration = 0.15\n', monkeypatch
    )
    assert seen.states("learner-1") == [(0.0, "up"), (0.2, "paused"), (pytest.approx(0.35), "resumed")]
    assert seen.sent_by("learner-1", 0.2, 0.35) == []
    assert seen.sent_by("learner-1", 0.35, 0.45)
    # a pause keeps the node's state: the replies that reached it while paused are handled after it
    delivered = [m for t, m in seen.delivered if m.dst == "learner-1" and 0.2 <= t < 0.35]
    assert delivered
    assert seen.sim.network.stats.lost_down == 0


def test_a_slowdown_stretches_compute_inside_its_window_only(monkeypatch):
    faults = '[[faults]]\nkind = "slowdown"\nnodes = ["learner-0"]\nat = 0.2\nduration = 0.2\nfactor = 50\n'
    seen = observe(faults, monkeypatch, "network.latency=0.00001")

    def pushes(learner: str, start: float, end: float) -> int:
        return sum(isinstance(m.payload, Push) for m in seen.sent_by(learner, start, end))

    assert pushes("learner-0", 0.2, 0.4) < 0.2 * pushes("learner-1", 0.2, 0.4)
    assert pushes("learner-0", 0.4, 0.6) > 0.7 * pushes("learner-1", 0.4, 0.6)
    assert pushes("learner-0", 0.0, 0.2) > 0.7 * pushes("learner-1", 0.0, 0.2)


def test_a_partition_drops_exactly_the_messages_across_the_cut_in_its_window(monkeypatch):
    faults = """
[[faults]]
kind = "partition"
a = ["actor-0", "learner-0"]
b = { role = ["replay", "shard"] }
at = 0.2
duration = 0.2
"""
    seen = observe(faults, monkeypatch)
    a, b = {"actor-0", "learner-0"}, {"replay-0", "shard-0", "shard-1"}

    def crosses(m: Message) -> bool:
        return (m.src in a and m.dst in b) or (m.src in b and m.dst in a)

    across = [m for t, m in seen.sent if 0.2 <= t < 0.4 and crosses(m)]
    cut = [m for _, m, why in seen.lost if why == "partition"]
    assert len(across) > 10
    assert [id(m) for m in cut] == [id(m) for m in across]
    assert seen.sim.network.stats.lost_partition == len(cut)
    assert any(crosses(m) for t, m in seen.sent if t >= 0.4)  # the partition heals


def test_a_latency_spike_raises_delays_between_its_groups_in_its_window_only(monkeypatch):
    faults = """
[[faults]]
kind = "latency_spike"
a = { role = "learner" }
b = { role = "shard" }
direction = "a_to_b"
extra_latency = 0.01
at = 0.2
duration = 0.1
"""
    seen = observe(faults, monkeypatch)
    spiked, others = [], []
    for arrived, m in seen.delivered:
        learner_to_shard = m.src.startswith("learner") and m.dst.startswith("shard")
        if learner_to_shard and 0.2 <= m.sent_at < 0.3:
            spiked.append(arrived - m.sent_at)
        elif not (learner_to_shard and 0.3 <= m.sent_at < 0.31):  # links keep their order: let it drain
            others.append(arrived - m.sent_at)
    assert len(spiked) > 10 and min(spiked) == pytest.approx(0.011)
    assert max(others) == pytest.approx(0.001)


def test_a_loss_burst_loses_messages_between_its_groups_in_its_window_only(monkeypatch):
    faults = """
[[faults]]
kind = "loss_burst"
a = { role = "actor" }
b = ["replay-0"]
loss = 0.5
at = 0.2
duration = 0.2
"""
    seen = observe(faults, monkeypatch)
    lost = [(t, m) for t, m, why in seen.lost if why == "link"]
    burst = [
        m
        for t, m in seen.sent
        if 0.2 <= t < 0.4 and {m.src[:5], m.dst} & {"actor", "replay-0"} == {"actor", "replay-0"}
    ]
    assert 0.3 * len(burst) < len(lost) < 0.7 * len(burst)
    assert {id(m) for _, m in lost} <= {id(m) for m in burst}
    assert seen.sim.network.stats.lost_link == len(lost)


def targets(text: str, seed: int) -> list[tuple[str, ...]]:
    scenario = parse_scenario(SMALL + text, overrides=[f"scenario.seed={seed}", "topology.actors=8"])
    return [
        fault.nodes if isinstance(fault, NodeFault) else tuple(sorted(fault.between.a))
        for fault in scenario.faults
    ]


ROLE_TARGETS = """
[[faults]]
kind = "crash"
role = "actor"
fraction = 0.25
at = 1

[[faults]]
kind = "pause"
role = "learner"
at = 1

[[faults]]
kind = "partition"
a = { role = ["actor", "learner"], fraction = 0.5 }
at = 1
"""


def test_role_and_fraction_targets_are_deterministic_per_seed_and_respect_the_fraction():
    picks = {seed: targets(ROLE_TARGETS, seed) for seed in range(20)}
    assert picks[0] == targets(ROLE_TARGETS, 0)
    for crash, pause, partition in picks.values():
        assert len(crash) == 2 and all(node.startswith("actor-") for node in crash)
        assert pause == ("learner-0", "learner-1")
        assert len(partition) == 5 and {node.split("-")[0] for node in partition} <= {"actor", "learner"}
    assert len({crash for crash, _, _ in picks.values()}) > 5  # the seed decides which actors


@pytest.mark.parametrize(
    ("fraction", "count"), [(0.01, 1), (0.125, 1), (0.2, 2), (0.5, 4), (0.99, 8), (1.0, 8)]
)
def test_a_fraction_picks_that_share_of_the_role_rounded_and_at_least_one(fraction, count):
    text = f'[[faults]]\nkind = "crash"\nrole = "actor"\nfraction = {fraction}\nat = 1\n'
    (nodes,) = targets(text, 0)
    assert len(nodes) == count == len(set(nodes))


def test_a_network_fault_without_b_cuts_a_from_every_other_node():
    (fault,) = parse_scenario(SMALL + '[[faults]]\nkind = "partition"\na = ["shard-1"]\nat = 0\n').faults
    assert isinstance(fault, NetworkFault)
    assert fault.between.b == {"shard-0", "replay-0", "learner-0", "learner-1", "actor-0", "actor-1"}
    assert fault.between.end == float("inf")
