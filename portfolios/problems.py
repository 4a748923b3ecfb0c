"""Validation problems and the errors that carry them."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import polars as pl


@dataclass(frozen=True)
class Problem:
    """One thing wrong with one input row (``row`` is 1-based over data rows; None = whole file)."""

    source: str
    row: int | None
    position_id: str | None
    column: str
    value: object
    expected: str

    def __str__(self) -> str:
        where = self.source
        if self.row is not None:
            where += f": row {self.row}"
        if self.position_id:
            where += f" (position_id {self.position_id!r})"
        got = "" if self.value is None else f"got {self.value!r}; "
        return f"{where}, column {self.column!r}: {got}expected {self.expected}"


class PortfolioError(ValueError):
    """A positions source that cannot be read at all (missing file, unknown format, ...)."""


class PortfolioValidationError(PortfolioError):
    """One or more rows of a positions source are invalid; ``problems`` lists every one."""

    def __init__(self, problems: Sequence[Problem]) -> None:
        self.problems = list(problems)
        n = len(self.problems)
        rows = {p.row for p in self.problems}
        head = (
            f"{n} problem{'s' if n != 1 else ''} in {len(rows)} row{'s' if len(rows) != 1 else ''}"
        )
        super().__init__(head + ":\n" + "\n".join(f"  - {p}" for p in self.problems))


REJECT_SCHEMA: dict[str, type[pl.DataType]] = {
    "position_id": pl.String,
    "row": pl.Int64,
    "column": pl.String,
    "value": pl.String,
    "reason": pl.String,
}


def problems_frame(problems: Iterable[Problem]) -> pl.DataFrame:
    """The rejects report: one row per problem (position_id, row, column, value, reason)."""
    rows = [
        {
            "position_id": p.position_id,
            "row": p.row,
            "column": p.column,
            "value": None if p.value is None else str(p.value),
            "reason": str(p),
        }
        for p in problems
    ]
    return pl.DataFrame(rows, schema=REJECT_SCHEMA)
