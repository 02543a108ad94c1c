"""Every bad parameter raises ModelError with a one-line message that starts with the parameter's name."""

import math

import pytest

from netmodels import (
    Bernoulli,
    Constant,
    CrashProcess,
    CrashSchedule,
    Empirical,
    Exponential,
    GilbertElliott,
    LinkModel,
    LogNormal,
    Mixture,
    ModelError,
    NodeModel,
    Normal,
    Pareto,
    Partition,
    PauseProcess,
    PauseSchedule,
    ShiftedExponential,
    Slowdowns,
    Uniform,
    distribution_from_spec,
    generator,
    link_from_spec,
    loss_from_spec,
    node_from_spec,
    partition_from_spec,
)

NAN = math.nan
INF = math.inf
ONE = Constant(1.0)
EXP = Exponential(1.0)

MODELS = [
    ("value", lambda: Constant(-1)),
    ("value", lambda: Constant(NAN)),
    ("value", lambda: Constant(INF)),
    ("value", lambda: Constant("1")),
    ("value", lambda: Constant(True)),
    ("low", lambda: Uniform(-1, 1)),
    ("high", lambda: Uniform(2, 1)),
    ("high", lambda: Uniform(0, INF)),
    ("mean", lambda: Normal(-1, 1)),
    ("std", lambda: Normal(1, -1)),
    ("std", lambda: Normal(1, NAN)),
    ("mu", lambda: LogNormal(NAN, 1)),
    ("sigma", lambda: LogNormal(0, -1)),
    ("median", lambda: LogNormal.from_median_p99(0, 1)),
    ("p99", lambda: LogNormal.from_median_p99(0.002, 0.002)),
    ("p99", lambda: LogNormal.from_median_p99(0.002, INF)),
    ("mean", lambda: Exponential(-1)),
    ("mean", lambda: Exponential(INF)),
    ("shift", lambda: ShiftedExponential(shift=-1, mean=1)),
    ("mean", lambda: ShiftedExponential(shift=1, mean=NAN)),
    ("n", lambda: ShiftedExponential(1, 1).expected_max(0)),
    ("scale", lambda: Pareto(0, 1)),
    ("alpha", lambda: Pareto(1, -2)),
    ("components", lambda: Mixture((), ())),
    ("components", lambda: Mixture(ONE, (1,))),
    ("components[1]", lambda: Mixture((ONE, 0.5), (1, 1))),
    ("weights", lambda: Mixture((ONE, EXP), (1,))),
    ("weights[0]", lambda: Mixture((ONE,), (0,))),
    ("weights[1]", lambda: Mixture((ONE, EXP), (1, -1))),
    ("samples", lambda: Empirical(())),
    ("samples", lambda: Empirical("123")),
    ("samples[1]", lambda: Empirical((1, -1))),
    ("samples[2]", lambda: Empirical([1, 2, NAN])),
    ("p", lambda: Bernoulli(1.5)),
    ("p", lambda: Bernoulli(-0.1)),
    ("p", lambda: Bernoulli(NAN)),
    ("p_good_to_bad", lambda: GilbertElliott(1.5, 0.5)),
    ("p_bad_to_good", lambda: GilbertElliott(0.1, 0)),
    ("loss_good", lambda: GilbertElliott(0.1, 0.5, loss_good=2)),
    ("loss_bad", lambda: GilbertElliott(0.1, 0.5, loss_bad=-1)),
    ("latency", lambda: LinkModel(latency=0.01)),
    ("bandwidth", lambda: LinkModel(bandwidth=0)),
    ("bandwidth", lambda: LinkModel(bandwidth=-1)),
    ("bandwidth", lambda: LinkModel(bandwidth="1Gbps")),
    ("jitter", lambda: LinkModel(jitter=0.001)),
    ("loss", lambda: LinkModel(loss=0.1)),
    ("duplicate", lambda: LinkModel(duplicate=1.5)),
    ("ordered", lambda: LinkModel(ordered="yes")),
    ("ordered", lambda: LinkModel(ordered=1)),
    ("a", lambda: Partition(set(), {"b"}, 0)),
    ("a", lambda: Partition("ab", {"c"}, 0)),
    ("a", lambda: Partition({1}, {"b"}, 0)),
    ("b", lambda: Partition({"a"}, {"a", "b"}, 0)),
    ("start", lambda: Partition({"a"}, {"b"}, -1)),
    ("start", lambda: Partition({"a"}, {"b"}, INF)),
    ("end", lambda: Partition({"a"}, {"b"}, 5, 5)),
    ("end", lambda: Partition({"a"}, {"b"}, 5, NAN)),
    ("direction", lambda: Partition({"a"}, {"b"}, 0, direction="sideways")),
    ("events", lambda: CrashSchedule(5)),
    ("events[0]", lambda: CrashSchedule([(1,)])),
    ("events[0]", lambda: CrashSchedule(["ab"])),
    ("events[0][0]", lambda: CrashSchedule([(-1, 2)])),
    ("events[0][1]", lambda: CrashSchedule([(5, 3)])),
    ("events[0][1]", lambda: CrashSchedule([(5, NAN)])),
    ("events[1][0]", lambda: CrashSchedule([(0, 10), (5, 20)])),
    ("events[1][0]", lambda: CrashSchedule([(0, INF), (5, 6)])),
    ("events[1][1]", lambda: PauseSchedule([(0, 1), (2, 2)])),
    ("time_to_failure", lambda: CrashProcess(Constant(0), ONE)),
    ("time_to_failure", lambda: CrashProcess(10, ONE)),
    ("time_to_repair", lambda: CrashProcess(EXP, 5)),
    ("mtbf", lambda: CrashProcess.from_mtbf_mttr(0, 1)),
    ("mttr", lambda: CrashProcess.from_mtbf_mttr(1, -1)),
    ("time_to_pause", lambda: PauseProcess(Constant(0), ONE)),
    ("pause_duration", lambda: PauseProcess(EXP, None)),
    ("interarrival", lambda: Slowdowns(Constant(0), ONE, ONE)),
    ("duration", lambda: Slowdowns(EXP, 1, ONE)),
    ("factor", lambda: Slowdowns(EXP, EXP, 2)),
    ("speed", lambda: NodeModel(speed=0)),
    ("speed", lambda: NodeModel(speed=INF)),
    ("speed", lambda: NodeModel(speed=NAN)),
    ("straggler", lambda: NodeModel(straggler=1.2)),
    ("slowdowns", lambda: NodeModel(slowdowns=EXP)),
    ("crashes", lambda: NodeModel(crashes=PauseSchedule(()))),
    ("pauses", lambda: NodeModel(pauses=CrashSchedule(()))),
    ("seed", lambda: generator(-1)),
    ("seed", lambda: generator(1.5)),
    ("seed", lambda: generator(True)),
    ("seed", lambda: generator("7")),
    ("path[1]", lambda: generator(1, "node", 5)),
]

