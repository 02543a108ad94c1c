"""Queueing systems run on the simulated runtime and checked against their closed forms.

They validate the kernel: if a single server with Poisson arrivals does not give the textbook
sojourn time, nothing built on the kernel can be trusted.
"""

from __future__ import annotations

import asyncio
import math
from dataclasses import dataclass
from typing import Literal

from netmodels import Constant, LinkModel, NodeModel, ShiftedExponential

from .runtime import Runtime, Simulation


@dataclass(frozen=True, slots=True)
class QueueResult:
    """What a single-server queue run measured, beside what theory predicts."""

    arrival_rate: float
    service_rate: float
    service: str
    customers: int
    mean_sojourn: float
    expected_sojourn: float
    arrival_rate_measured: float
    mean_in_system: float
    utilisation: float
    simulated_time: float
    events: int

    @property
    def sojourn_error(self) -> float:
        """Relative error of the measured mean sojourn time against the closed form."""
        return self.mean_sojourn / self.expected_sojourn - 1.0

    @property
    def expected_in_system(self) -> float:
        """The closed-form mean number in the system, lambda times the expected sojourn time."""
        return self.arrival_rate * self.expected_sojourn

    @property
    def little_error(self) -> float:
        """Relative gap in Little's law, L = lambda * W, with all three measured on the run.

        L comes from an observer that counts the jobs in the system at Poisson instants (which see time
        averages), independently of the jobs' own sojourn times.
        """
        return self.mean_in_system / (self.arrival_rate_measured * self.mean_sojourn) - 1.0


def single_server_queue(
    arrival_rate: float = 0.8,
    service_rate: float = 1.0,
    customers: int = 200_000,
    service: Literal["exponential", "deterministic"] = "exponential",
    seed: int = 0,
) -> QueueResult:
    """An M/M/1 (or M/D/1) queue: a source node sends jobs to a FIFO server node over an ideal link.

    An observer node samples the number of jobs in the system at Poisson instants.
    """
    if not 0 < arrival_rate < service_rate:
        raise ValueError(f"arrival_rate must be in (0, service_rate={service_rate}), got {arrival_rate}")
    if service not in ("exponential", "deterministic"):
        raise ValueError(f"service must be 'exponential' or 'deterministic', got {service!r}")
    in_system = 0
    samples: list[int] = []
    sojourns: list[float] = []

    async def source(rt: Runtime) -> None:
        nonlocal in_system
        for _ in range(customers):
            await rt.sleep(rt.rng.exponential(1.0 / arrival_rate))
            in_system += 1
            rt.send("server", rt.now())

    async def server(rt: Runtime) -> None:
        nonlocal in_system
        mean_service = 1.0 / service_rate
        while len(sojourns) < customers:
            job = await rt.receive()
            work = rt.rng.exponential(mean_service) if service == "exponential" else mean_service
            await rt.compute(work)
            in_system -= 1
            sojourns.append(rt.now() - job.payload)

    async def observer(rt: Runtime) -> None:
        while len(sojourns) < customers:
            await rt.sleep(rt.rng.exponential(1.0 / service_rate))
            samples.append(in_system)

    sim = Simulation(seed=seed)
    sim.add_node("source", source)
    sim.add_node("server", server)
    sim.add_node("observer", observer)
    sim.run()

    rho = arrival_rate / service_rate
    if service == "exponential":
        expected = 1.0 / (service_rate - arrival_rate)
    else:  # Pollaczek-Khinchine for deterministic service
        expected = 1.0 / service_rate + rho / (2.0 * service_rate * (1.0 - rho))
    elapsed = sim.now
    return QueueResult(
        arrival_rate=arrival_rate,
        service_rate=service_rate,
        service=service,
        customers=len(sojourns),
        mean_sojourn=math.fsum(sojourns) / len(sojourns),
        expected_sojourn=expected,
        arrival_rate_measured=customers / elapsed,
        mean_in_system=sum(samples) / len(samples),
        utilisation=rho,
        simulated_time=elapsed,
        events=sim.loop.events,
    )


@dataclass(frozen=True, slots=True)
class StragglerResult:
    """Mean time for the slowest of n workers to finish, beside the closed form."""

    workers: int
    rounds: int
    mean_round_time: float
    expected_round_time: float

    @property
    def error(self) -> float:
        return self.mean_round_time / self.expected_round_time - 1.0


