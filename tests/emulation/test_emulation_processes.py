"""Emulated runs of library scenarios as OS processes: a results directory like a simulated run's, crashes
that really kill and a shard that restarts from its checkpoint, and no process left behind."""

import contextlib
import json
import os
import signal
import subprocess
import sys
import time
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
from emulation_helpers import free_range

from gorila_sim.emulation import EmulationError, emulate_scenario
from gorila_sim.results import read_results
from gorila_sim.scenario import NodeFault, load_scenario, resolve

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")

SMALL = ["topology.actors=2", "training.learning_starts=200"]
"""Fewer processes and an earlier start of learning, to keep the machine's load down."""
LATE = 0.2  # seconds of emulated time a fault may fire late on a loaded machine


def test_an_emulated_scenario_writes_the_results_of_a_run(tmp_path):
    scenario = load_scenario(resolve("baseline"), [*SMALL, "stop.sim_time=0.5"])
    emulate_scenario(scenario, tmp_path, nodes_per_process=3, time_scale=3.0)
    run = read_results(tmp_path)
    summary = run.summary
    assert summary["env_steps"] > 500
    assert summary["gradients"]["applied"] > 0
    assert summary["sim_time"] == pytest.approx(0.5, abs=0.05)
    processes = summary["emulation"]["processes"]
    assert [p["nodes"] for p in processes] == [
        ["shard-0", "shard-1", "replay-0"],
        ["learner-0", "learner-1", "actor-0"],
        ["actor-1"],
    ]
    assert [p["exitcode"] for p in processes] == [0, 0, 0]
    lifecycle = run.tables["lifecycle"]
    assert sorted(lifecycle["node"]) == sorted(scenario.nodes) and set(lifecycle["state"]) == {"up"}
    episodes = run.tables["episodes"]
    assert np.all(np.diff(episodes["env_steps"]) > 0)
    assert episodes["env_steps"][-1] <= summary["env_steps"]
    assert json.loads((tmp_path / "scenario.json").read_text())["scenario"]["name"] == "baseline"
    (loopback,) = summary["emulation"]["round_trips"]  # one machine: this one
    assert (loopback["from"], loopback["to"]) == ("local", "local")
    assert loopback["messages"] == summary["network"]["delivered"] + summary["network"]["rejected"] > 0
    assert 0 < loopback["median_ms"] <= loopback["p95_ms"] < 1e3
    # baseline's links: a lognormal latency with a median of 0.5 ms (run time), at a time scale of 3
    assert 1.0 < loopback["modelled_median_ms"] < 3.0


def test_a_crash_kills_and_restarts_a_shard_at_its_checkpoint_and_a_pause_holds_one(tmp_path):
    every = 5
    overrides = [*SMALL, "stop.sim_time=0.7", f"training.checkpoint_every={every}"]
    scenario = load_scenario(resolve("shard-crash"), overrides)
    pause = NodeFault("pause", ("shard-0",), at=0.15, until=0.25)
    result = emulate_scenario(replace(scenario, faults=(*scenario.faults, pause)), time_scale=2.0)
    shard_1 = [p for p in result.summary["emulation"]["processes"] if p["nodes"] == ["shard-1"]]
    assert len(shard_1) == 2
    assert shard_1[0]["exitcode"] == -signal.SIGKILL
    # Faults never fire early; on a loaded machine they may fire late, so only lateness is loose.
    assert 0.29 <= shard_1[0]["ended"] <= 0.3 + LATE
    assert 0.39 <= shard_1[1]["started"] <= 0.4 + LATE
    assert shard_1[1]["pid"] != shard_1[0]["pid"]
    states = [(row[2], row[3]) for row in result.trace.records["lifecycle"] if row[2] == "shard-1"]
    assert states == [("shard-1", "up"), ("shard-1", "crashed"), ("shard-1", "up")]

    lifecycle = [row for row in result.trace.records["lifecycle"] if row[2] == "shard-0"]
    assert [row[3] for row in lifecycle] == ["up", "paused", "resumed"]
    paused, resumed = lifecycle[1][0], lifecycle[2][0]
    assert 0.14 <= paused <= 0.15 + LATE and paused < resumed
    held = [row[0] for row in result.trace.records["gradients"] if row[3] == 0 and paused < row[0] < resumed]
    assert held == []  # the paused shard did nothing

    rows = [row for row in result.trace.records["gradients"] if row[3] == 1 and row[4] == "applied"]
    before = [row[6] for row in rows if row[0] < 0.3]
    after = [row[6] for row in rows if row[0] >= 0.4]
    assert max(before) >= every and after
    resumed_at = after[0] - 1  # the version it restored: the update after the restart is one past it
    assert resumed_at % every == 0
    assert max(before) - every < resumed_at <= max(before) + every


