"""Baselines the engine is measured against, each checked against the engine's prices.

- QuantLib, the way its users run scenarios: one ``FixedRateBond`` per position (on its row's
  calendar, payment rolling, settlement and ex-dividend period, QuantLib's own calendars; the
  NPV on the valuation date, as the engine's pv), priced by a ``DiscountingBondEngine`` off
  a ``SpreadedLinearZeroInterpolatedTermStructure`` (the base zero curve plus ``SimpleQuote``
  spreads at the shock tenors); effective duration and convexity by +-1 bp parallel bumps of
  the shocked curve (one ``SimpleQuote`` shared by every bond: per scenario the book is
  repriced at 0, +1 bp and -1 bp, 3 NPVs per bond and scenario). The bump is set once per
  pass, not per bond: flipping a quote that every bond observes notifies the whole sample, so
  a per-bond flip would make QuantLib look quadratically slow. Too slow to run in full, so a
  sample is timed and the rate extrapolated.
- Plain numpy: flat cashflow arrays, per scenario ``np.interp`` of the shift, ``np.exp`` per
  cashflow and segment sums with ``np.add.reduceat``.
- Plain numba: what a competent numba user writes in an afternoon. Cashflows are discounted on
  the base curves once and grouped by (curve, payment day) node; per scenario (``prange`` over
  scenarios, one thread per core) one exp per node, then either a loop over positions (price,
  t-moment and t^2-moment of each, positions mode) or, for the totals (summary mode), a loop
  over the nodes' summed cashflows (PV, dollar duration and dollar convexity of the book in the
  base currency, FX moves included).
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar, cast

import numpy as np
import numpy.typing as npt
from numba import njit, prange

from shocks.model import ScenarioSet
from stress.book import Book
from stress.prepare import Prepared
from stress.resolve import ResolvedShocks, resolve

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]
_F = TypeVar("_F", bound=Callable[..., Any])

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


def quantlib(
    prepared: Prepared, scen: ScenarioSet, bonds: npt.NDArray[np.int64], repeats: int = 1
) -> Timing:
    """Reprice bonds ``bonds`` (indices into the book's bonds) under every scenario: price,
    duration and convexity (3 NPVs), and the price alone; the median of ``repeats`` timed
    passes of each."""
    import QuantLib as ql  # noqa: N813

    from tests import qlref

    book = prepared.book
    market = book.market
    val = qlref.qdate(market.valuation_date)
    ql.Settings.instance().evaluationDate = val
    a365 = ql.Actual365Fixed()
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
        # Each bond on its row's conventions (calendar, rolling, settlement, ex-dividend
        # period) as the tests' QuantLib oracle builds it. Its calendar holds the engine's
        # holidays: QuantLib's own US calendar differs on a few days (a coupon rolled two days
        # apart moved a 2053 corporate's price by 9e-6), and this compares pricing.
        bond = qlref.fixed_rate_bond(
            market.valuation_date, r["maturity"], r["coupon"], r["frequency"], r["day_count"],
            issue=r["issue_date"], first_coupon=r["first_coupon_date"], calendar=r["calendar"],
            convention=r["business_day_convention"], settlement_days=r["settlement_days"],
            ex_dividend_days=r["ex_dividend_days"], engine_holidays=True,
        ).bond
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

    def set_scenario(s: int) -> None:
        for ccy, qs in quotes.items():
            for k, q in enumerate(qs):
                q.setValue(shocks.shift_bp[s, book.currencies.index(ccy), k] * 1e-4)

    def full_pass() -> None:
        for s in range(S):
            set_scenario(s)
            for out, shift in ((prices, 0.0), (up, h), (down, -h)):
                bump.setValue(shift)
                for b, (bond, _) in enumerate(qbonds):
                    out[b, s] = bond.NPV()
            bump.setValue(0.0)
        dur[:] = (down - up) / (2 * h * prices)
        conv[:] = (up + down - 2 * prices) / (h * h * prices)

    def price_pass() -> None:
        for s in range(S):
            set_scenario(s)
            for bond, _ in qbonds:
                bond.NPV()

    # The passes alternate and each time is the median of ``repeats``, as the engine's are.
    full_times: list[float] = []
    price_times: list[float] = []
    for _ in range(max(repeats, 1)):
        for fn, times in ((full_pass, full_times), (price_pass, price_times)):
            t = time.perf_counter()
            fn()
            times.append(time.perf_counter() - t)
    return Timing(
        statistics.median(full_times),
        n * S,
        prices,
        dur,
        conv,
        statistics.median(price_times),
    )


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


# --- plain numba -------------------------------------------------------------------------


def _jit(fn: _F) -> _F:
    return cast(_F, njit(cache=True)(fn))


def _jit_parallel(fn: _F) -> _F:
    return cast(_F, njit(cache=True, parallel=True)(fn))


@_jit
def _shift(grid: FloatArray, bp: FloatArray, t: float) -> float:
    """The shift (decimal) at time t: ``bp`` linear on ``grid``, flat beyond."""
    n = len(grid)
    if t <= grid[0]:
        return float(bp[0] * 1e-4)
    if t >= grid[n - 1]:
        return float(bp[n - 1] * 1e-4)
    k = 1
    while grid[k] < t:
        k += 1
    f = (t - grid[k - 1]) / (grid[k] - grid[k - 1])
    return float((bp[k - 1] + f * (bp[k] - bp[k - 1])) * 1e-4)


@_jit_parallel
def _plain_positions(
    node_t: FloatArray,
    node_curve: IntArray,
    grid: FloatArray,
    shift_bp: FloatArray,
    offsets: IntArray,
    node: IntArray,
    pv: FloatArray,
    pv_t: FloatArray,
    pv_t2: FloatArray,
    out_p: FloatArray,
    out_t: FloatArray,
    out_t2: FloatArray,
) -> None:
    """Per scenario s and position r: sum of pv, pv t and pv t^2 times exp(-shift(t) t)."""
    n_u = len(node_t)
    for s in prange(shift_bp.shape[0]):
        g = np.empty(n_u)
        for u in range(n_u):
            t = node_t[u]
            g[u] = np.exp(-_shift(grid, shift_bp[s, node_curve[u]], t) * t)
        for r in range(len(offsets) - 1):
            p = 0.0
            m1 = 0.0
            m2 = 0.0
            for j in range(offsets[r], offsets[r + 1]):
                x = g[node[j]]
                p += pv[j] * x
                m1 += pv_t[j] * x
                m2 += pv_t2[j] * x
            out_p[s, r] = p
            out_t[s, r] = m1
            out_t2[s, r] = m2


@_jit_parallel
def _plain_totals(
    node_t: FloatArray,
    node_curve: IntArray,
    node_currency: IntArray,
    grid: FloatArray,
    shift_bp: FloatArray,
    fx_multiplier: FloatArray,
    w0: FloatArray,
    w1: FloatArray,
    w2: FloatArray,
    out: FloatArray,
) -> None:
    """Per scenario s: the book's PV, dollar duration and dollar convexity after the shock
    (base currency), from the nodes' summed cashflows ``w0``, ``w1`` (x t), ``w2`` (x t^2)."""
    for s in prange(shift_bp.shape[0]):
        p = 0.0
        m1 = 0.0
        m2 = 0.0
        for u in range(len(node_t)):
            t = node_t[u]
            x = np.exp(-_shift(grid, shift_bp[s, node_curve[u]], t) * t)
            x *= fx_multiplier[s, node_currency[u]]
            p += w0[u] * x
            m1 += w1[u] * x
            m2 += w2[u] * x
        out[s, 0] = p
        out[s, 1] = m1
        out[s, 2] = m2


@dataclass(frozen=True)
class PlainInputs:
    """A book's cashflows discounted on the base curves and grouped by (curve, payment day)
    node, built here from the book's cashflow schedule (nothing of the engine's own layout)."""

    node_t: FloatArray
    node_curve: IntArray
    node_currency: IntArray  # index into the book's position currencies
    offsets: IntArray
    node: IntArray
    pv: FloatArray  # per 100 face, local currency
    pv_t: FloatArray
    pv_t2: FloatArray
    w0: FloatArray  # per node: sum of notional/100 x FX today x pv (base currency)
    w1: FloatArray
    w2: FloatArray

    @property
    def n_nodes(self) -> int:
        return len(self.node_t)


def plain_inputs(book: Book, *, per_cashflow: bool = True) -> PlainInputs:
    """The plain baseline's inputs for ``book`` (untimed set-up, like the engine's
    ``prepare``). Without ``per_cashflow`` only the per-node sums are kept (summary mode)."""
    cf = book.cashflows
    lengths = np.diff(cf.offsets)
    cf_curve = np.repeat(book.curve, lengths)
    z = np.empty(cf.n_cashflows)
    for c, ccy in enumerate(book.currencies):
        sel = cf_curve == c
        z[sel] = book.market.curves[ccy].zero(cf.time[sel])
    pv = cf.amount * np.exp(-(z + np.repeat(book.spread, lengths)) * cf.time)
    del z
    day = cf.pay_day - cf.valuation_day
    n_days = int(day.max()) + 1 if cf.n_cashflows else 1
    key = cf_curve * n_days + day
    del cf_curve, day
    used = np.zeros(max(len(book.currencies), 1) * n_days, dtype=np.bool_)
    used[key] = True
    slots = np.flatnonzero(used)
    del used
    compact = np.zeros(max(len(book.currencies), 1) * n_days, dtype=np.int64)
    compact[slots] = np.arange(len(slots))
    node = compact[key]
    del compact, key
    n_nodes = len(slots)
    node_curve = (slots // n_days).astype(np.int64)
    node_t = (slots % n_days) / 365.0
    row_pos = book.cashflow_pos
    base = np.repeat((book.scale * book.fx0)[row_pos], lengths) * pv
    w0 = _node_sums(node, base, n_nodes)
    base *= cf.time
    w1 = _node_sums(node, base, n_nodes)
    base *= cf.time
    w2 = _node_sums(node, base, n_nodes)
    del base
    curve_currency = np.array(
        [book.position_currencies.index(c) for c in book.currencies], dtype=np.int64
    )
    empty = np.zeros(0)
    return PlainInputs(
        node_t=node_t,
        node_curve=node_curve,
        node_currency=curve_currency[node_curve] if n_nodes else np.zeros(0, np.int64),
        offsets=cf.offsets,
        node=node if per_cashflow else np.zeros(0, np.int64),
        pv=pv if per_cashflow else empty,
        pv_t=pv * cf.time if per_cashflow else empty,
        pv_t2=pv * cf.time**2 if per_cashflow else empty,
        w0=w0,
        w1=w1,
        w2=w2,
    )


def _node_sums(node: IntArray, values: FloatArray, n_nodes: int) -> FloatArray:
    return np.bincount(node, weights=values, minlength=n_nodes).astype(np.float64)


@dataclass(frozen=True)
class PlainResult:
    """Positions mode: ``price``, ``moment_t``, ``moment_t2`` (scenarios, cashflow rows), per
    100 face, local currency. Summary mode: ``totals`` (scenarios, 3): the book's PV, dollar
    duration and dollar convexity after the shock, base currency."""

    price: FloatArray
    moment_t: FloatArray
    moment_t2: FloatArray
    totals: FloatArray


def plain_numba(inputs: PlainInputs, shocks: ResolvedShocks, mode: str) -> PlainResult:
    """Run the plain numba baseline in ``mode`` (``positions`` or ``summary``) on ``shocks``
    (resolved for the book's curves and position currencies)."""
    S = len(shocks.gold_multiplier)
    shift = np.ascontiguousarray(shocks.shift_bp)
    empty = np.zeros((0, 0))
    if mode == "positions":
        rows = len(inputs.offsets) - 1
        price, m1, m2 = np.empty((S, rows)), np.empty((S, rows)), np.empty((S, rows))
        _plain_positions(
            inputs.node_t, inputs.node_curve, shocks.times, shift, inputs.offsets, inputs.node,
            inputs.pv, inputs.pv_t, inputs.pv_t2, price, m1, m2,
        )  # fmt: skip
        return PlainResult(price, m1, m2, empty)
    totals = np.empty((S, 3))
    _plain_totals(
        inputs.node_t, inputs.node_curve, inputs.node_currency, shocks.times, shift,
        np.ascontiguousarray(shocks.fx_multiplier), inputs.w0, inputs.w1, inputs.w2, totals,
    )  # fmt: skip
    return PlainResult(empty, empty, empty, totals)
