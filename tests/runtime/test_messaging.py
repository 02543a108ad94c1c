"""Messages through modelled links: latency, bandwidth, calls, timeouts, partitions."""

import math

import pytest

from gorila_sim.runtime import Runtime, Simulation
from netmodels import Bernoulli, Constant, LinkModel, Partition


def test_delivery_time_is_latency_plus_size_over_bandwidth():
    arrivals: list[tuple[float, object]] = []

    async def sender(rt: Runtime) -> None:
        await rt.sleep(1.0)
        rt.send("receiver", "small", size=0)
        rt.send("receiver", "large", size=1_000_000)

    async def receiver(rt: Runtime) -> None:
        while True:
            message = await rt.receive()
            arrivals.append((rt.now(), message.payload))

    link = LinkModel(latency=Constant(0.010), bandwidth=1e8)
    sim = Simulation(default_link=link)
    sim.add_node("sender", sender)
    sim.add_node("receiver", receiver)
    sim.run()
    assert arrivals[0] == (pytest.approx(1.010), "small")
    assert arrivals[1] == (pytest.approx(1.020), "large")


def test_call_returns_the_reply_and_times_out_when_none_comes():
    results: list[object] = []

    async def client(rt: Runtime) -> None:
        results.append(await rt.call("echo", "ping", timeout=1.0))
        results.append(rt.now())
        try:
            await rt.call("silent", "ping", timeout=0.5)
        except TimeoutError:
            results.append(("timeout", rt.now()))

    async def echo(rt: Runtime) -> None:
        request = await rt.receive()
        rt.reply(request, request.payload + "-pong")

    async def silent(rt: Runtime) -> None:
        await rt.receive()

    sim = Simulation(default_link=LinkModel(latency=Constant(0.1)))
    sim.add_node("client", client)
    sim.add_node("echo", echo)
    sim.add_node("silent", silent)
    sim.run()
    assert results == ["ping-pong", pytest.approx(0.2), ("timeout", pytest.approx(0.7))]


def test_a_reply_after_the_timeout_is_counted_late_and_dropped():
    outcome: list[object] = []

    async def client(rt: Runtime) -> None:
        try:
            await rt.call("slow", "x", timeout=0.5)
        except TimeoutError:
            outcome.append("timeout")
        try:
            await rt.receive(timeout=5.0)
        except TimeoutError:
            outcome.append("no stray message")

    async def slow(rt: Runtime) -> None:
        request = await rt.receive()
        await rt.sleep(2.0)
        rt.reply(request, "late")

    sim = Simulation()
    sim.add_node("client", client)
    sim.add_node("slow", slow)
    sim.run()
    assert outcome == ["timeout", "no stray message"]
    assert sim.network.stats.late_replies == 1


def test_receive_times_out():
    seen: list[object] = []

    async def waiter(rt: Runtime) -> None:
        try:
            await rt.receive(timeout=2.5)
        except TimeoutError:
            seen.append(rt.now())

    sim = Simulation()
    sim.add_node("w", waiter)
    sim.run()
    assert seen == [2.5]


def test_partition_cuts_only_its_direction_and_interval():
    received: dict[str, list[float]] = {"a": [], "b": []}

    def talker(peer: str):
        async def main(rt: Runtime) -> None:
            async def listen() -> None:
                while True:
                    await rt.receive()
                    received[rt.name].append(rt.now())

            import asyncio

            listener = asyncio.ensure_future(listen())
            for _ in range(10):
                rt.send(peer, "hi")
                await rt.sleep(1.0)
            listener.cancel()

        return main

    cut = Partition(a=frozenset({"a"}), b=frozenset({"b"}), start=3.0, end=6.0, direction="a_to_b")
    sim = Simulation(partitions=[cut])
    sim.add_node("a", talker("b"))
    sim.add_node("b", talker("a"))
    sim.run()
    assert received["b"] == [0.0, 1.0, 2.0, 6.0, 7.0, 8.0, 9.0]  # a->b cut for sends at t in [3, 6)
    assert received["a"] == [float(t) for t in range(10)]  # b->a untouched
    assert sim.network.stats.lost_partition == 3


def test_bernoulli_loss_on_a_link():
    got = 0

    async def sender(rt: Runtime) -> None:
        for _ in range(20_000):
            rt.send("sink", None)
            await rt.sleep(0.001)

    async def sink(rt: Runtime) -> None:
        nonlocal got
        while True:
            await rt.receive()
            got += 1

    sim = Simulation(seed=3, default_link=LinkModel(loss=Bernoulli(0.1)))
    sim.add_node("sender", sender)
    sim.add_node("sink", sink)
    sim.run()
    assert got + sim.network.stats.lost_link == 20_000
    assert got / 20_000 == pytest.approx(0.9, abs=0.01)