def parents() -> dict[int, int]:
    """Every live process's parent, from /proc."""
    found = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit() and alive(int(entry.name)):
            try:
                found[int(entry.name)] = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            except (OSError, ValueError):
                continue
    return found


def descendants(pid: int) -> set[int]:
    """Every process below `pid`."""
    children: dict[int, list[int]] = {}
    for child, parent in parents().items():
        children.setdefault(parent, []).append(child)
    found, todo = set(), [pid]
    while todo:
        for child in children.get(todo.pop(), []):
            found.add(child)
            todo.append(child)
    return found


def alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


def known(paths) -> dict[str, list]:
    """The addresses (node -> [host, port]) that a run's coordinator keeps, or none yet."""
    for path in paths:
        with contextlib.suppress(OSError, ValueError):
            return json.loads(path.read_text())
    return {}


def listening(ports: set[int]) -> set[int]:
    """The processes that hold a TCP socket listening on one of `ports`."""
    inodes = set()
    for line in Path("/proc/net/tcp").read_text().splitlines()[1:]:
        fields = line.split()
        if fields[3] == "0A" and int(fields[1].split(":")[1], 16) in ports:  # 0A: LISTEN
            inodes.add(f"socket:[{fields[9]}]")
    pids = set()
    for fd in Path("/proc").glob("[0-9]*/fd/*"):
        with contextlib.suppress(OSError):
            if os.readlink(fd) in inodes:
                pids.add(int(fd.parts[2]))
    return pids


def test_a_failing_run_raises_and_leaves_no_process(tmp_path):
    scenario = load_scenario(resolve("baseline"), [*SMALL, "training.env_id=NoSuchEnv-v0"])
    before = descendants(os.getpid())
    with pytest.raises(EmulationError, match="NoSuchEnv"):
        emulate_scenario(scenario, tmp_path)
    family = parents()
    # What may stay: multiprocessing's own helpers (the fork server), children of this process; no workers.
    assert {pid for pid in descendants(os.getpid()) - before if family.get(pid) != os.getpid()} == set()


@pytest.mark.parametrize("how", [signal.SIGINT, signal.SIGKILL], ids=["ctrl-c", "killed"])
def test_no_process_outlives_an_interrupted_coordinator(tmp_path, how):
    out = tmp_path / "run"
    emulate = [sys.executable, "-m", "gorila_sim.cli", "emulate", "baseline"]
    emulate += [f"--set={override}" for override in SMALL]
    command = [*emulate, "--out", str(out), "--set=stop.sim_time=120"]
    temp = tmp_path / "temp"  # the coordinator's temp directory, multiprocessing's included
    temp.mkdir()
    env = {**os.environ, "TMPDIR": str(temp)}
    coordinator = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=env)
    everyone: set[int] = set()
    try:
        addresses = ".run.partial-*/emulation/addresses.json"  # written beside `out` until the run ends
        deadline = time.monotonic() + 60
        while len(published := known(tmp_path.glob(addresses))) < 7 and time.monotonic() < deadline:
            assert coordinator.poll() is None, coordinator.stderr.read().decode()
            time.sleep(0.1)
        time.sleep(0.5)  # running
        workers = listening({port for _, port in published.values()})
        everyone = descendants(coordinator.pid)
        assert len(workers) == 7 and workers <= everyone
        coordinator.send_signal(how)
        coordinator.wait(timeout=30)
        deadline = time.monotonic() + 10
        while any(alive(pid) for pid in everyone) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert [pid for pid in everyone if alive(pid)] == []
        if how == signal.SIGINT:
            assert coordinator.returncode == 130
            assert b"interrupted at" in coordinator.stderr.read()
            assert sorted(path.name for path in tmp_path.iterdir()) == ["run", "temp"]  # no partial directory
            stored = read_results(out)  # the run so far, marked incomplete
            assert stored.interrupted_at is not None and stored.summary["episodes"] > 0
        else:  # the next run removes the temp and partial directories that the killed one left
            left = [*temp.glob("pymp-*"), *tmp_path.glob(".run.partial-*")]
            assert len(left) == 2
            again = [*emulate, "--out", str(tmp_path / "again"), "--set=stop.sim_time=0.2"]
            subprocess.run(again, stdout=subprocess.DEVNULL, check=True, env=env, timeout=120)
            assert [path for path in left if path.exists()] == []
            assert list(temp.iterdir()) == []
            assert sorted(path.name for path in tmp_path.iterdir()) == ["again", "temp"]
    finally:
        for pid in [coordinator.pid, *everyone]:
            if alive(pid):
                os.kill(pid, signal.SIGKILL)
        coordinator.wait(timeout=10)


