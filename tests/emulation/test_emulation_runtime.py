"""The emulated runtime in one process (LocalEmulation): the simulator's semantics, in real time."""

import math
import time

import numpy as np
import pytest

from gorila_sim.config import GorilaConfig
from gorila_sim.emulation import LocalEmulation, RunClock
from gorila_sim.emulation.clock import clock_offset
from gorila_sim.emulation.directory import AddressBook
from gorila_sim.emulation.disk import Disk
from gorila_sim.emulation.faults import Action, timeline
from gorila_sim.emulation.roundtrips import RoundTrips, add_up, by_machine, quantile
from gorila_sim.emulation.runtime import QUANTUM_S
from gorila_sim.runtime import Runtime
from gorila_sim.scenario import load_scenario, resolve
from netmodels import Bernoulli, Constant, LinkModel, NodeModel, Partition, Uniform

SLACK = 0.05
"""Seconds of real time that loopback, the event loop and a busy machine may add."""


def test_a_call_gets_its_reply_and_times_out_when_none_comes():
    results = []

    async def client(rt: Runtime) -> None:
        started = rt.now()
        results.append(await rt.call("echo", "ping", timeout=1.0))
        results.append(rt.now() - started)
        started = rt.now()
        try:
            await rt.call("silent", "ping", timeout=0.1)
        except TimeoutError:
            results.append(("timeout", rt.now() - started))

    async def echo(rt: Runtime) -> None:
        request = await rt.receive()
        rt.reply(request, request.payload + "-pong")

    async def silent(rt: Runtime) -> None:
        await rt.receive()

    emulation = LocalEmulation(default_link=LinkModel(latency=Constant(0.05)))
    for name, main in (("client", client), ("echo", echo), ("silent", silent)):
        emulation.add_node(name, main)
    emulation.run(until=0.5)
    assert results[0] == "ping-pong"
    assert 0.1 <= results[1] < 0.1 + SLACK
    assert results[2][0] == "timeout" and 0.1 <= results[2][1] < 0.1 + SLACK
    assert emulation.stats.delivered == 3


def test_a_reply_after_the_timeout_is_counted_late_and_dropped():
    outcome = []

    async def client(rt: Runtime) -> None:
        try:
            outcome.append(await rt.call("slow", "ping", timeout=0.05))
        except TimeoutError:
            outcome.append("timeout")

    async def slow(rt: Runtime) -> None:
        request = await rt.receive()
        await rt.sleep(0.1)
        rt.reply(request, "late")

    emulation = LocalEmulation()
    emulation.add_node("client", client)
    emulation.add_node("slow", slow)
    emulation.run(until=0.3)
    assert outcome == ["timeout"]
    assert emulation.stats.late_replies == 1


def test_messages_on_a_link_arrive_in_order_despite_jitter():
    received = []

    async def sender(rt: Runtime) -> None:
        for i in range(100):
            rt.send("receiver", i)

    async def receiver(rt: Runtime) -> None:
        while True:
            received.append((await rt.receive()).payload)

    link = LinkModel(latency=Constant(0.01), jitter=Uniform(0.0, 0.02))
    emulation = LocalEmulation(default_link=link)
    emulation.add_node("sender", sender)
    emulation.add_node("receiver", receiver)
    emulation.run(until=0.5)
    assert received == list(range(100))


def test_latency_and_bandwidth_delay_a_message():
    arrivals = {}

    async def sender(rt: Runtime) -> None:
        rt.send("receiver", "small", size=0)
        rt.send("receiver", "large", size=2_000_000)

    async def receiver(rt: Runtime) -> None:
        while True:
            message = await rt.receive()
            arrivals[message.payload] = rt.now() - message.sent_at

    emulation = LocalEmulation(default_link=LinkModel(latency=Constant(0.05), bandwidth=1e7))
    emulation.add_node("sender", sender)
    emulation.add_node("receiver", receiver)
    emulation.run(until=0.6)
    assert 0.05 <= arrivals["small"] < 0.05 + SLACK
    assert 0.25 <= arrivals["large"] < 0.25 + SLACK


