"""Node faults with their real semantics: crash and restart, pause and resume, speed, slowdowns."""

import asyncio

import pytest

from gorila_sim.runtime import Runtime, Simulation
from netmodels import Constant, CrashProcess, CrashSchedule, LinkModel, NodeModel, Slowdowns


def test_a_crashed_node_sends_nothing_loses_its_state_and_restarts_afresh():
    sent_at: list[float] = []
    starts: list[tuple[float, int, object]] = []

    async def ticker(rt: Runtime) -> None:
        counter = 0  # volatile: lost at a crash
        starts.append((rt.now(), counter, rt.disk.get("checkpoint")))
        while True:
            await rt.sleep(1.0)
            counter += 1
            rt.disk["checkpoint"] = counter
            rt.send("sink", counter)
            sent_at.append(rt.now())

    async def sink(rt: Runtime) -> None:
        while True:
            await rt.receive()

    sim = Simulation()
    sim.add_node("ticker", ticker)
    sim.add_node("sink", sink)
    sim.crash("ticker", at=3.5, restart_at=6.0)
    sim.run(until=9.0)
    assert sent_at == [1.0, 2.0, 3.0, 7.0, 8.0, 9.0]
    assert starts == [(0.0, 0, None), (6.0, 0, 3)]  # fresh code, disk kept
    assert [(e.time, e.state) for e in sim.lifecycle if e.node == "ticker"] == [
        (0.0, "up"),
        (3.5, "crashed"),
        (6.0, "up"),
    ]


def test_messages_to_a_down_node_are_lost_and_pending_work_is_dropped():
    received: list[object] = []

    async def sender(rt: Runtime) -> None:
        for i in range(10):
            rt.send("target", i)
            await rt.sleep(1.0)

    async def target(rt: Runtime) -> None:
        while True:
            message = await rt.receive()
            received.append(message.payload)

    sim = Simulation(default_link=LinkModel(latency=Constant(0.25)))
    sim.add_node("sender", sender)
    sim.add_node("target", target)
    sim.crash("target", at=2.5, restart_at=5.5)
    sim.run()
    # sent at 2..5 would arrive at 2.25..5.25; those at 3.25, 4.25, 5.25 find the node down
    assert received == [0, 1, 2, 6, 7, 8, 9]
    assert sim.network.stats.lost_down == 3


def test_a_crash_drops_the_mailbox_of_a_busy_node():
    handled: list[object] = []

    async def busy(rt: Runtime) -> None:
        while True:
            message = await rt.receive()
            await rt.compute(10.0)
            handled.append(message.payload)

    async def sender(rt: Runtime) -> None:
        for i in range(3):
            rt.send("busy", i)

    sim = Simulation()
    sim.add_node("busy", busy)
    sim.add_node("sender", sender)
    sim.crash("busy", at=5.0, restart_at=6.0)
    sim.run()
    assert handled == []  # 0 was in service, 1 and 2 were queued: all lost with the crash


def test_pause_defers_wakeups_and_stretches_compute_by_the_pause():
    events: list[tuple[str, float]] = []

    async def worker(rt: Runtime) -> None:
        await rt.compute(4.0)
        events.append(("computed", rt.now()))
        await rt.sleep(1.0)
        events.append(("slept", rt.now()))
        message = await rt.receive()
        events.append((message.payload, rt.now()))

    async def sender(rt: Runtime) -> None:
        await rt.sleep(12.5)
        rt.send("worker", "hello")

    sim = Simulation()
    sim.add_node("worker", worker)
    sim.add_node("sender", sender)
    sim.pause("worker", at=1.0, until=3.0)  # compute 0..4 becomes 0..6
    sim.pause("worker", at=6.5, until=9.0)  # the sleep ending at 7.0 resumes at 9.0
    sim.pause("worker", at=12.0, until=13.0)  # the message arriving at 12.5 is handled at 13.0
    sim.run()
    assert events == [("computed", 6.0), ("slept", 9.0), ("hello", 13.0)]


def test_compute_paused_past_its_end_finishes_the_remaining_work_after_resume():
    done: list[float] = []

    async def worker(rt: Runtime) -> None:
        await rt.compute(4.0)
        done.append(rt.now())

    sim = Simulation()
    sim.add_node("worker", worker)
    sim.pause("worker", at=3.0, until=10.0)  # 3 s done, 1 s left after 10.0
    sim.run()
    assert done == [11.0]


def test_speed_and_slowdown_episodes_scale_compute_time():
    durations: list[float] = []

    async def worker(rt: Runtime) -> None:
        for _ in range(200):
            start = rt.now()
            await rt.compute(1.0)
            durations.append(rt.now() - start)

    slow = Slowdowns(interarrival=Constant(10.0), duration=Constant(5.0), factor=Constant(3.0))
    sim = Simulation()
    sim.add_node("worker", worker, NodeModel(speed=2.0, slowdowns=slow))
    sim.run()
    assert sorted({round(d, 9) for d in durations}) == [0.5, 1.5]
    assert durations[0] == pytest.approx(0.5)


