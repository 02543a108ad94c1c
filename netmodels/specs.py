"""Helpers for reading declarative specs (mappings from TOML or JSON) into models."""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterator, Mapping
from contextlib import contextmanager
from typing import Any, TypeVar

from .checks import show
from .errors import ModelError


def table(spec: Any, path: str) -> Mapping[str, Any]:
    """Check that `spec` is a mapping."""
    if not isinstance(spec, Mapping):
        raise ModelError(path, f"must be a table of keys and values, got {show(spec)}")
    return spec


def check_keys(
    spec: Mapping[str, Any],
    path: str,
    allowed: Collection[str],
    required: Collection[str] = (),
    context: str = "",
) -> None:
    """Reject keys outside `allowed` and missing `required` ones; `context` qualifies the message."""
    for key in spec:
        if key not in allowed:
            listed = ", ".join(sorted(allowed))
            raise ModelError(f"{path}.{key}", f"unknown key{context}; allowed: {listed}")
    for key in required:
        if key not in spec:
            raise ModelError(f"{path}.{key}", f"missing required key{context}")


def kind(spec: Mapping[str, Any], path: str, kinds: Collection[str]) -> str:
    """The spec's "kind", checked against `kinds`."""
    listed = ", ".join(sorted(kinds))
    if "kind" not in spec:
        raise ModelError(f"{path}.kind", f"missing required key; one of: {listed}")
    value = spec["kind"]
    if not isinstance(value, str) or value not in kinds:
        raise ModelError(f"{path}.kind", f"must be one of: {listed}, got {show(value)}")
    return value


Model = TypeVar("Model")
Reader = Callable[[Any, str], Any]


def build(
    model: Callable[..., Model],
    spec: Any,
    path: str,
    readers: Mapping[str, Reader | None],
    required: Collection[str] = (),
) -> Model:
    """`model(**values)` from a spec whose keys are those of `readers`; a key's reader (None: the value as
    it is) turns its value, found at `path.key`, into the model's argument."""
    spec = table(spec, path)
    check_keys(spec, path, readers, required)
    values = {
        key: value if readers[key] is None else readers[key](value, f"{path}.{key}")
        for key, value in spec.items()
    }
    with under(path):
        return model(**values)


@contextmanager
def under(path: str) -> Iterator[None]:
    """Re-raise ModelErrors from building a model with their parameter placed under `path`."""
    try:
        yield
    except ModelError as error:
        raise error.under(path) from None
