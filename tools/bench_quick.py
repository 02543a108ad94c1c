"""Run every bench script's --quick form; check each ends with a documented RESULT line; report all.

    python tools/bench_quick.py [NAME ...]     (NAME: a script in bench/, with or without .py)

A bench fails when it exits non-zero, when its last line is not `RESULT key=value ...` with
`mode=quick`, or when a key of that line is missing from the script's section of bench/README.md.
Every bench runs, whatever failed before it; the exit status is 1 if any failed.
"""

from __future__ import annotations

import re
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BENCH = ROOT / "bench"


def bench_scripts() -> list[Path]:
    return sorted(BENCH.glob("*.py"))


def documented_keys(readme: str, script: str) -> list[re.Pattern[str]]:
    """The RESULT keys of the README sections whose heading names `script`, as patterns: in a key, `N`
    stands for a number, `…` for any word and `{a,b}` for either of a and b."""
    patterns = []
    for section in re.split(r"^## ", readme, flags=re.MULTILINE)[1:]:
        heading, _, body = section.partition("\n")
        if script not in heading.split():
            continue
        for key in re.findall(r"([A-Za-z0-9_{},…]+)=", body):
            pattern = re.escape(key).replace("…", r"\w+").replace("N", r"\d+")
            pattern = re.sub(r"\\\{([\w,]+)\\\}", lambda m: "(" + m.group(1).replace(",", "|") + ")", pattern)
            patterns.append(re.compile(pattern))
    return patterns


def result_problems(script: str, output: str, readme: str, mode: str = "quick") -> list[str]:
    """What is wrong with the RESULT line that ends `output` of `script` (empty if nothing)."""
    lines = output.strip().splitlines()
    last = lines[-1] if lines else ""
    if not last.startswith("RESULT "):
        return [f"the last line is not a RESULT line: {last[:80]!r}"]
    fields = dict(field.partition("=")[::2] for field in last.split()[1:])
    problems = []
    if fields.get("mode") != mode:
        problems.append(f"mode={fields.get('mode')}, not mode={mode}")
    patterns = documented_keys(readme, script)
    if not patterns:
        problems.append(f"bench/README.md has no section named {script}")
    undocumented = [k for k in fields if k != "mode" and not any(p.fullmatch(k) for p in patterns)]
    if patterns and undocumented:
        problems.append(f"keys not in its section of bench/README.md: {', '.join(undocumented)}")
    return problems


def main(argv: list[str]) -> int:
    wanted = {name.removesuffix(".py") for name in argv}
    scripts = [s for s in bench_scripts() if not wanted or s.stem in wanted]
    unknown = wanted - {s.stem for s in scripts}
    if unknown:
        print(f"bench_quick: no bench named {', '.join(sorted(unknown))}", file=sys.stderr)
        return 2
    readme = (BENCH / "README.md").read_text()
    outcomes = []
    for script in scripts:
        print(f"== {script.name} --quick", flush=True)
        started = time.perf_counter()
        process = subprocess.Popen(
            [sys.executable, str(script), "--quick"],
            cwd=ROOT,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        assert process.stdout is not None
        output = []
        for line in process.stdout:
            print(line, end="", flush=True)
            output.append(line)
        status = process.wait()
        seconds = time.perf_counter() - started
        problems = [f"exit status {status}"] if status else []
        problems += result_problems(script.name, "".join(output), readme)
        outcomes.append((script.name, seconds, problems))
    print("\nbench quick forms:")
    for name, seconds, problems in outcomes:
        print(f"  {name:<24} {seconds:7.1f} s  {'; '.join(problems) or 'ok'}")
    failed = [name for name, _, problems in outcomes if problems]
    total = sum(seconds for _, seconds, _ in outcomes)
    print(f"  {len(outcomes)} benches in {total:.0f} s; failed: {' '.join(failed) or 'none'}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
