"""The validated, columnar position model."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from functools import cached_property
from typing import TYPE_CHECKING

import numpy as np
import polars as pl

from portfolios.problems import PortfolioValidationError, Problem, problems_frame

if TYPE_CHECKING:
    import pandas as pd

INSTRUMENTS = ("bond", "gold", "fx", "frn", "swap", "future")

#: Normalized columns of ``Portfolio.frame`` (attributes follow them).
CORE_SCHEMA: dict[str, pl.DataType] = {
    "row": pl.Int64(),
    "position_id": pl.String(),
    "instrument": pl.String(),
    "currency": pl.String(),
    "notional": pl.Float64(),
    "coupon": pl.Float64(),
    "maturity": pl.Date(),
    "frequency": pl.Int64(),
    "day_count": pl.String(),
    "spread_bp": pl.Float64(),
    "clean_price": pl.Float64(),
    "contract": pl.String(),
    "futures_price": pl.Float64(),
    "conversion_factor": pl.Float64(),
    "delivery_date": pl.Date(),
    "margin_bp": pl.Float64(),
    "current_coupon": pl.Float64(),
    "side": pl.String(),
    "float_frequency": pl.Int64(),
    "float_day_count": pl.String(),
    "issue_date": pl.Date(),
    "first_coupon_date": pl.Date(),
    "settlement_days": pl.Int64(),
    "ex_dividend_days": pl.Int64(),
    "calendar": pl.String(),
    "business_day_convention": pl.String(),
}


@dataclass(frozen=True)
class Portfolio:
    """Validated positions, one row each, in a polars frame with the columns of CORE_SCHEMA.

    ``notional`` is face in the position currency for bonds, troy ounces for gold and the
    currency amount for fx cash; negative means short. ``coupon`` is percent per annum,
    ``spread_bp`` a continuously compounded zero spread over the currency curve in bp, and
    ``clean_price`` per 100 face. Bonds also carry their market conventions (preset or
    explicit): ``issue_date`` and ``first_coupon_date`` (null: a regular schedule),
    ``settlement_days`` and ``ex_dividend_days`` (business days), ``calendar`` and
    ``business_day_convention`` (names in ``portfolios.conventions``). FRNs, swaps and bond
    futures carry the columns of their kind (README, Positions file): ``margin_bp`` and
    ``current_coupon`` (FRNs, swaps), ``side``, ``float_frequency`` and ``float_day_count``
    (swaps), ``contract``, ``futures_price``, ``conversion_factor`` and ``delivery_date``
    (futures, whose ``coupon`` and ``maturity`` are the cheapest-to-deliver bond's and whose
    ``notional`` is a number of contracts). ``row`` is the 1-based data row of the source.
    Any further columns (book, issuer, sector, ...) are ``attributes`` carried through for
    grouping.
    ``rejects`` lists the problems of rows left out (only when loaded with ``skip_invalid``).
    """

    frame: pl.DataFrame
    source: str = "<positions>"
    attributes: tuple[str, ...] = ()
    rejected: tuple[Problem, ...] = field(default=())
    n_input_rows: int = 0

    def __len__(self) -> int:
        return self.frame.height

    @property
    def rejects(self) -> pl.DataFrame:
        """Rejected rows as a frame: position_id, row, column, value, reason."""
        return problems_frame(self.rejected)

    @property
    def position_ids(self) -> list[str]:
        return self.frame["position_id"].to_list()

    @cached_property
    def position_id_enum(self) -> pl.Series:
        """The position ids as an Enum whose categories are the ids in book order: the dtype
        of every position column of a result. Kept, since building it costs about 0.5 s per
        million positions, more than a summary run of a prepared book."""
        ids = self.frame["position_id"]
        return ids.cast(pl.Enum(ids))

    def to_pandas(self) -> pd.DataFrame:
        return self.frame.to_pandas()

    def matured(self, valuation_date: dt.date) -> list[Problem]:
        """Problems for bonds maturing on or before ``valuation_date``."""
        return [
            Problem(self.source, r, pid, "maturity", m.isoformat(),
                    f"a maturity after the valuation date {valuation_date.isoformat()}")
            for r, pid, m in self._bonds_dated("maturity", valuation_date, after=False)
        ]  # fmt: skip

    def not_issued(self, valuation_date: dt.date) -> list[Problem]:
        """Problems for bonds issued after ``valuation_date`` (not modelled)."""
        return [
            Problem(self.source, r, pid, "issue_date", d.isoformat(),
                    f"an issue date on or before the valuation date {valuation_date.isoformat()} "
                    "(bonds not issued yet are not modelled)")
            for r, pid, d in self._bonds_dated("issue_date", valuation_date, after=True)
        ]  # fmt: skip

    def _bonds_dated(
        self, column: str, day: dt.date, *, after: bool
    ) -> list[tuple[int, str, dt.date]]:
        """(row, position_id, date) of the bonds whose ``column`` is after ``day`` (or on or
        before it), null dates never. Compared in numpy: a polars filter is a query of about
        0.1 ms, and a what-if's trade runs this on every call."""
        # datetime64[D]: a null is NaT, never compared true.
        dates = self.frame.get_column(column).to_numpy()
        limit = np.datetime64(day, "D")
        hit = (dates > limit) if after else (dates <= limit)
        if not hit.any():
            return []
        hit &= (self.frame.get_column("instrument") == "bond").to_numpy()
        return list(self.frame.filter(hit).select("row", "position_id", column).iter_rows())

    def drop_rows(self, problems: list[Problem]) -> Portfolio:
        """A copy without the rows named by ``problems``, which join the rejects."""
        bad = np.array(sorted({p.row for p in problems if p.row is not None}), dtype=np.int64)
        return Portfolio(
            self.frame.filter(~pl.col("row").is_in(bad)),
            self.source,
            self.attributes,
            self.rejected + tuple(problems),
            self.n_input_rows,
        )

    def aligned_to(self, schema: pl.Schema) -> Portfolio:
        """These positions with the dtype ``schema`` gives each attribute column both have,
        to join a book of that schema: positions read from another source carry the book's
        labels (pandas makes floats of an integer column with a gap, and a spread shift
        keyed "1" must not miss a position labelled "1.0").

        Raises:
            PortfolioValidationError: a value that does not convert without change (1.5 to
                an integer column, text to a date column), naming its row and column.
        """
        frame = self.frame
        casts: dict[str, pl.Series] = {}
        problems: list[Problem] = []
        for column in [c for c in frame.columns if c not in CORE_SCHEMA]:
            want, have = schema.get(column), frame.schema[column]
            if want is None or want == have or want == pl.Null:
                continue
            original = frame.get_column(column)
            # Only missing values go between a number, a date and a flag: 300 -> 1970-10-28
            # -> 300 and True -> 1 -> True come back unchanged, yet a number is no date.
            cast = pl.Series(column, [None] * frame.height, dtype=want)
            kept = original.is_null().to_numpy()
            if _dtype_kind(want) == _dtype_kind(have) or "text" in (_dtype_kind(want),
                                                                     _dtype_kind(have)):
                try:
                    cast = original.cast(want, strict=False)
                    kept = cast.cast(have, strict=False).eq_missing(original).to_numpy()
                except pl.exceptions.PolarsError:  # no conversion between the two (a category)
                    pass
            if kept.all():
                casts[column] = cast
                continue
            bad = frame.filter(~kept).select("row", "position_id", column)
            problems += [Problem(self.source, row, pid, column, value,
                                 f"a value of the book's {column} column, of type {want}")
                         for row, pid, value in bad.iter_rows()]  # fmt: skip
        if problems:
            raise PortfolioValidationError(problems)
        if not casts:
            return self
        return Portfolio(frame.with_columns(**casts), self.source, self.attributes,
                         self.rejected, self.n_input_rows)  # fmt: skip


def _dtype_kind(dtype: pl.DataType) -> str:
    """What an attribute column of this dtype holds, for ``Portfolio.aligned_to``."""
    if dtype.is_numeric():
        return "number"
    if dtype.is_temporal():
        return "date"
    if dtype == pl.Boolean:
        return "flag"
    if dtype in (pl.String, pl.Categorical) or isinstance(dtype, pl.Enum):
        return "text"
    return str(dtype)