def test_partitions_and_link_loss_lose_messages():
    received = []

    async def sender(rt: Runtime) -> None:
        for i in range(40):
            rt.send("receiver", i)
            await rt.sleep(0.005)

    async def receiver(rt: Runtime) -> None:
        while True:
            received.append((await rt.receive()).payload)

    cut = Partition(a=frozenset({"sender"}), b=frozenset({"receiver"}), start=0.0, end=0.1)
    emulation = LocalEmulation(seed=3, default_link=LinkModel(loss=Bernoulli(0.25)), partitions=[cut])
    emulation.add_node("sender", sender)
    emulation.add_node("receiver", receiver)
    emulation.run(until=0.4)
    stats = emulation.stats
    assert stats.lost_partition >= 15  # the first 0.1 s
    assert stats.lost_link >= 1
    assert stats.delivered == len(received)
    assert stats.sent == 40 == stats.delivered + stats.lost_partition + stats.lost_link


def test_compute_sleeps_the_modelled_time_scaled_by_the_node_model():
    took = {}

    async def worker(rt: Runtime) -> None:
        started = rt.now()
        for _ in range(200):
            await rt.compute(0.0005)  # 0.1 s in all, in steps below the event loop's resolution
        took[rt.name] = rt.now() - started

    emulation = LocalEmulation()
    emulation.add_node("fast", worker)
    emulation.add_node("slow", worker, NodeModel(speed=0.5))
    emulation.run(until=0.5)
    # The last computations' remainder below a quantum is owed, never slept.
    assert 0.1 - QUANTUM_S <= took["fast"] < 0.1 + SLACK
    assert 0.2 - QUANTUM_S <= took["slow"] < 0.2 + SLACK


def test_a_time_scale_stretches_the_run_in_wall_time():
    seen = []

    async def sleeper(rt: Runtime) -> None:
        started = time.monotonic()
        await rt.sleep(0.05)
        seen.append((rt.now(), time.monotonic() - started))

    emulation = LocalEmulation(time_scale=4.0)
    emulation.add_node("sleeper", sleeper)
    emulation.run(until=0.1)
    ((now, wall),) = seen
    assert 0.05 <= now < 0.05 + SLACK / 4
    assert 0.2 <= wall < 0.2 + SLACK


def test_bad_arguments_and_unknown_nodes_raise_from_run():
    async def sender(rt: Runtime) -> None:
        rt.send("nobody", "hello")

    emulation = LocalEmulation()
    emulation.add_node("sender", sender)
    with pytest.raises(ValueError, match="no node named 'nobody'") as raised:
        emulation.run(until=0.2)
    assert "in node 'sender'" in raised.value.__notes__[0]

    async def sleeper(rt: Runtime) -> None:
        await rt.sleep(-1.0)

    emulation = LocalEmulation()
    emulation.add_node("sleeper", sleeper)
    with pytest.raises(ValueError, match="delay must be >= 0"):
        emulation.run(until=0.2)


def test_a_payload_the_wire_cannot_carry_is_a_type_error_at_the_sender():
    async def sender(rt: Runtime) -> None:
        rt.send("sender", {"a": 1})

    emulation = LocalEmulation()
    emulation.add_node("sender", sender)
    with pytest.raises(TypeError, match="does not carry dict"):
        emulation.run(until=0.2)


def test_the_node_rng_is_the_simulators():
    from gorila_sim.runtime import Simulation

    draws = {}

    async def drawer(rt: Runtime) -> None:
        draws.setdefault(type(rt).__name__, rt.rng.random(3))

    emulation = LocalEmulation(seed=9)
    emulation.add_node("n", drawer)
    emulation.run(until=0.05)
    sim = Simulation(seed=9)
    sim.add_node("n", drawer)
    sim.run()
    np.testing.assert_array_equal(draws["EmulatedRuntime"], draws["SimNode"])


def test_a_disk_survives_its_process(tmp_path):
    disk = Disk(tmp_path / "node.pickle")
    disk["checkpoint"] = (np.arange(3.0), {"sum": np.ones(3)}, 30)
    disk["other"] = 1
    del disk["other"]
    again = Disk(tmp_path / "node.pickle")
    assert list(again) == ["checkpoint"]
    np.testing.assert_array_equal(again["checkpoint"][0], np.arange(3.0))
    assert again.get("missing") is None


