"""Finite capacity in the simulator: interfaces, links with bandwidth and cores, against closed forms."""

import asyncio

import pytest

from gorila_sim.queueing import link_queue, md1_mean_wait, mmc_mean_wait, multicore_queue
from gorila_sim.runtime import Message, Runtime, Simulation
from gorila_sim.scenario import ScenarioError, parse_scenario
from netmodels import Constant, Fifo, LinkModel, NodeModel

L = 0.01
B = 1_000_000
W = 1e8  # bytes/s: B takes 0.01 s


def incast(senders: int, receiver: NodeModel, sender: NodeModel | None = None) -> list[Message]:
    """`senders` nodes each send B bytes at t = 0 to one receiver; the messages as delivered."""
    delivered: list[Message] = []

    async def send(rt: Runtime) -> None:
        rt.send("receiver", rt.now(), B)

    async def receive(rt: Runtime) -> None:
        while True:
            message = await rt.receive()
            delivered.append((rt.now(), message))

    sim = Simulation(default_link=LinkModel(latency=Constant(L)))
    sim.add_node("receiver", receive, receiver)
    for i in range(senders):
        sim.add_node(f"sender-{i}", send, sender)
    sim.run()
    return delivered


def test_incast_the_last_arrival_is_latency_plus_n_b_over_w():
    delivered = incast(8, NodeModel(ingress=W))
    times = [t for t, _ in delivered]
    assert times == pytest.approx([L + k * B / W for k in range(1, 9)], abs=1e-12)
    assert times[-1] == pytest.approx(L + 8 * B / W)
    # Each message waited for those before it; the first did not wait.
    assert [m.queued for _, m in delivered] == pytest.approx([k * B / W for k in range(8)], abs=1e-12)


def test_without_an_ingress_limit_an_incast_arrives_at_once():
    assert [t for t, _ in incast(8, NodeModel())] == [L] * 8


def test_a_sender_egress_serialises_its_messages_to_different_receivers():
    arrivals: dict[str, float] = {}

    async def sender(rt: Runtime) -> None:
        for i in range(4):
            rt.send(f"receiver-{i}", None, B)

    async def receiver(rt: Runtime) -> None:
        await rt.receive()
        arrivals[rt.name] = rt.now()

    sim = Simulation(default_link=LinkModel(latency=Constant(L)))
    for i in range(4):
        sim.add_node(f"receiver-{i}", receiver)
    sim.add_node("sender", sender, NodeModel(egress=W))
    sim.run()
    assert [arrivals[f"receiver-{i}"] for i in range(4)] == pytest.approx(
        [k * B / W + L for k in range(1, 5)], abs=1e-12
    )


def test_stages_add_up_egress_then_link_then_ingress():
    """One message through all three: each stage serves it in turn (store and forward)."""
    ((t, message),) = incast(1, NodeModel(ingress=2 * W), NodeModel(egress=4 * W))
    assert t == pytest.approx(B / (4 * W) + L + B / (2 * W))
    assert message.queued == 0.0


def test_a_link_with_bandwidth_transmits_one_message_at_a_time():
    times: list[float] = []

    async def sender(rt: Runtime) -> None:
        rt.send("receiver", "big", 4 * B)
        rt.send("receiver", "big", 4 * B)
        await rt.sleep(0.001)
        rt.send("receiver", "empty", 0)

    async def receiver(rt: Runtime) -> None:
        while True:
            await rt.receive()
            times.append(rt.now())

    sim = Simulation(default_link=LinkModel(latency=Constant(L), bandwidth=W))
    sim.add_node("receiver", receiver)
    sim.add_node("sender", sender)
    sim.run()
    # Both 4 MB messages queue on the wire, and the empty message waits for the wire, not for their arrival.
    assert times == pytest.approx([4 * B / W + L, 8 * B / W + L, 8 * B / W + L])


def test_a_fifo_counts_its_busy_time_and_waits():
    fifo = Fifo(rate=10.0)
    assert fifo.serve(0.0, 10) == 1.0
    assert fifo.serve(0.5, 10) == 2.0
    assert fifo.serve(3.0, 5) == 3.5
    assert (fifo.busy, fifo.waited, fifo.served, fifo.last_wait) == (2.5, 0.5, 3, 0.0)
    assert fifo.busy_until(3.2) == pytest.approx(2.2)


