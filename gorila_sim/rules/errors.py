"""The one exception type for bad rule parameters and specs."""

from __future__ import annotations


class RuleError(ValueError):
    """A bad rule parameter: `param` names it (a dotted path inside specs), `problem` says what's wrong.

    `str()` of the error is one line, "param: problem", e.g.
    "staleness.max_staleness: must be an integer >= 0, got -1".
    """

    def __init__(self, param: str, problem: str) -> None:
        super().__init__(param, problem)
        self.param = param
        self.problem = problem

    def __str__(self) -> str:
        return f"{self.param}: {self.problem}"

    def under(self, prefix: str) -> RuleError:
        """The same error with its parameter placed under `prefix` (e.g. "staleness")."""
        return RuleError(f"{prefix}.{self.param}", self.problem)
