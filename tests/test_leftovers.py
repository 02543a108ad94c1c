"""Directories marked by a run are removed once their process is gone, and only then: never a live run's,
another program's, or one marked on another machine."""

import socket
import subprocess
import sys

from gorila_sim import leftovers


def marked_by(directory, pid: int, host: str | None = None) -> None:
    directory.mkdir()
    started = leftovers._started(pid)
    (directory / leftovers.OWNER).write_text(f"{pid} {started} {host or socket.gethostname()}")


def test_only_the_directories_of_gone_processes_of_this_machine_are_removed(tmp_path):
    live = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    try:
        marked_by(tmp_path / "live", live.pid)
        marked_by(tmp_path / "elsewhere", live.pid, host="another-machine")
        marked_by(tmp_path / "gone", dead.pid)
        marked_by(tmp_path / "elsewhere-gone", dead.pid, host="another-machine")
        (tmp_path / "unmarked").mkdir()
        (tmp_path / "file").write_text("not a directory")
        dead.wait()
        leftovers.remove_left_behind(tmp_path.iterdir())
        left = sorted(path.name for path in tmp_path.iterdir())
        assert left == ["elsewhere", "elsewhere-gone", "file", "live", "unmarked"]
    finally:
        live.kill()
        live.wait()


def test_a_pid_used_again_by_another_process_does_not_keep_a_directory(tmp_path):
    marked_by(tmp_path / "run", 1)
    mark = tmp_path / "run" / leftovers.OWNER
    mark.write_text(f"1 -1 {socket.gethostname()}")  # pid 1, but not the process that started then
    leftovers.remove_left_behind([tmp_path / "run"])
    assert not (tmp_path / "run").exists()


def test_this_process_marks_its_own_and_keeps_it(tmp_path):
    leftovers.mark(tmp_path)
    leftovers.remove_left_behind([tmp_path])
    assert tmp_path.exists()
    leftovers.unmark(tmp_path)
    assert list(tmp_path.iterdir()) == []