def test_a_link_fed_by_poisson_messages_of_one_size_is_md1():
    result = link_queue(arrival_rate=0.6, bandwidth=1e6, size=1_000_000, messages=200_000, seed=0)
    assert result.expected_wait == pytest.approx(md1_mean_wait(0.6, 1.0)) == pytest.approx(0.75)
    assert result.jobs == 200_000
    assert abs(result.error) < 0.03


def test_a_node_with_c_cores_under_poisson_jobs_matches_erlang_c():
    result = multicore_queue(cores=2, arrival_rate=1.2, service_rate=1.0, jobs=200_000, seed=0)
    assert result.expected_wait == pytest.approx(mmc_mean_wait(2, 1.2, 1.0)) == pytest.approx(0.5625)
    assert result.jobs == 200_000
    assert abs(result.error) < 0.03


def finish_of_two_computations(model: NodeModel) -> float:
    ends: list[float] = []

    async def main(rt: Runtime) -> None:
        await asyncio.gather(rt.compute(1.0), rt.compute(1.0))
        ends.append(rt.now())

    sim = Simulation()
    sim.add_node("node", main, model)
    sim.run()
    return ends[0]


def test_two_computations_take_two_seconds_on_one_core_and_one_on_two():
    assert finish_of_two_computations(NodeModel(cores=1)) == 2.0
    assert finish_of_two_computations(NodeModel()) == 2.0
    assert finish_of_two_computations(NodeModel(cores=2)) == 1.0
    assert finish_of_two_computations(NodeModel(cores=2, speed=2.0)) == 0.5


def test_waiting_computations_run_in_fifo_order_and_a_cancelled_one_gives_up_its_turn():
    ends: dict[str, float] = {}

    async def work(rt: Runtime, name: str, cost: float) -> None:
        await rt.compute(cost)
        ends[name] = rt.now()

    async def main(rt: Runtime) -> None:
        a = asyncio.ensure_future(work(rt, "a", 2.0))
        await rt.sleep(0)
        with pytest.raises(TimeoutError):
            await asyncio.wait_for(work(rt, "b", 1.0), timeout=0.5)
        await asyncio.gather(a, work(rt, "c", 1.0), work(rt, "d", 1.0))

    sim = Simulation()
    sim.add_node("node", main, NodeModel(cores=1))
    sim.run()
    assert ends == {"a": 2.0, "c": 3.0, "d": 4.0}


def test_a_paused_node_stretches_a_waiting_computation_too():
    ends: list[float] = []

    async def main(rt: Runtime) -> None:
        await asyncio.gather(rt.compute(2.0), rt.compute(2.0))
        ends.append(rt.now())

    sim = Simulation()
    sim.add_node("node", main, NodeModel(cores=1))
    sim.pause("node", at=3.0, until=4.0)  # the second computation (2..4) loses 1 s
    sim.run()
    assert ends == [5.0]


def test_bad_capacities_are_refused_with_the_field_named():
    for kwargs, field in (({"cores": 0}, "cores"), ({"egress": 0}, "egress"), ({"ingress": -1.0}, "ingress")):
        with pytest.raises(ValueError, match=f"^{field}: "):
            NodeModel(**kwargs)


SCENARIO = '[scenario]\nname = "x"\n[topology]\nactors = 2\nshards = 1\n[nodes.shard]\n'


def test_a_scenario_gives_a_role_cores_and_interfaces_with_units():
    scenario = parse_scenario(SCENARIO + 'cores = 2\ningress = "1Gbps"\negress = 5e7\n')
    assert scenario.config.nodes["shard"] == NodeModel(cores=2, ingress=1.25e8, egress=5e7)


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        ("cores = 0", "x.toml:7: nodes.shard.cores: must be a whole number >= 1, got 0"),
        ("cores = 2.5", "x.toml:7: nodes.shard.cores: must be a whole number >= 1, got 2.5"),
        ('ingress = "fast"', "x.toml:7: nodes.shard.ingress: must be bytes/s or a rate such as '1Gbps'"),
        ("egress = -1", "x.toml:7: nodes.shard.egress: must be a number > 0, got -1"),
    ],
)
def test_a_bad_capacity_in_a_scenario_is_one_line_naming_the_field(line, expected):
    with pytest.raises(ScenarioError) as caught:
        parse_scenario(SCENARIO + line + "\n", "x.toml")
    assert str(caught.value).startswith(expected)
    assert len(str(caught.value).splitlines()) == 1
