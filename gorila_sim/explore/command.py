"""The `explore` subcommand of `gorila-sim`: search fault schedules for a failing property, shrink the
failure, print the line that replays it and what the runs covered."""

from __future__ import annotations

import argparse
import shutil
import sys
from pathlib import Path
from typing import Any


def add_command(subparsers: Any, positive_int: Any, seed: Any) -> None:
    """Add `explore` to the `gorila-sim` subparsers."""
    explore = subparsers.add_parser(
        "explore",
        help="run a scenario's fault profile over many seeds until a property fails; shrink the failure",
    )
    explore.add_argument("scenario", help="library scenario name or TOML file (with an [explore] section)")
    explore.add_argument(
        "--property",
        action="append",
        required=True,
        metavar="P",
        help="max-staleness:TAU, progress:WINDOW, finite, return:Y@STEPS, restore or "
        "package.module:function (repeatable)",
    )
    explore.add_argument("--runs", type=positive_int, required=True, metavar="N", help="seeds to run")
    explore.add_argument("--seed", type=seed, default=0, metavar="S", help="first seed (default 0)")
    where = explore.add_mutually_exclusive_group()
    where.add_argument("--workers", type=positive_int, default=None, metavar="K", help="local processes")
    where.add_argument(
        "--ray", default=None, metavar="ADDR", help="run on a Ray cluster (local: a private one on 127.0.0.1)"
    )
    explore.add_argument("--out", default=None, metavar="DIR", help="default runs/explore-NAME")
    explore.add_argument(
        "--overwrite", action="store_true", help="replace --out if it holds anything (else refused)"
    )
    explore.add_argument("--keep-going", action="store_true", help="run every seed, not only to a failure")
    explore.add_argument(
        "--check-determinism", action="store_true", help="run every seed twice; fail on a trace difference"
    )
    explore.add_argument(
        "--set", action="append", default=[], metavar="KEY=VALUE", help="override a field (repeatable)"
    )
    explore.set_defaults(handler=_explore)


def _explore(args: argparse.Namespace) -> int:
    from rich.console import Console
    from rich.progress import Progress
    from rich.table import Table

    from ..results import OutputError, check_out
    from ..scenario import ScenarioError, load_scenario, resolve
    from ..sweep import Workers, usable_cores
    from .find import explore
    from .properties import PropertyError, parse_property

    try:
        properties = [parse_property(text) for text in args.property]
    except PropertyError as error:
        print(f"gorila-sim explore: --{error}", file=sys.stderr)
        return 2
    try:
        scenario = load_scenario(resolve(args.scenario), args.set)
    except ScenarioError as error:
        print(f"gorila-sim explore: {error}", file=sys.stderr)
        return 2
    try:
        out = check_out(args.out or Path("runs") / f"explore-{scenario.name}", args.overwrite)
    except OutputError as error:
        print(f"gorila-sim explore: {error}", file=sys.stderr)
        return 2
    if out.is_dir() and args.overwrite:
        shutil.rmtree(out)
    workers = args.workers or min(args.runs, usable_cores())
    where = f"on Ray at {args.ray}" if args.ray else f"in {workers} local process(es)"
    console = Console()
    names = ", ".join(prop.name for prop in properties)
    console.print(f"exploring {scenario.name}: up to {args.runs} seeds from {args.seed} {where}; {names}")
    seeds = range(args.seed, args.seed + args.runs)
    with Progress(console=console, transient=True) as progress, Workers(workers, args.ray) as pool:
        task = progress.add_task("runs", total=args.runs)
        finding = explore(
            scenario,
            properties,
            seeds,
            out,
            pool,
            args.keep_going,
            args.check_determinism,
            on_report=lambda _: progress.advance(task),
            on_shrinking=lambda: progress.update(task, description="shrinking"),
        )
    table = Table("what", "which", "seen", title=f"coverage of {finding.coverage.runs} runs")
    for row in finding.coverage.rows():
        table.add_row(*row)
    console.print(table)
    for kind in finding.coverage.never_fired():
        console.print(f"{kind}: switched on, but never fired within a run's window")
    if finding.failure is None:
        console.print(f"no property failed in {len(finding.reports)} runs")
        return 0
    console.print(finding.summary(), soft_wrap=True)
    if finding.shrunk is not None:
        for step in finding.shrunk.steps:
            console.print(f"  kept: {step}", soft_wrap=True)
    console.print(f"wrote {', '.join(map(str, finding.written))}", soft_wrap=True)
    return 1
