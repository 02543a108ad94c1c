"""The simulation kernel against SimPy on two workloads, each written once for each.

N client nodes do request/response with one server: think (exponential), send a request, wait for the
reply; the server serves requests one at a time. In the `link` workload the messages cross
random-latency links and the server's service is `rt.compute`; in the `kernel` workload nothing but the
kernel is at work (ideal links, the service is a plain `rt.sleep`), at N from 100 to 100,000. Both
versions draw the same numbers from the same generators (and link models), so they simulate the same
requests; the kernel is the only difference. Events per second count the workload's own events (think
ends, request deliveries, service ends, reply deliveries: four per request), the same in both.

    python bench/kernel.py [--quick] [--workload all|link|kernel]
"""

from __future__ import annotations

import argparse
import gc
import statistics
import sys
import time
import tracemalloc
from collections.abc import Callable

import simpy

from gorila_sim.runtime import Message, Runtime, Simulation
from netmodels import Constant, LinkModel, LogNormal, NodeModel, Streams

SEED = 1
SERVICE_S = 20e-6
UTILISATION = 0.5
REQUEST_BYTES = 200
LINK = LinkModel(latency=LogNormal.from_median_p99(median=0.001, p99=0.005), bandwidth=1.25e9)
EVENTS_PER_REQUEST = 4


def think_mean(n: int) -> float:
    return n * SERVICE_S / UTILISATION


def run_ours(n: int, until: float, kernel_only: bool = False) -> int:
    """The `link` workload, or with `kernel_only` the `kernel` one: ideal links, service by plain sleep."""
    done = 0
    mean = think_mean(n)

    async def client(rt: Runtime) -> None:
        nonlocal done
        while True:
            await rt.sleep(rt.rng.exponential(mean))
            await rt.call("server", None, REQUEST_BYTES)
            done += 1

    async def server(rt: Runtime) -> None:
        serve = rt.sleep if kernel_only else rt.compute
        while True:
            request = await rt.receive()
            await serve(SERVICE_S)
            rt.reply(request, None, REQUEST_BYTES)

    sim = Simulation(seed=SEED, default_link=None if kernel_only else LINK)
    sim.add_node("server", server)
    for i in range(n):
        sim.add_node(f"client-{i}", client)
    sim.run(until)
    return done


def run_simpy_kernel(n: int, until: float) -> int:
    done = 0
    mean = think_mean(n)
    env = simpy.Environment()
    inbox = simpy.Store(env)

    def client(name: str):
        nonlocal done
        rng = Streams(SEED, "node", name)("code")
        while True:
            yield env.timeout(rng.exponential(mean))
            reply = env.event()
            inbox.put(reply)
            yield reply
            done += 1

    def server():
        while True:
            reply = yield inbox.get()
            yield env.timeout(SERVICE_S)
            reply.succeed()

    env.process(server())
    for i in range(n):
        env.process(client(f"client-{i}"))
    env.run(until)
    return done


def run_simpy(n: int, until: float) -> int:
    done = 0
    mean = think_mean(n)
    env = simpy.Environment()
    inbox = simpy.Store(env)
    server_behaviour = NodeModel().behaviour(Streams(SEED, "node", "server"))

    def transmit(src: str, dst: str, message: Message, on_arrival: Callable[[Message], object]) -> None:
        channel = channels.get((src, dst))
        if channel is None:
            channel = channels[(src, dst)] = LINK.channel(Streams(SEED, "link", src, dst))
        for when in channel.transmit(env.now, message.size):
            env.timeout(when - env.now).callbacks.append(lambda _, m=message: on_arrival(m))

    def client(name: str):
        nonlocal done
        rng = Streams(SEED, "node", name)("code")
        while True:
            yield env.timeout(rng.exponential(mean))
            reply = env.event()
            transmit(
                name, "server", Message(name, "server", reply, REQUEST_BYTES, 0, None, env.now), inbox.put
            )
            yield reply
            done += 1

    def server():
        while True:
            request = yield inbox.get()
            yield env.timeout(server_behaviour.compute_time(SERVICE_S, env.now))
            reply = Message("server", request.src, None, REQUEST_BYTES, 0, None, env.now)
            transmit("server", request.src, reply, lambda _, r=request: r.payload.succeed())

    channels: dict = {}
    env.process(server())
    for i in range(n):
        env.process(client(f"client-{i}"))
    env.run(until)
    return done


def bytes_each(build: Callable[[int], object], n: int) -> float:
    """Python heap bytes per item of what `build(n)` holds (n idle nodes, n messages in flight)."""
    gc.collect()
    tracemalloc.start()
    before = tracemalloc.get_traced_memory()[0]
    keep = build(n)
    after = tracemalloc.get_traced_memory()[0]
    tracemalloc.stop()
    del keep
    return (after - before) / n


def idle_ours(n: int) -> Simulation:
    async def idle(rt: Runtime) -> None:
        await rt.receive()

    sim = Simulation(seed=SEED)
    for i in range(n):
        sim.add_node(f"node-{i}", idle)
    sim.run(0.0)
    return sim


def idle_simpy(n: int) -> simpy.Environment:
    env = simpy.Environment()

    def idle(store: simpy.Store):
        yield store.get()

    for _ in range(n):
        env.process(idle(simpy.Store(env)))
    env.run(0.0 + 1e-12)
    return env


