"""IVR errors and the problems the loader and the validator report.

    FlowError            a flow file cannot be used; carries every :class:`Problem` found
    UnknownFlow          the registry has no flow by that id

A :class:`Problem` names the file, the node and the field, so a person can go straight to it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Problem:
    """One thing wrong with a flow file. ``severity`` is ``error`` (the flow is refused) or
    ``warning`` (the flow works, but a caller may notice: a prompt with no translation)."""

    file: str
    node: str
    field: str
    message: str
    severity: str = "error"

    def __str__(self) -> str:
        where = [self.file or "<flow>"]
        if self.node:
            where.append(f"node {self.node!r}")
        if self.field:
            where.append(f"field {self.field!r}")
        return f"{': '.join(where)}: {self.severity}: {self.message}"

    @property
    def is_error(self) -> bool:
        return self.severity == "error"


class FlowError(ValueError):
    """A flow file was refused; ``problems`` lists every error found in it."""

    def __init__(self, problems: Sequence[Problem]) -> None:
        self.problems = tuple(problems)
        errors = [p for p in self.problems if p.is_error] or list(self.problems)
        more = f" (and {len(errors) - 1} more)" if len(errors) > 1 else ""
        super().__init__(f"{errors[0]}{more}" if errors else "invalid flow")


class UnknownFlow(KeyError):
    """No flow with this id is loaded."""
