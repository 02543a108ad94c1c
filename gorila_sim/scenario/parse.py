"""Reading a scenario: TOML text to a checked GorilaConfig and fault timeline, or one ScenarioError."""

from __future__ import annotations

import math
import os
import re
import tomllib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, fields, replace
from pathlib import Path
from typing import Any

from netmodels import LinkModel, ModelError, checks, link_from_spec, node_from_spec

from ..config import ConfigError, GorilaConfig
from ..costs import CostProfile
from ..explore.profile import Profile, profile_from_spec
from ..memory import check_fits
from ..topology import describe, node_names, roles
from .errors import ScenarioError
from .faults import Fault, faults_from_spec
from .format import CONFIG_PATHS, REQUIRED, SECTIONS, TABLES, check_keys, table, text
from .locate import line_of, quote_key, render, split_path
from .overrides import parse_override, with_overrides

LINK_KEYS = tuple(f.name for f in fields(LinkModel))
COST_KEYS = tuple(f.name for f in fields(CostProfile))


@dataclass(frozen=True)
class Scenario:
    """A checked scenario: the run's config, its faults resolved to the nodes they hit, and its table."""

    name: str
    description: str
    config: GorilaConfig
    faults: tuple[Fault, ...]
    table: dict[str, Any]
    """The scenario as read, overrides applied: what to write beside a run's results to rerun it."""
    source: str = "<scenario>"
    """Where the scenario came from (its file), for messages."""
    overrides: tuple[str, ...] = ()
    """The overrides applied to the file, in order."""
    explore: Profile | None = None
    """The faults that may happen, from `[explore]` (see docs/explore.md); None without that section."""

    @property
    def nodes(self) -> tuple[str, ...]:
        """Every node of the cluster, e.g. shard-0, replay-0, learner-0, actor-0."""
        return node_names(self.config)

    def about(self) -> str:
        """Two lines on the scenario as it runs: its name, description and overrides; its nodes, faults,
        seed and when it stops."""
        config = self.config
        headline = f"{self.name}: {self.description}" if self.description else self.name
        if self.overrides:
            headline += f" (with {', '.join(self.overrides)})"
        kinds = ", ".join(dict.fromkeys(fault.kind for fault in self.faults))
        faults = f"{len(self.faults)} faults ({kinds})" if self.faults else "no faults"
        stop = [f"{config.total_env_steps:,} env steps"]
        if config.target_return is not None:
            stop.append(f"a mean return of {config.target_return:g}")
        if math.isfinite(config.max_sim_time):
            stop.append(f"{config.max_sim_time:g} s simulated")
        nodes = self.nodes
        return (
            f"{headline}\n{len(nodes)} nodes ({describe(nodes)}), {faults}, seed {config.seed}; "
            f"stops at {' or '.join(stop)}"
        )


def load_scenario(path: str | os.PathLike[str], overrides: Sequence[str] = ()) -> Scenario:
    """The scenario in the TOML file at `path`, with `overrides` ("path.to.key=value") applied."""
    source = os.fspath(path)
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as error:
        raise ScenarioError(source, None, f"cannot be read ({error.strerror or error})") from None
    except UnicodeDecodeError as error:
        raise ScenarioError(source, None, f"is not UTF-8 text (byte {error.start}: {error.reason})") from None
    return parse_scenario(text, source, overrides, base_dir=Path(path).parent)


def parse_scenario(
    text: str,
    source: str = "<scenario>",
    overrides: Sequence[str] = (),
    base_dir: str | os.PathLike[str] | None = None,
) -> Scenario:
    """The scenario in TOML `text`, with `overrides` applied; `source` names it in error messages, and a
    relative `costs.profile` is read from `base_dir` (default: the working directory)."""
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        raise _syntax_error(error, source, text) from None
    except RecursionError:
        raise ScenarioError(source, None, f"nested more than {MAX_DEPTH} levels deep") from None
    _check_depth(raw, source)
    raw = with_overrides(raw, overrides)
    _check_depth(raw, source)
    try:
        return replace(_scenario(raw, source, Path(base_dir or ".")), overrides=tuple(overrides))
    except ModelError as error:
        raise _located(error, source, text, overrides) from None


