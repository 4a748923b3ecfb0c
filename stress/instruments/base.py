"""What every instrument module provides (see ``stress.instruments``)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any, Literal

import numpy as np
import numpy.typing as npt
import polars as pl

from portfolios.conventions import BUSINESS_DAY_CONVENTIONS, CALENDARS, DAY_COUNTS
from stress.cashflows import CashflowBook
from stress.market import Market

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]


class Codes:
    """A table of names to the kernels' integer codes (``portfolios.conventions``), read in a
    polars query as an Enum's physical index and mapped to the codes after it: several times
    cheaper than ``replace_strict`` with the table, whose cost a one-trade what-if pays per
    column. Names outside the table fail the query, as ``replace_strict`` would."""

    def __init__(self, table: Mapping[str, int]) -> None:
        self._table = dict(table)
        self._codes = np.array(list(table.values()), dtype=np.int64)

    @cached_property
    def _dtype(self) -> pl.Enum:
        # Built on first use: a few rows are read without polars (``read``).
        return pl.Enum(list(self._table))

    def expr(self, column: str) -> pl.Expr:
        """The column's index into the table (a column of a ``select``)."""
        return pl.col(column).cast(self._dtype).to_physical()

    def of(self, index: pl.Series) -> IntArray:
        """The codes of a column computed by ``expr``."""
        codes: IntArray = self._codes[index.to_numpy()]
        return codes

    def of_names(self, names: list[str]) -> IntArray:
        """The codes of ``names`` (a KeyError for a name outside the table)."""
        return np.array([self._table[n] for n in names], dtype=np.int64)


#: Frames of at most this many rows are read cell by cell in Python: a polars query costs about
#: 0.1 ms whatever its size, which a trading tool's one-trade what-if would pay per query.
FEW_ROWS = 16

_EPOCH = dt.date(1970, 1, 1)


@dataclass(frozen=True)
class Read:
    """How ``read`` takes a column of positions into a numpy array: ``kind`` "float"
    (float64), "int" (int64), "day" (a date as int64 days since 1970) or "code" (a name's
    code in ``codes``); null cells become ``fill`` (without one, a null is an error: the
    loader leaves none there)."""

    column: str
    kind: Literal["float", "int", "day", "code"]
    fill: float | None = None
    codes: Codes | None = None

    def expr(self) -> pl.Expr:
        if self.kind == "code":
            assert self.codes is not None
            return self.codes.expr(self.column)
        e = pl.col(self.column).cast(pl.Float64 if self.kind == "float" else pl.Int64)
        return e if self.fill is None else e.fill_null(self.fill)

    def of_series(self, s: pl.Series) -> npt.NDArray[Any]:
        """The array from this read's ``expr`` evaluated."""
        if s.null_count():
            raise ValueError(f"{self.column}: null cells the layout cannot read")
        if self.kind == "code":
            assert self.codes is not None
            return self.codes.of(s)
        return s.to_numpy().astype(np.float64 if self.kind == "float" else np.int64)

    def of_cells(self, cells: list[object]) -> npt.NDArray[Any]:
        """The array from the column's cells (the same values as ``of_series``)."""
        if self.fill is not None:
            cells = [self.fill if c is None else c for c in cells]
        elif None in cells:
            raise ValueError(f"{self.column}: null cells the layout cannot read")
        if self.kind == "code":
            assert self.codes is not None
            return self.codes.of_names(cells)  # type: ignore[arg-type]
        if self.kind == "day":
            cells = [c if isinstance(c, int | float) else (c - _EPOCH).days  # type: ignore[operator]
                     for c in cells]  # fmt: skip
        return np.array(cells, dtype=np.float64 if self.kind == "float" else np.int64)


def read(rows: pl.DataFrame, **columns: Read) -> dict[str, npt.NDArray[Any]]:
    """The ``columns`` of ``rows`` as numpy arrays: one polars query, or cell by cell for a
    frame of at most ``FEW_ROWS`` rows (the same arrays, a hundredth of the time)."""
    return (read_cells if rows.height <= FEW_ROWS else read_query)(rows, columns)


def read_cells(rows: pl.DataFrame, columns: Mapping[str, Read]) -> dict[str, npt.NDArray[Any]]:
    """``read`` cell by cell (only the columns read: an attribute column may hold a date
    Python's dates cannot)."""
    cells = {c: rows.get_column(c).to_list() for c in {r.column for r in columns.values()}}
    return {k: r.of_cells(cells[r.column]) for k, r in columns.items()}


def read_query(rows: pl.DataFrame, columns: Mapping[str, Read]) -> dict[str, npt.NDArray[Any]]:
    """``read`` in one polars query."""
    out = rows.select(**{k: r.expr() for k, r in columns.items()})
    return {k: r.of_series(out[k]) for k, r in columns.items()}