def straggler_rounds(
    workers: int = 10, rounds: int = 4_000, shift: float = 1.0, mean: float = 0.5, seed: int = 0
) -> StragglerResult:
    """Synchronous rounds: a coordinator waits for all workers, whose compute times are shifted exponentials.

    The round time is the maximum of `workers` draws, whose expectation is shift + mean * H_n.
    """
    straggler = ShiftedExponential(shift=shift, mean=mean)
    round_times: list[float] = []

    async def coordinator(rt: Runtime) -> None:
        names = [f"worker-{i}" for i in range(workers)]
        for _ in range(rounds):
            start = rt.now()
            for name in names:
                rt.send(name, "work")
            for _ in names:
                await rt.receive()
            round_times.append(rt.now() - start)

    async def worker(rt: Runtime) -> None:
        while True:
            order = await rt.receive()
            await rt.compute(1.0)
            rt.send(order.src, "done")

    sim = Simulation(seed=seed)
    for i in range(workers):
        sim.add_node(f"worker-{i}", worker, NodeModel(straggler=straggler))
    sim.add_node("coordinator", coordinator)
    sim.run()
    return StragglerResult(
        workers=workers,
        rounds=len(round_times),
        mean_round_time=math.fsum(round_times) / len(round_times),
        expected_round_time=straggler.expected_max(workers),
    )


@dataclass(frozen=True, slots=True)
class WaitResult:
    """Mean time jobs waited for a busy resource before their turn, beside the closed form."""

    jobs: int
    mean_wait: float
    expected_wait: float
    simulated_time: float

    @property
    def error(self) -> float:
        return self.mean_wait / self.expected_wait - 1.0


def md1_mean_wait(arrival_rate: float, service_time: float) -> float:
    """Mean wait in queue of M/D/1 (Pollaczek-Khinchine): rho * D / (2 (1 - rho))."""
    rho = arrival_rate * service_time
    return rho * service_time / (2.0 * (1.0 - rho))


def erlang_c(servers: int, offered_load: float) -> float:
    """Probability that an arrival waits in M/M/c with `servers` and offered load a = lambda / mu < c."""
    rho = offered_load / servers
    top = offered_load**servers / math.factorial(servers) / (1.0 - rho)
    return top / (sum(offered_load**k / math.factorial(k) for k in range(servers)) + top)


def mmc_mean_wait(servers: int, arrival_rate: float, service_rate: float) -> float:
    """Mean wait in queue of M/M/c: C(c, a) / (c mu - lambda)."""
    return erlang_c(servers, arrival_rate / service_rate) / (servers * service_rate - arrival_rate)


def link_queue(
    arrival_rate: float = 0.7,
    bandwidth: float = 1e6,
    size: int = 1_000_000,
    messages: int = 100_000,
    latency: float = 0.001,
    seed: int = 0,
) -> WaitResult:
    """Poisson messages of `size` bytes over one link of `bandwidth` bytes/s: an M/D/1 queue.

    The wait of each message is its `queued` time, read at the receiver.
    """
    service_time = size / bandwidth
    if not 0 < arrival_rate * service_time < 1:
        raise ValueError(
            f"arrival_rate must be in (0, bandwidth / size = {1 / service_time}), got {arrival_rate}"
        )
    waits: list[float] = []

    async def source(rt: Runtime) -> None:
        for _ in range(messages):
            await rt.sleep(rt.rng.exponential(1.0 / arrival_rate))
            rt.send("sink", None, size)

    async def sink(rt: Runtime) -> None:
        while True:
            waits.append((await rt.receive()).queued)

    sim = Simulation(seed=seed, default_link=LinkModel(latency=Constant(latency), bandwidth=bandwidth))
    sim.add_node("source", source)
    sim.add_node("sink", sink)
    sim.run()
    return WaitResult(
        jobs=len(waits),
        mean_wait=math.fsum(waits) / len(waits),
        expected_wait=md1_mean_wait(arrival_rate, service_time),
        simulated_time=sim.now,
    )


def multicore_queue(
    cores: int = 4, arrival_rate: float = 3.0, service_rate: float = 1.0, jobs: int = 100_000, seed: int = 0
) -> WaitResult:
    """Poisson jobs with exponential work on one node of `cores` cores: an M/M/c queue.

    Each job is a task that calls `compute` on arrival; its wait is its time to finish less its work.
    """
    if not 0 < arrival_rate < cores * service_rate:
        raise ValueError(
            f"arrival_rate must be in (0, cores * service_rate = {cores * service_rate}), got {arrival_rate}"
        )
    waits: list[float] = []

    async def server(rt: Runtime) -> None:
        async def job(work: float) -> None:
            arrived = rt.now()
            await rt.compute(work)
            waits.append(rt.now() - arrived - work)

        tasks = set()
        for _ in range(jobs):
            await rt.sleep(rt.rng.exponential(1.0 / arrival_rate))
            task = asyncio.get_running_loop().create_task(job(rt.rng.exponential(1.0 / service_rate)))
            tasks.add(task)
            task.add_done_callback(tasks.discard)

    sim = Simulation(seed=seed)
    sim.add_node("server", server, NodeModel(cores=cores))
    sim.run()
    return WaitResult(
        jobs=len(waits),
        mean_wait=math.fsum(waits) / len(waits),
        expected_wait=mmc_mean_wait(cores, arrival_rate, service_rate),
        simulated_time=sim.now,
    )
