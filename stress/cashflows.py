"""Schedules and cashflows of a whole book as flat CSR arrays, built once per valuation date.

Schedules are rolled backward from maturity with QuantLib's end-of-month rule: when the
maturity is the last day of its month, every coupon date is a month end. A bond with an issue
date starts accruing on it, up to its first coupon date (given, or the first regular date after
issue): a short or long first coupon. Accrual runs on the unadjusted dates; payments are rolled
on the bond's calendar. Only cashflows paid strictly after the valuation date are kept (a
coupon paid today is gone) and a coupon ex-dividend on the valuation date is not received.
Quotes (accrued, yield) are on the settlement date: the valuation date plus the bond's
settlement days on its calendar.
Everything runs in numba kernels over arrays: no Python loop over bonds or cashflows.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from stress.calendars import TABLE_START, holiday_table
from stress.dates import to_days
from stress.kernels.schedules import (
    NO_DATE,
    TERMS_CALENDAR,
    TERMS_CODES,
    TERMS_DATES,
    TERMS_MATURITY,
    broken_terms,
    count_live,
    count_live_serial,
    fill_cashflows,
    fill_cashflows_serial,
)
from stress.work import threaded

#: Work of one bond's schedule in inner-loop iterations (date arithmetic of ~40 coupons).
_WORK_PER_BOND = 100

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]


@dataclass(frozen=True)
class CashflowBook:
    """Live cashflows of P bonds per 100 face; bond i owns ``offsets[i]:offsets[i+1]``.

    Attributes:
        offsets: (P+1,) CSR offsets into the cashflow arrays.
        pay_day: payment dates, days since 1970-01-01.
        time: ACT/365F years from the valuation date to each payment (curve time).
        amount: cashflow per 100 face (coupon, plus the 100 redemption on the last one).
        yield_time: cumulative time in the bond's own day count from the settlement date, per
            QuantLib's yield conventions (each coupon's reference period); 0 on the rows paid
            on or before settlement.
        accrued: (P,) accrued interest per 100 face on the settlement date (negative when the
            bond trades ex-dividend).
        coupon_days: (P,) start and end days of the first live coupon period, shape (P, 2).
        settlement_day: (P,) settlement dates (days since 1970-01-01).
        unquoted: (P,) number of each bond's first rows paid on or before its settlement date:
            they belong to the position but not to the bond's quotes.
        quote_drop: (P,) amount per 100 face the first quoted row's quote leaves out: its
            coupon when that goes ex-dividend after the valuation date but by settlement.
    """

    valuation_day: int
    offsets: IntArray
    pay_day: IntArray
    time: FloatArray
    amount: FloatArray
    yield_time: FloatArray
    accrued: FloatArray
    coupon_days: IntArray
    settlement_day: IntArray
    unquoted: IntArray
    quote_drop: FloatArray

    @property
    def n_bonds(self) -> int:
        return len(self.offsets) - 1

    @property
    def n_cashflows(self) -> int:
        return len(self.amount)

    @staticmethod
    def empty(valuation_day: int) -> CashflowBook:
        """A book of no bonds."""
        return CashflowBook(
            valuation_day=valuation_day,
            offsets=np.zeros(1, dtype=np.int64),
            pay_day=np.zeros(0, dtype=np.int64),
            time=np.zeros(0),
            amount=np.zeros(0),
            yield_time=np.zeros(0),
            accrued=np.zeros(0),
            coupon_days=np.zeros((0, 2), dtype=np.int64),
            settlement_day=np.zeros(0, dtype=np.int64),
            unquoted=np.zeros(0, dtype=np.int64),
            quote_drop=np.zeros(0),
        )

    @staticmethod
    def concat(books: list[CashflowBook]) -> CashflowBook:
        """The rows of ``books`` one after the other (all on one valuation date)."""
        if len(books) == 1:
            return books[0]
        if len({b.valuation_day for b in books}) > 1:
            raise ValueError("CashflowBook.concat: books on different valuation dates")
        sizes = np.array([b.n_cashflows for b in books], dtype=np.int64)
        starts = np.concatenate([[0], np.cumsum(sizes)[:-1]])
        offsets = np.concatenate(
            [[0]] + [b.offsets[1:] + s for b, s in zip(books, starts, strict=True)]
        ).astype(np.int64)
        return CashflowBook(
            valuation_day=books[0].valuation_day,
            offsets=offsets,
            pay_day=np.concatenate([b.pay_day for b in books]),
            time=np.concatenate([b.time for b in books]),
            amount=np.concatenate([b.amount for b in books]),
            yield_time=np.concatenate([b.yield_time for b in books]),
            accrued=np.concatenate([b.accrued for b in books]),
            coupon_days=np.concatenate([b.coupon_days for b in books]),
            settlement_day=np.concatenate([b.settlement_day for b in books]),
            unquoted=np.concatenate([b.unquoted for b in books]),
            quote_drop=np.concatenate([b.quote_drop for b in books]),
        )

    def subset(self, bonds: IntArray) -> CashflowBook:
        """The book of the bonds at indices ``bonds`` (in that order)."""
        lengths = np.diff(self.offsets)[bonds]
        offsets = np.zeros(len(bonds) + 1, dtype=np.int64)
        np.cumsum(lengths, out=offsets[1:])
        take = np.repeat(self.offsets[bonds] - offsets[:-1], lengths) + np.arange(offsets[-1])
        return CashflowBook(
            self.valuation_day,
            offsets,
            self.pay_day[take],
            self.time[take],
            self.amount[take],
            self.yield_time[take],
            self.accrued[bonds],
            self.coupon_days[bonds],
            self.settlement_day[bonds],
            self.unquoted[bonds],
            self.quote_drop[bonds],
        )

    @property
    def settlement_time(self) -> FloatArray:
        """ACT/365F years from the valuation date to each bond's settlement date."""
        out: FloatArray = (self.settlement_day - self.valuation_day) / 365.0
        return out

    def quoted(self) -> CashflowBook:
        """The rows each bond's quotes on its settlement date count: those paid after
        settlement, the first one less ``quote_drop`` (an ex-dividend coupon). A bond
        maturing by its settlement date has none."""
        lengths = np.diff(self.offsets) - self.unquoted
        offsets = np.zeros(self.n_bonds + 1, dtype=np.int64)
        np.cumsum(lengths, out=offsets[1:])
        take = np.repeat(self.offsets[:-1] + self.unquoted - offsets[:-1], lengths) + np.arange(
            offsets[-1]
        )
        amount = self.amount[take]
        first = offsets[:-1][lengths > 0]
        amount[first] -= self.quote_drop[lengths > 0]
        return CashflowBook(
            self.valuation_day,
            offsets,
            self.pay_day[take],
            self.time[take],
            amount,
            self.yield_time[take],
            self.accrued,
            self.coupon_days,
            self.settlement_day,
            np.zeros(self.n_bonds, dtype=np.int64),
            np.zeros(self.n_bonds),
        )