def distinct(rows: pl.DataFrame, column: str) -> tuple[str, ...]:
    """The distinct values of a text column, sorted (cell by cell for a few rows, as
    ``read``)."""
    s = rows.get_column(column)
    values = s.to_list() if rows.height <= FEW_ROWS else s.unique().to_list()
    return tuple(sorted(set(values)))


DAY_COUNT_CODES = Codes(DAY_COUNTS)
CALENDAR_CODES = Codes(CALENDARS)
ROLLING_CODES = Codes(BUSINESS_DAY_CONVENTIONS)
#: What a schedule rolled on a calendar reads of a position row (bonds, FRNs, swaps).
CALENDAR_COLUMNS = {
    "calendar": Read("calendar", "code", codes=CALENDAR_CODES),
    "rolling": Read("business_day_convention", "code", codes=ROLLING_CODES),
}


@dataclass(frozen=True)
class CashflowRows:
    """A cashflow instrument's positions laid out for the kernels, one row per position.

    ``cashflows`` per 100 face; per row: the ``currency`` whose curve discounts it (and whose
    scenario shifts move it), its continuously compounded zero ``spread`` (decimal), the
    quoted ``clean_price`` per 100 face the spread must reproduce (NaN when the spread is
    given) and the coupon ``frequency`` its yield is quoted at (0 where none is). ``spread_time``
    (per cashflow, default its curve time) is the time its credit spread discounts over: a
    floating coupon's reset term sits on its reset date for the curve but is discounted for
    credit to its payment date. ``credit`` (per row, default true) says whether the row has a
    credit spread at all (a swap has none: spread shocks and spread duration skip it).
    """

    cashflows: CashflowBook
    currency: tuple[str, ...]
    spread: FloatArray
    clean_price: FloatArray
    frequency: IntArray
    spread_time: FloatArray | None = None
    credit: npt.NDArray[np.bool_] | None = None

    @property
    def spread_times(self) -> FloatArray:
        return self.cashflows.time if self.spread_time is None else self.spread_time

    @property
    def credits(self) -> npt.NDArray[np.bool_]:
        n = self.cashflows.n_bonds
        return np.ones(n, dtype=np.bool_) if self.credit is None else self.credit

    @staticmethod
    def concat(parts: list[CashflowRows], valuation_day: int) -> CashflowRows:
        """The rows of ``parts`` one after the other (none: an empty layout)."""
        if len(parts) == 1:
            return parts[0]  # a book of one kind (a what-if's trade): nothing to join
        if not parts:
            return CashflowRows(
                cashflows=CashflowBook.empty(valuation_day),
                currency=(),
                spread=np.zeros(0),
                clean_price=np.zeros(0),
                frequency=np.zeros(0, dtype=np.int64),
            )
        return CashflowRows(
            cashflows=CashflowBook.concat([p.cashflows for p in parts]),
            currency=tuple(c for p in parts for c in p.currency),
            spread=np.concatenate([p.spread for p in parts]),
            clean_price=np.concatenate([p.clean_price for p in parts]),
            frequency=np.concatenate([p.frequency for p in parts]),
            spread_time=np.concatenate([p.spread_times for p in parts]),
            credit=np.concatenate([p.credits for p in parts]),
        )


#: Builds an instrument's rows from its positions (rows of ``Portfolio.frame``) on a market.
Builder = Callable[[pl.DataFrame, Market], CashflowRows]


@dataclass(frozen=True)
class ForwardRows:
    """Bond futures laid out, one row per position: the cheapest-to-deliver bond's cashflows
    per 100 face (``ctd``, all of them; those paid after delivery make its forward price),
    the currency whose curve discounts it, its zero spread (or the clean price that sets it),
    the delivery date (days since 1970), the conversion factor, the contract size (face per
    contract) and the quoted futures price and the CTD's accrued interest at delivery, per 100."""

    ctd: CashflowBook
    currency: tuple[str, ...]
    spread: FloatArray
    clean_price: FloatArray
    delivery_day: IntArray
    conversion_factor: FloatArray
    contract_size: FloatArray
    futures_price: FloatArray
    delivery_accrued: FloatArray
    contract: tuple[str, ...]


ForwardBuilder = Callable[[pl.DataFrame, Market], ForwardRows]


@dataclass(frozen=True)
class Instrument:
    """One kind of position.

    ``form`` is its valuation form in the kernels; ``unit_value(market)`` the value of one unit
    of notional in the position currency for instruments without cashflows (gold: its price,
    cash: 1); ``build`` lays out instruments with cashflows, ``forward`` bond futures.
    """

    name: str
    form: int
    build: Builder | None = None
    unit_value: Callable[[Market], float] = field(default=lambda market: 1.0)
    #: Lays out instruments priced off a forward (bond futures).
    forward: ForwardBuilder | None = None
