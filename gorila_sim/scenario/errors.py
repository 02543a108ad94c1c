"""The one exception type for bad scenario files."""

from __future__ import annotations


class ScenarioError(ValueError):
    """A bad scenario file, or a bad override of one.

    `str()` is one line: "SOURCE:LINE: field.path: what is wrong", without the line where it is not known
    and without the field where the problem is not one field's (a TOML syntax error, an unreadable file).
    """

    def __init__(self, source: str, field: str | None, problem: str, line: int | None = None) -> None:
        super().__init__(source, field, problem, line)
        self.source = source
        self.field = field
        self.problem = problem
        self.line = line

    def __str__(self) -> str:
        where = self.source if self.line is None else f"{self.source}:{self.line}"
        text = f"{where}: {self.field}: {self.problem}" if self.field else f"{where}: {self.problem}"
        return " ".join(text.splitlines())
