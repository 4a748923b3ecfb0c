"""Schedules and cashflows of a whole book as flat CSR arrays, built once per valuation date.

Schedules are regular and rolled backward from maturity with QuantLib's end-of-month rule: when
the maturity is the last day of its month, every coupon date is a month end. Only cashflows
strictly after the valuation date are kept (a coupon paid today is gone and accrued is then 0).
Everything is vectorized numpy: no Python loop over bonds.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from stress.dates import to_days
from stress.kernels.schedules import (
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
        yield_time: cumulative time in the bond's own day count from the valuation date, per
            QuantLib's yield conventions (each coupon's reference period).
        accrued: (P,) accrued interest per 100 face on the valuation date.
        coupon_days: (P,) start and end days of the live coupon period, shape (P, 2).
    """

    valuation_day: int
    offsets: IntArray
    pay_day: IntArray
    time: FloatArray
    amount: FloatArray
    yield_time: FloatArray
    accrued: FloatArray
    coupon_days: IntArray

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
        )


def build_cashflows(
    valuation_date: dt.date,
    maturity_day: IntArray,
    coupon: FloatArray,
    frequency: IntArray,
    day_count: IntArray,
) -> CashflowBook:
    """Cashflow book for bonds with the given maturities (days since epoch), coupons (percent),
    coupon frequencies (per year) and day-count codes. Maturities must be after the valuation
    date (the portfolio validation guarantees it)."""
    val = to_days(valuation_date)
    maturity_day = np.ascontiguousarray(maturity_day, dtype=np.int64)
    frequency = np.ascontiguousarray(frequency, dtype=np.int64)
    day_count = np.ascontiguousarray(day_count, dtype=np.int64)
    coupon = np.ascontiguousarray(coupon, dtype=np.float64)
    n = len(maturity_day)
    if not (len(coupon) == len(frequency) == len(day_count) == n):
        raise ValueError("build_cashflows: maturity, coupon, frequency, day_count differ in length")
    if np.any(maturity_day <= val):
        raise ValueError("build_cashflows: every maturity must be after the valuation date")
    if not np.isin(frequency, (1, 2, 4, 12)).all() or not np.isin(day_count, range(5)).all():
        raise ValueError("build_cashflows: frequency must be 1, 2, 4 or 12 and day_count 0-4")
    n_live = np.empty(n, dtype=np.int64)
    parallel = threaded(n * _WORK_PER_BOND, n)
    (count_live if parallel else count_live_serial)(maturity_day, frequency, val, n_live)
    offsets = np.zeros(n + 1, dtype=np.int64)
    np.cumsum(n_live, out=offsets[1:])
    total = int(offsets[-1])
    pay = np.empty(total, dtype=np.int64)
    time, amount, yield_time = np.empty(total), np.empty(total), np.empty(total)
    accrued = np.empty(n)
    period = np.empty((n, 2), dtype=np.int64)
    args = (maturity_day, coupon, frequency, day_count, val, offsets, pay, time, amount,
            yield_time, accrued, period)  # fmt: skip
    (fill_cashflows if parallel else fill_cashflows_serial)(args)
    return CashflowBook(val, offsets, pay, time, amount, yield_time, accrued, period)