@pytest.mark.parametrize("where", ["relative/dir", "/dev/null/dir"])
def test_a_bad_checkpoint_dir_is_one_line_naming_it_and_a_failure(where):
    command = [sys.executable, "-m", "gorila_sim.cli", "emulate", "baseline", "--checkpoint-dir", where]
    done = subprocess.run(command, capture_output=True, text=True, timeout=120)
    assert done.returncode != 0
    assert "checkpoint" in done.stderr.strip().splitlines()[-1] and "Traceback" not in done.stderr, (
        done.stderr
    )


def test_checkpoints_go_to_a_directory_of_the_run_in_the_checkpoint_dir(tmp_path):
    overrides = [*SMALL, "training.checkpoint_every=5", "stop.sim_time=0.5"]
    result = emulate_scenario(
        load_scenario(resolve("shard-crash"), overrides),
        tmp_path / "run",
        checkpoint_dir=tmp_path / "checkpoints",
    )
    (run,) = (tmp_path / "checkpoints").iterdir()
    assert run.name.startswith("shard-crash-")
    assert {p["workdir"] for p in result.summary["emulation"]["processes"]} == {str(run)}
    assert (run / "disks" / "shard-1.pickle").exists()
    assert not (tmp_path / "run" / "emulation" / "disks").exists()


def test_the_work_directory_of_a_killed_run_without_out_is_removed_by_the_next_run(tmp_path):
    def emulate(sim_time: float) -> list[str]:
        overrides = [*SMALL, f"stop.sim_time={sim_time}"]
        code = "import sys; from gorila_sim.emulation import emulate_scenario; "
        code += "from gorila_sim.scenario import load_scenario, resolve; "
        code += "emulate_scenario(load_scenario(resolve('baseline'), sys.argv[1:]))"
        return [sys.executable, "-c", code, *overrides]

    env = {**os.environ, "TMPDIR": str(tmp_path)}
    killed = subprocess.Popen(emulate(120), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=env)
    try:
        addresses = "gorila-emulation-*/run/addresses.json"
        deadline = time.monotonic() + 60
        while len(published := known(tmp_path.glob(addresses))) < 7 and time.monotonic() < deadline:
            assert killed.poll() is None, killed.stderr.read().decode() if killed.stderr else ""
            time.sleep(0.1)
        time.sleep(0.5)  # running
        workers = listening({port for _, port in published.values()})
        killed.kill()
        killed.wait(timeout=30)
        deadline = time.monotonic() + 10
        while any(alive(pid) for pid in workers) and time.monotonic() < deadline:
            time.sleep(0.1)
        left = list(tmp_path.glob("gorila-emulation-*"))
        assert len(left) == 1
        subprocess.run(emulate(0.2), stdout=subprocess.DEVNULL, check=True, env=env, timeout=120)
        assert not left[0].exists()
        assert list(tmp_path.iterdir()) == []
    finally:
        if killed.poll() is None:
            killed.kill()
        killed.wait(timeout=10)


@pytest.mark.parametrize("ports", ["9000-8000", "0-10", "http", "70000-70010"])
def test_a_bad_port_range_is_one_line_naming_it_and_a_failure(ports):
    command = [sys.executable, "-m", "gorila_sim.cli", "emulate", "baseline", "--port-range", ports]
    done = subprocess.run(command, capture_output=True, text=True, timeout=120)
    assert done.returncode != 0
    assert "--port-range" in done.stderr.strip().splitlines()[-1] and "Traceback" not in done.stderr


def test_servers_listen_inside_the_port_range_and_a_range_too_small_is_one_line(tmp_path):
    ports = free_range(10)
    scenario = load_scenario(resolve("baseline"), [*SMALL, "stop.sim_time=0.3"])
    emulate_scenario(scenario, tmp_path / "run", ports=ports)
    addresses = json.loads((tmp_path / "run" / "emulation" / "addresses.json").read_text())
    assert len(addresses) == 7 and {port for _, port in addresses.values()} <= set(ports)

    small = f"{ports.start}-{ports.start + 2}"  # 3 ports for 7 servers
    command = [sys.executable, "-m", "gorila_sim.cli", "emulate", "baseline", "--port-range", small]
    command += [f"--set={override}" for override in SMALL] + ["--out", str(tmp_path / "small")]
    done = subprocess.run(command, capture_output=True, text=True, timeout=120)
    assert done.returncode == 1
    assert done.stderr.strip().splitlines() == [
        f"gorila-sim emulate: port range {small}: no free port left on 127.0.0.1"
    ]
