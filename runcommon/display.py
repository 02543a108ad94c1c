"""Showing snapshots as a run goes: a live view on a terminal, a plain line now and then elsewhere."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from types import TracebackType
from typing import Generic, TypeVar

from rich.console import Console, RenderableType
from rich.live import Live

S = TypeVar("S")

PER_SECOND = 4.0
"""Most redraws per wall second of the live view."""

PLAIN_EVERY_S = 5.0
"""Wall seconds between two progress lines when the output is not a terminal."""


@dataclass(frozen=True)
class View(Generic[S]):
    """How one kind of run is shown: the whole layout of a snapshot, and its one-line form for logs.
    The Gorila view is `gorila_sim.dashboard.view.GORILA`; another kind of run brings its own."""

    render: Callable[[S], RenderableType]
    line: Callable[[S], str]


class Display(Generic[S]):
    """Shows snapshots with a view: redrawn in place on a terminal, as progress lines otherwise (no escape
    codes in logs). `interval` says how often a new snapshot is worth making."""

    def __init__(self, console: Console, view: View[S], per_second: float = PER_SECOND) -> None:
        self.console = console
        self.view = view
        self.live = console.is_terminal
        self.interval = 1.0 / per_second if self.live else PLAIN_EVERY_S
        self._live: Live | None = None

    def __enter__(self) -> Display[S]:
        if self.live:
            self._live = Live(console=self.console, auto_refresh=False)
            self._live.start()
        return self

    def show(self, snapshot: S) -> None:
        if self._live is not None:
            self._live.update(self.view.render(snapshot), refresh=True)
        else:
            self.console.print(self.view.line(snapshot), markup=False, highlight=False, soft_wrap=True)

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        if self._live is not None:
            self._live.stop()
            self._live = None
