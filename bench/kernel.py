"""The simulation kernel against SimPy on one workload, written once for each.

N client nodes do request/response with one server over random-latency links: think (exponential),
send a request, wait for the reply; the server serves requests one at a time. Both versions draw the
same numbers from the same generators and link models, so they simulate the same requests; the
kernel is the only difference. Events per second count the workload's own events (think ends,
request deliveries, service ends, reply deliveries: four per request), the same in both.

    python bench/kernel.py [--quick]
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
from netmodels import LinkModel, LogNormal, NodeModel, Streams

SEED = 1
SERVICE_S = 20e-6
UTILISATION = 0.5
REQUEST_BYTES = 200
LINK = LinkModel(latency=LogNormal.from_median_p99(median=0.001, p99=0.005), bandwidth=1.25e9)
EVENTS_PER_REQUEST = 4


def think_mean(n: int) -> float:
    return n * SERVICE_S / UTILISATION


def run_ours(n: int, until: float) -> int:
    done = 0
    mean = think_mean(n)

    async def client(rt: Runtime) -> None:
        nonlocal done
        while True:
            await rt.sleep(rt.rng.exponential(mean))
            await rt.call("server", None, REQUEST_BYTES)
            done += 1

    async def server(rt: Runtime) -> None:
        while True:
            request = await rt.receive()
            await rt.compute(SERVICE_S)
            rt.reply(request, None, REQUEST_BYTES)

    sim = Simulation(seed=SEED, default_link=LINK)
    sim.add_node("server", server)
    for i in range(n):
        sim.add_node(f"client-{i}", client)
    sim.run(until)
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


def idle_bytes_per_node(build: Callable[[int], object], n: int) -> float:
    """Python heap bytes per node of `n` nodes that wait for a message that never comes."""
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


def measure(n: int, until: float, repeats: int) -> dict[str, float]:
    ours_rates, simpy_rates, ratios = [], [], []
    for _ in range(repeats):
        rates = {}
        for name, run in (("ours", run_ours), ("simpy", run_simpy)):
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


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="short runs (under a minute)")
    args = parser.parse_args(argv)
    # (nodes, simulated seconds, repeats): about the same number of requests at each size.
    plan = [(1_000, 2.0, 3), (10_000, 6.0, 3)] if args.quick else [(1_000, 10.0, 5), (10_000, 40.0, 5)]
    result: dict[str, str] = {}
    print(f"{'nodes':>7} {'requests':>9} {'ours ev/s':>11} {'simpy ev/s':>11} {'ratio':>6}  (median of runs)")
    for n, until, repeats in plan:
        m = measure(n, until, repeats)
        print(f"{n:>7} {m['requests']:>9} {m['ours']:>11,.0f} {m['simpy']:>11,.0f} {m['ratio']:>6.2f}")
        result[f"ratio_n{n}"] = f"{m['ratio']:.3f}"
        result[f"events_per_s_n{n}"] = f"{m['ours']:.0f}"
    ratios = [float(result[f"ratio_n{n}"]) for n, _, _ in plan]
    idle_n = 10_000
    ours_bytes = idle_bytes_per_node(idle_ours, idle_n)
    simpy_bytes = idle_bytes_per_node(idle_simpy, idle_n)
    print(
        f"memory per idle node ({idle_n} nodes, tracemalloc): "
        f"ours {ours_bytes:,.0f} B, simpy {simpy_bytes:,.0f} B"
    )
    print(
        f"RESULT ratio_vs_simpy={min(ratios):.3f} "
        + " ".join(f"{k}={v}" for k, v in result.items())
        + f" idle_node_bytes={ours_bytes:.0f} simpy_idle_node_bytes={simpy_bytes:.0f}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
