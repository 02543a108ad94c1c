"""The virtual-time loop: ordering, clock jumps, and asyncio interoperability."""

import asyncio
import gc
import time

import pytest

from gorila_sim.runtime import Runtime, Simulation, VirtualTimeLoop
from gorila_sim.runtime.simulated import YOUNG_COLLECTION_EVERY


def test_sleeps_resume_in_time_order_and_the_clock_jumps():
    woke: list[tuple[float, str]] = []

    def sleeper(delay: float):
        async def main(rt: Runtime) -> None:
            await rt.sleep(delay)
            woke.append((rt.now(), rt.name))

        return main

    sim = Simulation()
    for name, delay in [("c", 3600.0), ("a", 1.0), ("b", 60.0)]:
        sim.add_node(name, sleeper(delay))
    started = time.perf_counter()
    sim.run()
    assert woke == [(1.0, "a"), (60.0, "b"), (3600.0, "c")]
    assert time.perf_counter() - started < 1.0  # an hour of simulated time is not waited for


def test_events_at_one_time_run_in_the_order_they_were_scheduled():
    order: list[str] = []

    def main_for(tag: str):
        async def main(rt: Runtime) -> None:
            await rt.sleep(5.0)
            order.append(tag)

        return main

    sim = Simulation()
    for tag in "qwerty":
        sim.add_node(tag, main_for(tag))
    sim.run()
    assert order == list("qwerty")


def test_run_until_stops_at_the_given_time_and_can_continue():
    ticks: list[float] = []

    async def ticker(rt: Runtime) -> None:
        while True:
            await rt.sleep(1.0)
            ticks.append(rt.now())

    sim = Simulation()
    sim.add_node("t", ticker)
    sim.run(until=3.5)
    assert ticks == [1.0, 2.0, 3.0]
    assert sim.now == 3.5
    sim.run(until=5.0)
    assert ticks == [1.0, 2.0, 3.0, 4.0, 5.0]


def test_asyncio_primitives_work_inside_nodes_in_virtual_time():
    seen: dict[str, object] = {}

    async def main(rt: Runtime) -> None:
        loop = asyncio.get_running_loop()
        assert isinstance(loop, VirtualTimeLoop)
        await asyncio.gather(rt.sleep(2.0), rt.sleep(5.0), asyncio.sleep(3.0))
        seen["after_gather"] = rt.now()
        with pytest.raises(TimeoutError):
            await asyncio.wait_for(rt.sleep(10.0), timeout=1.0)
        seen["after_wait_for"] = loop.time()
        queue: asyncio.Queue[int] = asyncio.Queue()

        async def producer() -> None:
            await rt.sleep(0.5)
            await queue.put(42)

        task = asyncio.ensure_future(producer())
        seen["queued"] = await queue.get()
        await task
        seen["end"] = rt.now()

    sim = Simulation()
    sim.add_node("n", main)
    sim.run()
    assert seen == {"after_gather": 5.0, "after_wait_for": 6.0, "queued": 42, "end": 6.5}


def test_a_failing_node_stops_the_run_with_its_own_error():
    async def broken(rt: Runtime) -> None:
        await rt.sleep(2.0)
        raise KeyError("boom")

    sim = Simulation()
    sim.add_node("broken", broken)
    with pytest.raises(KeyError) as caught:
        sim.run()
    assert "in node 'broken' at simulated time 2.000000" in caught.value.__notes__[0]


def test_awaiting_something_foreign_is_reported():
    class Foreign:
        def __await__(self):
            yield "not a future"

    async def main(rt: Runtime) -> None:
        await Foreign()

    sim = Simulation()
    sim.add_node("n", main)
    with pytest.raises(RuntimeError, match="not awaitable here"):
        sim.run()


def test_run_until_complete_drives_a_plain_coroutine():
    loop = VirtualTimeLoop()

    async def work() -> float:
        await asyncio.sleep(7.0)
        return loop.time()

    assert loop.run_until_complete(work()) == 7.0


def test_cancelled_timers_are_compacted_out_of_the_heap():
    """20,000 one-hour timeouts that never fire leave no pile of cancelled timers; live timers still fire."""
    seen: dict[str, float] = {}
    sim = Simulation()

    async def timeouts(rt: Runtime) -> None:
        for _ in range(20_000):
            async with asyncio.timeout(3600.0):
                await rt.sleep(0.0001)
        seen["pending"] = sim.loop.pending()

    async def main(rt: Runtime) -> None:
        alarm = asyncio.get_running_loop().create_task(asyncio.sleep(5.0))
        await asyncio.get_running_loop().create_task(timeouts(rt))
        await alarm
        seen["alarm"] = rt.now()

    sim.add_node("node", main)
    sim.run()
    assert seen["pending"] < 250  # without compaction: over 20,000
    assert seen["alarm"] == 5.0


def test_a_run_freezes_what_exists_out_of_the_collector_and_thaws_it_after():
    seen: list[int] = []

    async def main(rt: Runtime) -> None:
        seen.append(gc.get_freeze_count())

    sim = Simulation()
    sim.add_node("a", main)
    assert gc.get_freeze_count() == 0
    sim.run()
    assert seen[0] > 0 and gc.get_freeze_count() == 0


def test_a_run_collects_young_garbage_rarely_and_restores_the_collector_after():
    seen: list[tuple[int, int, int]] = []

    async def main(rt: Runtime) -> None:
        seen.append(gc.get_threshold())

    before = gc.get_threshold()
    sim = Simulation()
    sim.add_node("a", main)
    sim.run()
    assert seen == [(YOUNG_COLLECTION_EVERY, *before[1:])] and before[0] < YOUNG_COLLECTION_EVERY
    assert gc.get_threshold() == before


def test_a_run_leaves_a_collector_switched_off_by_threshold_off():
    seen: list[tuple[int, int, int]] = []

    async def main(rt: Runtime) -> None:
        seen.append(gc.get_threshold())

    before = gc.get_threshold()
    gc.set_threshold(0, *before[1:])
    try:
        sim = Simulation()
        sim.add_node("a", main)
        sim.run()
    finally:
        gc.set_threshold(*before)
    assert seen == [(0, *before[1:])]


def test_a_run_leaves_the_processs_own_frozen_objects_frozen():
    seen: list[int] = []

    async def main(rt: Runtime) -> None:
        seen.append(gc.get_freeze_count())

    gc.freeze()
    try:
        frozen = gc.get_freeze_count()
        sim = Simulation()
        sim.add_node("a", main)
        sim.run()
        # Frozen objects freed meanwhile leave the count, none joins it, and the run thaws none.
        assert 0 < seen[0] <= frozen and 0 < gc.get_freeze_count() <= frozen
    finally:
        gc.unfreeze()
