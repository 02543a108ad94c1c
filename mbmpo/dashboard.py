"""The dashboard of an MB-MPO training run (`gorila-sim mbmpo train --dashboard`): its snapshot, its rich
layout and its one-line form, shown with the same `runcommon.display.Display` as the Gorila dashboard.

A snapshot is built from the per-iteration metrics records of `mbmpo.train.train` (iteration 0: the random
data) and the phase the run last reported. This module loads neither torch nor the MB-MPO package until
`watch_training` runs.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from rich.console import Console, ConsoleOptions, Group, RenderableType, RenderResult
from rich.panel import Panel
from rich.text import Text

from runcommon.charts import chart, columns, downsample, fold
from runcommon.display import Display, View

SPARK_WIDTH = 16
"""Characters of a one-row history."""

PROGRESS_WIDTH = 20
BAR_WIDTH = 24

PHASES = (("fit", "fit_s"), ("meta", "meta_s"), ("collect", "collect_s"))
"""(label, metrics key) of the three phases of an iteration."""


class Sizes(Protocol):
    """The fields of an MBMPOConfig that the view reads."""

    env_id: str
    iterations: int
    models: int
    rollouts_per_model: int
    horizon: int
    meta_steps: int


def imagined_per_iteration(config: Sizes) -> int:
    """Imagined transitions the meta phase of one iteration generates.

    The metrics records do not hold this count, so it comes from the config, following mbmpo.train and
    mbmpo.meta: each of the `meta_steps` meta-steps imagines K×N trajectories before adaptation and K×N
    after it (`meta_step`), and once the meta-steps are done `adapted_policies` imagines K×N more to adapt
    the final θ; every trajectory is `horizon` steps long. The rollout backends compute all `horizon` steps
    of a trajectory even after a termination (those are masked afterwards), so this is the work done."""
    trajectories = (2 * config.meta_steps + 1) * config.models * config.rollouts_per_model
    return trajectories * config.horizon


@dataclass(frozen=True)
class MBMPOSnapshot:
    """What the dashboard shows of an MB-MPO run at one moment."""

    env_id: str
    iterations: int
    """Outer iterations the run will make."""
    imagined_per_iteration: int
    """Imagined transitions per iteration's meta phase (see imagined_per_iteration)."""
    history: tuple[dict[str, Any], ...] = ()
    """The metrics records so far, iteration 0 first."""
    phase: str = ""
    """What the run said it was doing last."""
    wall_s: float = 0.0
    """Wall seconds since the run started."""
    finished: bool = False

    @classmethod
    def of(cls, config: Sizes, history: tuple[dict[str, Any], ...] = (), **rest: Any) -> MBMPOSnapshot:
        return cls(config.env_id, config.iterations, imagined_per_iteration(config), tuple(history), **rest)

    @property
    def iteration(self) -> int:
        """The latest finished iteration (0 once the random data is in, -1 before)."""
        return self.history[-1]["iteration"] if self.history else -1

    @property
    def real_steps(self) -> int:
        return self.history[-1]["real_steps"] if self.history else 0

    @property
    def trained(self) -> list[dict[str, Any]]:
        """The records of iterations 1 onwards (those with models, meta-training and adapted policies)."""
        return [m for m in self.history if m["iteration"] > 0]

    def imagined_per_s(self, metrics: dict[str, Any]) -> float:
        """Imagined transitions per wall second of an iteration's meta phase."""
        return self.imagined_per_iteration / metrics["meta_s"] if metrics["meta_s"] > 0 else math.inf


@dataclass
class Recorder:
    """Builds snapshots from what `train` reports: `phase` is its on_phase, `iteration` its on_iteration."""

    config: Sizes
    history: list[dict[str, Any]] = field(default_factory=list)
    last_phase: str = ""
    started: float = field(default_factory=time.perf_counter)

    def phase(self, text: str) -> None:
        self.last_phase = text

    def iteration(self, metrics: dict[str, Any]) -> None:
        self.history.append(metrics)
        self.last_phase = ""  # the phase that made the record is over; train tells the next one soon

    def snapshot(self, finished: bool = False) -> MBMPOSnapshot:
        return MBMPOSnapshot.of(
            self.config,
            tuple(self.history),
            phase="finished" if finished else self.last_phase,
            wall_s=time.perf_counter() - self.started,
            finished=finished,
        )


