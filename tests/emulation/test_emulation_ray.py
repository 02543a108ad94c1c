"""Emulated runs on a Ray cluster of three nodes started on this machine, each with a temp directory of its
own (as if each were a machine): processes placed on distinct Ray nodes, their disks on their own node, a
crash and a pause done there for real, the results whole at the coordinator, and nothing left behind."""

import json
import os
import subprocess
import sys
import time
from dataclasses import replace

import pytest
from emulation_helpers import free_range

from gorila_sim.emulation import EmulationError, coordinator, emulate_scenario, on_ray
from gorila_sim.emulation.auth import new_key
from gorila_sim.results import read_results
from gorila_sim.scenario import NodeFault, load_scenario, resolve

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="signals processes by pid")
os.environ.setdefault("RAY_AUTH_MODE", "disabled")  # else Ray leaves a ~/.ray/auth_token
os.environ.setdefault("RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER", "0")  # every Ray node on 127.0.0.1, read at import
ray = pytest.importorskip("ray")
cluster_utils = pytest.importorskip("ray.cluster_utils")

SMALL = ["topology.actors=2", "training.learning_starts=200", "training.checkpoint_every=5"]
MACHINES = ("machine-a", "machine-b", "machine-c")

PATIENT = {"health_check_timeout_ms": 30_000, "health_check_failure_threshold": 20}
"""A raylet slow to answer on a loaded machine is not taken for dead."""


def start_cluster(temps) -> "cluster_utils.Cluster":
    """Three Ray nodes, each marked by a resource of its own and with its own temp directory (TMPDIR of its
    raylet and workers: `temps`/NAME); one more try when Ray's start-up times out on a loaded machine (it
    does, now and then, waiting for its GCS)."""
    for attempt in range(2):
        nodes = cluster_utils.Cluster()
        try:
            for number, name in enumerate(MACHINES):
                (temps / name).mkdir(exist_ok=True)
                extra = {"_system_config": PATIENT} if number == 0 else {}
                env = {"TMPDIR": str(temps / name)}
                nodes.add_node(num_cpus=1, resources={name: 1}, env_vars=env, **extra)
            nodes.wait_for_nodes()
            return nodes
        except Exception:
            nodes.shutdown()
            if attempt:
                raise
    raise AssertionError("unreachable")


@pytest.fixture(scope="module")
def temps(tmp_path_factory):
    return tmp_path_factory.mktemp("ray-nodes")


@pytest.fixture(scope="module")
def cluster(temps):
    nodes = start_cluster(temps)
    try:
        yield nodes
    finally:
        nodes.shutdown()


def names_by_node() -> dict[str, str]:
    """Each alive Ray node's id, and the name of the resource that marks it."""
    ray.init(address=os.environ["RAY_ADDRESS"], log_to_driver=False, configure_logging=False)
    try:
        return {
            node["NodeID"]: next(r for r in node["Resources"] if r.startswith("machine-"))
            for node in ray.nodes()
            if node["Alive"]
        }
    finally:
        ray.shutdown()