MAX_DEPTH = 32
"""The deepest nesting of tables and arrays a scenario may have; the format needs a handful of levels."""


def _check_depth(raw: Mapping[str, Any], source: str) -> None:
    """Refuse nesting deeper than MAX_DEPTH, naming where it goes too deep (checked without recursion)."""
    stack: list[tuple[Any, tuple[str | int, ...]]] = [(raw, ())]
    while stack:
        value, path = stack.pop()
        if len(path) > MAX_DEPTH:
            raise ScenarioError(source, render(path[:MAX_DEPTH]), f"nested more than {MAX_DEPTH} levels deep")
        if isinstance(value, Mapping):
            stack += [(item, (*path, key)) for key, item in value.items()]
        elif isinstance(value, list):
            stack += [(item, (*path, index)) for index, item in enumerate(value)]


_TOML_PLACE = re.compile(r"(.*) \(at (?:line (\d+), column (\d+)|end of document)\)")


def _syntax_error(error: tomllib.TOMLDecodeError, source: str, text: str) -> ScenarioError:
    match = _TOML_PLACE.fullmatch(str(error))
    if match is None:
        return ScenarioError(source, None, f"not valid TOML: {error}")
    message, line, column = match.groups()
    if line is None:
        return ScenarioError(source, None, f"not valid TOML: {message} (at the end)", text.count("\n") + 1)
    return ScenarioError(source, None, f"not valid TOML: {message} (column {column})", int(line))


def _located(error: ModelError, source: str, text: str, overrides: Sequence[str]) -> ScenarioError:
    """`error` as a ScenarioError at its line, or naming the override that set the bad value."""
    path = split_path(error.param)
    if path is None:
        return ScenarioError(source, error.param, error.problem)
    for override in reversed(overrides):
        overridden = parse_override(override)[0]
        if path[: len(overridden)] == overridden:
            return ScenarioError(source, error.param, f"{error.problem} (set by override {override!r})")
    return ScenarioError(source, error.param, error.problem, line_of(text, path))


def scenario_from_table(
    raw: Mapping[str, Any], source: str = "<scenario>", base_dir: str | os.PathLike[str] | None = None
) -> Scenario:
    """The scenario that `raw`, a table as TOML reads a scenario file, describes."""
    try:
        return _scenario(raw, source, Path(base_dir or "."))
    except ModelError as error:
        raise ScenarioError(source, error.param, error.problem) from None


def _scenario(raw: Mapping[str, Any], source: str, base_dir: Path) -> Scenario:
    check_keys(raw, "", TABLES)
    values: dict[str, Any] = {}
    for section, keys in SECTIONS.items():
        spec = table(raw.get(section, {}), section)
        check_keys(spec, section, keys, REQUIRED.get(section, ()))
        for name, value in spec.items():
            checked = keys[name].check(f"{section}.{name}", value)
            if keys[name].field is not None:
                values[keys[name].field] = checked
    _check_topology(raw.get("topology", {}))
    try:
        topology = GorilaConfig(**values)
        nodes = node_names(topology)
        config = replace(
            topology,
            **_network(raw.get("network", {}), nodes),
            nodes=_node_models(raw.get("nodes", {}), nodes),
            costs=_costs(raw.get("costs", {}), base_dir),
        )
    except ConfigError as error:
        field, _, problem = str(error).partition(": ")
        raise ModelError(CONFIG_PATHS.get(field, field), problem) from None
    too_big = check_fits(config)
    if too_big is not None:
        raise ModelError(*too_big)
    about = raw["scenario"]
    return Scenario(
        name=about["name"],
        description=about.get("description", ""),
        config=config,
        faults=faults_from_spec(raw.get("faults", []), nodes, config.seed),
        table=dict(raw),
        source=source,
        explore=profile_from_spec(raw["explore"], nodes, config.max_sim_time) if "explore" in raw else None,
    )


