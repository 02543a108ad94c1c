import itertools
import math

import numpy as np
import pytest

from netmodels import (
    Constant,
    CrashProcess,
    CrashSchedule,
    Exponential,
    NodeModel,
    PauseProcess,
    PauseSchedule,
    ShiftedExponential,
    Slowdowns,
    Streams,
    node_from_spec,
)


def behaviour(model: NodeModel, seed: int = 0):
    return model.behaviour(Streams(seed, "node", "worker-0"))


def first(windows, n):
    return list(itertools.islice(windows, n))


def test_speed_scales_compute_time_exactly():
    node = behaviour(NodeModel(speed=2.0))
    assert node.compute_time(3.0, 0.0) == 1.5
    assert node.compute_time(1.0, 100.0) == 0.5
    assert behaviour(NodeModel()).compute_time(0.25, 5.0) == 0.25


def test_straggler_factor_is_drawn_per_call():
    straggler = ShiftedExponential(shift=1.0, mean=0.2)
    node = behaviour(NodeModel(speed=4.0, straggler=straggler))
    times = np.array([node.compute_time(2.0, 0.0) for _ in range(50_000)])
    assert times.min() >= 0.5
    assert len(set(times)) > 49_000
    assert times.mean() == pytest.approx(0.5 * straggler.mean, rel=0.01)


def test_slowdown_applies_only_inside_episodes():
    node = behaviour(NodeModel(slowdowns=Slowdowns(Constant(10.0), Constant(2.0), Constant(3.0))))
    times = [0.0, 9.9, 10.0, 11.9, 12.0, 21.9, 22.0, 23.9, 24.0, 100.0]
    factors = [1, 1, 3, 3, 1, 1, 3, 3, 1, 1]
    assert [node.compute_time(1.0, t) for t in times] == pytest.approx(factors)


def test_random_slowdowns_cover_the_expected_share_of_time():
    slowdowns = Slowdowns(Exponential(5.0), Exponential(1.0), Constant(4.0))
    node = behaviour(NodeModel(slowdowns=slowdowns), seed=1)
    factors = np.array([node.slowdown_factor_at(t) for t in np.arange(0.0, 20_000.0, 0.1)])
    assert set(factors) == {1.0, 4.0}
    assert np.mean(factors == 4.0) == pytest.approx(1 / 6, rel=0.05)


def test_crash_schedule_windows():
    schedule = CrashSchedule([(10, 20), (20, 30), (50, math.inf)])
    assert schedule.events == ((10.0, 20.0), (20.0, 30.0), (50.0, math.inf))
    assert list(behaviour(NodeModel(crashes=schedule)).crash_windows()) == list(schedule.events)
    assert list(behaviour(NodeModel()).crash_windows()) == []


@pytest.mark.parametrize("kind", ["crashes", "pauses"])
def test_mtbf_mttr_process_means(kind):
    process = (
        CrashProcess.from_mtbf_mttr(mtbf=100.0, mttr=5.0)
        if kind == "crashes"
        else PauseProcess(Exponential(100.0), Exponential(5.0))
    )
    node = behaviour(NodeModel(**{kind: process}), seed=2)
    windows = np.array(first(node.crash_windows() if kind == "crashes" else node.pause_windows(), 20_000))
    starts, ends = windows[:, 0], windows[:, 1]
    assert np.all(ends >= starts)
    assert np.all(starts[1:] >= ends[:-1])
    assert (ends - starts).mean() == pytest.approx(5.0, rel=0.03)
    assert (starts - np.concatenate(([0.0], ends[:-1]))).mean() == pytest.approx(100.0, rel=0.03)


def test_each_call_replays_the_same_windows():
    node = behaviour(NodeModel(crashes=CrashProcess.from_mtbf_mttr(10.0, 1.0)))
    windows = node.crash_windows()
    head = first(windows, 5)
    assert first(node.crash_windows(), 5) == head
    assert next(windows) == first(node.crash_windows(), 6)[5]


def test_pause_schedule_windows():
    pauses = PauseSchedule(((1.0, 2.0), (3.0, 4.5)))
    assert list(behaviour(NodeModel(pauses=pauses)).pause_windows()) == [(1.0, 2.0), (3.0, 4.5)]


def test_streams_are_independent():
    crashes = CrashProcess.from_mtbf_mttr(50.0, 2.0)
    straggler = Exponential(1.0)
    plain = behaviour(NodeModel(crashes=crashes, straggler=straggler), seed=3)
    everything = behaviour(
        NodeModel(
            crashes=crashes,
            straggler=straggler,
            slowdowns=Slowdowns(Exponential(1.0), Exponential(1.0), Constant(1.0)),
            pauses=PauseProcess(Exponential(5.0), Exponential(1.0)),
        ),
        seed=3,
    )
    assert first(plain.crash_windows(), 50) == first(everything.crash_windows(), 50)
    assert [plain.compute_time(1.0, t) for t in range(100)] == [
        everything.compute_time(1.0, t) for t in range(100)
    ]


def test_node_behaviour_is_deterministic():
    model = NodeModel(straggler=Exponential(1.0), crashes=CrashProcess.from_mtbf_mttr(10.0, 1.0))
    a, b = behaviour(model, seed=4), behaviour(model, seed=4)
    assert [a.compute_time(1.0, 0.0) for _ in range(2000)] == [b.compute_time(1.0, 0.0) for _ in range(2000)]
    assert first(a.crash_windows(), 10) == first(b.crash_windows(), 10)
    assert first(a.crash_windows(), 10) != first(behaviour(model, seed=5).crash_windows(), 10)


def test_node_from_spec_builds_the_model():
    spec = {
        "speed": 2.0,
        "straggler": {"kind": "shifted_exponential", "shift": 1.0, "mean": 0.2},
        "slowdowns": {"interarrival": {"kind": "exponential", "mean": 60}, "duration": 5, "factor": 3},
        "crashes": {"kind": "process", "mtbf": 3600, "mttr": 30},
        "pauses": {"kind": "schedule", "events": [[100, 110], [200, math.inf]]},
    }
    assert node_from_spec(spec) == NodeModel(
        speed=2.0,
        straggler=ShiftedExponential(shift=1.0, mean=0.2),
        slowdowns=Slowdowns(Exponential(60), Constant(5), Constant(3)),
        crashes=CrashProcess(Exponential(3600), Exponential(30)),
        pauses=PauseSchedule([(100, 110), (200, math.inf)]),
    )
    crashes = {
        "kind": "process",
        "time_to_failure": 100,
        "time_to_repair": {"kind": "exponential", "mean": 1},
    }
    assert node_from_spec({"crashes": crashes}).crashes == CrashProcess(Constant(100), Exponential(1))
    pauses = {"kind": "process", "time_to_pause": 10, "pause_duration": 1}
    assert node_from_spec({"pauses": pauses}).pauses == PauseProcess(Constant(10), Constant(1))
    assert node_from_spec({"crashes": {"kind": "schedule", "events": []}}).crashes == CrashSchedule(())
    assert node_from_spec({}) == NodeModel()