def test_shards_and_learners_on_distinct_ray_nodes_with_a_crash_and_a_pause(
    cluster, temps, tmp_path, monkeypatch
):
    monkeypatch.setenv("RAY_ADDRESS", cluster.address)
    scenario = load_scenario(resolve("shard-crash"), [*SMALL, "stop.sim_time=0.7"])
    pause = NodeFault("pause", ("shard-0",), at=0.15, until=0.25)
    out = tmp_path / "run"
    ports = free_range(20)
    result = emulate_scenario(
        replace(scenario, faults=(*scenario.faults, pause)),
        out,
        time_scale=2.0,
        ray="auto",
        placement="spread",
        ports=ports,
    )
    processes = result.summary["emulation"]["processes"]
    machine = names_by_node()
    where = {p["nodes"][0]: machine[p["ray_node"]] for p in processes if p["nodes"] and p["exitcode"] == 0}
    assert len(set(where.values())) == 3
    assert where["shard-0"] != where["shard-1"]
    shards = {where["shard-0"], where["shard-1"]}
    assert all(shards - {where[learner]} for learner in ("learner-0", "learner-1"))  # a shard elsewhere
    shard_1 = [p for p in processes if p["nodes"] == ["shard-1"]]
    assert len(shard_1) == 2 and shard_1[0]["exitcode"] == -9 and shard_1[1]["exitcode"] == 0
    assert shard_1[0]["ray_node"] == shard_1[1]["ray_node"]  # restarted where its disk is
    states = [row[3] for row in result.trace.records["lifecycle"] if row[2] == "shard-0"]
    assert states == ["up", "paused", "resumed"]

    # Each process kept its disks in its own Ray node's temp directory; none in the coordinator's.
    for process in processes:
        assert process["workdir"].startswith(str(temps / machine[process["ray_node"]]) + "/")
    assert sorted(path.name for path in (out / "emulation").iterdir()) == ["addresses.json", "traces"]
    addresses = json.loads((out / "emulation" / "addresses.json").read_text())
    assert len(addresses) == 7 and {port for _, port in addresses.values()} <= set(ports)
    assert list(temps.glob("*/gorila-emulation/*")) == []  # removed at the end

    # The restarted shard went on from its checkpoint (a fresh one would apply version 1 again).
    crashed_at = next(row[0] for row in result.trace.records["lifecycle"] if row[3] == "crashed")
    before = [row[6] for row in result.trace.records["gradients"] if row[3] == 1 and row[0] < crashed_at]
    after = [row for row in result.trace.records["gradients"] if row[3] == 1 and row[4] == "applied"]
    restarted = [row for row in after if row[0] >= 0.4]
    assert restarted, "the restarted shard applied no gradient"
    assert max(before) >= 5 and min(row[6] for row in restarted) > 5

    # The clocks: every process read the coordinator's (the same machine's: a true offset of 0).
    for process in processes:
        assert abs(process["clock_offset_s"]) <= process["clock_uncertainty_s"] < 0.05

    # The results at the coordinator are whole: every node traced, the summary and a report read them.
    traced = {row[3] for row in result.trace.records["messages"]} | {
        row[4] for row in result.trace.records["messages"]
    }
    assert {"shard-0", "shard-1", "learner-0", "learner-1"} <= traced
    stored = read_results(out)
    assert stored.summary["emulation"]["processes"] == processes
    report = subprocess.run(
        [sys.executable, "-m", "gorila_sim.cli", "report", str(out)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert report.returncode == 0, report.stderr
    assert "shard-1" in (out / "report" / "report.md").read_text()

    # What the real network added, per pair of Ray nodes: every message answered was timed.
    rows = result.summary["emulation"]["round_trips"]
    short = {name: node[: on_ray.NODE_ID_CHARS] for node, name in machine.items()}
    assert {(r["from"], r["to"]) for r in rows} >= {(short[where["learner-0"]], short[where["shard-0"]])}
    assert len({(r["from"], r["to"]) for r in rows if r["from"] != r["to"]}) >= 3
    network = result.summary["network"]
    assert sum(r["messages"] for r in rows) == network["delivered"] + network["rejected"]
    assert all(0 < r["median_ms"] <= r["p95_ms"] for r in rows)
    assert "What the real network added" in (out / "report" / "report.md").read_text()

    pids = ",".join(str(p["pid"]) for p in processes)
    left = subprocess.run(["ps", "-o", "pid=", "-p", pids], capture_output=True, text=True)
    assert left.stdout.split() == []


def test_a_process_that_dies_before_dialing_back_fails_the_run_at_once(cluster, tmp_path, monkeypatch):
    monkeypatch.setenv("RAY_ADDRESS", cluster.address)
    monkeypatch.setattr(coordinator, "WARM_TIMEOUT_S", 60.0)
    scenario = load_scenario(resolve("baseline"), [*SMALL, "stop.sim_time=0.3"])
    ray_module = on_ray.connect("auto")
    try:
        run = coordinator.Coordinator(scenario, tmp_path / "work")
        run.place_on(ray_module, "spread")
        # Its processes hold another key than the listener's: each dies dialing (an AuthenticationError).
        run.spec = replace(run.spec, key=new_key())
        started = time.monotonic()
        with pytest.raises(EmulationError, match=r"exited \(code 1\) before dialing back"):
            run.run()
        assert time.monotonic() - started < 30
    finally:
        ray_module.shutdown()


def test_an_unreachable_ray_address_is_one_line_and_a_failure():
    command = [sys.executable, "-m", "gorila_sim.cli", "emulate", "baseline", "--ray", "127.0.0.1:1"]
    done = subprocess.run(command, capture_output=True, text=True, timeout=120)
    assert done.returncode != 0
    assert len(done.stderr.strip().splitlines()) == 1 and "Ray" in done.stderr, done.stderr