DISTRIBUTION_SPECS = [
    ("d", "fast"),
    ("d", -1),
    ("d", True),
    ("d", None),
    ("d", NAN),
    ("d.kind", {"median": 1}),
    ("d.kind", {"kind": "gamma"}),
    ("d.kind", {"kind": ["lognormal"]}),
    ("d.p99", {"kind": "lognormal", "median": 0.002}),
    ("d.sigma", {"kind": "lognormal", "median": 0.002, "p99": 0.01, "sigma": 1}),
    ("d.p99", {"kind": "lognormal", "median": 0.002, "p99": 0.001}),
    ("d.median", {"kind": "lognormal", "median": -1, "p99": 0.001}),
    ("d.sigma", {"kind": "lognormal", "mu": 0}),
    ("d.mean", {"kind": "exponential", "mean": "1"}),
    ("d.mean", {"kind": "exponential", "mean": True}),
    ("d.mean", {"kind": "exponential", "mean": NAN}),
    ("d.mean", {"kind": "exponential"}),
    ("d.high", {"kind": "uniform", "low": 0, "high": INF}),
    ("d.extra", {"kind": "constant", "value": 1, "extra": 2}),
    ("d.std", {"kind": "normal", "mean": 1, "std": -1}),
    ("d.shift", {"kind": "shifted_exponential", "shift": -1, "mean": 1}),
    ("d.alpha", {"kind": "pareto", "scale": 1, "alpha": 0}),
    ("d.components", {"kind": "mixture", "components": "abc", "weights": [1]}),
    ("d.components[1].kind", {"kind": "mixture", "components": [1, {"kind": "x"}], "weights": [1, 1]}),
    ("d.components[0]", {"kind": "mixture", "components": [-1], "weights": [1]}),
    ("d.weights", {"kind": "mixture", "components": [1, 2], "weights": [1]}),
    ("d.weights[0]", {"kind": "mixture", "components": [1], "weights": ["heavy"]}),
    ("d.weights", {"kind": "mixture", "components": [1]}),
    ("d", {"kind": "empirical"}),
    ("d", {"kind": "empirical", "file": "x.txt", "samples": [1]}),
    ("d.samples[1]", {"kind": "empirical", "samples": [1, -2]}),
    ("d.file", {"kind": "empirical", "file": 3}),
]