def stored_faults(stored: Mapping[str, Any]) -> tuple[Fault, ...]:
    """The fault timeline of a scenario as a results directory stores it (scenario.json, where an infinite
    duration or time limit is null), resolved to the nodes it hits as when it ran."""

    def present(value: Any) -> Any:
        if isinstance(value, dict):
            return {key: present(item) for key, item in value.items() if item is not None}
        return [present(item) for item in value] if isinstance(value, list) else value

    raw = {section: spec for section, spec in present(dict(stored)).items() if section != "costs"}
    try:
        return _scenario(raw, "scenario.json", Path(".")).faults
    except ModelError as error:
        raise ScenarioError("scenario.json", error.param, error.problem) from None


def _check_topology(spec: Mapping[str, Any]) -> None:
    """Reject topology keys that the chosen mode ignores: they would silently do nothing."""
    if spec.get("bundled", GorilaConfig.bundled):
        for key in ("learners", "replay", "replay_nodes"):
            if key in spec:
                why = "each bundle has its own learner and replay memory"
                raise ModelError(
                    f"topology.{key}", f"has no effect in bundled mode, where {why} (set bundled = false)"
                )
    elif spec.get("replay", GorilaConfig.replay) == "local" and "replay_nodes" in spec:
        raise ModelError(
            "topology.replay_nodes",
            "has no effect with replay = 'local', one per actor (set replay = 'global')",
        )


def _network(spec: Any, nodes: Sequence[str]) -> dict[str, Any]:
    """The default link (the keys of [network] itself), and the links by role pair and by node pair."""
    spec = table(spec, "network")
    check_keys(spec, "network", (*LINK_KEYS, "roles", "links"))
    present = roles(nodes)
    role_links, node_links = {}, {}
    for pair, link in table(spec.get("roles", {}), "network.roles").items():
        path = f"network.roles.{quote_key(pair)}"
        role_links[_pair(pair, path, present, "role", ", ".join(present))] = link_from_spec(link, path)
    for pair, link in table(spec.get("links", {}), "network.links").items():
        path = f"network.links.{quote_key(pair)}"
        node_links[_pair(pair, path, nodes, "node", describe(nodes))] = link_from_spec(link, path)
    default = link_from_spec({key: spec[key] for key in LINK_KEYS if key in spec}, "network")
    return {"link": default, "role_links": role_links, "node_links": node_links}


def _pair(key: str, path: str, known: Sequence[str], what: str, listed: str) -> tuple[str, str]:
    """The (sender, receiver) that a key like "learner->shard" names, each one of `known`."""
    sender, arrow, receiver = (part.strip() for part in key.partition("->"))
    if not arrow:
        raise ModelError(path, f'must name a sender and a receiver, as in "{known[-1]}->{known[0]}"')
    for name in (sender, receiver):
        if name not in known:
            raise ModelError(path, f"no {what} {name!r} in this topology (it has {listed})")
    return sender, receiver


def _node_models(spec: Any, nodes: Sequence[str]) -> dict[str, Any]:
    spec = table(spec, "nodes")
    present = roles(nodes)
    check_keys(spec, "nodes", present)
    return {role: node_from_spec(node, f"nodes.{role}") for role, node in spec.items()}


def _costs(spec: Any, base_dir: Path) -> CostProfile:
    """The compute costs: a profile file's (or the defaults), with the keys given here on top."""
    spec = table(spec, "costs")
    check_keys(spec, "costs", ("profile", *COST_KEYS))
    profile = CostProfile()
    if "profile" in spec:
        file = text("costs.profile", spec["profile"])
        try:
            profile = CostProfile.load(base_dir / file)
        except OSError as error:
            raise ModelError("costs.profile", f"cannot read {file!r} ({error.strerror or error})") from None
        except ValueError as error:
            raise ModelError("costs.profile", f"{file!r} is not a cost profile ({error})") from None
    values = {
        key: checks.number(f"costs.{key}", spec[key], low=0.0, low_open=key == "bytes_per_second")
        for key in COST_KEYS
        if key in spec
    }
    return replace(profile, **values)


__all__ = ["Scenario", "load_scenario", "parse_scenario", "scenario_from_table", "stored_faults"]
