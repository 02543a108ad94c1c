"""The `mbmpo` command group (`mbmpo train`, `mbmpo eval`). Heavy packages load inside the handlers."""

from __future__ import annotations

import argparse
import shutil
import sys
from pathlib import Path
from typing import Any

OVERRIDES: tuple[tuple[str, str, type, str], ...] = (
    ("--models", "models", int, "dynamics models in the ensemble (default 5)"),
    ("--meta-steps", "meta_steps", int, "TRPO meta-steps per iteration (default 30)"),
    ("--inner-lr", "inner_lr", float, "α, the inner policy-gradient step size (default 0.001)"),
    ("--max-kl", "max_kl", float, "δ, the KL bound of a TRPO meta-step (default 0.01)"),
    ("--horizon", "horizon", int, "imagined rollout and real episode length (default 200)"),
    ("--rollouts", "rollouts_per_model", int, "imagined trajectories per model per meta-step (default 80)"),
    (
        "--curvature-fraction",
        "curvature_fraction",
        float,
        "share of the imagined trajectories for TRPO's Fisher-vector products (default 1)",
    ),
    ("--real-steps", "real_steps_per_iteration", int, "real steps per iteration (default 4000)"),
    ("--initial-steps", "initial_random_steps", int, "real steps of random actions first (default 4000)"),
    ("--model-epochs", "model_epochs", int, "most epochs per ensemble refit (default 500)"),
    (
        "--model-min-improvement",
        "model_min_improvement",
        float,
        "relative drop of the validation loss that counts as better for early stopping (default 0.01)",
    ),
    ("--model-hidden", "model_hidden", str, "hidden sizes of the dynamics models (default 512,512)"),
    ("--policy-hidden", "policy_hidden", str, "hidden sizes of the policy (default 32,32)"),
)
"""(flag, MBMPOConfig field, argument type, help) of the hyper-parameters the command line can set."""

METAVARS = {int: "N", float: "X", str: "SIZES"}


def add_commands(subparsers: argparse._SubParsersAction) -> None:
    """Add the `mbmpo` command, with its `train` and `eval` subcommands, to a parser's subcommands."""
    group = subparsers.add_parser("mbmpo", help="model-based meta-policy optimisation (Clavera et al. 2018)")
    commands = group.add_subparsers(dest="mbmpo_command", metavar="COMMAND")
    commands.required = True

    train = commands.add_parser(
        "train", help="train MB-MPO on a gymnasium task and write a results directory"
    )
    train.add_argument("--env", default="Pendulum-v1", help="environment id (default Pendulum-v1)")
    train.add_argument(
        "--iterations", type=int, metavar="N", help="outer iterations (default 25; 2 with --quick)"
    )
    train.add_argument("--out", metavar="DIR", help="results directory (default runs/mbmpo-ENV-seedSEED)")
    train.add_argument("--seed", type=int, default=0, metavar="N", help="the run's seed (default 0)")
    train.add_argument("--quick", action="store_true", help="tiny settings: a smoke run in seconds")
    train.add_argument(
        "--resume",
        action="store_true",
        help="go on from the checkpoint in the results directory: the same command again, with --resume "
        "(--iterations may grow)",
    )
    train.add_argument(
        "--overwrite", action="store_true", help="start over in a directory that holds a run, removing it"
    )
    train.add_argument(
        "--dashboard",
        action="store_true",
        help="show the live MB-MPO dashboard (plain progress lines when the output is not a terminal)",
    )
    train.add_argument(
        "--tensorboard",
        action="store_true",
        help="also write each iteration's scalars (returns, model loss, KL, phase times) to DIR/tensorboard",
    )
    add_overrides(train)
    train.set_defaults(handler=_train, command_parser=train)

    evaluate = commands.add_parser(
        "eval", help="run a trained run's adapted policies on the real environment"
    )
    evaluate.add_argument("dir", nargs="?", metavar="DIR", help="the results directory of `mbmpo train`")
    evaluate.add_argument("--run", metavar="DIR", help="the same as DIR (an older spelling)")
    evaluate.add_argument("--episodes", type=int, default=10, metavar="N", help="episodes (default 10)")
    evaluate.add_argument(
        "--seed", type=int, default=0, metavar="N", help="the environment's seed (default 0)"
    )
    evaluate.set_defaults(handler=_eval, command_parser=evaluate)


def add_overrides(parser: argparse.ArgumentParser) -> None:
    """Add the OVERRIDES flags and --backend to a parser; override_fields reads them back."""
    for flag, field, kind, text in OVERRIDES:
        parser.add_argument(flag, dest=field, type=kind, metavar=METAVARS[kind], help=text)
    parser.add_argument(
        "--backend",
        choices=("auto", "torch", "numba", "cuda"),
        help="imagined-rollout backend (default auto: cuda where a GPU is visible, else numba)",
    )


def override_fields(args: argparse.Namespace) -> dict[str, Any]:
    """The MBMPOConfig fields that the flags of add_overrides set."""
    from .config import ConfigError

    fields: dict[str, Any] = {} if args.backend is None else {"backend": args.backend}
    for _, field, _, _ in OVERRIDES:
        value = getattr(args, field)
        if value is None:
            continue
        if field.endswith("_hidden"):
            try:
                value = tuple(int(size) for size in value.split(","))
            except ValueError:
                raise ConfigError(f"{field}: expected sizes like 512,512, got {value!r}") from None
        fields[field] = value
    return fields


