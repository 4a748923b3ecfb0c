"""The errors of the ``shocks`` package: one type per kind of input, each a ValueError."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

#: How many problems an error message lists (every one stays in ``problems``).
SHOWN = 30


class ScenarioError(ValueError):
    """A scenario file or definition that cannot be used."""


class HistoryWarning(UserWarning):
    """A market history that loads but looks wrong (e.g. a yield cell in bp)."""


@dataclass(frozen=True)
class Problem:
    """One thing wrong with one input cell, row or column (``row`` is 1-based over data rows,
    the header excluded; None = the whole column or file)."""

    source: str
    row: int | None
    column: str
    value: object
    expected: str

    def __str__(self) -> str:
        where = self.source if self.row is None else f"{self.source}: row {self.row}"
        got = "" if self.value is None else f"got {self.value!r}; "
        return f"{where}, column {self.column!r}: {got}expected {self.expected}"


class HistoryError(ValueError):
    """A market history that cannot be used; ``problems`` lists every problem found."""

    def __init__(self, message: str, problems: Sequence[Problem] = ()) -> None:
        super().__init__(message)
        self.problems = list(problems)

    @classmethod
    def of(cls, problems: Sequence[Problem]) -> HistoryError:
        """One error listing ``problems`` (the message shows the first ``SHOWN``)."""
        n = len(problems)
        lines = [f"  - {p}" for p in problems[:SHOWN]]
        if n > SHOWN:
            lines.append(f"  ... and {n - SHOWN} more")
        head = f"{n} problem{'s' if n != 1 else ''} in the market history"
        return cls(head + ":\n" + "\n".join(lines), problems)
