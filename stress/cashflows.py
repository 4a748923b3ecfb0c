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

from stress.dates import add_months, days_in_month, month_index, split, to_days
from stress.daycounts import year_fraction
from stress.kernels.bonds import segment_cumsum

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

    def subset(self, bonds: IntArray) -> CashflowBook:
        """The book of the bonds at indices ``bonds`` (in that order)."""
        lengths = np.diff(self.offsets)[bonds]
        offsets = np.zeros(len(bonds) + 1, dtype=np.int64)
        np.cumsum(lengths, out=offsets[1:])
        take = np.repeat(self.offsets[bonds] - offsets[:-1], lengths) + np.arange(offsets[-1])
        return CashflowBook(self.valuation_day, offsets, self.pay_day[take], self.time[take],
                            self.amount[take], self.yield_time[take], self.accrued[bonds],
                            self.coupon_days[bonds])


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
    maturity_day = np.asarray(maturity_day, dtype=np.int64)
    frequency = np.asarray(frequency, dtype=np.int64)
    day_count = np.asarray(day_count, dtype=np.int64)
    coupon = np.asarray(coupon, dtype=np.float64)
    if np.any(maturity_day <= val):
        raise ValueError("build_cashflows: every maturity must be after the valuation date")
    step = 12 // frequency
    mat_month = month_index(maturity_day)
    _, _, mat_dom = split(maturity_day)
    eom = mat_dom == days_in_month(mat_month)

    def roll_back(k: IntArray, rows: IntArray) -> IntArray:
        return add_months(mat_month[rows] - k * step[rows], mat_dom[rows], eom[rows])

    # Coupon date k (counting back from maturity, k=0) lies in a month >= the valuation month
    # for k <= k0 and in an earlier month for k > k0, so the live count is k0 or k0+1.
    all_rows = np.arange(len(maturity_day))
    k0 = (mat_month - month_index(np.array([val], dtype=np.int64))[0]) // step
    n_live = k0 + (roll_back(k0, all_rows) > val)

    offsets = np.zeros(len(maturity_day) + 1, dtype=np.int64)
    np.cumsum(n_live, out=offsets[1:])
    rows = np.repeat(all_rows, n_live)
    j = np.arange(offsets[-1]) - offsets[rows]  # chronological index within the bond
    k = n_live[rows] - 1 - j
    pay = roll_back(k, rows)
    start = roll_back(k + 1, rows)
    f, dc = frequency[rows], day_count[rows]

    amount = coupon[rows] * year_fraction(dc, start, pay, start, pay, f)
    last = offsets[1:] - 1
    amount[last] += 100.0
    first = offsets[:-1]
    val_arr = np.full(len(first), val, dtype=np.int64)
    # QuantLib's stepwise yield time: the first period counts from the valuation date as the
    # coupon period minus the accrued part; later periods are whole coupon periods.
    step_time = year_fraction(dc, start, pay, start, pay, f)
    accrued_frac = year_fraction(day_count, start[first], val_arr, start[first], pay[first],
                                 frequency)
    step_time[first] -= accrued_frac
    yield_time = np.empty_like(step_time)
    segment_cumsum(step_time, offsets, yield_time)
    return CashflowBook(
        valuation_day=val,
        offsets=offsets,
        pay_day=pay,
        time=(pay - val) / 365.0,
        amount=amount,
        yield_time=yield_time,
        accrued=coupon * accrued_frac,
        coupon_days=np.stack([start[first], pay[first]], axis=1),
    )

