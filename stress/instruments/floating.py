"""Floating-rate notes and interest-rate swaps as equivalent cashflows on one curve.

On a single curve (projection = discounting, par coupons: the forward of a period is simply
compounded over its accrual dates in the coupon's day count) the projected coupon of a period
[s, e] with margin m pays 100 (P(s)/P(e) - 1) + 100 m tau at e; discounted (with a credit
spread x over the curve: exp(-x t_e)) it is 100 P(s) exp(-x t_e) - 100 P(e) exp(-x t_e) +
100 m tau P(e) exp(-x t_e): linear in the curve's discount factors. So a note is a set of
cashflows (the CASHFLOWS form, no kernel of its own): per future period a *reset term* of 100
on the curve at s but discounted for credit to e (``spread_time``), and a payment term
100 m tau - 100 at e; the current period's coupon is fixed (``current_coupon``, percent,
margin included) and paid at its end, and 100 is redeemed at maturity. A curve shift moves the
reset and payment terms at their own dates (rate duration near the next reset); a spread shift
moves every term by its payment date (spread duration to maturity).

A swap has no credit spread. Its floating leg telescopes: the reset term of each period and the
payment term of the one before fall on the same date, so the leg is worth the current coupon +
100 at the next reset, plus the margin's annuity, less 100 at maturity. A receiver swap
(receives fixed) is then a fixed-rate bond (coupons and 100 at maturity) less
(current coupon + 100) at the first floating payment date less the margin terms; a payer swap
is the opposite. Schedules of both legs are rolled back from maturity like bonds'; on a
calendar (``calendar``, ``business_day_convention``: Modified Following when only a calendar is
given) every period runs between its rolled dates and pays at its rolled end, as QuantLib's
legs on an adjusted schedule do. A period's projection and payment dates then still coincide
(fixing on its rolled start, no payment lag), so the leg stays linear in the discount
factors. Valued on the valuation date (T+0), with no ex-dividend period.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt
import polars as pl

from stress.cashflows import CashflowBook, build_cashflows
from stress.dates import to_days
from stress.instruments.base import (
    CALENDAR_COLUMNS,
    DAY_COUNT_CODES,
    CashflowRows,
    Instrument,
    Read,
    read,
)
from stress.kernels.scenarios import CASHFLOWS
from stress.market import Market

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]


def _leg(market: Market, c: dict[str, npt.NDArray[Any]], coupon: FloatArray,
         frequency: IntArray, day_count: IntArray) -> CashflowBook:  # fmt: skip
    """A leg's coupons per 100 (plus 100 at maturity) on the rows' schedules ``c`` (maturity,
    calendar, rolling): periods between their rolled dates, paid at their ends."""
    return build_cashflows(market.valuation_date, c["maturity"], coupon, frequency, day_count,
                           calendar=c["calendar"], business_day_convention=c["rolling"],
                           adjusted_accrual=True)  # fmt: skip


def _periods(market: Market, c: dict[str, npt.NDArray[Any]], frequency: IntArray,
             day_count: IntArray) -> tuple[CashflowBook, FloatArray, IntArray]:  # fmt: skip
    """The live periods of each row: a book of coupons of 100 % (so each amount is 100 x the
    period's year fraction, plus 100 on the last), the year fractions and the start days."""
    book = _leg(market, c, np.full(len(c["maturity"]), 100.0), frequency, day_count)
    tau = book.amount / 100.0
    last = book.offsets[1:] - 1
    tau[last] -= 1.0
    start = np.empty(book.n_cashflows, dtype=np.int64)
    start[1:] = book.pay_day[:-1]
    start[book.offsets[:-1]] = book.coupon_days[:, 0]
    return book, tau, start


def _book(market: Market, offsets: IntArray, pay: IntArray, amount: FloatArray,
          accrued: FloatArray, coupon_days: IntArray) -> CashflowBook:  # fmt: skip
    val = to_days(market.valuation_date)
    return CashflowBook(
        valuation_day=val,
        offsets=offsets,
        pay_day=pay,
        time=(pay - val) / 365.0,
        amount=amount,
        yield_time=np.zeros(len(amount)),
        accrued=accrued,
        coupon_days=coupon_days,
        # Valued and quoted on the valuation date (T+0), no ex-dividend period.
        settlement_day=np.full(len(accrued), val, dtype=np.int64),
        unquoted=np.zeros(len(accrued), dtype=np.int64),
        quote_drop=np.zeros(len(accrued)),
    )


#: What FRNs' and swaps' layouts read of their position rows.
COLUMNS = {
    "maturity": Read("maturity", "day"),
    **CALENDAR_COLUMNS,
    "frequency": Read("frequency", "int"),
    "day_count": Read("day_count", "code", codes=DAY_COUNT_CODES),
    "margin": Read("margin_bp", "float", fill=0.0),
    "current": Read("current_coupon", "float"),
}
#: What only an FRN's layout reads.
FRN_COLUMNS = {**COLUMNS, "spread_bp": Read("spread_bp", "float", fill=0.0)}
#: What only a swap's layout reads.
SWAP_COLUMNS = {
    **COLUMNS,
    "coupon": Read("coupon", "float"),
    "float_frequency": Read("float_frequency", "int"),
    "float_day_count": Read("float_day_count", "code", codes=DAY_COUNT_CODES),
}


def build_frn(rows: pl.DataFrame, market: Market) -> CashflowRows:
    """The FRN ``rows`` as equivalent cashflows per 100 face (module docstring)."""
    c = read(rows, **FRN_COLUMNS)
    per, tau, start = _periods(market, c, c["frequency"], c["day_count"])
    n = per.n_bonds
    counts = np.diff(per.offsets)
    first = per.offsets[:-1]
    is_first = np.zeros(per.n_cashflows, dtype=np.bool_)
    is_first[first] = True
    is_last = np.zeros(per.n_cashflows, dtype=np.bool_)
    is_last[per.offsets[1:] - 1] = True
    row = np.repeat(np.arange(n), counts)
    margin = (c["margin"] / 1e4)[row]
    current = c["current"][row]
    # Per period: its reset term (later periods only), then its payment.
    payment = np.where(is_first, current * tau, 100.0 * margin * tau - 100.0)
    payment = payment + np.where(is_last, 100.0, 0.0)
    reset = ~is_first
    k = 1 + reset.astype(np.int64)  # entries per period
    offsets = np.zeros(n + 1, dtype=np.int64)
    np.cumsum(np.add.reduceat(k, first) if n else np.zeros(0, np.int64), out=offsets[1:])
    total = int(offsets[-1])
    pos = np.cumsum(k) - 1  # the payment entry of each period
    pay = np.empty(total, dtype=np.int64)
    amount = np.empty(total)
    spread_day = np.empty(total, dtype=np.int64)
    pay[pos] = per.pay_day
    amount[pos] = payment
    spread_day[pos] = per.pay_day
    rp = pos[reset] - 1
    pay[rp] = start[reset]
    amount[rp] = 100.0
    spread_day[rp] = per.pay_day[reset]
    val = to_days(market.valuation_date)
    accrued = c["current"] * (per.accrued / 100.0)
    cashflows = _book(market, offsets, pay, amount, accrued, per.coupon_days)
    return CashflowRows(
        cashflows=cashflows,
        currency=tuple(rows["currency"].to_list()),
        spread=c["spread_bp"] / 1e4,
        clean_price=np.full(n, np.nan),
        frequency=np.zeros(n, dtype=np.int64),
        spread_time=(spread_day - val) / 365.0,
        credit=np.ones(n, dtype=np.bool_),
    )


def build_swap(rows: pl.DataFrame, market: Market) -> CashflowRows:
    """The swap ``rows`` as equivalent cashflows per 100 notional (module docstring)."""
    c = read(rows, **SWAP_COLUMNS)
    fixed = _leg(market, c, c["coupon"], c["frequency"], c["day_count"])
    per, tau, _ = _periods(market, c, c["float_frequency"], c["float_day_count"])
    n = fixed.n_bonds
    margin = c["margin"] / 1e4
    current = c["current"]
    sign = np.where(rows["side"].to_numpy() == "payer", -1.0, 1.0)
    # Entries per row: the fixed leg's, then the floating leg's (its first payment carries
    # the current coupon and the 100 of the telescoped leg; later ones the margin alone).
    nf = np.diff(fixed.offsets)
    nl = np.diff(per.offsets)
    offsets = np.zeros(n + 1, dtype=np.int64)
    np.cumsum(nf + nl, out=offsets[1:])
    total = int(offsets[-1])
    row_f = np.repeat(np.arange(n), nf)
    row_l = np.repeat(np.arange(n), nl)
    at_f = offsets[:-1][row_f] + (np.arange(fixed.n_cashflows) - fixed.offsets[:-1][row_f])
    at_l = offsets[:-1][row_l] + nf[row_l] + (np.arange(per.n_cashflows)
                                               - per.offsets[:-1][row_l])  # fmt: skip
    is_first = np.zeros(per.n_cashflows, dtype=np.bool_)
    is_first[per.offsets[:-1]] = True
    leg = np.where(is_first, current[row_l] * tau + 100.0, 100.0 * margin[row_l] * tau)
    pay = np.empty(total, dtype=np.int64)
    amount = np.empty(total)
    pay[at_f] = fixed.pay_day
    amount[at_f] = fixed.amount * sign[row_f]
    pay[at_l] = per.pay_day
    amount[at_l] = -leg * sign[row_l]
    accrued = (fixed.accrued - current * per.accrued / 100.0) * sign
    cashflows = _book(market, offsets, pay, amount, accrued, fixed.coupon_days)
    return CashflowRows(
        cashflows=cashflows,
        currency=tuple(rows["currency"].to_list()),
        spread=np.zeros(n),
        clean_price=np.full(n, np.nan),
        frequency=np.zeros(n, dtype=np.int64),
        credit=np.zeros(n, dtype=np.bool_),
    )


FRN = Instrument(name="frn", form=CASHFLOWS, build=build_frn)
SWAP = Instrument(name="swap", form=CASHFLOWS, build=build_swap)
