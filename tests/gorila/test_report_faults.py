"""Reports show the faults: every kind on the timeline, the windows shaded on every plot against time,
network losses by reason in report.md."""

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import pytest
from matplotlib.colors import to_rgba

from gorila_sim.report import (
    FAULT_COLOURS,
    _discards,
    _learning_curves,
    _timeline,
    fault_windows,
    make_report,
)
from gorila_sim.results import read_results, write_results
from gorila_sim.scenario import parse_scenario, run_scenario

SCENARIO = """
[scenario]
name = "every-fault"

[topology]
actors = 3
learners = 2
shards = 2
bundled = false
replay = "global"

[training]
problem = "surrogate"
surrogate_size = 50
surrogate_episode = 20
batch_size = 16
learning_starts = 32
optimiser = { name = "sgd", lr = 0.05 }

[stop]
env_steps = 6000

[network]
loss = { kind = "bernoulli", p = 0.01 }

[[faults]]
kind = "crash"
nodes = ["shard-1"]
at = 0.05
duration = 0.02

[[faults]]
kind = "pause"
nodes = ["learner-1"]
at = 0.08
duration = 0.02

[[faults]]
kind = "slowdown"
nodes = ["learner-0"]
factor = 3.0
at = 0.1
duration = 0.05

[[faults]]
kind = "partition"
a = ["actor-2"]
at = 0.12
duration = 0.03

[[faults]]
kind = "latency_spike"
a = { role = "learner" }
b = { role = "shard" }
direction = "a_to_b"
extra_latency = 0.002
at = 0.15
duration = 0.02

[[faults]]
kind = "loss_burst"
a = { role = "actor" }
b = { role = "replay" }
loss = 0.5
at = 0.18

[[faults]]
kind = "pause"
nodes = ["actor-0"]
at = 1000.0
duration = 1.0
"""
WINDOWS = [
    ("crash", 0.05, 0.07),
    ("pause", 0.08, 0.1),
    ("slowdown", 0.1, 0.15),
    ("partition", 0.12, 0.15),
    ("latency_spike", 0.15, 0.17),
    ("loss_burst", 0.18, "end"),
]
"""The scenario's windows; the loss burst lasts to the end, and the last pause comes after it."""


@pytest.fixture(scope="module")
def stored(tmp_path_factory):
    scenario = parse_scenario(SCENARIO)
    out = tmp_path_factory.mktemp("runs") / "every-fault"
    write_results(run_scenario(scenario), out, scenario.table)
    return read_results(out)


def test_every_fault_of_the_timeline_is_a_window_cut_at_the_end_of_the_run(stored):
    end = stored.summary["sim_time"]
    assert end < 1000
    windows = [(w.kind, w.start, w.end) for w in fault_windows(stored)]
    assert windows == [(k, a, end if b == "end" else pytest.approx(b)) for k, a, b in WINDOWS]
    slowdown = fault_windows(stored)[2]
    assert slowdown.nodes == ("learner-0",) and slowdown.what == "learner-0 3× slower"


def test_the_timeline_has_a_row_for_every_network_fault_and_every_node_hit(stored):
    fig, ax = plt.subplots()
    _timeline(stored, ax)
    rows = [label.get_text() for label in ax.get_yticklabels()]
    assert rows[:3] == [
        "partition: actor-2 ↔ 2 actors, 2 learners, 1 replay, 2 shards",
        "latency spike: learner-0, learner-1 → shard-0, shard-1",
        "loss burst: actor-0, actor-1, actor-2 ↔ replay-0, loss 50%",
    ]
    assert {"shard-1", "learner-1", "learner-0"} <= set(rows[3:])
    colours = {tuple(bars.get_facecolor()[0]) for bars in ax.collections}
    assert colours == {to_rgba(colour) for colour in FAULT_COLOURS.values()}
    legend = [text.get_text() for text in ax.get_legend().get_texts()]
    assert legend == ["crash", "pause", "slowdown", "partition", "latency spike", "loss burst"]
    plt.close(fig)


def shaded(ax) -> set[tuple[str, float, float]]:
    """(colour, left, right) of every span shaded on `ax`."""
    spans = set()
    for patch in ax.patches:
        box = patch.get_path().get_extents(patch.get_patch_transform())
        spans.add((patch.get_facecolor()[:3], round(box.x0, 6), round(box.x1, 6)))
    return spans


def test_every_fault_window_is_shaded_on_every_plot_against_time(stored):
    end = stored.summary["sim_time"]
    expected = {
        (to_rgba(FAULT_COLOURS[kind])[:3], start, round(end if stop == "end" else stop, 6))
        for kind, start, stop in WINDOWS
    }
    windows = fault_windows(stored)
    _, axes = plt.subplots(1, 2)
    _learning_curves([stored], axes, windows)
    assert shaded(axes[0]) == expected
    assert len(shaded(axes[1])) == len(expected)  # at the env steps made by then
    legend = [text.get_text() for text in axes[0].get_legend().get_texts()]
    assert legend[1:] == ["crash", "pause", "slowdown", "partition", "latency spike", "loss burst"]
    _, ax = plt.subplots()
    _discards([stored], ax, windows)
    assert shaded(ax) == expected
    plt.close("all")


def test_report_md_gives_losses_by_reason_and_the_fault_timeline(stored, tmp_path):
    make_report([stored], tmp_path)
    markdown = (tmp_path / "report.md").read_text()
    network = stored.summary["network"]
    assert network["lost_partition"] > 0 and network["lost_link"] > 0
    for reason, title in (
        ("lost_link", "messages lost on a link"),
        ("lost_partition", "messages lost to a partition"),
        ("lost_down", "messages lost to a down node"),
    ):
        assert f"| {title} | {network[reason]:,} |" in markdown
    assert "| partition | 0.12 | 0.15 | actor-2 ↔ 2 actors, 2 learners, 1 replay, 2 shards |" in markdown
    assert "| slowdown | 0.1 | 0.15 | learner-0 3× slower |" in markdown