def in_flight_ours(n: int) -> Simulation:
    async def sender(rt: Runtime) -> None:
        for _ in range(n):
            rt.send("sink", None)

    async def sink(rt: Runtime) -> None:
        await rt.receive()

    sim = Simulation(seed=SEED, default_link=LinkModel(latency=Constant(1.0)))
    sim.add_node("sink", sink)
    sim.add_node("sender", sender)
    sim.run(0.5)
    return sim


def in_flight_simpy(n: int) -> simpy.Environment:
    env = simpy.Environment()
    inbox = simpy.Store(env)

    def sender():
        for _ in range(n):
            message = Message("sender", "sink", None, 0, 0, None, env.now)
            env.timeout(1.0).callbacks.append(lambda _, m=message: inbox.put(m))
        yield env.timeout(0.0)

    env.process(sender())
    env.run(0.5)
    return env


WORKLOADS: dict[str, tuple[Callable[[int, float], int], Callable[[int, float], int]]] = {
    "link": (run_ours, run_simpy),
    "kernel": (lambda n, until: run_ours(n, until, kernel_only=True), run_simpy_kernel),
}


def measure(workload: str, n: int, until: float, repeats: int) -> dict[str, float]:
    ours_rates, simpy_rates, ratios = [], [], []
    ours, theirs = WORKLOADS[workload]
    for _ in range(repeats):
        rates = {}
        for name, run in (("ours", ours), ("simpy", theirs)):
            gc.collect()
            started = time.perf_counter()
            requests = run(n, until)
            wall = time.perf_counter() - started
            rates[name] = (requests, requests * EVENTS_PER_REQUEST / wall)
        if rates["ours"][0] != rates["simpy"][0]:
            print(f"  note: request counts differ: ours {rates['ours'][0]}, simpy {rates['simpy'][0]}")
        ours_rates.append(rates["ours"][1])
        simpy_rates.append(rates["simpy"][1])
        ratios.append(rates["ours"][1] / rates["simpy"][1])
    return {
        "requests": rates["ours"][0],
        "ours": statistics.median(ours_rates),
        "simpy": statistics.median(simpy_rates),
        "ratio": statistics.median(ratios),
    }


def kernel_until(n: int, requests_per_client: float) -> float:
    """Simulated seconds in which each of `n` clients makes about `requests_per_client` requests."""
    return requests_per_client * think_mean(n)


def run_plan(workload: str, plan: list[tuple[int, float, int]], prefix: str) -> dict[str, str]:
    result: dict[str, str] = {}
    print(f"workload {workload}")
    print(f"{'nodes':>7} {'requests':>9} {'ours ev/s':>11} {'simpy ev/s':>11} {'ratio':>6}  (median of runs)")
    for n, until, repeats in plan:
        m = measure(workload, n, until, repeats)
        print(f"{n:>7} {m['requests']:>9} {m['ours']:>11,.0f} {m['simpy']:>11,.0f} {m['ratio']:>6.2f}")
        result[f"{prefix}ratio_n{n}"] = f"{m['ratio']:.3f}"
        result[f"{prefix}events_per_s_n{n}"] = f"{m['ours']:.0f}"
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="short runs (under a minute)")
    parser.add_argument("--workload", choices=("all", "link", "kernel"), default="all")
    args = parser.parse_args(argv)
    summary: list[str] = []
    result: dict[str, str] = {}
    if args.workload in ("all", "link"):
        # (nodes, simulated seconds, repeats): about the same number of requests at each size.
        plan = [(1_000, 2.0, 2), (10_000, 6.0, 2)] if args.quick else [(1_000, 10.0, 5), (10_000, 40.0, 5)]
        link = run_plan("link", plan, "")
        summary.append(f"ratio_vs_simpy={min(float(link[f'ratio_n{n}']) for n, _, _ in plan):.3f}")
        result |= link
    if args.workload in ("all", "kernel"):
        # At least `least` requests per client and `total` requests in all, building the nodes included.
        sizes = (100, 1_000, 10_000, 100_000)
        least, total, repeats = (1, 5_000, 3) if args.quick else (5, 100_000, 5)
        plan = [(n, kernel_until(n, max(least, total / n)), 1 if n == sizes[-1] else repeats) for n in sizes]
        kernel = run_plan("kernel", plan, "kernel_")
        summary.append(
            f"kernel_ratio_vs_simpy_min={min(float(kernel[f'kernel_ratio_n{n}']) for n in sizes):.3f}"
        )
        result |= kernel
    many = 10_000
    ours_bytes, simpy_bytes = bytes_each(idle_ours, many), bytes_each(idle_simpy, many)
    print(
        f"memory per idle node ({many:,} nodes, tracemalloc): "
        f"ours {ours_bytes:,.0f} B, simpy {simpy_bytes:,.0f} B"
    )
    ours_message, simpy_message = bytes_each(in_flight_ours, many), bytes_each(in_flight_simpy, many)
    print(
        f"memory per message in flight ({many:,} messages, tracemalloc): "
        f"ours {ours_message:,.0f} B, simpy {simpy_message:,.0f} B"
    )
    print(
        "RESULT "
        + " ".join(summary)
        + " "
        + " ".join(f"{k}={v}" for k, v in result.items())
        + f" idle_node_bytes={ours_bytes:.0f} simpy_idle_node_bytes={simpy_bytes:.0f}"
        + f" in_flight_message_bytes={ours_message:.0f} simpy_in_flight_message_bytes={simpy_message:.0f}"
        + f" mode={'quick' if args.quick else 'full'}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
