"""Every bench script imports, has its section in bench/README.md, and the RESULT-line check CI runs."""

import importlib.util
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tools"))
sys.path.insert(0, str(ROOT / "bench"))  # as when a script runs: benches may import each other
from bench_quick import bench_scripts, documented_keys, result_problems  # noqa: E402

README = (ROOT / "bench" / "README.md").read_text()
SCRIPTS = bench_scripts()


def test_there_are_benches():
    assert len(SCRIPTS) >= 10


@pytest.mark.parametrize("script", SCRIPTS, ids=[s.name for s in SCRIPTS])
def test_each_bench_imports_and_has_a_readme_section(script: Path):
    spec = importlib.util.spec_from_file_location(f"bench_{script.stem}", script)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)  # a broken import fails here, not at the end of CI
    assert callable(module.main)
    assert documented_keys(README, script.name), f"bench/README.md has no section naming {script.name}"
    assert "mode=" in script.read_text()


def test_a_result_line_passes_only_with_mode_and_documented_keys():
    readme = "## a.py and b.py\n\n`RESULT speed=`, `steps_to_475_seedN=`, `p99_{fast,slow}=`, `gap_…=`.\n"
    good = "RESULT mode=quick speed=3 steps_to_475_seed12=none p99_slow=4 gap_x=1"
    assert result_problems("b.py", f"a table\n{good}\n", readme) == []
    assert result_problems("a.py", good, readme, mode="full") == ["mode=quick, not mode=full"]
    assert result_problems("a.py", "RESULT speed=3", readme) == ["mode=None, not mode=quick"]
    assert result_problems("a.py", "RESULT mode=quick speedy=3 p99_medium=1", readme) == [
        "keys not in its section of bench/README.md: speedy, p99_medium"
    ]
    assert result_problems("c.py", "RESULT mode=quick", readme) == [
        "bench/README.md has no section named c.py"
    ]
    assert result_problems("a.py", f"{good}\nTraceback", readme)[0].startswith("the last line is not")


def test_gpu_check_without_a_gpu_says_so_and_succeeds():
    if torch.cuda.is_available():
        pytest.skip("a GPU is here: bench/gpu_check.sh would run the whole check")
    done = subprocess.run(
        [ROOT / "bench" / "gpu_check.sh"], capture_output=True, text=True, timeout=120, env=python_first()
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines()[-1].startswith("gpu_check: no CUDA GPU")


def test_gpu_check_refuses_an_unknown_argument():
    done = subprocess.run([ROOT / "bench" / "gpu_check.sh", "--full"], capture_output=True, text=True)
    assert done.returncode == 2
    assert done.stderr == "gpu_check: unknown argument '--full' (the only one is --quick)\n"


def python_first() -> dict[str, str]:
    """The environment with PYTHON set to the interpreter running the tests."""
    return {**os.environ, "PYTHON": sys.executable}
