"""The scenario library shipped with the package (`library/*.toml`), and finding a scenario by name."""

from __future__ import annotations

import tomllib
from pathlib import Path

from .errors import ScenarioError

LIBRARY = Path(__file__).with_name("library")


def library_scenarios() -> dict[str, Path]:
    """The library's scenarios by name (the file name without `.toml`), sorted by name."""
    return {path.stem: path for path in sorted(LIBRARY.glob("*.toml"))}


def resolve(scenario: str | Path) -> Path:
    """The file of `scenario`: a path to a scenario file, or the name of a library scenario."""
    path = Path(scenario)
    if path.is_file():
        return path
    library = library_scenarios()
    if str(scenario) in library:
        return library[str(scenario)]
    names = ", ".join(library)
    raise ScenarioError(
        str(scenario), None, f"no such file, nor a library scenario (the library has {names})"
    )


def description(path: Path) -> str:
    """The first line of a scenario file's description; '' if it has none or cannot be read."""
    try:
        about = tomllib.loads(path.read_text(encoding="utf-8")).get("scenario", {})
    except (OSError, ValueError):
        return ""
    text = about.get("description", "") if isinstance(about, dict) else ""
    return text.strip().split("\n", 1)[0] if isinstance(text, str) else ""
