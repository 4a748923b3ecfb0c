"""What every instrument module provides (see ``stress.instruments``)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

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
        self._dtype = pl.Enum(list(table))
        self._codes = np.array(list(table.values()), dtype=np.int64)

    def expr(self, column: str) -> pl.Expr:
        """The column's index into the table (a column of a ``select``)."""
        return pl.col(column).cast(self._dtype).to_physical()

    def of(self, index: pl.Series) -> IntArray:
        """The codes of a column computed by ``expr``."""
        codes: IntArray = self._codes[index.to_numpy()]
        return codes


DAY_COUNT_CODES = Codes(DAY_COUNTS)
CALENDAR_CODES = Codes(CALENDARS)
ROLLING_CODES = Codes(BUSINESS_DAY_CONVENTIONS)


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