SPECS = [
    *[(name, lambda spec=spec: distribution_from_spec(spec, "d")) for name, spec in DISTRIBUTION_SPECS],
    ("link.loss", lambda: loss_from_spec(0.1, "link.loss")),
    ("link.loss.kind", lambda: loss_from_spec({"kind": "random"}, "link.loss")),
    ("link.loss.p", lambda: loss_from_spec({"kind": "bernoulli", "p": 2}, "link.loss")),
    ("link.loss.p", lambda: loss_from_spec({"kind": "bernoulli"}, "link.loss")),
    ("link.loss.q", lambda: loss_from_spec({"kind": "bernoulli", "p": 0.1, "q": 1}, "link.loss")),
    ("loss.p_bad_to_good", lambda: loss_from_spec({"kind": "gilbert_elliott", "p_good_to_bad": 0.1})),
    ("link", lambda: link_from_spec([])),
    ("link.delay", lambda: link_from_spec({"delay": 1})),
    ("link.latency.p99", lambda: link_from_spec({"latency": {"kind": "lognormal", "median": 1, "p99": 0.5}})),
    ("link.jitter", lambda: link_from_spec({"jitter": "small"})),
    ("link.bandwidth", lambda: link_from_spec({"bandwidth": "fast"})),
    ("link.bandwidth", lambda: link_from_spec({"bandwidth": "-5Mbps"})),
    ("link.bandwidth", lambda: link_from_spec({"bandwidth": "1.2.3Gbps"})),
    ("link.bandwidth", lambda: link_from_spec({"bandwidth": 0})),
    ("link.bandwidth", lambda: link_from_spec({"bandwidth": True})),
    ("link.loss.p", lambda: link_from_spec({"loss": {"kind": "bernoulli", "p": -1}})),
    ("link.duplicate", lambda: link_from_spec({"duplicate": 2})),
    ("link.ordered", lambda: link_from_spec({"ordered": "no"})),
    ("partition.b", lambda: partition_from_spec({"a": ["x"], "b": ["x"], "start": 0})),
    ("partition.start", lambda: partition_from_spec({"a": ["x"], "b": ["y"]})),
    ("partition.a", lambda: partition_from_spec({"a": "x", "b": ["y"], "start": 0})),
    ("partition.heal", lambda: partition_from_spec({"a": ["x"], "b": ["y"], "start": 0, "heal": 1})),
    ("partition.end", lambda: partition_from_spec({"a": ["x"], "b": ["y"], "start": 2, "end": 1})),
    ("partition", lambda: partition_from_spec("x|y")),
    ("node.speed", lambda: node_from_spec({"speed": -1})),
    ("node.speed", lambda: node_from_spec({"speed": "fast"})),
    ("node.cpu", lambda: node_from_spec({"cpu": 2})),
    ("node.straggler", lambda: node_from_spec({"straggler": "slow"})),
    ("node.slowdowns.factor", lambda: node_from_spec({"slowdowns": {"interarrival": 1, "duration": 1}})),
    (
        "node.slowdowns.interarrival",
        lambda: node_from_spec({"slowdowns": {"interarrival": 0, "duration": 1, "factor": 2}}),
    ),
    ("node.crashes.kind", lambda: node_from_spec({"crashes": {"kind": "random"}})),
    ("node.crashes.mtbf", lambda: node_from_spec({"crashes": {"kind": "process", "mtbf": 0, "mttr": 1}})),
    ("node.crashes.mttr", lambda: node_from_spec({"crashes": {"kind": "process", "mtbf": 1}})),
    (
        "node.crashes.time_to_repair",
        lambda: node_from_spec({"crashes": {"kind": "process", "time_to_failure": 1}}),
    ),
    (
        "node.crashes.events[0][1]",
        lambda: node_from_spec({"crashes": {"kind": "schedule", "events": [[5, 1]]}}),
    ),
    ("node.crashes.events", lambda: node_from_spec({"crashes": {"kind": "schedule"}})),
    (
        "node.pauses.time_to_pause",
        lambda: node_from_spec({"pauses": {"kind": "process", "time_to_pause": -1, "pause_duration": 1}}),
    ),
    ("node.pauses.mtbf", lambda: node_from_spec({"pauses": {"kind": "process", "mtbf": 1, "mttr": 1}})),
    ("node.pauses", lambda: node_from_spec({"pauses": [[1, 2]]})),
]


@pytest.mark.parametrize(
    ("param", "build"), MODELS + SPECS, ids=[f"{i}-{p}" for i, (p, _) in enumerate(MODELS + SPECS)]
)
def test_bad_parameter_raises_one_line_model_error(param, build):
    with pytest.raises(ModelError) as error:
        build()
    message = str(error.value)
    assert message.startswith(f"{param}: ")
    assert error.value.param == param
    assert "\n" not in message
    assert isinstance(error.value, ValueError)


def test_message_names_what_is_allowed_and_what_was_given():
    with pytest.raises(ModelError) as error:
        link_from_spec({"latency": {"kind": "lognormal", "median": 0.002, "p99": 0.001}})
    assert str(error.value) == "link.latency.p99: must be greater than median (0.002), got 0.001"
    with pytest.raises(ModelError) as error:
        Bernoulli(1.5)
    assert str(error.value) == "p: must be a number in [0, 1], got 1.5"
    with pytest.raises(ModelError) as error:
        distribution_from_spec({"kind": "gamma"}, "link.jitter")
    assert "lognormal" in str(error.value)
    assert "got 'gamma'" in str(error.value)
    with pytest.raises(ModelError) as error:
        link_from_spec({"delay": 1})
    assert str(error.value).endswith("allowed: bandwidth, duplicate, jitter, latency, loss, ordered")


def test_long_values_are_shortened_to_one_line():
    with pytest.raises(ModelError) as error:
        Constant("a long\nmultiline value " * 20)
    assert "\n" not in str(error.value)
    assert len(str(error.value)) < 150
