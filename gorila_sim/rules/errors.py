"""The one exception type for bad rule parameters and specs."""

from __future__ import annotations

from netmodels import ModelError


class RuleError(ModelError):
    """A bad rule parameter: `param` names it (a dotted path inside specs), `problem` says what's wrong.

    `str()` of the error is one line, "param: problem", e.g.
    "staleness.max_staleness: must be an integer >= 0, got -1".
    """
