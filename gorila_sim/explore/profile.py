"""Fault profiles: a scenario's `[explore]` section says which faults may happen, where, when and how
strongly; each run draws its own concrete timeline of `[[faults]]` entries from its seed.

The draw is buggify-style: every kind of fault is switched on or off for the whole run (with its `chance`),
then each kind switched on fires 1 to `max` times, at times, for durations and with strengths drawn from its
ranges. A "swizzle" cuts a random set of nodes from the rest one by one and heals them in a random order.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from netmodels import ModelError, checks, generator
from netmodels.checks import show

from ..scenario.faults import named_nodes, role_members
from ..scenario.format import check_keys, table

NODE_KINDS = ("crash", "pause", "slowdown")
NETWORK_KINDS = ("partition", "latency_spike", "loss_burst")
KINDS = (*NODE_KINDS, *NETWORK_KINDS, "swizzle")
"""The fault kinds a profile may switch on, in the order each run draws them."""

STRENGTH = {"slowdown": "factor", "latency_spike": "extra_latency", "loss_burst": "loss"}
"""The key of each kind's strength: a range to draw it from."""

DEFAULT_CHANCE = 0.5
DECIMALS = 4
"""Drawn times and strengths are rounded to this many decimals, so failing.toml reads plainly."""

_COMMON = ("chance", "max", "at", "duration")
KEYS: dict[str, tuple[str, ...]] = {
    "crash": (*_COMMON, "nodes", "role"),
    "pause": (*_COMMON, "nodes", "role"),
    "slowdown": (*_COMMON, "nodes", "role", "factor"),
    "partition": (*_COMMON, "a", "b", "direction"),
    "latency_spike": (*_COMMON, "a", "b", "direction", "extra_latency"),
    "loss_burst": (*_COMMON, "a", "b", "direction", "loss"),
    "swizzle": (*_COMMON, "nodes", "role"),
}


@dataclass(frozen=True)
class KindProfile:
    """How one kind of fault may happen: `targets` are the nodes it may strike (one per firing; for a
    network kind, the nodes cut or degraded from `others`; for a swizzle, the nodes it may cut)."""

    kind: str
    chance: float
    max: int
    at: tuple[float, float]
    duration: tuple[float, float]
    targets: tuple[str, ...]
    others: tuple[str, ...] = ()
    direction: str = "both"
    strength: tuple[float, float] | None = None


@dataclass(frozen=True)
class Profile:
    """A scenario's `[explore]` section, checked and resolved to the nodes of its cluster."""

    kinds: tuple[KindProfile, ...]

    def draw(self, seed: int) -> list[tuple[str, dict[str, Any]]]:
        """The `[[faults]]` entries of run `seed`, each with the profile kind that drew it: a pure function of
        the seed, and each kind draws from a stream of its own, so adding a kind to the profile leaves the
        others' draws as they were."""
        drawn: list[tuple[str, dict[str, Any]]] = []
        for kind in self.kinds:
            rng = generator(seed, "explore", kind.kind)
            if rng.random() >= kind.chance:
                continue
            for _ in range(int(rng.integers(1, kind.max + 1))):
                at = _rounded(rng.uniform(*kind.at))
                duration = max(10**-DECIMALS, _rounded(rng.uniform(*kind.duration)))
                if kind.kind == "swizzle":
                    drawn += [("swizzle", entry) for entry in _swizzle(kind.targets, at, duration, rng)]
                    continue
                target = kind.targets[int(rng.integers(len(kind.targets)))]
                entry: dict[str, Any] = {"kind": kind.kind, "at": at, "duration": duration}
                if kind.kind in NODE_KINDS:
                    entry["nodes"] = [target]
                else:
                    others = [node for node in kind.others if node != target]
                    entry.update(a=[target], b=others, direction=kind.direction)
                if kind.strength is not None:
                    entry[STRENGTH[kind.kind]] = _rounded(rng.uniform(*kind.strength))
                drawn.append((kind.kind, entry))
        return drawn

    def concrete(self, scenario_table: Mapping[str, Any], seed: int) -> dict[str, Any]:
        """`scenario_table` for run `seed`: its profile drawn into its `[[faults]]` (after the timeline it
        had), `[explore]` left out, the seed set."""
        out = copy.deepcopy({key: value for key, value in scenario_table.items() if key != "explore"})
        out["scenario"]["seed"] = seed
        out["faults"] = [*out.get("faults", []), *(entry for _, entry in self.draw(seed))]
        return out


def _rounded(value: float) -> float:
    return round(float(value), DECIMALS)


def _swizzle(pool: Sequence[str], at: float, duration: float, rng: Any) -> list[dict[str, Any]]:
    """Cut a random subset of `pool` from every other node one by one over the first half of `duration`,
    and heal them in a random order over the second half."""
    count = int(rng.integers(1, len(pool) + 1))
    chosen = [pool[i] for i in rng.permutation(len(pool))[:count]]
    heal_order = rng.permutation(count)
    step = duration / 2 / count
    entries = []
    for i, node in enumerate(chosen):
        cut = _rounded(at + i * step)
        heal = _rounded(at + duration / 2 + (int(heal_order[i]) + 1) * step)
        entries.append(
            {
                "kind": "partition",
                "at": cut,
                "duration": max(10**-DECIMALS, _rounded(heal - cut)),
                "a": [node],
            }
        )
    return entries


