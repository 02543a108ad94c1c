"""The mbmpo package stands on its own: it imports, dashboard and CLI included, where gorila_sim cannot be
imported; and runcommon, which both packages use, imports neither."""

import subprocess
import sys

import pytest

BLOCK = (
    "import sys\nfor name in {blocked!r}:\n    sys.modules[name] = None  # import of it raises ImportError\n"
)


def imports(modules: list[str], blocked: list[str]) -> subprocess.CompletedProcess[str]:
    code = BLOCK.format(blocked=blocked) + "".join(f"import {module}\n" for module in modules)
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)


def test_the_block_refuses_gorila_sim():
    done = imports(["gorila_sim.sweep"], blocked=["gorila_sim"])
    assert done.returncode != 0
    assert "ModuleNotFoundError" in done.stderr


@pytest.mark.parametrize("module", ["mbmpo.train", "mbmpo.cli", "mbmpo.dashboard"])
def test_mbmpo_imports_without_gorila_sim(module):
    done = imports([module], blocked=["gorila_sim"])
    assert done.returncode == 0, done.stderr


def test_runcommon_imports_without_either_package():
    done = imports(
        ["runcommon.charts", "runcommon.cores", "runcommon.display"], blocked=["gorila_sim", "mbmpo"]
    )
    assert done.returncode == 0, done.stderr
