"""A simulated run is a pure function of its setup and seed."""

import asyncio

from gorila_sim.runtime import Runtime, Simulation
from netmodels import (
    Bernoulli,
    CrashProcess,
    GilbertElliott,
    LinkModel,
    LogNormal,
    NodeModel,
    ShiftedExponential,
)


def gossip_run(seed: int, nodes: int = 12, extra_node: bool = False, contention: bool = False) -> list[tuple]:
    """A random workload touching every source of randomness; returns everything that happened.

    With `contention`, nodes have finite interfaces and two cores that two computations share at a time.
    """
    log: list[tuple] = []
    names = [f"n{i}" for i in range(nodes)]

    async def gossip(rt: Runtime) -> None:
        while True:
            if contention:
                await asyncio.gather(rt.compute(0.01), rt.compute(0.02), rt.compute(0.01))
            else:
                await rt.compute(0.01)
            peer = names[int(rt.rng.integers(len(names)))]
            rt.send(peer, rt.rng.random(), size=int(rt.rng.integers(100, 10_000)))
            try:
                message = await rt.receive(timeout=0.05)
                log.append((rt.now(), rt.name, message.src, message.payload, message.queued))
            except TimeoutError:
                log.append((rt.now(), rt.name, "timeout"))

    link = LinkModel(
        latency=LogNormal.from_median_p99(0.002, 0.02),
        bandwidth=1e7,
        loss=GilbertElliott(p_good_to_bad=0.01, p_bad_to_good=0.3),
        duplicate=0.01,
        ordered=False,
    )
    model = NodeModel(
        straggler=ShiftedExponential(shift=1.0, mean=0.3),
        crashes=CrashProcess.from_mtbf_mttr(mtbf=3.0, mttr=0.5),
        **({"cores": 2, "egress": 2e5, "ingress": 1e5} if contention else {}),
    )
    sim = Simulation(seed=seed, default_link=link, links={("n0", "n1"): LinkModel(loss=Bernoulli(0.5))})
    for name in names:
        sim.add_node(name, gossip, model)
    if extra_node:

        async def bystander(rt: Runtime) -> None:
            while True:
                await rt.sleep(rt.rng.exponential(0.01))

        sim.add_node("bystander", bystander, model)
    sim.run(until=10.0)
    log.extend((e.time, e.node, e.state) for e in sim.lifecycle)
    log.append(tuple(sim.network.stats.as_dict().items()))
    return log


def test_same_seed_same_run_bit_for_bit():
    first = gossip_run(seed=11)
    assert len(first) > 1000
    assert first == gossip_run(seed=11)


def test_same_seed_same_run_with_contention_on():
    first = gossip_run(seed=11, contention=True)
    assert any(entry[-1] > 0 for entry in first if len(entry) == 5)  # messages did queue
    assert first != gossip_run(seed=11)
    assert first == gossip_run(seed=11, contention=True)


def test_another_seed_gives_another_run():
    assert gossip_run(seed=11) != gossip_run(seed=12)


def test_a_node_that_talks_to_nobody_changes_nobody_elses_draws():
    with_bystander = gossip_run(seed=4, extra_node=True)
    assert any("bystander" in entry for entry in with_bystander)
    assert gossip_run(seed=4) == [entry for entry in with_bystander if "bystander" not in entry]
