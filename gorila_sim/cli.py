"""The `gorila-sim` command. Subcommands import what they need, so `--help` answers at once."""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import time
from collections.abc import Sequence
from pathlib import Path

from . import __version__


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a positive whole number, got {text!r}") from None
    if value <= 0:
        raise argparse.ArgumentTypeError(f"expected a positive whole number, got {text!r}")
    return value


def _positive_number(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a positive number, got {text!r}") from None
    if not 0 < value < float("inf"):
        raise argparse.ArgumentTypeError(f"expected a positive number, got {text!r}")
    return value


def _absolute_path(text: str) -> str:
    if not os.path.isabs(text):
        raise argparse.ArgumentTypeError(f"expected an absolute path (same on each machine), got {text!r}")
    return text


def _port_range(text: str) -> range:
    from .emulation.ports import port_range

    try:
        return port_range(text)
    except ValueError as error:
        raise argparse.ArgumentTypeError(str(error).removeprefix("port range: ")) from None


def _seed(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a non-negative whole number, got {text!r}") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"expected a non-negative whole number, got {text!r}")
    return value


def _queueing(args: argparse.Namespace) -> int:
    from rich.console import Console
    from rich.table import Table

    from .queueing import single_server_queue, straggler_rounds

    console = Console()
    table = Table(title="Simulation kernel against closed forms")
    for column in ("system", "quantity", "simulated", "closed form", "error"):
        table.add_column(column, justify="left" if column in ("system", "quantity") else "right")
    started = time.perf_counter()
    events = 0
    with console.status("running M/M/1, M/D/1 and straggler rounds in virtual time"):
        for service in ("exponential", "deterministic"):
            q = single_server_queue(customers=args.customers, service=service, seed=args.seed)
            events += q.events
            label = "M/M/1 ρ=0.8" if service == "exponential" else "M/D/1 ρ=0.8"
            table.add_row(
                label,
                "mean sojourn W",
                f"{q.mean_sojourn:.4f}",
                f"{q.expected_sojourn:.4f}",
                f"{q.sojourn_error:+.2%}",
            )
            table.add_row(
                label,
                "Little: L vs λW",
                f"{q.mean_in_system:.4f}",
                f"{q.arrival_rate_measured * q.mean_sojourn:.4f}",
                f"{q.little_error:+.2%}",
            )
        s = straggler_rounds(seed=args.seed)
        table.add_row(
            f"slowest of {s.workers}",
            "mean round time",
            f"{s.mean_round_time:.4f}",
            f"{s.expected_round_time:.4f}",
            f"{s.error:+.2%}",
        )
    wall = time.perf_counter() - started
    console.print(table)
    console.print(
        f"{events:,} kernel events in {wall:.2f} s wall ({events / wall:,.0f} events/s), seed {args.seed}"
    )
    return 0


class _Parser(argparse.ArgumentParser):
    """Bad arguments give one line on stderr and exit status 2."""

    def error(self, message: str):
        self.exit(2, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


def _calibrate(args: argparse.Namespace) -> int:
    from rich.console import Console

    from .config import ConfigError
    from .costs import calibrate

    out = Path(args.out)
    if out.is_dir() or not out.absolute().parent.is_dir():
        why = "is a directory" if out.is_dir() else f"{out.absolute().parent} is not a directory"
        print(f"gorila-sim calibrate: --out {out}: {why}", file=sys.stderr)
        return 1
    console = Console(stderr=True)
    try:
        with console.status(f"timing {args.env}, its Q-network, the DQN gradient, AdaGrad and replay"):
            profile = calibrate(args.env, quick=args.quick)
    except ConfigError as error:
        problem = str(error).partition(": ")[2]
        print(f"gorila-sim calibrate: --env {args.env}: {problem}", file=sys.stderr)
        return 1
    profile.save(out)
    for name in profile.__dataclass_fields__:
        console.print(f"{name:>22} = {getattr(profile, name):.3g}")
    console.print(f"wrote {out}")
    return 0


DEMO_OVERRIDES = ("stop.env_steps=100000", "stop.sim_time=60")
"""The demo runs its scenario longer than the library's CI-sized settings, long enough to learn."""


def _demo(args: argparse.Namespace) -> int:
    from .results import read_results
    from .scenario import load_scenario, resolve

    overrides = [*DEMO_OVERRIDES, f"scenario.seed={args.seed}", *args.set]
    scenario = load_scenario(resolve(args.scenario), overrides)
    out = Path(args.out)
    status = _run_and_write(scenario, out, args.dashboard, args.profile, args.overwrite, args.tensorboard)
    if status != 0:
        return status
    written = _write_report([read_results(out)], out / "report")
    print(f"report: {out / 'report' / 'report.md'} (plots: {', '.join(p.name for p in written[:-1])})")
    return 0


def _print_summary(console, summary: dict) -> None:
    from rich.table import Table

    from .report import network_rows

    table = Table(show_header=False)
    table.add_row("env steps", f"{summary['env_steps']:,}")
    table.add_row("episodes", f"{summary['episodes']:,}")
    table.add_row("mean return, last 10 episodes", f"{summary['final_mean_return']:.1f}")
    table.add_row("best mean return", f"{summary['best_mean_return']:.1f}")
    for fate, count in summary["gradients"].items():
        table.add_row(f"gradients {fate}", f"{count:,}")
    stale = summary["staleness"]
    table.add_row(
        "staleness p50 / p90 / p99 / max", " / ".join(f"{stale[k]:.0f}" for k in ("p50", "p90", "p99", "max"))
    )
    for title, count in network_rows(summary):
        table.add_row(title, f"{count:,}")
    table.add_row("simulated time", f"{summary['sim_time']:.2f} s")
    table.add_row(
        "wall time", f"{summary['wall_time']:.1f} s ({summary['env_steps_per_wall_s']:,.0f} env steps/s)"
    )
    console.print(table)


def _run(args: argparse.Namespace) -> int:
    from .results import default_dir
    from .scenario import load_scenario, resolve

    overrides = [*args.set, *([f"scenario.seed={args.seed}"] if args.seed is not None else [])]
    scenario = load_scenario(resolve(args.scenario), overrides)
    out = Path(args.out) if args.out else default_dir(scenario.name, scenario.config.seed, args.set)
    return _run_and_write(scenario, out, args.dashboard, args.profile, args.overwrite, args.tensorboard)


def _run_and_write(
    scenario,
    out: Path,
    dashboard: bool = False,
    profile: bool = False,
    overwrite: bool = False,
    tensorboard: bool = False,
) -> int:
    """Run a scenario with a progress bar (or the dashboard), writing its results directory as it goes, and
    print its summary; with `profile`, under cProfile, then say where the wall time went (and in
    DIR/profile.json); with `tensorboard`, write its scalars to DIR/tensorboard. Ctrl-C publishes what was
    run, marked incomplete, and gives 130."""
    from contextlib import nullcontext

    from rich.console import Console
    from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

    from .gorila import Interrupted
    from .results import ResultsWriter
    from .scenario import run_scenario
    from .trace import Trace

    writer = ResultsWriter(out, scenario.table, overwrite)
    trace = Trace()
    writer.follow(trace)
    console = Console()
    columns = (
        TextColumn("{task.description}"),
        BarColumn(),
        TextColumn("{task.completed:,}/{task.total:,} env steps"),
        TimeElapsedColumn(),
    )
    profiler = None
    if profile:
        from .dashboard import Profiler

        profiler = Profiler()
    try:
        with profiler or nullcontext():
            if dashboard:
                from .dashboard import watch_scenario

                result = watch_scenario(scenario, console, on_progress=lambda _: writer.flush(), trace=trace)
            else:
                with Progress(*columns, console=console, transient=True) as progress:
                    total = scenario.config.total_env_steps
                    task = progress.add_task(f"running {scenario.name}", total=total)

                    def advance(steps: int) -> None:
                        progress.update(task, completed=steps)
                        writer.flush()

                    result = run_scenario(scenario, on_progress=advance, trace=trace)
    except Interrupted as interrupt:
        if tensorboard:
            _write_tensorboard(interrupt.result, writer.staging)
        writer.publish(interrupt.result, interrupted=True)
        return _interrupted(interrupt.result.summary, out)
    except BaseException:
        writer.discard()
        raise
    breakdown = profiler.breakdown() if profiler is not None else None
    if breakdown is not None:
        breakdown.write(writer.staging)
    if tensorboard:
        _write_tensorboard(result, writer.staging)
    writer.publish(result)
    from .explore.coverage import warnings

    for line in warnings(scenario.faults, result):
        print(line, file=sys.stderr)
    console.print(scenario.about(), markup=False, highlight=False)
    _print_summary(console, result.summary)
    if breakdown is not None:
        console.print(breakdown.table())
        console.print(f"profile in {out / 'profile.json'}")
    if tensorboard:
        console.print(f"TensorBoard scalars in {out / 'tensorboard'}/ (tensorboard --logdir {out.parent})")
    console.print(f"results in {out}/")
    return 0


def _interrupted(summary: dict, out: Path, also: str = "") -> int:
    """Say in one line that Ctrl-C stopped a run and where its results are (marked incomplete); 130."""
    print(
        f"gorila-sim: interrupted at {summary['sim_time']:.2f} s ({summary['env_steps']:,} env steps); {also}"
        f"the run so far is in {out}/, marked incomplete",
        file=sys.stderr,
    )
    return 130


def _write_tensorboard(result, out: Path) -> None:
    """A run's scalars as TensorBoard event files in out/tensorboard."""
    from .scalars import run_scalars, write_tensorboard
    from .trace import COLUMNS

    tables = {name: result.trace.table(name) for name in COLUMNS}
    started = time.time() - result.trace.wall()
    write_tensorboard(run_scalars(tables, result.summary["sim_time"]), out / "tensorboard", started)


def _emulate(args: argparse.Namespace) -> int:
    from rich.console import Console

    from .emulation import EmulationError, emulate_scenario
    from .emulation.on_ray import RayUnavailable
    from .gorila import Interrupted
    from .results import default_dir
    from .scenario import load_scenario, resolve

    overrides = [*args.set, *([f"scenario.seed={args.seed}"] if args.seed is not None else [])]
    scenario = load_scenario(resolve(args.scenario), overrides)
    seed = scenario.config.seed
    out = Path(args.out) if args.out else default_dir(scenario.name, seed, args.set, "-emulated")
    console = Console()
    processes = f"one process per {args.nodes_per_process} node(s), time scale {args.time_scale:g}"
    if args.ray is not None:
        processes += f", on Ray at {args.ray} ({args.placement})"
    try:
        with console.status(f"emulating {scenario.name}: {processes}"):
            result = emulate_scenario(
                scenario,
                out,
                nodes_per_process=args.nodes_per_process,
                time_scale=args.time_scale,
                overwrite=args.overwrite,
                ray=args.ray,
                placement=args.placement,
                checkpoint_dir=args.checkpoint_dir,
                ports=args.port_range,
            )
    except (EmulationError, RayUnavailable) as error:
        print(f"gorila-sim emulate: {error}", file=sys.stderr)
        return 1
    except Interrupted as interrupt:
        return _interrupted(interrupt.result.summary, out, "every process of the run is stopped; ")
    except KeyboardInterrupt:  # before the run began: nothing to keep
        print("gorila-sim emulate: interrupted; every process of the run is stopped", file=sys.stderr)
        return 130
    console.print(f"{scenario.about()}\nemulated: {processes}", markup=False, highlight=False)
    _print_summary(console, result.summary)
    console.print(f"results in {out}/")
    return 0


def _replay(args: argparse.Namespace) -> int:
    from rich.console import Console

    from .dashboard import replay

    try:
        replay(args.dir, Console(), args.speed)
    except ValueError as error:
        print(f"gorila-sim replay: {error}", file=sys.stderr)
        return 1
    return 0


def _sweep(args: argparse.Namespace) -> int:
    from rich.console import Console
    from rich.progress import Progress
    from rich.table import Table

    from .scenario import load_scenario, resolve
    from .sweep import (
        MEASURES,
        PAIR_COLUMNS,
        Sweep,
        pair_cells,
        parse_grid,
        parse_seeds,
        plot_sweep,
        point_cells,
        prepare,
        sweep,
        write_tables,
    )

    try:
        definition = Sweep(args.scenario, parse_grid(args.grid), parse_seeds(args.seeds), args.set)
    except ValueError as error:
        print(f"gorila-sim sweep: {error}", file=sys.stderr)
        return 1
    trials = definition.trials()
    for trial in trials[:: len(definition.seeds)]:  # every grid point, before any work
        scenario = load_scenario(resolve(args.scenario), definition.overrides(trial))
    default = Path("runs") / f"sweep-{scenario.name}-{definition.tag()}"
    out = Path(args.out) if args.out else default
    if args.resume and args.overwrite:
        print(
            "gorila-sim sweep: --resume goes on with a sweep, --overwrite starts over: not both",
            file=sys.stderr,
        )
        return 1
    prepare(out, definition, args.resume, args.overwrite)
    console = Console()
    where = f"on Ray at {args.ray}" if args.ray else "in local processes"
    done = 0
    try:
        with Progress(console=console, transient=True) as progress:
            task = progress.add_task(f"{len(trials)} runs {where}", total=len(trials))

            def advance(_: dict) -> None:
                nonlocal done
                done += 1
                progress.advance(task)

            rows = sweep(definition, out, args.workers, args.ray, advance)
    except KeyboardInterrupt:
        print(
            f"gorila-sim sweep: interrupted; {out}/trials keeps the finished trials, and the same command "
            "with --resume runs the rest",
            file=sys.stderr,
        )
        return 130
    stats, pairs, written = write_tables(rows, definition.grid, out)
    plots = plot_sweep(stats, definition.grid, out)
    if not sys.stdout.isatty():  # a file or a pipe: whole tables, never cut to the terminal's 80 columns
        console = Console(width=10_000)
    table = Table(*definition.grid, "seeds", *MEASURES, title=f"{args.scenario}: mean [95% CI] across seeds")
    for entry in stats:
        table.add_row(*point_cells(entry, definition.grid))
    console.print(table)
    if pairs:
        table = Table(*PAIR_COLUMNS, title="paired: value minus baseline on the same seeds")
        for pair in pairs:
            table.add_row(*pair_cells(pair))
        console.print(table)
    files = ", ".join(path.name for path in [*written, *plots])
    console.print(f"wrote {files} in {out}/, and a results directory per trial in {out}/trials/")
    return 0


def _write_report(runs: list, out: Path, tensorboard: bool = False) -> list[Path]:
    """The report of `runs`, written beside `out` and renamed into place."""
    from .report import make_report
    from .results import partial_dir, publish

    staging = partial_dir(out)
    try:
        written = make_report(runs, staging, tensorboard)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    publish(staging, out)
    return [out / path.name for path in written]


def _report(args: argparse.Namespace) -> int:
    from .results import check_out, read_results

    out = None
    if args.out is not None:  # the default, FIRST_DIR/report, is the report of that run: made again
        out = check_out(args.out, args.overwrite)
    try:
        runs = [read_results(path) for path in args.runs]
    except ValueError as error:
        print(f"gorila-sim report: {error}", file=sys.stderr)
        return 1
    out = out or runs[0].path / "report"
    written = _write_report(runs, out, args.tensorboard)
    print(f"wrote {len(written)} files to {out}/: " + ", ".join(p.name for p in written))
    return 0


def _add_run_options(parser: argparse.ArgumentParser) -> None:
    """The options `run` and `demo` share: overrides, the dashboard and the profiler."""
    parser.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="override a field, e.g. stop.env_steps=5000 (repeatable)",
    )
    parser.add_argument(
        "--dashboard",
        action="store_true",
        help="show the live dashboard (off a terminal: a progress line every few seconds)",
    )
    parser.add_argument(
        "--profile",
        action="store_true",
        help="run under cProfile; print where the wall time went, write DIR/profile.json",
    )
    parser.add_argument(
        "--tensorboard",
        action="store_true",
        help="also write the run's scalars (returns, staleness, fates, throughput) to DIR/tensorboard",
    )
    parser.add_argument(
        "--overwrite", action="store_true", help="replace the results directory if it exists (else refused)"
    )


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="gorila-sim",
        description="Simulate distributed DQN (Gorila) and MB-MPO under network and node faults.",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    commands.required = True

    from mbmpo.cli import add_commands as add_mbmpo_commands

    from .scenario.commands import add_commands

    add_commands(commands)
    add_mbmpo_commands(commands)

    queueing = commands.add_parser(
        "queueing", help="validate the simulation kernel against queueing theory (M/M/1, M/D/1, stragglers)"
    )
    queueing.add_argument(
        "--customers", type=_positive_int, default=200_000, help="jobs per queue (default 200000)"
    )
    queueing.add_argument("--seed", type=_seed, default=0, help="the run's seed (default 0)")
    queueing.set_defaults(handler=_queueing)

    demo = commands.add_parser("demo", help="run a library scenario end to end: results, summary and report")
    demo.add_argument("--scenario", default="bad-day", help="library scenario or TOML file (default bad-day)")
    demo.add_argument("--seed", type=_seed, default=0, help="the run's seed (default 0)")
    demo.add_argument("--out", default="runs/demo", help="results directory (default runs/demo)")
    _add_run_options(demo)
    demo.set_defaults(handler=_demo)

    run = commands.add_parser(
        "run", help="run a scenario (a library name or a TOML file) and write its results"
    )
    run.add_argument(
        "scenario", help="library scenario name (see `gorila-sim scenarios`) or path to a TOML file"
    )
    run.add_argument("--seed", type=_seed, default=None, help="the run's seed (default: the scenario's)")
    run.add_argument(
        "--out", default=None, help="results directory (default runs/NAME-seedN, -HASH of the --set values)"
    )
    _add_run_options(run)
    run.set_defaults(handler=_run)

    emulate = commands.add_parser(
        "emulate", help="run a scenario in real time: a process per node, HTTP on loopback, faults for real"
    )
    emulate.add_argument("scenario", help="library scenario name or path to a TOML file")
    emulate.add_argument(
        "--set", action="append", default=[], metavar="KEY=VALUE", help="override a field: stop.sim_time=2"
    )
    emulate.add_argument("--seed", type=_seed, default=None, help="the run's seed (default: the scenario's)")
    emulate.add_argument("--out", default=None, help="results directory (default runs/NAME-seedN-emulated)")
    emulate.add_argument(
        "--overwrite", action="store_true", help="replace the results directory if it exists (else refused)"
    )
    emulate.add_argument(
        "--nodes-per-process",
        type=_positive_int,
        default=1,
        metavar="K",
        help="nodes per OS process (default 1)",
    )
    emulate.add_argument(
        "--ray", default=None, metavar="auto|ADDRESS", help="run the processes on the nodes of a Ray cluster"
    )
    emulate.add_argument(
        "--placement",
        choices=("spread", "pack"),
        default="spread",
        help="on Ray: spread the processes over every node in turn, or pack them on one (default spread)",
    )
    emulate.add_argument(
        "--port-range",
        type=_port_range,
        default=None,
        metavar="LO-HI",
        help="listen on the first free ports of LO-HI: every node's server and, on Ray, the coordinator's"
        " listener (default: ports the system picks)",
    )
    emulate.add_argument(
        "--checkpoint-dir",
        type=_absolute_path,
        default=None,
        metavar="DIR",
        help="keep the nodes' disks in DIR/RUN on each machine (default: the results directory; on Ray, each"
        " node's temp directory, removed at the end)",
    )
    emulate.add_argument(
        "--time-scale",
        type=_positive_number,
        default=1.0,
        metavar="S",
        help="wall seconds per run second (default 1: real time; more leaves room for real CPU time)",
    )
    emulate.set_defaults(handler=_emulate)

    report = commands.add_parser(
        "report", help="plots and a markdown summary of one or more results directories"
    )
    report.add_argument("runs", nargs="+", metavar="DIR", help="results directories (several are overlaid)")
    report.add_argument("--out", default=None, help="where to write the report (default: FIRST_DIR/report)")
    report.add_argument(
        "--overwrite", action="store_true", help="replace the --out directory if it exists (else refused)"
    )
    report.add_argument(
        "--tensorboard",
        action="store_true",
        help="also write each run's scalars to OUT/tensorboard/RUN (emulated runs and earlier runs too)",
    )
    report.set_defaults(handler=_report)

    replay = commands.add_parser("replay", help="play a finished run's dashboard back from its results")
    replay.add_argument("dir", metavar="DIR", help="results directory of a run")
    replay.add_argument(
        "--speed",
        type=_positive_number,
        default=None,
        help="simulated seconds per wall second (default: the whole run in about 10 s)",
    )
    replay.set_defaults(handler=_replay)

    sweep = commands.add_parser(
        "sweep", help="run a scenario over a grid of settings and seeds; one table, plots"
    )
    sweep.add_argument("scenario", help="library scenario name or TOML file")
    sweep.add_argument(
        "--grid",
        action="append",
        default=[],
        metavar="KEY=V1,V2",
        help="a field and its values, e.g. training.staleness.max_staleness=4,8 (repeatable)",
    )
    sweep.add_argument(
        "--set", action="append", default=[], metavar="KEY=VALUE", help="override a field in every trial"
    )
    sweep.add_argument(
        "--seeds",
        default="1",
        metavar="N|LIST|RANGE",
        help="seeds per grid point: a count (5: seeds 0-4), a list (0,3,7) or a range (10-19) (default 1)",
    )
    sweep.add_argument("--workers", type=_positive_int, default=None, help="local processes (default: cores)")
    sweep.add_argument(
        "--ray",
        default=None,
        metavar="auto|local|ADDRESS",
        help="run on a Ray cluster instead (auto with none running, or local: a private Ray on 127.0.0.1)",
    )
    sweep.add_argument("--out", default=None, help="where to write the sweep (default runs/sweep-NAME-HASH)")
    sweep.add_argument(
        "--resume", action="store_true", help="run the trials an interrupted sweep in --out did not finish"
    )
    sweep.add_argument("--overwrite", action="store_true", help="replace --out if it exists (else refused)")
    sweep.set_defaults(handler=_sweep)

    from .explore.command import add_command as add_explore_command

    add_explore_command(commands, _positive_int, _seed)

    calibrate = commands.add_parser("calibrate", help="measure this machine and write a compute-cost profile")
    calibrate.add_argument(
        "--env", default="CartPole-v1", help="gymnasium environment id (default CartPole-v1)"
    )
    calibrate.add_argument(
        "--out", default="costs.toml", help="where to write the profile (default costs.toml)"
    )
    calibrate.add_argument("--quick", action="store_true", help="fewer repetitions")
    calibrate.set_defaults(handler=_calibrate)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    from .ray_local import RayUnreachable
    from .results import OutputError
    from .scenario.errors import ScenarioError

    refused = (ScenarioError, OutputError, RayUnreachable)  # ScenarioError: also what only building finds
    args = build_parser().parse_args(argv)
    try:
        return args.handler(args)
    except refused as error:
        print(f"gorila-sim {args.command}: {error}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print(f"gorila-sim {args.command}: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