def profile_from_spec(spec: Any, nodes: Sequence[str], run_end: float) -> Profile:
    """The profile an `[explore]` table describes, for a cluster of `nodes` whose runs end by `run_end`
    simulated seconds (math.inf: no bound); every problem is a ModelError naming its field."""
    spec = table(spec, "explore")
    check_keys(spec, "explore", KINDS)
    if not spec:
        raise ModelError(
            "explore", f"names no fault kind, so no run would have a fault (kinds: {', '.join(KINDS)})"
        )
    return Profile(
        tuple(
            _kind(kind, table(spec[kind], f"explore.{kind}"), nodes, run_end)
            for kind in KINDS
            if kind in spec
        )
    )


def _kind(kind: str, spec: Mapping[str, Any], nodes: Sequence[str], run_end: float) -> KindProfile:
    path = f"explore.{kind}"
    check_keys(spec, path, KEYS[kind], ("at", "duration"))
    chance = checks.number(f"{path}.chance", spec.get("chance", DEFAULT_CHANCE), low=0.0, high=1.0)
    if chance == 0:
        raise ModelError(f"{path}.chance", "is 0, so this kind can never fire (give a chance in (0, 1])")
    most = spec.get("max", 1)
    if isinstance(most, bool) or not isinstance(most, int) or most < 1:
        raise ModelError(f"{path}.max", f"must be a whole number >= 1 (faults per run), got {show(most)}")
    at = _range(f"{path}.at", spec["at"], low=0.0)
    if at[0] >= run_end:
        raise ModelError(
            f"{path}.at",
            f"starts at {at[0]:g} s, at or after the run's end (stop.sim_time = {run_end:g} s), "
            "so it can never fire",
        )
    duration = _range(f"{path}.duration", spec["duration"], low=0.0, low_open=True)
    strength = None
    if kind in STRENGTH:
        key = STRENGTH[kind]
        if key not in spec:
            raise ModelError(f"{path}.{key}", "missing (this key is required)")
        high = 1.0 if kind == "loss_burst" else None
        strength = _range(f"{path}.{key}", spec[key], low=0.0, high=high, low_open=kind != "latency_spike")
    if kind in NETWORK_KINDS:
        if "a" not in spec:
            raise ModelError(f"{path}.a", "missing (this key is required)")
        targets = _group(spec["a"], f"{path}.a", nodes)
        others = _group(spec["b"], f"{path}.b", nodes) if "b" in spec else tuple(nodes)
        if any(not set(others) - {node} for node in targets):
            where = f"{path}.b" if "b" in spec else f"{path}.a"
            raise ModelError(where, "leaves a node of a with no other node to cut it from")
        direction = spec.get("direction", "both")
        if direction not in ("both", "a_to_b", "b_to_a"):
            raise ModelError(
                f"{path}.direction", f"must be one of: 'both', 'a_to_b', 'b_to_a', got {show(direction)}"
            )
        return KindProfile(kind, chance, most, at, duration, targets, others, direction, strength)
    targets = _group(spec, path, nodes) if ("nodes" in spec or "role" in spec) else tuple(nodes)
    if kind == "swizzle" and len(nodes) < 2:
        raise ModelError(path, "needs a cluster of at least two nodes to cut apart")
    return KindProfile(kind, chance, most, at, duration, targets, strength=strength)


def _range(
    path: str, value: Any, *, low: float, high: float | None = None, low_open: bool = False
) -> tuple[float, float]:
    """[lo, hi] with low <= lo <= hi (a single number stands for [x, x])."""
    if checks.is_number(value):
        single = checks.number(path, value, low=low, high=high, low_open=low_open)
        return single, single
    if not isinstance(value, list) or len(value) != 2:
        raise ModelError(path, f"must be a range [low, high] (or one number), got {show(value)}")
    lo = checks.number(f"{path}[0]", value[0], low=low, high=high, low_open=low_open)
    hi = checks.number(f"{path}[1]", value[1], low=low, high=high, low_open=low_open)
    if hi < lo:
        raise ModelError(path, f"must be [low, high] with low <= high, got {show(value)}")
    return lo, hi


def _group(spec: Any, path: str, nodes: Sequence[str]) -> tuple[str, ...]:
    """The nodes a list of names, or a table with `nodes = [...]` or `role = ...` (a role or a list of
    roles), stands for."""
    if isinstance(spec, list):
        spec = {"nodes": spec}
    spec = table(spec, path)
    if ("nodes" in spec) == ("role" in spec):
        raise ModelError(path, "needs exactly one of the keys nodes, role (node names, or a role)")
    if "nodes" in spec:
        return named_nodes(spec["nodes"], f"{path}.nodes", nodes)
    return role_members(spec["role"], f"{path}.role", nodes)
