"""Baselines the engine is measured against, each checked against the engine's prices.

- QuantLib, the way its users run scenarios: one ``FixedRateBond`` per position, priced by a
  ``DiscountingBondEngine`` off a ``SpreadedLinearZeroInterpolatedTermStructure`` (the base
  zero curve plus ``SimpleQuote`` spreads at the shock tenors); effective duration and
  convexity by +-1 bp parallel bumps of the shocked curve (one ``SimpleQuote`` shared by every
  bond: per scenario the book is repriced at 0, +1 bp and -1 bp, 3 NPVs per bond and scenario).
  The bump is set once per pass, not per bond: flipping a quote that every bond observes
  notifies the whole sample, so a per-bond flip would make QuantLib look quadratically slow.
  Too slow to run in full, so a sample is timed and the rate extrapolated.
- Plain numpy: flat cashflow arrays, per scenario ``np.interp`` of the shift, ``np.exp`` per
  cashflow and segment sums with ``np.add.reduceat``.
"""

from __future__ import annotations

import datetime as dt
import time
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from shocks.model import ScenarioSet
from stress.prepare import Prepared
from stress.resolve import ResolvedShocks, resolve

FloatArray = npt.NDArray[np.float64]

_DAY_COUNTERS = {
    "ACT/ACT-ICMA": "ISMA",
    "ACT/365F": "A365",
    "ACT/360": "A360",
    "30/360": "USA",
    "30E/360": "EU",
}


@dataclass(frozen=True)
class Timing:
    seconds: float  # for the whole sample (price, duration and convexity)
    bond_scenarios: int
    prices: FloatArray  # (bonds, scenarios) dirty per 100 face
    duration: FloatArray
    convexity: FloatArray
    price_only_seconds: float = float("nan")  # the same sample, price only (QuantLib)

    @property
    def rate(self) -> float:
        return self.bond_scenarios / self.seconds


def _ql_date(d: dt.date) -> Any:
    import QuantLib as ql  # noqa: N813

    return ql.Date(d.day, d.month, d.year)