def test_crash_schedules_and_mtbf_processes_drive_the_lifecycle():
    async def idle(rt: Runtime) -> None:
        while True:
            await rt.sleep(1.0)

    sim = Simulation(seed=5)
    sim.add_node("fixed", idle, NodeModel(crashes=CrashSchedule(((2.0, 4.0), (10.0, 11.0)))))
    sim.add_node("random", idle, NodeModel(crashes=CrashProcess.from_mtbf_mttr(mtbf=100.0, mttr=10.0)))
    sim.run(until=20_000.0)
    fixed = [(e.time, e.state) for e in sim.lifecycle if e.node == "fixed"]
    assert fixed == [(0.0, "up"), (2.0, "crashed"), (4.0, "up"), (10.0, "crashed"), (11.0, "up")]
    states = [e for e in sim.lifecycle if e.node == "random"]
    downtime = sum(up.time - down.time for down, up in zip(states[1::2], states[2::2], strict=False))
    crashes = sum(e.state == "crashed" for e in states)
    assert crashes == pytest.approx(20_000 / 110, rel=0.2)
    assert downtime / 20_000 == pytest.approx(10 / 110, rel=0.2)


def test_a_slowdown_fault_scales_compute_started_inside_it():
    durations: list[tuple[float, float]] = []

    async def worker(rt: Runtime) -> None:
        for _ in range(10):
            start = rt.now()
            await rt.compute(1.0)
            durations.append((start, rt.now() - start))

    sim = Simulation()
    sim.add_node("worker", worker)
    sim.slow("worker", at=2.0, until=5.0, factor=4.0)
    sim.run()
    assert durations[:4] == [(0.0, 1.0), (1.0, 1.0), (2.0, 4.0), (6.0, 1.0)]


@pytest.mark.parametrize("spawn", ["create_task", "gather", "nested"])
def test_a_crash_ends_every_task_the_node_started(spawn):
    """Tasks started by a crashed incarnation neither run nor send while it is down, nor after its restart."""
    ticks: list[tuple[float, int, str]] = []
    received: list[tuple[int, str]] = []
    incarnations = 0

    async def tick(rt: Runtime, incarnation: int, name: str) -> None:
        while True:
            await rt.sleep(0.25)
            ticks.append((rt.now(), incarnation, name))
            rt.send("sink", (incarnation, name))

    async def spawner(rt: Runtime, incarnation: int) -> None:
        asyncio.get_running_loop().create_task(tick(rt, incarnation, "grandchild"))
        await tick(rt, incarnation, "child")

    async def node(rt: Runtime) -> None:
        nonlocal incarnations
        incarnations += 1
        me = incarnations
        if spawn == "create_task":
            asyncio.get_running_loop().create_task(tick(rt, me, "task"))
            await rt.sleep(100.0)
        elif spawn == "gather":
            await asyncio.gather(tick(rt, me, "a"), tick(rt, me, "b"))
        else:
            asyncio.get_running_loop().create_task(spawner(rt, me))
            await rt.sleep(100.0)

    async def sink(rt: Runtime) -> None:
        while True:
            received.append((await rt.receive()).payload)

    sim = Simulation()
    sim.add_node("node", node)
    sim.add_node("sink", sink)
    sim.crash("node", at=1.1, restart_at=2.1)
    sim.run(until=3.0)
    assert ticks and not [t for t in ticks if 1.1 <= t[0] < 2.1]  # nothing ran while down
    assert {i for t, i, _ in ticks if t >= 2.1} == {2}  # and nothing of the first incarnation after
    assert {i for t, i, _ in ticks if t < 1.1} == {1}
    names = {"create_task": {"task"}, "gather": {"a", "b"}, "nested": {"child", "grandchild"}}[spawn]
    assert {name for t, _, name in ticks if t >= 2.1} == names
    assert sim.network.stats.sent == len(ticks) == len(received)
    assert len(sim.loop.owners) == len(names)  # only the second incarnation's tasks are left


def test_a_task_that_swallows_cancellation_still_ends_with_its_node():
    ran: list[float] = []

    async def stubborn(rt: Runtime) -> None:
        while True:
            try:
                await rt.sleep(0.5)
                ran.append(rt.now())
            except asyncio.CancelledError:
                ran.append(-1.0)

    async def node(rt: Runtime) -> None:
        asyncio.get_running_loop().create_task(stubborn(rt))
        await rt.sleep(100.0)

    sim = Simulation()
    sim.add_node("node", node)
    sim.crash("node", at=1.2)
    sim.run(until=5.0)
    assert ran == [0.5, 1.0]