def test_an_address_book_passes_on_what_it_publishes_and_takes_updates():
    published = []
    book = AddressBook(lambda node, address: published.append((node, address)))
    assert book.address("shard-0") is None
    book.publish("shard-0", "127.0.0.1", 4001)
    assert published == [("shard-0", ("127.0.0.1", 4001))]
    book.update({"shard-0": ("10.0.0.2", 4002), "learner-0": ("10.0.0.3", 4003)})
    assert book.address("shard-0") == ("10.0.0.2", 4002)
    assert book.all() == {"shard-0": ("10.0.0.2", 4002), "learner-0": ("10.0.0.3", 4003)}


def test_the_run_clock_counts_run_seconds():
    clock = RunClock(scale=2.0)
    assert clock.now() == 0.0
    clock.started(time.monotonic() - 1.0)
    assert 0.5 <= clock.now() < 0.6
    assert clock.wall(0.25) == 0.5
    with pytest.raises(ValueError):
        RunClock(scale=0.0)


def test_a_clock_offset_is_found_within_its_uncertainty_whatever_the_delays_each_way():
    rng = np.random.default_rng(3)
    true_offset = 1234.5678  # the other machine's monotonic clock reads this much more than ours
    exchanges = []
    for sent in np.cumsum(rng.uniform(0.01, 0.1, 8)):
        out, back = rng.exponential(0.002, 2)  # unequal delays each way
        exchanges.append((sent, sent + out + true_offset, sent + out + back))
    offset, uncertainty = clock_offset(exchanges)
    quickest = min(exchanges, key=lambda e: e[2] - e[0])
    assert uncertainty == pytest.approx((quickest[2] - quickest[0]) / 2)
    assert abs(offset - true_offset) <= uncertainty < 0.01


def test_round_trips_give_quantiles_within_half_a_bin_and_add_up_per_machine():
    timed = RoundTrips()
    for seconds in [0.001] * 50 + [0.010] * 45 + [0.100] * 5:
        timed.add("learner-0", "shard-0", seconds, 0.002)
    timed.add("learner-0", "shard-1", 0.5, 0.002)
    pairs: dict = {}
    add_up([timed.take()], pairs)
    assert timed.take() == {}
    assert quantile(pairs[("learner-0", "shard-0")][0], 0.5) == pytest.approx(0.001, rel=0.025)
    assert quantile(pairs[("learner-0", "shard-0")][0], 0.95) == pytest.approx(0.010, rel=0.025)
    rows = by_machine(pairs, {"learner-0": "a", "shard-0": "b", "shard-1": "b"})
    assert [(r["from"], r["to"], r["messages"]) for r in rows] == [("a", "b", 101)]
    assert rows[0]["modelled_median_ms"] == pytest.approx(2.0, rel=0.025)


def test_the_fault_timeline_holds_the_scenarios_faults_and_the_node_models_windows():
    shard_crash = load_scenario(resolve("shard-crash"))
    assert timeline(shard_crash.config, shard_crash.faults, until=5.0) == [
        Action(0.3, "crash", "shard-1"),
        Action(pytest.approx(0.4), "restart", "shard-1"),
    ]
    stragglers = load_scenario(resolve("straggler-learners"))
    slow = timeline(stragglers.config, stragglers.faults, until=5.0)
    assert [(a.kind, a.factor) for a in slow] == [("slow", 5.0)] * 2 + [("slow", 0.2)] * 2
    bad_day = load_scenario(resolve("bad-day"))
    actions = timeline(bad_day.config, bad_day.faults, until=1.0)
    assert all(a.at < 1.0 for a in actions)
    assert sorted(a.at for a in actions) == [a.at for a in actions]
    crashes = [a for a in actions if a.kind == "crash" and a.node.startswith("actor")]
    assert crashes  # the actors' crash process (mtbf 0.5 s)
    healthy = GorilaConfig(nodes={"actor": NodeModel(speed=2.0)})
    assert timeline(healthy, (), until=math.inf) == []
