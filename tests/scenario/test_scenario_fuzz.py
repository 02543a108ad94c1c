"""Fuzzing the parser with mutated library scenarios: whatever the file holds, the answer is a Scenario or
one ScenarioError of one line that starts with the file's name; never another exception."""

from __future__ import annotations

import random
import re
from collections.abc import Callable

from gorila_sim.scenario import ScenarioError, library_scenarios, parse_scenario

SOURCE = "fuzz.toml"
TEXTS = [path.read_text() for path in library_scenarios().values()]
VALUES = [
    '"text"',
    '""',
    "'🙂'",
    "true",
    "0",
    "-1",
    "-0.5",
    "1e308",
    "inf",
    "-inf",
    "nan",
    "99999999999999999999",
    "[]",
    "[1, 2]",
    '["actor-0", "nobody-9"]',
    "{}",
    '{ kind = "lognormal" }',
    '{ role = "actor" }',
    "1979-05-27",
]
NUMBER = re.compile(r"(?<![\w.])-?\d[\d_]*(?:\.\d+)?(?:e-?\d+)?")
KEY_LINE = re.compile(r"^(\s*)([\w\".-]+)(\s*=\s*)(.*)$")
CHARACTERS = "[]{}=\".,'#\n\t\x00\x07\x7f é→🙂-_0123456789abcxyz"

Mutation = Callable[[list[str], random.Random], None]


def delete_line(lines: list[str], rng: random.Random) -> None:
    del lines[rng.randrange(len(lines))]


def duplicate_line(lines: list[str], rng: random.Random) -> None:
    lines.insert(rng.randrange(len(lines)), rng.choice(lines))


def swap_lines(lines: list[str], rng: random.Random) -> None:
    i, j = rng.randrange(len(lines)), rng.randrange(len(lines))
    lines[i], lines[j] = lines[j], lines[i]


def key_lines(lines: list[str]) -> list[int]:
    return [i for i, line in enumerate(lines) if KEY_LINE.match(line)] or [0]


def retype_value(lines: list[str], rng: random.Random) -> None:
    i = rng.choice(key_lines(lines))
    lines[i] = KEY_LINE.sub(lambda m: m[1] + m[2] + m[3] + rng.choice(VALUES), lines[i])


def rename_key(lines: list[str], rng: random.Random) -> None:
    i = rng.choice(key_lines(lines))
    suffix = rng.choice(["s", "_", "x", ".x", ""])
    lines[i] = KEY_LINE.sub(
        lambda m: m[1] + m[2][: rng.randrange(1, len(m[2]) + 1)] + suffix + m[3] + m[4], lines[i]
    )


def change_number(lines: list[str], rng: random.Random) -> None:
    numbered = [i for i, line in enumerate(lines) if NUMBER.search(line)] or [0]
    i = rng.choice(numbered)
    forms = ["-{}", '"{}"', "{}000000000000", "0", "-0.0", "{}e300", "0.{}", "{}.5"]
    form = rng.choice(forms)
    lines[i] = NUMBER.sub(lambda m: form.format(m[0].lstrip("-")), lines[i], count=1)


def drop_bracket(lines: list[str], rng: random.Random) -> None:
    bracketed = [i for i, line in enumerate(lines) if set(line) & set("[]{}")] or [0]
    i = rng.choice(bracketed)
    places = [j for j, c in enumerate(lines[i]) if c in "[]{}"] or [0]
    j = rng.choice(places)
    lines[i] = lines[i][:j] + lines[i][j + 1 :]


def edit_characters(lines: list[str], rng: random.Random) -> None:
    i = rng.randrange(len(lines))
    line = lines[i]
    j = rng.randrange(len(line) + 1)
    what = rng.randrange(3)
    if what == 0:
        line = line[:j] + rng.choice(CHARACTERS) + line[j:]
    elif what == 1:
        line = line[:j] + line[j + 1 :]
    else:
        line = line[:j] + rng.choice(CHARACTERS) + line[j + 1 :]
    lines[i] = line


MUTATIONS: list[Mutation] = [
    delete_line,
    duplicate_line,
    swap_lines,
    retype_value,
    rename_key,
    change_number,
    drop_bracket,
    edit_characters,
]


def mutated(text: str, rng: random.Random) -> str:
    lines = text.splitlines()
    for _ in range(rng.choice([1, 1, 1, 2, 3])):
        rng.choice(MUTATIONS)(lines, rng)
    return "\n".join(lines) + "\n"


def test_a_thousand_mutated_scenarios_give_a_scenario_or_one_line_of_error():
    rng = random.Random(20_260_101)
    outcomes = {"ok": 0, "error": 0}
    for case in range(1_400):
        text = mutated(TEXTS[case % len(TEXTS)], rng)
        try:
            parse_scenario(text, SOURCE)
        except ScenarioError as error:
            message = str(error)
            assert len(message.splitlines()) == 1, (text, message)
            assert re.match(rf"{re.escape(SOURCE)}(:\d+)?: \S", message), (text, message)
            if error.line is not None:
                assert 1 <= error.line <= text.count("\n") + 1, (text, message)
            outcomes["error"] += 1
        else:
            outcomes["ok"] += 1
    assert outcomes["error"] > 700 and outcomes["ok"] > 100, outcomes


def test_random_overrides_give_a_scenario_or_one_line_of_error():
    rng = random.Random(7)
    fields = [
        *("topology.actors", "training.gamma", "stop.sim_time", "faults[0].at", "faults[1].a", "nodes.actor"),
        *("network.loss", "costs.act", "scenario.seed", "faults[0]", "training.optimiser.lr", "scenario"),
    ]
    for _ in range(300):
        override = f"{rng.choice(fields)}={rng.choice([*VALUES, 'word', '{', 'a b'])}"
        try:
            parse_scenario(TEXTS[0], SOURCE, [override])
        except ScenarioError as error:
            message = str(error)
            assert len(message.splitlines()) == 1, message
            assert message.startswith((f"{SOURCE}: ", f"{SOURCE}:", f"override {override!r}: ")), message