def watch_training(
    config: Any,
    out: str | Path | None,
    console: Console,
    resume: bool = False,
    on_iteration: Callable[[dict[str, Any]], None] | None = None,
) -> list[dict[str, Any]]:
    """Run `mbmpo.train.train(config, out, resume=resume)` with the dashboard on `console` (live on a
    terminal, a plain line per iteration, and at most one every few seconds between, elsewhere); return
    its history. `on_iteration` also hears each metrics record."""
    from .train import load_checkpoint, train

    recorder = Recorder(config)
    if resume and out is not None:
        recorder.history = load_checkpoint(Path(out), config)["history"]
        recorder.started -= recorder.history[-1]["wall_s"]
    with Display(console, MBMPO) as display:
        shown = -math.inf

        def show(force: bool) -> None:
            nonlocal shown
            now = time.perf_counter()
            if force or now - shown >= display.interval:
                shown = now
                display.show(recorder.snapshot())

        def on_phase(text: str) -> None:
            recorder.phase(text)
            show(force=False)

        def iteration(metrics: dict[str, Any]) -> None:
            recorder.iteration(metrics)
            show(force=True)
            if on_iteration is not None:
                on_iteration(metrics)

        history = train(config, out, on_phase=on_phase, on_iteration=iteration, resume=resume)
        if display.live:
            display.show(recorder.snapshot(finished=True))
    return history


# -- the layout -----------------------------------------------------------------------------------------


class MBMPOLayout:
    """The dashboard of one snapshot, as a rich renderable that fits the console's width; on a terminal
    too low for the whole of it (such as 80×24), shorter: the models' losses summed up in one line, the
    per-model returns and the imagined transitions per iteration left out."""

    def __init__(self, snapshot: MBMPOSnapshot) -> None:
        self.snapshot = snapshot

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        s = self.snapshot
        full = Group(
            header(s, options.max_width),
            columns(
                Group(models_panel(s), imagination_panel(s)),
                Group(returns_panel(s), phases_panel(s)),
                options,
            ),
        )
        if not console.is_terminal or len(console.render_lines(full, options, pad=False)) <= console.height:
            yield full
            return
        yield header(s, options.max_width)
        compact = True
        yield columns(
            Group(models_panel(s, compact), imagination_panel(s, compact)),
            Group(returns_panel(s, compact), phases_panel(s)),
            options,
        )


def render(snapshot: MBMPOSnapshot) -> RenderableType:
    """The whole MB-MPO dashboard."""
    return MBMPOLayout(snapshot)


def line(snapshot: MBMPOSnapshot) -> str:
    """One plain line of progress, for logs and pipes."""
    s = snapshot
    text = f"MB-MPO {s.env_id}: iteration {max(s.iteration, 0)}/{s.iterations}, {s.real_steps:,} real steps"
    if s.history:
        text += f", real return {s.history[-1]['real_return']:.1f}"
    if s.trained:
        m = s.trained[-1]
        losses = " ".join(f"{loss:.4f}" for loss in m["model_val_loss"])
        text += (
            f", imagined {m['imagined_return_before']:.1f} -> {m['imagined_return_after']:.1f}"
            f", model loss {losses}, {_count(s.imagined_per_s(m))} imagined steps/s"
            f", fit {m['fit_s']:.1f} s meta {m['meta_s']:.1f} s collect {m['collect_s']:.1f} s"
        )
    text += f", wall {s.wall_s:.1f} s"
    if s.phase and not s.finished:
        text += f" ({s.phase})"
    return text


MBMPO = View(render, line)
"""The MB-MPO dashboard."""


def header(s: MBMPOSnapshot, width: int) -> Text:
    """Two lines (more where the console is narrower, folded between their parts)."""
    done = max(s.iteration, 0) / s.iterations
    filled = round(done * PROGRESS_WIDTH)
    title = Text(f"MB-MPO · {s.env_id} · iteration {max(s.iteration, 0)} of {s.iterations}", style="bold")
    bar = Text("finished " if s.finished else f"{done:.0%} ")
    bar.append("━" * filled, style="green")
    bar.append("━" * (PROGRESS_WIDTH - filled), style="grey23")
    parts = [Text(f"{s.real_steps:,} real samples so far"), Text(f"wall {s.wall_s:.1f} s")]
    if s.phase and not s.finished:
        parts.append(Text(s.phase, style="dim"))
    text = fold([title, bar], width)
    text.append("\n")
    text.append_text(fold(parts, width))
    return text


def models_panel(s: MBMPOSnapshot, compact: bool = False) -> Panel:
    """A line per model: its latest validation loss, their history, the change; `compact`: one line, the
    range of the latest losses and the history of the largest."""
    title = "dynamics models: validation loss"
    text = Text(no_wrap=True, overflow="ellipsis")
    trained = s.trained
    if not trained:
        text.append("no model fitted yet", style="dim")
        return Panel(text, title=title, title_align="left")
    if compact:
        latest, largest = trained[-1]["model_val_loss"], [max(m["model_val_loss"]) for m in trained]
        text.append(f"{len(latest)} models {min(latest):.4f} to {max(latest):.4f} ")
        text.append(spark(largest), style="blue")
        text.append(" ")
        text.append_text(trend(largest))
        return Panel(text, title=title, title_align="left")
    per_model = list(zip(*(m["model_val_loss"] for m in trained), strict=True))
    for k, losses in enumerate(per_model):
        text.append(f"model {k:<3}{losses[-1]:>8.4f} ")
        text.append(spark(losses).ljust(SPARK_WIDTH), style="blue")
        text.append(" ")
        text.append_text(trend(losses))
        text.append("\n")
    text.rstrip()
    return Panel(text, title=title, title_align="left")


