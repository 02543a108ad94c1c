"""Directed network links: the declarative model, its per-link sampler (Channel), and the spec form."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from . import checks, specs
from .capacity import Fifo, rate_from_spec
from .distributions import Constant, Distribution, distribution_from_spec
from .loss import Bernoulli, GilbertElliott, GilbertElliottState, loss_from_spec
from .seeding import Streams

_BLOCK = 1024
_NO_DELAY = Constant(0.0)


@dataclass(frozen=True, slots=True)
class LinkModel:
    """How one directed link delays, loses, duplicates and reorders messages.

    The link transmits one message at a time, in sending order: a message of `size` bytes sent at `now`
    starts when the link is free, takes size / bandwidth seconds on the wire (`bandwidth` in bytes/s, None
    for infinite: no queue), and arrives latency + jitter seconds after its last byte left, unless `loss`
    drops it (a lost message still took its turn on the wire); with probability `duplicate` it arrives
    twice. When `ordered`, arrivals keep the sending order (FIFO).
    """

    latency: Distribution = _NO_DELAY
    bandwidth: float | None = None
    jitter: Distribution | None = None
    loss: Bernoulli | GilbertElliott | None = None
    duplicate: float = 0.0
    ordered: bool = True

    def __post_init__(self) -> None:
        checks.instance("latency", self.latency, Distribution, "a Distribution")
        if self.bandwidth is not None:
            checks.positive("bandwidth", self.bandwidth, finite=False)
        if self.jitter is not None:
            checks.instance("jitter", self.jitter, Distribution, "a Distribution or None")
        if self.loss is not None:
            checks.instance(
                "loss", self.loss, (Bernoulli, GilbertElliott), "Bernoulli, GilbertElliott or None"
            )
        checks.probability("duplicate", self.duplicate)
        checks.instance("ordered", self.ordered, bool, "True or False")

    @property
    def mean_latency(self) -> float:
        """Mean delay of a zero-byte message: latency mean plus jitter mean (seconds)."""
        return self.latency.mean + (self.jitter.mean if self.jitter is not None else 0.0)

    def channel(self, streams: Streams) -> Channel | FixedDelay:
        """The stateful sampler for one directed link, drawing from `streams` (a link that makes no draws
        and keeps no state, constant latency and nothing else, gets a `FixedDelay`)."""
        if (
            type(self.latency) is Constant
            and self.jitter is None
            and self.bandwidth in (None, math.inf)
            and self.loss is None
            and self.duplicate == 0
        ):
            return FixedDelay(float(self.latency.value))
        return Channel(self, streams)


class FixedDelay:
    """The sampler of a link whose every message arrives `delay` seconds after it is sent: what a
    `Channel` of that link returns, without its draws or state (arrivals keep the sending order)."""

    __slots__ = ("delay",)
    fifo = None

    def __init__(self, delay: float) -> None:
        self.delay = delay

    def transmit(self, now: float, size: int) -> tuple[float, ...]:
        return (now + self.delay,)


class Channel:
    """One directed link's sampler: call `transmit` for each message in sending order.

    Its results depend only on its streams' seed and path and on the sequence of calls. `fifo` is the
    link's transmitter (None when the bandwidth is infinite); `fifo.last_wait` is how long the latest
    message waited for the wire.
    """

    __slots__ = (
        "_block",
        "_copies",
        "_delays",
        "_last",
        "_losses",
        "_model",
        "_next",
        "_ordered",
        "_streams",
        "fifo",
    )

    def __init__(self, model: LinkModel, streams: Streams) -> None:
        self._model = model
        self._streams = streams
        self.fifo = None if model.bandwidth in (None, math.inf) else Fifo(model.bandwidth)
        self._ordered = model.ordered
        self._losses: Bernoulli | GilbertElliottState | None = None
        self._last = -math.inf
        # Per-message draws come in blocks, handed out by index; blocks start small (most links carry
        # few messages) and double up to _BLOCK.
        self._block = 0
        self._delays: list[float] = []
        self._copies: list[int] | None = None  # per message: 0 lost, 1, or 2 duplicated; None: always 1
        self._next = 0

    def transmit(self, now: float, size: int) -> tuple[float, ...]:
        """Arrival times (seconds) of `size` bytes sent at `now`: () if lost, two times if duplicated."""
        if self.fifo is not None:
            now = self.fifo.serve(now, size)
        i = self._next
        if i == self._block:
            self._refill()
            i = 0
        self._next = i + 1
        copies = self._copies
        if copies is not None and copies[i] != 1:
            return self._lost_or_duplicated(now, i, copies[i])
        arrival = now + self._delays[i]
        if self._ordered:
            if arrival < self._last:
                arrival = self._last
            self._last = arrival
        return (arrival,)

    def _lost_or_duplicated(self, now: float, i: int, copies: int) -> tuple[float, ...]:
        if copies == 0:
            return ()
        model, rng = self._model, self._streams("duplicate")
        extra_delay = model.latency.sample(rng)
        if model.jitter is not None:
            extra_delay += model.jitter.sample(rng)
        arrivals = sorted((now + self._delays[i], now + extra_delay))
        if self._ordered:
            arrivals = [max(arrival, self._last) for arrival in arrivals]
            self._last = arrivals[-1]
        return tuple(arrivals)

    def _refill(self) -> None:
        model, streams = self._model, self._streams
        n = self._block = min(_BLOCK, max(16, 2 * self._block))
        if isinstance(model.latency, Constant):  # no draws, so no latency stream to make
            delays = np.full(n, float(model.latency.value))
        else:
            delays = model.latency.sample(streams("latency"), n)
        if model.jitter is not None:
            delays += model.jitter.sample(streams("jitter"), n)
        self._delays = delays.tolist()
        if model.loss is None and model.duplicate == 0:
            return
        copies = np.ones(n, dtype=np.int8)
        if model.duplicate > 0:
            copies += streams("duplicate").random(n) < model.duplicate
        if model.loss is not None:
            if self._losses is None:
                # Bernoulli and a Gilbert-Elliott chain's state both answer losses(rng, n).
                loss = model.loss
                self._losses = (
                    loss.initial_state(streams("loss")) if isinstance(loss, GilbertElliott) else loss
                )
            copies[self._losses.losses(streams("loss"), n)] = 0
        self._copies = copies.tolist()


_LINK_READERS: dict[str, specs.Reader | None] = {
    "latency": distribution_from_spec,
    "bandwidth": rate_from_spec,
    "jitter": distribution_from_spec,
    "loss": loss_from_spec,
    "duplicate": None,
    "ordered": None,
}


def link_from_spec(spec: Any, path: str = "link") -> LinkModel:
    """A link model from its declarative form; every key is optional (see LinkModel for defaults)."""
    return specs.build(LinkModel, spec, path, _LINK_READERS)


__all__ = ["Channel", "FixedDelay", "LinkModel", "link_from_spec"]
