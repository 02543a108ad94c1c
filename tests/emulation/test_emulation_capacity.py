"""Finite capacity in the emulator: the simulator's FIFO interfaces and cores, in real time."""

import asyncio
import time

import pytest

from gorila_sim.emulation import LocalEmulation, RunClock
from gorila_sim.emulation.runtime import EmulatedRuntime
from gorila_sim.runtime import Runtime, Simulation
from netmodels import Constant, LinkModel, NodeModel

SLACK = 0.05
"""Run seconds that loopback, the event loop and a busy machine may add (at time scale 1)."""


def incast(make, senders: int, size: int, ingress: float, latency: float) -> list[tuple[float, float]]:
    """(arrival, queued) of each message when `senders` nodes send `size` bytes at t = 0 to one receiver."""
    arrivals: list[tuple[float, float]] = []

    async def receiver(rt: Runtime) -> None:
        while True:
            message = await rt.receive()
            arrivals.append((rt.now(), message.queued))

    def sender(rt: Runtime):
        async def main(rt: Runtime) -> None:
            rt.send("receiver", "gradient", size)

        return main

    run = make(LinkModel(latency=Constant(latency)))
    run.add_node("receiver", receiver, NodeModel(ingress=ingress))
    for i in range(senders):
        run.add_node(f"sender-{i}", sender(i))
    run.run(until=latency + senders * size / ingress + 0.5)
    return sorted(arrivals)


def test_incast_at_a_finite_ingress_queues_as_in_the_simulator():
    n, size, rate, latency = 4, 1_000_000, 10e6, 0.05  # 100 ms per message on the ingress
    simulated = incast(lambda link: Simulation(default_link=link), n, size, rate, latency)
    emulated = incast(lambda link: LocalEmulation(default_link=link), n, size, rate, latency)
    assert [t for t, _ in simulated] == pytest.approx([latency + (k + 1) * size / rate for k in range(n)])
    assert len(emulated) == n
    for (t_sim, q_sim), (t_emu, q_emu) in zip(simulated, emulated, strict=True):
        assert t_sim <= t_emu + 0.005 and t_emu < t_sim + SLACK
        assert q_emu == pytest.approx(q_sim, abs=SLACK)
    assert emulated[-1][1] > (n - 2) * size / rate  # the last one waited for the others


def test_without_an_ingress_limit_the_incast_arrives_at_once():
    emulated = incast(lambda link: LocalEmulation(default_link=link), 4, 1_000_000, float("inf"), 0.05)
    assert all(0.05 <= t < 0.05 + SLACK and q == 0 for t, q in emulated)


def test_the_egress_sends_one_message_at_a_time():
    arrivals: dict[str, float] = {}
    size, rate = 500_000, 5e6  # 100 ms per message on the egress

    async def sender(rt: Runtime) -> None:
        for i in range(4):
            rt.send(f"receiver-{i}", i, size)

    def receiver(name: str):
        async def main(rt: Runtime) -> None:
            message = await rt.receive()
            arrivals[name] = (rt.now(), message.queued)

        return main

    emulation = LocalEmulation()
    emulation.add_node("sender", sender, NodeModel(egress=rate))
    for i in range(4):
        emulation.add_node(f"receiver-{i}", receiver(f"receiver-{i}"))
    emulation.run(until=0.6)
    for i in range(4):
        arrived, queued = arrivals[f"receiver-{i}"]
        assert (i + 1) * size / rate <= arrived + 0.005 < (i + 1) * size / rate + SLACK
        assert queued == pytest.approx(i * size / rate, abs=0.005)


@pytest.mark.parametrize(("cores", "expected"), [(1, 0.4), (2, 0.2)])
def test_computations_beyond_the_cores_wait_their_turn(cores: int, expected: float):
    ended = []

    async def worker(rt: Runtime) -> None:
        await asyncio.gather(rt.compute(0.2), rt.compute(0.2))
        ended.append(rt.now())

    emulation = LocalEmulation()
    emulation.add_node("worker", worker, NodeModel(cores=cores))
    emulation.run(until=0.6)
    assert expected <= ended[0] + 0.005 < expected + SLACK


def burn_cpu(seconds: float) -> None:
    """Use `seconds` of this process's CPU time."""
    until = time.process_time() + seconds
    while time.process_time() < until:
        pass


@pytest.mark.parametrize(("credit", "expected"), [(False, 0.1), (True, 0.05)])
def test_with_cpu_credit_the_cpu_used_since_the_last_computation_counts_towards_the_next(credit, expected):
    async def computation_after_work() -> float:
        clock = RunClock(1.0, start=time.monotonic())
        rt = EmulatedRuntime(
            "node", seed=0, clock=clock, network=None, disk={}, nodes=("node",), cpu_credit=credit
        )
        burn_cpu(0.05)
        started = time.monotonic()
        await rt.compute(0.1)
        return time.monotonic() - started

    took = asyncio.run(computation_after_work())
    assert expected - 0.005 <= took < expected + SLACK
