"""docs/scenarios.md keeps up with the format: every key documented, every example valid, every library
scenario listed."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from gorila_sim.scenario import library_scenarios, parse_scenario
from gorila_sim.scenario.faults import KEYS
from gorila_sim.scenario.format import SECTIONS
from gorila_sim.scenario.parse import COST_KEYS, LINK_KEYS

PAGE = (Path(__file__).resolve().parents[2] / "docs" / "scenarios.md").read_text()
TOML = re.findall(r"```toml\n(.*?)```", PAGE, re.DOTALL)
CLUSTER = (
    '[scenario]\nname = "docs"\n[topology]\nactors = 4\nlearners = 2\nbundled = false\nreplay = "global"\n'
)


def test_every_key_of_the_format_is_documented():
    keys = {*(key for keys in SECTIONS.values() for key in keys), *COST_KEYS, *LINK_KEYS, "profile"}
    keys |= {key for keys in KEYS.values() for key in keys} | {"speed", "straggler", "slowdowns", "crashes"}
    assert sorted(key for key in keys if f"`{key}`" not in PAGE) == []


@pytest.mark.parametrize("example", TOML)
def test_every_toml_example_is_valid(example):
    scenario = parse_scenario(example if "[scenario]" in example else CLUSTER + example, "example.toml")
    assert scenario.nodes


def test_the_page_lists_every_library_scenario():
    for name in library_scenarios():
        assert f"| `{name}` |" in PAGE
