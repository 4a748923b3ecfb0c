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
            where += f" (position_id {_shown(self.position_id)})"
        got = "" if self.value is None else f"got {_shown(self.value)}; "
        return f"{where}, column {_shown(self.column)}: {got}expected {self.expected}"


#: Longest value shown in a message (the rejects' value column keeps it whole).
MAX_SHOWN = 200
#: Most problems listed in a PortfolioValidationError's message (``problems`` has them all).
MAX_LISTED = 1000


def _shown(value: object) -> str:
    """``repr(value)``: quoted, so user text (brackets, newlines, quotes) stays visibly one value;
    shortened past MAX_SHOWN characters."""
    text = repr(value)
    if len(text) <= MAX_SHOWN:
        return text
    return f"{text[:MAX_SHOWN]}... ({len(text)} characters)"


class PortfolioError(ValueError):
    """A positions source that cannot be read at all (missing file, unknown format, ...)."""


class PortfolioValidationError(PortfolioError):
    """One or more rows of a positions source are invalid; ``problems`` lists every one."""

    def __init__(self, problems: Sequence[Problem]) -> None:
        self.problems = list(problems)
        n = len(self.problems)
        rows = {p.row for p in self.problems if p.row is not None}
        whole = sum(p.row is None for p in self.problems)
        head = f"{n} problem{'s' if n != 1 else ''}"
        in_rows = f"in {len(rows)} row{'s' if len(rows) != 1 else ''}"
        if not whole:
            head += f" {in_rows}"
        elif rows:
            head += f": {whole} of the whole source, {n - whole} {in_rows}"
        else:
            head += " of the whole source"
        lines = [f"  - {p}" for p in self.problems[:MAX_LISTED]]
        if n > MAX_LISTED:
            lines.append(f"  ... and {n - MAX_LISTED} more problems (not listed here)")
        super().__init__(head + ":\n" + "\n".join(lines))


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