def trend(values: list[float] | tuple[float, ...]) -> Text:
    """The change of a loss since the previous iteration: green when it fell."""
    if len(values) < 2 or values[-2] == 0:
        return Text("–", style="dim")
    change = values[-1] / values[-2] - 1.0
    arrow, style = ("▼", "green") if change < 0 else ("▲", "red") if change > 0 else ("=", "dim")
    return Text(f"{arrow} {change:+.0%}", style=style)


def returns_panel(s: MBMPOSnapshot, compact: bool = False) -> Panel:
    """The imagined and real returns of the latest iteration and their history; but for `compact`, the
    real return per model and of the random data."""
    title = "returns"
    text = Text(no_wrap=True, overflow="ellipsis")
    rows = [
        ("imagined, before adaptation", [m["imagined_return_before"] for m in s.trained], "yellow"),
        ("imagined, after adaptation", [m["imagined_return_after"] for m in s.trained], "cyan"),
        ("real, adapted policies", [m["real_return"] for m in s.trained], "green"),
    ]
    for label, values, style in rows:
        text.append(f"{label:<27}")
        if values:
            text.append(f"{values[-1]:>9.1f} ")
            text.append(spark(values), style=style)
        else:
            text.append(f"{'–':>9}", style="dim")
        text.append("\n")
    if s.trained and not compact:
        per_model = " · ".join(f"{r:.1f}" for r in s.trained[-1]["real_return_per_model"])
        text.append(f"  real, per model: {per_model}\n", style="dim")
    if s.history and not compact:
        text.append(f"  random data: {s.history[0]['real_return']:.1f}", style="dim")
    text.rstrip()
    return Panel(text, title=title, title_align="left")


def imagination_panel(s: MBMPOSnapshot, compact: bool = False) -> Panel:
    """The imagined transitions per iteration (but for `compact`), per second, and the KL of the last
    meta-step."""
    backend = s.history[0].get("backend") if s.history else None
    title = (
        f"imagined rollouts (meta phase, {backend} backend)" if backend else "imagined rollouts (meta phase)"
    )
    text = Text(no_wrap=True, overflow="ellipsis")
    if not compact:
        text.append(f"{_count(s.imagined_per_iteration)} imagined transitions per iteration\n")
    trained = s.trained
    if not trained:
        text.append("no meta-training yet", style="dim")
        return Panel(text, title=title, title_align="left")
    rates = [s.imagined_per_s(m) for m in trained]
    m = trained[-1]
    text.append(f"{_count(rates[-1])} imagined steps/s", style="bold")
    text.append(f" (meta phase {m['meta_s']:.2f} s) ")
    finite = [rate for rate in rates if math.isfinite(rate)]
    if finite:
        text.append(spark(finite), style="magenta")
    if "meta_kl" in m:
        text.append(f"\nKL of the last meta-step {m['meta_kl']:.4f}", style="dim")
    return Panel(text, title=title, title_align="left")


def phases_panel(s: MBMPOSnapshot) -> Panel:
    title = "wall time per phase"
    text = Text(no_wrap=True, overflow="ellipsis")
    if not s.history:
        text.append("collecting random data", style="dim")
        return Panel(text, title=title, title_align="left")
    latest = s.history[-1]
    seconds = [latest.get(key, 0.0) for _, key in PHASES]
    most = max(seconds) or 1.0
    text.append(f"{'':<9}{'last':>8}{'':<{BAR_WIDTH + 1}}{'total':>9}", style="bold")
    for (label, key), value in zip(PHASES, seconds, strict=True):
        total = sum(m.get(key, 0.0) for m in s.history)
        text.append(f"\n{label:<9}{value:>6.2f} s ")
        text.append(("█" * math.ceil(BAR_WIDTH * value / most)).ljust(BAR_WIDTH), style="blue")
        text.append(f"{total:>7.1f} s")
    return Panel(text, title=f"{title} (iteration {latest['iteration']})", title_align="left")


def spark(values: list[float] | tuple[float, ...]) -> str:
    """A one-row history of at most SPARK_WIDTH characters."""
    return chart(downsample(tuple(values), SPARK_WIDTH), 1)[0] if values else ""


def _count(value: float) -> str:
    return "–" if not math.isfinite(value) else f"{value:,.0f}"
