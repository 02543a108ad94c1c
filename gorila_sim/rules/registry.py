"""Build rules from scenario specs: a registry name, or a user's class named by import path."""

from __future__ import annotations

import importlib
import inspect
from collections.abc import Mapping
from typing import Any, Literal, overload

from .checks import one_line, show
from .errors import RuleError
from .optimisers import SGD, AdaGrad, Adam, Optimiser, RMSProp
from .outliers import NoOutlierRule, OutlierRule, RunningMeanStd
from .staleness import (
    DelayCompensated,
    ExponentialPenalty,
    HardThreshold,
    NoStaleness,
    StalenessRule,
    StalenessScaled,
    StaleSynchronous,
)

RULES: dict[str, dict[str, type]] = {
    "staleness": {
        "hard_threshold": HardThreshold,
        "staleness_scaled": StalenessScaled,
        "exponential_penalty": ExponentialPenalty,
        "delay_compensated": DelayCompensated,
        "stale_synchronous": StaleSynchronous,
        "none": NoStaleness,
    },
    "outliers": {"running_mean_std": RunningMeanStd, "none": NoOutlierRule},
    "optimiser": {"adagrad": AdaGrad, "sgd": SGD, "rmsprop": RMSProp, "adam": Adam},
}
"""The built-in rules of each kind, by name."""

INTERFACES: dict[str, tuple[str, ...]] = {
    "staleness": ("history", "admit"),
    "outliers": ("admit",),
    "optimiser": ("step", "state", "load_state"),
}
"""The attributes a rule of each kind must have."""


@overload
def build(kind: Literal["staleness"], spec: str | Mapping[str, Any]) -> StalenessRule: ...
@overload
def build(kind: Literal["outliers"], spec: str | Mapping[str, Any]) -> OutlierRule: ...
@overload
def build(kind: Literal["optimiser"], spec: str | Mapping[str, Any]) -> Optimiser: ...
@overload
def build(kind: str, spec: str | Mapping[str, Any]) -> object: ...
def build(kind: str, spec: str | Mapping[str, Any]) -> object:
    """The rule of `kind` ("staleness", "outliers" or "optimiser") that `spec` describes.

    `spec` is a name ("hard_threshold", or "package.module:ClassName" for a class of your own) or a
    mapping with a "name" key and the rule's parameters, e.g. {"name": "hard_threshold", "max_staleness": 10}.
    Every problem raises RuleError naming the field, e.g. "staleness.max_staleness".
    """
    if kind not in RULES:
        raise RuleError("kind", f"must be one of: {', '.join(RULES)}, got {show(kind)}")
    if isinstance(spec, str):
        name, params = spec, {}
    elif isinstance(spec, Mapping):
        if "name" not in spec:
            raise RuleError(f"{kind}.name", f"missing; {_known(kind)}")
        name, params = spec["name"], {key: value for key, value in spec.items() if key != "name"}
    else:
        raise RuleError(kind, f"must be a name or a table with a name and parameters, got {show(spec)}")
    cls = _resolve(kind, name)
    _check_parameters(kind, name, cls, params)
    try:
        rule = cls(**params)
    except RuleError as error:
        raise error.under(kind) from None
    except (TypeError, ValueError) as error:
        raise RuleError(kind, f"{name} rejected its parameters: {one_line(str(error))}") from error
    missing = [attribute for attribute in INTERFACES[kind] if not hasattr(rule, attribute)]
    if missing:
        needed = ", ".join(INTERFACES[kind])
        raise RuleError(f"{kind}.name", f"{name} lacks {', '.join(missing)}; a {kind} rule needs {needed}")
    return rule


def _known(kind: str) -> str:
    return f"one of: {', '.join(RULES[kind])}, or an import path 'package.module:ClassName'"


def _resolve(kind: str, name: Any) -> Any:
    """The class that `name` stands for: a registry name or an import path."""
    if not isinstance(name, str):
        raise RuleError(f"{kind}.name", f"must be {_known(kind)}, got {show(name)}")
    if ":" not in name:
        if name not in RULES[kind]:
            raise RuleError(f"{kind}.name", f"unknown name {show(name)}; {_known(kind)}")
        return RULES[kind][name]
    module_name, _, class_name = name.partition(":")
    if not module_name or not class_name:
        raise RuleError(f"{kind}.name", f"must look like 'package.module:ClassName', got {show(name)}")
    try:
        module = importlib.import_module(module_name)
    except ImportError as error:
        raise RuleError(f"{kind}.name", f"cannot import {module_name!r}: {one_line(str(error))}") from error
    cls = getattr(module, class_name, None)
    if not callable(cls):
        raise RuleError(f"{kind}.name", f"module {module_name!r} has no class {class_name!r}")
    return cls


def _check_parameters(kind: str, name: str, cls: Any, params: Mapping[str, Any]) -> None:
    """Reject keys that `cls` does not accept and required parameters that are missing."""
    signature = inspect.signature(cls).parameters.values()
    named = [p for p in signature if p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)]
    if not any(p.kind is p.VAR_KEYWORD for p in signature):
        accepted = [p.name for p in named]
        for key in params:
            if key not in accepted:
                listed = ", ".join(accepted) or "none"
                raise RuleError(f"{kind}.{key}", f"unknown parameter of {name}; accepted: {listed}")
    for p in named:
        if p.default is p.empty and p.name not in params:
            raise RuleError(f"{kind}.{p.name}", f"missing; {name} requires it")
