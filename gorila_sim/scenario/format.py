"""The scenario format's plain sections ([scenario], [topology], [training], [stop]): their keys, the check
of each value, and the GorilaConfig field each one sets. docs/scenarios.md describes every key."""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass
from typing import Any

from netmodels import ModelError, checks
from netmodels.checks import show

from ..rules.registry import build
from .locate import quote_key

MAX_PER_ROLE = 10_000
"""The most nodes of one role: a bound that keeps a typo from building a billion-node cluster."""

TABLES = ("scenario", "topology", "training", "stop", "network", "nodes", "costs", "faults", "explore")
"""The top-level tables of a scenario, in the order the documentation gives them."""

Check = Callable[[str, Any], Any]
"""Checks the value at a field path and returns it as GorilaConfig wants it; raises ModelError."""


def table(value: Any, path: str) -> Mapping[str, Any]:
    if not isinstance(value, Mapping):
        raise ModelError(path, f"must be a table, got {show(value)}")
    return value


def check_keys(
    value: Mapping[str, Any], path: str, allowed: Collection[str], required: Collection[str] = ()
) -> None:
    """Reject keys of `value` outside `allowed`, and missing `required` ones."""
    prefix = f"{path}." if path else ""
    for key in value:
        if key not in allowed:
            raise ModelError(f"{prefix}{quote_key(key)}", f"unknown key (allowed: {', '.join(allowed)})")
    for key in required:
        if key not in value:
            raise ModelError(f"{prefix}{key}", "missing (this key is required)")


def integer(low: int, high: int | None = None) -> Check:
    def check(path: str, value: Any) -> int:
        too_high = high is not None and isinstance(value, int) and value > high
        if isinstance(value, bool) or not isinstance(value, int) or value < low or too_high:
            bounds = f">= {low}" if high is None else f"in [{low}, {high}]"
            raise ModelError(path, f"must be a whole number {bounds}, got {show(value)}")
        return value

    return check


def number(low: float | None = None, high: float | None = None, *, above: bool = False) -> Check:
    """A finite number in [low, high], or in (low, high] when `above`."""

    def check(path: str, value: Any) -> float:
        return checks.number(path, value, low=low, high=high, low_open=above)

    return check


def boolean(path: str, value: Any) -> bool:
    if not isinstance(value, bool):
        raise ModelError(path, f"must be true or false, got {show(value)}")
    return value


def text(path: str, value: Any) -> str:
    if not isinstance(value, str):
        raise ModelError(path, f"must be a string, got {show(value)}")
    return value


def choice(*options: str) -> Check:
    def check(path: str, value: Any) -> str:
        if not isinstance(value, str) or value not in options:
            raise ModelError(path, f"must be one of: {', '.join(map(repr, options))}, got {show(value)}")
        return value

    return check


def layer_sizes(path: str, value: Any) -> tuple[int, ...]:
    if not isinstance(value, list):
        raise ModelError(path, f"must be a list of layer sizes, e.g. [120, 84], got {show(value)}")
    size = integer(1, 100_000)
    return tuple(size(f"{path}[{i}]", width) for i, width in enumerate(value))


def rule(kind: str) -> Check:
    """A rule spec (a name, or a table with a name and parameters), checked by building the rule."""

    def check(path: str, value: Any) -> Any:
        if not isinstance(value, str | Mapping):
            raise ModelError(path, f"must be a name or a table with a name and parameters, got {show(value)}")
        try:
            build(kind, value)
        except ModelError as error:  # named after the rule's kind, which is also the key: "optimiser.lr"
            raise error.under(path.rsplit(".", 1)[0]) from None
        return value

    return check


def sim_time(path: str, value: Any) -> float:
    return checks.number(path, value, low=0.0, low_open=True, finite=False)


@dataclass(frozen=True, slots=True)
class Key:
    """One key of a plain section: the check of its value, and the GorilaConfig field it sets (if any)."""

    check: Check
    field: str | None = None


count = integer(1, MAX_PER_ROLE)
whole = integer(1)
fraction = number(0.0, 1.0)

SECTIONS: dict[str, dict[str, Key]] = {
    "scenario": {
        "name": Key(text),
        "description": Key(text),
        "seed": Key(integer(0), "seed"),
    },
    "topology": {
        "actors": Key(count, "actors"),
        "learners": Key(count, "learners"),
        "shards": Key(count, "shards"),
        "bundled": Key(boolean, "bundled"),
        "replay": Key(choice("local", "global"), "replay"),
        "replay_nodes": Key(count, "replay_nodes"),
    },
    "training": {
        "problem": Key(choice("dqn", "surrogate"), "problem"),
        "env_id": Key(text, "env_id"),
        "hidden": Key(layer_sizes, "hidden"),
        "surrogate_size": Key(whole, "surrogate_size"),
        "surrogate_noise": Key(number(0.0), "surrogate_noise"),
        "surrogate_episode": Key(whole, "surrogate_episode"),
        "gamma": Key(fraction, "gamma"),
        "buffer_size": Key(whole, "buffer_size"),
        "batch_size": Key(whole, "batch_size"),
        "learning_starts": Key(integer(0), "learning_starts"),
        "train_every": Key(whole, "train_every"),
        "target_every": Key(whole, "target_every"),
        "epsilon_start": Key(fraction, "epsilon_start"),
        "epsilon_end": Key(fraction, "epsilon_end"),
        "exploration_fraction": Key(fraction, "exploration_fraction"),
        "epsilon_spread": Key(number(0.0), "epsilon_spread"),
        "actor_pull_every": Key(integer(0), "actor_pull_every"),
        "transitions_per_message": Key(whole, "transitions_per_message"),
        "optimiser": Key(rule("optimiser"), "optimiser"),
        "staleness": Key(rule("staleness"), "staleness"),
        "outliers": Key(rule("outliers"), "outliers"),
        "accumulate": Key(whole, "accumulate"),
        "request_timeout": Key(number(0.0, above=True), "request_timeout"),
        "checkpoint_every": Key(whole, "checkpoint_every"),
    },
    "stop": {
        "sim_time": Key(sim_time, "max_sim_time"),
        "env_steps": Key(whole, "total_env_steps"),
        "target_return": Key(number(), "target_return"),
    },
}
"""The plain sections, key by key."""

REQUIRED = {"scenario": ("name",)}

CONFIG_PATHS = {
    key.field: f"{section}.{name}"
    for section, keys in SECTIONS.items()
    for name, key in keys.items()
    if key.field is not None
}
"""The scenario field that sets each GorilaConfig field, e.g. "max_sim_time" -> "stop.sim_time"."""