def _config_fields(args: argparse.Namespace) -> dict[str, Any]:
    """The MBMPOConfig fields the arguments set."""
    from .config import QUICK

    fields: dict[str, Any] = {**(QUICK if args.quick else {}), "env_id": args.env, "seed": args.seed}
    if args.iterations is not None:
        fields["iterations"] = args.iterations
    return {**fields, **override_fields(args)}


def _train(args: argparse.Namespace) -> int:
    from rich.console import Console

    from .config import ConfigError, MBMPOConfig

    try:
        config = MBMPOConfig(**_config_fields(args))
    except ConfigError as error:
        args.command_parser.error(str(error))
    out = args.out or f"runs/mbmpo-{config.env_id}-seed{config.seed}"
    refused = _refused(Path(out), args.resume, args.overwrite)
    if refused:
        print(f"gorila-sim mbmpo train: {refused}", file=sys.stderr)
        return 1
    console = Console()
    try:
        history = _run_training(
            config, out, console, dashboard=args.dashboard, resume=args.resume, tensorboard=args.tensorboard
        )
    except ConfigError as error:  # --resume with no checkpoint, or with other settings than the run's
        args.command_parser.error(str(error))
    except KeyboardInterrupt:
        print(
            f"gorila-sim mbmpo train: interrupted; {out} keeps the iterations done; the same command "
            "with --resume goes on from there",
            file=sys.stderr,
        )
        return 130
    _print_last(console, history[-1], out)
    return 0


def _refused(out: Path, resume: bool, overwrite: bool) -> str | None:
    """Why training may not start in `out` (None if it may); with `overwrite`, what was there is removed."""
    if out.exists() and not out.is_dir():
        return f"{out}: is a file, not a directory"
    if resume or not out.is_dir() or not any(out.iterdir()):
        return None
    if not overwrite:
        return f"{out}: already holds a run (add --resume to go on with it, or --overwrite to start over)"
    shutil.rmtree(out)
    return None


def _run_training(
    config: Any, out: str, console: Any, dashboard: bool, resume: bool, tensorboard: bool = False
) -> list[dict[str, Any]]:
    """Train with the dashboard, or with a progress bar and a line per iteration, and with `tensorboard`
    each iteration's scalars in out/tensorboard; return the history."""
    from contextlib import ExitStack

    from rich.progress import Progress

    from .train import describe, train

    with ExitStack() as stack:
        log = stack.enter_context(_TensorBoardLog(Path(out), resume)) if tensorboard else None
        if dashboard:
            from .dashboard import watch_training

            return watch_training(config, out, console, resume=resume, on_iteration=log)

        def show(metrics: dict[str, Any]) -> None:
            progress.update(task, completed=metrics["iteration"])
            progress.console.print(describe(metrics))
            if log is not None:
                log(metrics)

        progress = stack.enter_context(Progress(console=console, transient=True))
        task = progress.add_task(f"MB-MPO on {config.env_id}", total=config.iterations)
        return train(
            config,
            out,
            on_phase=lambda text: progress.update(task, description=text),
            on_iteration=show,
            resume=resume,
        )


class _TensorBoardLog:
    """Writes each metrics record's scalars to DIR/tensorboard against real env steps; on a resumed run it
    starts afresh with the records in DIR/metrics.jsonl."""

    def __init__(self, out: Path, resume: bool) -> None:
        import json
        import time

        from torch.utils.tensorboard import SummaryWriter

        logdir = out / "tensorboard"
        shutil.rmtree(logdir, ignore_errors=True)
        done = []
        if resume and (out / "metrics.jsonl").is_file():
            done = [json.loads(line) for line in (out / "metrics.jsonl").read_text().splitlines() if line]
        self._started = time.time() - (done[-1]["wall_s"] if done else 0.0)
        self._writer = SummaryWriter(str(logdir))
        for metrics in done:
            self(metrics)

    def __call__(self, metrics: dict[str, Any]) -> None:
        from .train import scalars

        for tag, value in scalars(metrics).items():
            self._writer.add_scalar(
                tag, value, global_step=metrics["real_steps"], walltime=self._started + metrics["wall_s"]
            )
        self._writer.flush()

    def __enter__(self) -> _TensorBoardLog:
        return self

    def __exit__(self, *_: object) -> None:
        self._writer.close()


def _print_last(console: Any, last: dict[str, Any], out: str) -> None:
    console.print(
        f"{last['real_steps']:,} real steps, real return of the adapted policies {last['real_return']:.1f}, "
        f"{last['wall_s']:.1f} s; results in {out}"
    )


def _eval(args: argparse.Namespace) -> int:
    if args.episodes < 1:
        args.command_parser.error(f"--episodes: expected a whole number >= 1, got {args.episodes}")
    if (args.dir is None) == (args.run is None):
        args.command_parser.error("DIR: name one results directory, as in `mbmpo eval runs/NAME`")
    run = args.dir or args.run
    if not (Path(run) / "policy.pt").is_file():
        args.command_parser.error(f"DIR: no policy.pt in {run!r} (train a run there first)")
    from rich.console import Console

    from .train import evaluate

    console = Console()
    with console.status(f"running {args.episodes} episodes"):
        returns = evaluate(run, args.episodes, args.seed)
    mean = sum(returns) / len(returns)
    console.print(
        f"{len(returns)} episodes: mean return {mean:.1f}, min {min(returns):.1f}, max {max(returns):.1f}"
    )
    return 0