def test_bad_runtime_arguments_are_clear_errors():
    errors: list[str] = []

    async def main(rt: Runtime) -> None:
        for attempt in (lambda: rt.sleep(-1), lambda: rt.compute(math.nan), lambda: rt.send("nobody", 1)):
            try:
                attempt()
            except ValueError as error:
                errors.append(str(error))

    sim = Simulation()
    sim.add_node("n", main)
    sim.run()
    assert errors == [
        "sleep: delay must be >= 0, got -1",
        "compute: cost must be >= 0, got nan",
        "send: no node named 'nobody'",
    ]
    with pytest.raises(ValueError, match="exists already"):
        sim.add_node("n", main)


def test_degradations_add_latency_and_loss_between_groups_for_their_interval():
    from netmodels import Degradation

    arrivals: list[tuple[float, float]] = []

    async def sender(rt: Runtime) -> None:
        for i in range(2_000):
            rt.send("sink", i)
            await rt.sleep(0.01)

    async def sink(rt: Runtime) -> None:
        while True:
            message = await rt.receive()
            arrivals.append((rt.now() - message.sent_at, message.sent_at))

    spike = Degradation(
        a=frozenset({"sender"}),
        b=frozenset({"sink"}),
        start=5.0,
        end=10.0,
        extra_latency=Constant(0.5),
        loss=0.5,
    )
    sim = Simulation(seed=1)
    sim.add_node("sender", sender)
    sim.add_node("sink", sink)
    sim.degrade(spike)
    sim.run()
    inside = [delay for delay, sent in arrivals if 5.0 <= sent < 10.0]
    outside = [delay for delay, sent in arrivals if not 5.0 <= sent < 10.0]
    assert len(outside) == 1_500 and set(outside) == {0.0}
    assert all(delay == pytest.approx(0.5) for delay in inside)
    assert len(inside) == pytest.approx(250, abs=40)
    assert sim.network.stats.lost_link == 500 - len(inside)


def test_links_that_draw_nothing_share_one_sampler_unless_some_link_is_named():
    shared = Simulation(default_link=LinkModel(latency=Constant(0.01))).network
    assert shared.channel("a", "b") is shared.channel("c", "d")
    named = Simulation(links={("a", "b"): LinkModel(latency=Constant(0.02))}).network
    assert named.channel("a", "b") is not named.channel("c", "d")
    assert named.channel("a", "b").transmit(1.0, 0) == (1.02,)
    assert named.channel("c", "d").transmit(1.0, 0) == (1.0,)


def test_timeouts_of_answered_calls_and_receives_are_no_events_and_stay_off_the_heap():
    """20,000 calls and receives answered long before their timeouts: the run dispatches the events it would
    without timeouts, and the one that fires (the server's last receive), and the heap never holds more
    than a timeout per node."""
    heap_sizes: list[int] = []

    def events(timeout: float | None) -> int:
        async def client(rt: Runtime) -> None:
            for _ in range(10_000):
                await rt.call("server", None, timeout=timeout)
                heap_sizes.append(len(sim.loop._heap))

        async def server(rt: Runtime) -> None:
            while True:
                try:
                    request = await rt.receive(timeout=timeout)
                except TimeoutError:
                    return
                rt.reply(request, None)

        sim = Simulation(default_link=LinkModel(latency=Constant(0.001)))
        sim.add_node("client", client)
        sim.add_node("server", server)
        sim.run(until=100.0)
        return sim.loop.events

    assert events(50.0) == events(None) + 1
    assert max(heap_sizes) <= 3  # the reply on its way back, and each node's first timeout


def test_a_timeout_and_an_event_at_its_time_run_in_the_order_they_were_scheduled():
    seen: list[object] = []

    async def waiter(rt: Runtime) -> None:
        for _ in range(2):
            try:
                seen.append((await rt.receive(timeout=1.0)).payload)
            except TimeoutError:
                seen.append("timeout")

    async def sender(rt: Runtime) -> None:
        rt.send("waiter", "scheduled before the timeout")  # sent before the waiter waits; arrives at 1.0
        await rt.sleep(1.0)
        rt.send("waiter", "scheduled after the timeout")  # arrives at 2.0, with the second timeout

    sim = Simulation(default_link=LinkModel(latency=Constant(1.0)))
    sim.add_node("sender", sender)
    sim.add_node("waiter", waiter)
    sim.run()
    assert seen == ["scheduled before the timeout", "timeout"]
