"""An emulated run, learning, while thousands of idle and half-sent connections are held open to one of its
shards: the run goes on and completes with its results."""

import contextlib
import json
import resource
import socket
import subprocess
import sys
import time

import pytest

from gorila_sim.emulation.traces import read_trace
from gorila_sim.results import read_results

FLOOD = 3_000
"""Connections opened to shard-0, half of them idle and half with a request's header cut short."""
RUN_LIMIT = 1_024
"""File descriptors each process of the run may hold (a common default)."""

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="sets resource limits")


def last_update(traces) -> float:
    """The run time of the latest update applied that the processes of a run have traced (-1: none)."""
    rows = [row for path in traces for row in read_trace(path).records["gradients"] if row[4] == "applied"]
    return max((row[0] for row in rows), default=-1.0)


def test_a_run_completes_while_its_shard_is_flooded_with_connections(tmp_path):
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard != resource.RLIM_INFINITY and hard < FLOOD + 512:
        pytest.skip(f"the flood needs {FLOOD + 512} file descriptors, this machine allows {hard}")
    out = tmp_path / "run"
    overrides = ["topology.actors=2", "training.learning_starts=200", "training.checkpoint_every=5"]
    command = [sys.executable, "-m", "gorila_sim.cli", "emulate", "baseline", "--out", str(out)]
    command += [f"--set={override}" for override in [*overrides, "stop.sim_time=8"]]

    def limited() -> None:
        resource.setrlimit(resource.RLIMIT_NOFILE, (RUN_LIMIT, hard))

    resource.setrlimit(
        resource.RLIMIT_NOFILE, (FLOOD + 512 if hard == resource.RLIM_INFINITY else hard, hard)
    )
    run = subprocess.Popen(command, preexec_fn=limited, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    flood: list[socket.socket] = []
    try:
        staging = ".run.partial-*/emulation"
        deadline = time.monotonic() + 90
        while (flooded_at := last_update(tmp_path.glob(f"{staging}/traces/*.pickle"))) < 0:
            assert run.poll() is None, run.stderr.read().decode() if run.stderr else ""
            assert time.monotonic() < deadline, "no update applied after 90 s"
            time.sleep(0.2)
        port = json.loads(next(tmp_path.glob(f"{staging}/addresses.json")).read_text())["shard-0"][1]
        for _ in range(FLOOD):
            connection = socket.socket()
            connection.setblocking(False)
            connection.connect_ex(("127.0.0.1", port))
            flood.append(connection)
        time.sleep(0.5)
        for connection in flood[::2]:
            with contextlib.suppress(OSError):  # not connected (yet), or refused: an idle one then
                connection.send(b"POST /message HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Le")
        _, stderr = run.communicate(timeout=120)
    finally:
        for connection in flood:
            connection.close()
        if run.poll() is None:
            run.kill()
        resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))
    assert run.returncode == 0, stderr.decode()[-3000:]
    results = read_results(out)
    gradients = results.tables["gradients"]
    applied = (gradients["fate"] == "applied") & (gradients["shard"] == 0)
    assert (gradients["time"][applied] > flooded_at + 1.0).any()  # the flooded shard went on learning
    assert results.summary["network"]["refused"] > 0  # the connection limit was reached, and held
