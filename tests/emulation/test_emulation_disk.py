"""A node's disk: each write flushed to the device with its directory, and a write that fails (no file
descriptor left) counted and tried again, the previous contents whole meanwhile."""

import asyncio
import os
import resource
import sys
from contextlib import contextmanager

import pytest

from gorila_sim.emulation.disk import RETRY_S, Disk


@contextmanager
def no_file_descriptor_left():
    """No file can be opened inside: the process may hold no descriptor numbered from its lowest free one."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    lowest_free = os.open(os.devnull, os.O_RDONLY)
    os.close(lowest_free)
    resource.setrlimit(resource.RLIMIT_NOFILE, (lowest_free, hard))
    try:
        yield
    finally:
        resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))


def test_every_write_is_flushed_with_its_directory(tmp_path, monkeypatch):
    flushed: list[str] = []
    fsync = os.fsync

    def recording(fd: int) -> None:
        flushed.append(os.readlink(f"/proc/self/fd/{fd}"))
        fsync(fd)

    monkeypatch.setattr(os, "fsync", recording)
    disk = Disk(tmp_path / "shard-0.pickle")
    disk["checkpoint"] = 1
    assert flushed == [str(tmp_path / "shard-0.pickle.partial"), str(tmp_path)]
    assert Disk(tmp_path / "shard-0.pickle") == {"checkpoint": 1}


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")
def test_a_failed_write_is_counted_kept_and_tried_again(tmp_path):
    path = tmp_path / "shard-0.pickle"

    async def run() -> Disk:
        disk = Disk(path)
        disk["checkpoint"] = 1
        with no_file_descriptor_left():
            disk["checkpoint"] = 2
        assert disk.failed_writes == 1
        assert Disk(path)["checkpoint"] == 1  # the previous contents, whole
        await asyncio.sleep(RETRY_S * 1.5)
        return disk

    disk = asyncio.run(run())
    assert disk.failed_writes == 1 and Disk(path)["checkpoint"] == 2  # tried again, with nothing changed
    with no_file_descriptor_left():
        disk["other"] = 3
    disk["checkpoint"] = 4  # no event loop: the next change writes everything
    assert disk.failed_writes == 2 and Disk(path) == {"checkpoint": 4, "other": 3}