def quantlib(prepared: Prepared, scen: ScenarioSet, bonds: npt.NDArray[np.int64]) -> Timing:
    """Reprice bonds ``bonds`` (indices into the book's bonds) under every scenario."""
    import QuantLib as ql  # noqa: N813

    book = prepared.book
    market = book.market
    val = _ql_date(market.valuation_date)
    ql.Settings.instance().evaluationDate = val
    a365 = ql.Actual365Fixed()
    counters = {
        "ISMA": ql.ActualActual(ql.ActualActual.ISMA),
        "A365": a365,
        "A360": ql.Actual360(),
        "USA": ql.Thirty360(ql.Thirty360.USA),
        "EU": ql.Thirty360(ql.Thirty360.European),
    }
    shocks = _resolved(prepared, scen)
    # Node dates whose ACT/365F times equal the engine's shock tenors exactly.
    shock_dates = [val + round(t * 365) for t in shocks.times]
    handles = {}
    quotes = {}
    bump = ql.SimpleQuote(0.0)
    for ccy in book.currencies:
        curve = market.curves[ccy]
        dates = [val] + [val + round(t * 365) for t in curve.times] + [val + 365 * 100]
        rates = [curve.rates[0], *curve.rates, curve.rates[-1]]
        base = ql.YieldTermStructureHandle(
            ql.ZeroCurve(dates, rates, a365, ql.NullCalendar(), ql.Linear(), ql.Continuous)
        )
        qs = [ql.SimpleQuote(0.0) for _ in shock_dates]
        shocked = ql.YieldTermStructureHandle(
            ql.SpreadedLinearZeroInterpolatedTermStructure(
                base,
                [ql.QuoteHandle(q) for q in qs],
                shock_dates,
                ql.Continuous,
                ql.NoFrequency,
                a365,
            )
        )
        # The +-1 bp parallel bump on top of the scenario, shared by the currency's bonds.
        handles[ccy] = ql.YieldTermStructureHandle(
            ql.ZeroSpreadedTermStructure(
                shocked, ql.QuoteHandle(bump), ql.Continuous, ql.NoFrequency, a365
            )
        )
        quotes[ccy] = qs
    engines = {ccy: ql.DiscountingBondEngine(h) for ccy, h in handles.items()}
    frame = book.portfolio.frame[book.cashflow_pos[bonds]]
    qbonds = []
    for k, r in enumerate(frame.iter_rows(named=True)):
        i = int(bonds[k])
        start = book.cashflows.coupon_days[i, 0]
        mat = _ql_date(r["maturity"])
        sched = ql.Schedule(
            _ql_date(dt.date(1970, 1, 1) + dt.timedelta(days=int(start))),
            mat,
            ql.Period(12 // r["frequency"], ql.Months),
            ql.NullCalendar(),
            ql.Unadjusted,
            ql.Unadjusted,
            ql.DateGeneration.Backward,
            True,
        )
        bond = ql.FixedRateBond(
            0, 100.0, sched, [r["coupon"] / 100.0], counters[_DAY_COUNTERS[r["day_count"]]]
        )
        spread = float(book.spread[i])
        if spread == 0.0:
            bond.setPricingEngine(engines[r["currency"]])
        else:
            # The bond's own zero spread (continuous) over its currency's shocked curve.
            curve = ql.YieldTermStructureHandle(
                ql.ZeroSpreadedTermStructure(
                    handles[r["currency"]],
                    ql.QuoteHandle(ql.SimpleQuote(spread)),
                    ql.Continuous,
                    ql.NoFrequency,
                    a365,
                )
            )
            bond.setPricingEngine(ql.DiscountingBondEngine(curve))
        qbonds.append((bond, r["currency"]))
    S = len(scen)
    n = len(qbonds)
    prices, dur, conv = np.empty((n, S)), np.empty((n, S)), np.empty((n, S))
    h = 1e-4
    up, down = np.empty((n, S)), np.empty((n, S))
    start_t = time.perf_counter()
    for s in range(S):
        for ccy, qs in quotes.items():
            for k, q in enumerate(qs):
                q.setValue(shocks.shift_bp[s, book.currencies.index(ccy), k] * 1e-4)
        for out, shift in ((prices, 0.0), (up, h), (down, -h)):
            bump.setValue(shift)
            for b, (bond, _) in enumerate(qbonds):
                out[b, s] = bond.dirtyPrice()
        bump.setValue(0.0)
    dur[:] = (down - up) / (2 * h * prices)
    conv[:] = (up + down - 2 * prices) / (h * h * prices)
    full = time.perf_counter() - start_t
    bump.setValue(0.0)
    start_t = time.perf_counter()
    for s in range(S):
        for ccy, qs in quotes.items():
            for k, q in enumerate(qs):
                q.setValue(shocks.shift_bp[s, book.currencies.index(ccy), k] * 1e-4)
        for bond, _ in qbonds:
            bond.dirtyPrice()
    return Timing(full, n * S, prices, dur, conv, time.perf_counter() - start_t)


def numpy_baseline(prepared: Prepared, scen: ScenarioSet) -> Timing:
    """Vectorized numpy: per scenario one exp per cashflow and segment sums."""
    book = prepared.book
    cf = book.cashflows
    lengths = np.diff(cf.offsets)
    curve_of_cf = np.repeat(book.curve, lengths)
    spread = np.repeat(book.spread, lengths)
    z = np.empty(cf.n_cashflows)
    for c, ccy in enumerate(book.currencies):
        sel = curve_of_cf == c
        z[sel] = book.market.curves[ccy].zero(cf.time[sel])
    starts = cf.offsets[:-1]
    S = len(scen)
    prices = np.empty((cf.n_bonds, S))
    dur, conv = np.empty_like(prices), np.empty_like(prices)
    shocks = _resolved(prepared, scen)
    masks = [curve_of_cf == c for c in range(len(book.currencies))]
    base = z + spread
    start_t = time.perf_counter()
    for s in range(S):
        shift = np.empty(cf.n_cashflows)
        for c, sel in enumerate(masks):
            shift[sel] = np.interp(cf.time[sel], shocks.times, shocks.shift_bp[s, c]) * 1e-4
        v = cf.amount * np.exp(-(base + shift) * cf.time)
        pv = np.add.reduceat(v, starts)
        prices[:, s] = pv
        dur[:, s] = np.add.reduceat(v * cf.time, starts) / pv
        conv[:, s] = np.add.reduceat(v * cf.time**2, starts) / pv
    return Timing(time.perf_counter() - start_t, cf.n_bonds * S, prices, dur, conv)


def _resolved(prepared: Prepared, scen: ScenarioSet) -> ResolvedShocks:
    """The scenarios' curve shifts on the book's curves, as the engine prices with them."""
    book = prepared.book
    return resolve(scen, book.market, book.currencies, book.position_currencies)
