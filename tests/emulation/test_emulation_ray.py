"""Emulated runs on a Ray cluster of three nodes started on this machine: processes placed on distinct Ray
nodes, a crash and a pause done there for real, and nothing left behind."""

import os
import subprocess
import sys
from dataclasses import replace

import pytest

from gorila_sim.emulation import emulate_scenario
from gorila_sim.scenario import NodeFault, load_scenario, resolve

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="signals processes by pid")
os.environ.setdefault("RAY_AUTH_MODE", "disabled")  # else Ray leaves a ~/.ray/auth_token
os.environ.setdefault("RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER", "0")  # every Ray node on 127.0.0.1, read at import
ray = pytest.importorskip("ray")
cluster_utils = pytest.importorskip("ray.cluster_utils")

SMALL = ["topology.actors=2", "training.learning_starts=200", "training.checkpoint_every=5"]


PATIENT = {"health_check_timeout_ms": 30_000, "health_check_failure_threshold": 20}
"""A raylet slow to answer on a loaded machine is not taken for dead."""


def start_cluster() -> "cluster_utils.Cluster":
    """Three Ray nodes, each marked by a resource of its own; one more try when Ray's start-up times out on a
    loaded machine (it does, now and then, waiting for its GCS)."""
    for attempt in range(2):
        nodes = cluster_utils.Cluster()
        try:
            nodes.add_node(num_cpus=1, resources={"machine-a": 1}, _system_config=PATIENT)
            for name in ("machine-b", "machine-c"):
                nodes.add_node(num_cpus=1, resources={name: 1})
            nodes.wait_for_nodes()
            return nodes
        except Exception:
            nodes.shutdown()
            if attempt:
                raise
    raise AssertionError("unreachable")


@pytest.fixture(scope="module")
def cluster():
    nodes = start_cluster()
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


def test_shards_and_learners_on_distinct_ray_nodes_with_a_crash_and_a_pause(cluster, tmp_path, monkeypatch):
    monkeypatch.setenv("RAY_ADDRESS", cluster.address)
    scenario = load_scenario(resolve("shard-crash"), [*SMALL, "stop.sim_time=0.7"])
    pause = NodeFault("pause", ("shard-0",), at=0.15, until=0.25)
    result = emulate_scenario(
        replace(scenario, faults=(*scenario.faults, pause)), time_scale=2.0, ray="auto", placement="spread"
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
    states = [row[3] for row in result.trace.records["lifecycle"] if row[2] == "shard-0"]
    assert states == ["up", "paused", "resumed"]
    restarted = [row for row in result.trace.records["gradients"] if row[3] == 1 and row[4] == "applied"]
    assert [row for row in restarted if row[0] >= 0.4], "the restarted shard applied no gradient"
    pids = ",".join(str(p["pid"]) for p in processes)
    left = subprocess.run(["ps", "-o", "pid=", "-p", pids], capture_output=True, text=True)
    assert left.stdout.split() == []


def test_an_unreachable_ray_address_is_one_line_and_a_failure():
    command = [sys.executable, "-m", "gorila_sim.cli", "emulate", "baseline", "--ray", "127.0.0.1:1"]
    done = subprocess.run(command, capture_output=True, text=True, timeout=120)
    assert done.returncode != 0
    assert len(done.stderr.strip().splitlines()) == 1 and "Ray" in done.stderr, done.stderr
