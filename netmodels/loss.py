"""Packet loss models: independent (Bernoulli) and bursty (Gilbert-Elliott), and their specs."""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from . import checks, specs
from .checks import show
from .errors import ModelError


@dataclass(frozen=True, slots=True)
class Bernoulli:
    """Each packet is lost independently with probability `p`."""

    p: float

    def __post_init__(self) -> None:
        checks.probability("p", self.p)

    @property
    def stationary_loss(self) -> float:
        """The long-run fraction of packets lost."""
        return float(self.p)

    def losses(self, rng: np.random.Generator, n: int) -> np.ndarray:
        """Whether each of `n` consecutive packets is lost."""
        return rng.random(n) < self.p


@dataclass(frozen=True, slots=True)
class GilbertElliott:
    """Bursty loss: a two-state (good/bad) Markov chain stepped once per packet.

    In the good state a packet is lost with probability `loss_good`, in the bad state with `loss_bad`;
    after each packet the chain moves good -> bad with probability `p_good_to_bad` and bad -> good with
    `p_bad_to_good`, so bad spells last 1 / p_bad_to_good packets on average.
    """

    p_good_to_bad: float
    p_bad_to_good: float
    loss_good: float = 0.0
    loss_bad: float = 1.0

    def __post_init__(self) -> None:
        checks.probability("p_good_to_bad", self.p_good_to_bad)
        checks.number("p_bad_to_good", self.p_bad_to_good, low=0.0, high=1.0, low_open=True)
        checks.probability("loss_good", self.loss_good)
        checks.probability("loss_bad", self.loss_bad)

    @property
    def stationary_bad(self) -> float:
        """The long-run fraction of packets sent in the bad state."""
        return self.p_good_to_bad / (self.p_good_to_bad + self.p_bad_to_good)

    @property
    def stationary_loss(self) -> float:
        """The long-run fraction of packets lost."""
        bad = self.stationary_bad
        return (1 - bad) * self.loss_good + bad * self.loss_bad

    def initial_state(self, rng: np.random.Generator) -> GilbertElliottState:
        """A fresh chain for one link, its first state drawn from the long-run distribution."""
        return GilbertElliottState(self, bool(rng.random() < self.stationary_bad))


@dataclass(slots=True)
class GilbertElliottState:
    """One link's Gilbert-Elliott chain: `bad` is the state of the next packet."""

    model: GilbertElliott
    bad: bool

    def losses(self, rng: np.random.Generator, n: int) -> np.ndarray:
        """Whether each of the next `n` packets is lost; advances the chain by `n` packets."""
        model = self.model
        leave = {False: model.p_good_to_bad, True: model.p_bad_to_good}
        # Time spent in a state is geometric, so the chain is drawn as alternating runs of packets.
        # A run cut at the end of this block can be redrawn next time: geometric runs are memoryless.
        pair_length = (1 / leave[False] if leave[False] > 0 else math.inf) + 1 / leave[True]
        run_states: list[np.ndarray] = []
        run_lengths: list[np.ndarray] = []
        covered = 0
        while covered <= n:
            count = 2 * (int((n + 1 - covered) / pair_length) + 1)
            states = (np.arange(count) % 2 == 1) ^ self.bad
            p = np.where(states, leave[True], leave[False])
            lengths = np.where(p > 0, rng.geometric(np.where(p > 0, p, 1.0)), n + 1)
            run_states.append(states)
            run_lengths.append(lengths)
            covered += int(lengths.sum())
        states = np.concatenate(run_states)
        lengths = np.concatenate(run_lengths)
        last = int(np.searchsorted(np.cumsum(lengths), n, side="right"))
        self.bad = bool(states[last])
        packet_bad = np.repeat(states[: last + 1], lengths[: last + 1])[:n]
        return rng.random(n) < np.where(packet_bad, model.loss_bad, model.loss_good)


_KINDS: dict[str, tuple[type[Bernoulli | GilbertElliott], tuple[str, ...], tuple[str, ...]]] = {
    "bernoulli": (Bernoulli, ("p",), ()),
    "gilbert_elliott": (GilbertElliott, ("p_good_to_bad", "p_bad_to_good"), ("loss_good", "loss_bad")),
}


def loss_from_spec(spec: Any, path: str = "loss") -> Bernoulli | GilbertElliott:
    """A loss model from its declarative form, e.g. `{"kind": "bernoulli", "p": 0.01}`."""
    if not isinstance(spec, Mapping):
        raise ModelError(path, f"must be a table with a 'kind' key, got {show(spec)}")
    kind = specs.kind(spec, path, _KINDS)
    cls, required, optional = _KINDS[kind]
    specs.check_keys(spec, path, {"kind", *required, *optional}, required, f" for kind '{kind}'")
    with specs.under(path):
        return cls(**{key: value for key, value in spec.items() if key != "kind"})


__all__ = ["Bernoulli", "GilbertElliott", "GilbertElliottState", "loss_from_spec"]
