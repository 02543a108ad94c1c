"""A private Ray (`--ray local`, or `--ray auto` with no cluster running) listens on loopback only, writes
no token to ~/.ray, and says that it started; an address where no cluster answers is one line, not a
traceback."""

import json
import shutil
import socket
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

pytest.importorskip("ray")
pytestmark = pytest.mark.skipif(
    not sys.platform.startswith("linux") or shutil.which("ss") is None, reason="reads /proc and ss"
)

PROBE = textwrap.dedent(
    """
    import json, os, subprocess, sys
    from pathlib import Path
    from gorila_sim.ray_local import init_ray

    ray = init_ray(sys.argv[1], num_cpus=1)
    assert ray.get(ray.remote(lambda: 1).remote()) == 1  # a worker, with its own server, is up too
    parents = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rpartition(")")[2].split()
        except OSError:
            continue
        parents[int(stat.parent.name)] = int(fields[1])
    ours = {os.getpid()}
    while grown := {pid for pid, parent in parents.items() if parent in ours} - ours:
        ours |= grown
    listening = []
    for line in subprocess.run(["ss", "-ltnpH"], capture_output=True, text=True).stdout.splitlines():
        local, users = line.split()[3], line.split()[-1]
        for pid in users.split("pid=")[1:]:
            if int(pid.split(",")[0]) in ours:
                listening.append([local, users.split('"')[1]])
    ray.shutdown()
    print(json.dumps(listening))
    """
)


def probe(address: str, home: Path) -> subprocess.CompletedProcess:
    """Runs PROBE with `address` in a fresh process whose home is `home`."""
    env = {"PATH": "/usr/bin:/bin", "HOME": str(home)}
    return subprocess.run(
        [sys.executable, "-c", PROBE, address], capture_output=True, text=True, env=env, timeout=300
    )


def loopback(local: str) -> bool:
    host = local.rpartition(":")[0].strip("[]").removeprefix("::ffff:")
    return host.startswith("127.") or host == "::1"


def test_a_private_ray_listens_on_loopback_only_and_writes_no_token(tmp_path):
    run = probe("local", tmp_path)
    assert run.returncode == 0, run.stderr
    listening = json.loads(run.stdout.splitlines()[-1])
    assert {"gcs_server", "raylet"} <= {name for _, name in listening}
    assert [entry for entry in listening if not loopback(entry[0])] == []
    assert not (tmp_path / ".ray" / "auth_token").exists()


def gcs_running() -> bool:
    for comm in Path("/proc").glob("[0-9]*/comm"):
        try:
            if comm.read_text().strip() == "gcs_server":
                return True
        except OSError:
            continue
    return False


@pytest.mark.skipif(gcs_running(), reason="a Ray cluster runs on this machine: auto would join it")
def test_auto_without_a_cluster_starts_a_private_ray_and_says_so(tmp_path):
    run = probe("auto", tmp_path)
    assert run.returncode == 0, run.stderr
    assert "no Ray cluster running: starting a private one on 127.0.0.1" in run.stderr
    assert "Traceback" not in run.stderr


def test_an_address_without_a_cluster_is_one_line(tmp_path, capsys):
    from gorila_sim.cli import main

    with socket.socket() as unused:
        unused.bind(("127.0.0.1", 0))
        port = unused.getsockname()[1]
    status = main(["sweep", "baseline", "--ray", f"127.0.0.1:{port}", "--out", str(tmp_path / "sweep")])
    assert status == 1
    error = capsys.readouterr().err.strip()
    assert error.startswith(f"gorila-sim sweep: no Ray cluster answers at 127.0.0.1:{port}")
    assert "\n" not in error
