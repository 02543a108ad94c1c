"""`gorila-sim scenarios show NAME` and `scenarios init NAME FILE`: a library scenario as a starting file."""

import shlex
from pathlib import Path

import pytest

from gorila_sim.cli import main
from gorila_sim.scenario import library_scenarios, load_scenario


def test_show_prints_the_library_file(capsys):
    assert main(["scenarios", "show", "shard-crash"]) == 0
    assert capsys.readouterr().out == library_scenarios()["shard-crash"].read_text()


@pytest.mark.parametrize("name", sorted(library_scenarios()))
def test_init_copies_a_library_scenario_under_the_files_name(name, tmp_path, capsys):
    file = tmp_path / "my-scenario.toml"
    assert main(["scenarios", "init", name, str(file)]) == 0
    assert capsys.readouterr().out == (
        f"wrote {file}: a copy of {name}, named 'my-scenario'; check it with `gorila-sim validate {file}`\n"
    )
    original, copy = library_scenarios()[name].read_text(), file.read_text()
    assert copy == original.replace(f'name = "{name}"', 'name = "my-scenario"', 1) and copy != original
    copied, library = load_scenario(file), load_scenario(library_scenarios()[name])
    assert copied.name == "my-scenario"
    assert (copied.config, copied.faults, copied.description) == (
        library.config,
        library.faults,
        library.description,
    )
    assert main(["validate", str(file)]) == 0


def test_init_never_overwrites_and_bad_names_are_one_line(tmp_path, capsys):
    file = tmp_path / "mine.toml"
    file.write_text("my own work")
    assert main(["scenarios", "init", "baseline", str(file)]) == 1
    assert capsys.readouterr().err == (
        f"gorila-sim scenarios init: {file} already exists (not overwritten; choose another FILE)\n"
    )
    assert file.read_text() == "my own work"
    for argv in (["show", "nope"], ["init", "nope", str(tmp_path / "new.toml")]):
        assert main(["scenarios", *argv]) == 1
        err = capsys.readouterr().err
        assert err.startswith(f"gorila-sim scenarios {argv[0]}: no library scenario 'nope' (the library has ")
        assert len(err.splitlines()) == 1
    assert not (tmp_path / "new.toml").exists()
    assert main(["scenarios", "init", "baseline", str(tmp_path / "no-such-dir" / "x.toml")]) == 1
    err = capsys.readouterr().err
    assert err.startswith("gorila-sim scenarios init: cannot write") and len(err.splitlines()) == 1


def test_scenarios_alone_still_lists_the_library(capsys):
    assert main(["scenarios"]) == 0
    assert [line.split()[0] for line in capsys.readouterr().out.splitlines()] == sorted(library_scenarios())


def test_the_cli_pages_example_prints_what_it_says(tmp_path, monkeypatch, capsys):
    page = (Path(__file__).resolve().parents[2] / "docs" / "cli.md").read_text()
    lines = [
        line for line in page.splitlines() if "my-scenario.toml" in line and line.startswith("gorila-sim")
    ]
    assert len(lines) == 2
    monkeypatch.chdir(tmp_path)
    for line in lines:
        command, said = (part.strip() for part in line.split("#", 1))
        assert main(shlex.split(command)[1:]) == 0
        assert capsys.readouterr().out.startswith(said.removesuffix("..."))
