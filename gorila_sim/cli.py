"""The `gorila-sim` command. Subcommands import what they need, so `--help` answers at once."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from . import __version__


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a positive whole number, got {text!r}") from None
    if value <= 0:
        raise argparse.ArgumentTypeError(f"expected a positive whole number, got {text!r}")
    return value


def _seed(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a non-negative whole number, got {text!r}") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"expected a non-negative whole number, got {text!r}")
    return value


def _queueing(args: argparse.Namespace) -> int:
    import time

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


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="gorila-sim",
        description="Simulate distributed DQN (Gorila) and MB-MPO under network and node faults.",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    commands.required = True

    queueing = commands.add_parser(
        "queueing", help="validate the simulation kernel against queueing theory (M/M/1, M/D/1, stragglers)"
    )
    queueing.add_argument(
        "--customers", type=_positive_int, default=200_000, help="jobs per queue (default 200000)"
    )
    queueing.add_argument("--seed", type=_seed, default=0, help="the run's seed (default 0)")
    queueing.set_defaults(handler=_queueing)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return args.handler(args)


if __name__ == "__main__":
    sys.exit(main())
