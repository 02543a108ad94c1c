"""The spec examples in docs/netmodels.md build models."""

import json
import re
import tomllib
from pathlib import Path

import pytest

from netmodels import (
    distribution_from_spec,
    link_from_spec,
    loss_from_spec,
    node_from_spec,
    partition_from_spec,
)

PAGE = Path(__file__).resolve().parents[2] / "docs" / "netmodels.md"
TEXT = PAGE.read_text()
TOML = re.findall(r"```toml\n(.*?)```", TEXT, re.DOTALL)
JSON = re.findall(r"```json\n(.*?)```", TEXT, re.DOTALL)


def build(key: str, spec):
    if key == "link":
        return link_from_spec(spec)
    if key == "node":
        return node_from_spec(spec)
    if key == "loss":
        return loss_from_spec(spec)
    if key == "partitions":
        return [partition_from_spec(item) for item in spec]
    return distribution_from_spec(spec, key)


@pytest.mark.parametrize("block", TOML, ids=[f"toml-{i}" for i in range(1, len(TOML) + 1)])
def test_toml_examples_build(block):
    for key, spec in tomllib.loads(block).items():
        build(key, spec)


@pytest.mark.parametrize("block", JSON, ids=[f"json-{i}" for i in range(1, len(JSON) + 1)])
def test_json_examples_build_nodes(block):
    node_from_spec(json.loads(block))


def test_every_example_kind_is_present():
    assert len(TOML) >= 6
    assert JSON
