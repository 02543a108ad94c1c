"""The one exception type for bad model parameters."""

from __future__ import annotations


class ModelError(ValueError):
    """A bad model parameter: `param` names it (a dotted path inside specs), `problem` says what's wrong.

    `str()` of the error is one line: "param: problem", e.g.
    "latency.p99: must be greater than median (0.002), got 0.001".
    """

    def __init__(self, param: str, problem: str) -> None:
        super().__init__(param, problem)
        self.param = param
        self.problem = problem

    def __str__(self) -> str:
        return f"{self.param}: {self.problem}"

    def under(self, prefix: str) -> ModelError:
        """The same error with its parameter placed under `prefix` (e.g. "link.latency")."""
        return type(self)(f"{prefix}.{self.param}", self.problem)
