"""The profiler: each function's own time in one category; `--profile` writes profile.json."""

from __future__ import annotations

import json

import pytest

from gorila_sim.cli import main
from gorila_sim.dashboard.profile import CATEGORIES, NODE_LOGIC, breakdown, category_of

SITE = "/venv/lib/python3.11/site-packages"


@pytest.mark.parametrize(
    ("function", "category"),
    [
        ((f"{SITE}/gymnasium/envs/classic_control/cartpole.py", 1, "step"), "environment stepping"),
        ((f"{SITE}/torch/nn/modules/linear.py", 1, "forward"), "network forward/backward (torch)"),
        (("~", 0, "<built-in method torch._C._nn.linear>"), "network forward/backward (torch)"),
        (("/work/gorila_sim/runtime/loop.py", 1, "run_until"), "kernel and messages"),
        (("/work/netmodels/link.py", 1, "transmit"), "kernel and messages"),
        (("~", 0, "<built-in method _heapq.heappush>"), "kernel and messages"),
        (("/work/gorila_sim/trace.py", 1, "gradient"), "trace and results writing"),
        (("/work/gorila_sim/dashboard/view.py", 1, "render"), "dashboard"),
        ((f"{SITE}/numpy/core/fromnumeric.py", 1, "sum"), "numerics (numpy)"),
        (("/work/gorila_sim/nodes/shard.py", 1, "shard"), NODE_LOGIC),
        (("<frozen importlib._bootstrap>", 1, "_load"), "loading modules"),
        (("~", 0, "<built-in method _imp.create_dynamic>"), "loading modules"),
        (("~", 0, "<method 'append' of 'list' objects>"), None),
    ],
)
def test_functions_fall_into_categories_by_package(function, category):
    assert category_of(function) == category


def test_a_built_in_naming_no_package_goes_to_its_callers():
    shard = ("/work/gorila_sim/nodes/shard.py", 1, "shard")
    trace = ("/work/gorila_sim/trace.py", 1, "gradient")
    append = ("~", 0, "<method 'append' of 'list' objects>")
    stats = {
        shard: (1, 1, 2.0, 5.0, {}),
        trace: (1, 1, 1.0, 2.0, {shard: (1, 1, 1.0, 2.0)}),
        append: (4, 4, 0.4, 0.4, {shard: (3, 3, 0.3, 0.3), trace: (1, 1, 0.1, 0.1)}),
    }
    result = breakdown(stats, wall_s=3.5)
    assert result.seconds[NODE_LOGIC] == pytest.approx(2.3)
    assert result.seconds["trace and results writing"] == pytest.approx(1.1)
    assert next(iter(result.seconds)) == NODE_LOGIC and result.top[0][2] == 2.0


def test_run_with_profile_writes_profile_json(tmp_path, capsys):
    out = tmp_path / "run"
    assert main(["run", "baseline", "--set", "stop.env_steps=1500", "--out", str(out), "--profile"]) == 0
    assert "where the wall time went" in capsys.readouterr().out
    profile = json.loads((out / "profile.json").read_text())
    assert set(profile["categories"]) == {*CATEGORIES, NODE_LOGIC}
    assert sum(c["share"] for c in profile["categories"].values()) == pytest.approx(1.0)
    assert profile["categories"]["network forward/backward (torch)"]["seconds"] > 0
    assert profile["profiled_s"] <= profile["wall_s"] * 1.05 and profile["top_functions"]