def _days(values: IntArray | None, n: int) -> IntArray:
    if values is None:
        return np.full(n, NO_DATE, dtype=np.int64)
    return np.ascontiguousarray(values, dtype=np.int64)


#: The rules of ``broken_terms``, in the order their errors are raised.
_TERMS = (
    (TERMS_MATURITY, "every maturity must be after the valuation date"),
    (TERMS_CODES, "frequency must be 1, 2, 4 or 12 and day_count 0-8"),
    (TERMS_CALENDAR, "unknown calendar or convention code, or a negative number of days"),
    (TERMS_DATES, "issue dates must be on or before the valuation date and before maturity, "
                  "first coupon dates after issue, by maturity"),
)


def _codes(values: IntArray | None, n: int, default: int = 0) -> IntArray:
    if values is None:
        return np.full(n, default, dtype=np.int64)
    return np.ascontiguousarray(values, dtype=np.int64)


def build_cashflows(
    valuation_date: dt.date,
    maturity_day: IntArray,
    coupon: FloatArray,
    frequency: IntArray,
    day_count: IntArray,
    *,
    issue_day: IntArray | None = None,
    first_coupon_day: IntArray | None = None,
    calendar: IntArray | None = None,
    business_day_convention: IntArray | None = None,
    settlement_days: IntArray | None = None,
    ex_dividend_days: IntArray | None = None,
    adjusted_accrual: bool = False,
) -> CashflowBook:
    """Cashflow book for bonds with the given maturities (days since epoch), coupons (percent),
    coupon frequencies (per year) and day-count codes, optionally issue and first coupon dates
    (days; ``NO_DATE`` where none), calendar and business-day convention codes, settlement
    and ex-dividend business days (default: none, T+0 on no calendar, unadjusted, today's
    behaviour); ``adjusted_accrual``: coupons accrue between their periods' dates rolled on
    the calendar (swaps' and FRNs' legs) rather than between the unadjusted ones (bonds).
    Inputs must be valid (the portfolio validation guarantees it): maturities after the
    valuation date (once rolled, with ``adjusted_accrual``), issue dates on or before it,
    first coupon dates on the schedule rolled back from maturity and after issue."""
    val = to_days(valuation_date)
    maturity_day = np.ascontiguousarray(maturity_day, dtype=np.int64)
    frequency = np.ascontiguousarray(frequency, dtype=np.int64)
    day_count = np.ascontiguousarray(day_count, dtype=np.int64)
    coupon = np.ascontiguousarray(coupon, dtype=np.float64)
    n = len(maturity_day)
    issue, first = _days(issue_day, n), _days(first_coupon_day, n)
    cal, bdc = _codes(calendar, n), _codes(business_day_convention, n)
    lag, ex = _codes(settlement_days, n), _codes(ex_dividend_days, n)
    if not all(len(a) == n for a in (coupon, frequency, day_count, issue, first, cal, bdc, lag,
                                      ex)):
        raise ValueError("build_cashflows: the bond arrays differ in length")
    broken = broken_terms(val, maturity_day, frequency, day_count, issue, first, cal, bdc,
                          lag, ex, NO_DATE)  # fmt: skip
    for bit, rule in _TERMS:
        if broken & bit:
            raise ValueError(f"build_cashflows: {rule}")
    table = holiday_table() if np.any(cal != 0) else _NO_TABLE
    sched = (maturity_day, frequency, issue, first, cal, bdc, table, TABLE_START)
    n_live = np.empty(n, dtype=np.int64)
    parallel = threaded(n * _WORK_PER_BOND, n)
    (count_live if parallel else count_live_serial)(val, sched, n_live)
    offsets = np.zeros(n + 1, dtype=np.int64)
    np.cumsum(n_live, out=offsets[1:])
    total = int(offsets[-1])
    pay = np.empty(total, dtype=np.int64)
    time, amount, yield_time = np.empty(total), np.empty(total), np.empty(total)
    accrued = np.empty(n)
    period = np.empty((n, 2), dtype=np.int64)
    settle = np.empty(n, dtype=np.int64)
    unquoted = np.empty(n, dtype=np.int64)
    drop = np.empty(n)
    args = (*sched, coupon, day_count, lag, ex, bool(adjusted_accrual), offsets, val, pay, time,
            amount, yield_time, accrued, period, settle, unquoted, drop)  # fmt: skip
    (fill_cashflows if parallel else fill_cashflows_serial)(args)
    return CashflowBook(val, offsets, pay, time, amount, yield_time, accrued, period, settle,
                        unquoted, drop)


#: The holiday table of books without calendars (never read: calendar 0 has no holidays).
_NO_TABLE = np.zeros((6, 1), dtype=np.uint8)
_NO_TABLE.setflags(write=False)
