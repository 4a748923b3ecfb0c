"""The stress engine: full revaluation of a book under every scenario, in scenario chunks."""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import polars as pl

from portfolios.model import Portfolio
from shocks.library import ScenarioSource, load
from shocks.model import ALL, ScenarioSet
from shocks.parse import ScenarioError
from stress.book import Book, build_book
from stress.kernels.scenarios import N_METRICS, attribute, node_shocks, revalue_bonds
from stress.market import Market
from stress.result import StressResult

log = logging.getLogger(__name__)

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]

#: Names of the per-(scenario, group) metrics of ``kernels.scenarios.attribute``, all in the
#: base currency: P&L and its parts, PV before/after (all positions, then bonds only), dollar
#: duration and dollar convexity before/after (sum of t*PV and t^2*PV), Taylor terms.
METRICS = (
    "pnl",
    "pnl_rates",
    "pnl_fx",
    "pnl_gold",
    "pnl_cross",
    "pv_before",
    "pv_after",
    "bond_pv_before",
    "bond_pv_after",
    "dollar_duration_before",
    "dollar_duration_after",
    "dollar_convexity_before",
    "dollar_convexity_after",
    "taylor_duration",
    "taylor_convexity",
)
assert len(METRICS) == N_METRICS

#: Memory budget for the per-chunk bond x scenario work arrays (bytes).
_CHUNK_BYTES = 256 * 2**20


@dataclass(frozen=True)
class Prepared:
    """Everything about a (portfolio, market) pair the scenarios do not change."""

    book: Book
    node_t: FloatArray  # distinct (curve, payment day) nodes: time in years
    node_curve: IntArray
    node: IntArray  # per cashflow: its node
    a: FloatArray  # per cashflow: amount x base discount factor (incl. spread), per 100 face
    at: FloatArray
    at2: FloatArray
    pv0: FloatArray  # per bond, per 100 face
    dd0: FloatArray
    dc0: FloatArray
    scale: FloatArray  # per position: notional/100 for bonds, notional otherwise
    bond_row: IntArray  # per position: its bond index, -1 if not a bond
    position_currencies: tuple[str, ...]
    fx_col: IntArray


def prepare(portfolio: Portfolio, market: Market) -> Prepared:
    """Build the cashflow book and the base-curve discounted amounts once."""
    book = build_book(portfolio, market)
    cf = book.cashflows
    lengths = np.diff(cf.offsets)
    curve_of_cf = np.repeat(book.curve, lengths)
    z = np.empty(cf.n_cashflows)
    for c, ccy in enumerate(book.currencies):
        sel = curve_of_cf == c
        z[sel] = market.curves[ccy].zero(cf.time[sel])
    a = cf.amount * np.exp(-(z + np.repeat(book.spread, lengths)) * cf.time)
    key = curve_of_cf * (1 << 32) + cf.pay_day
    uniq, node = np.unique(key, return_inverse=True)
    node_curve = uniq >> 32
    node_t = ((uniq & ((1 << 32) - 1)) - cf.valuation_day) / 365.0
    at = a * cf.time
    at2 = at * cf.time
    # Base PV and risk summed exactly as the kernel sums the shocked ones, so a zero shock
    # reproduces them bit for bit.
    one = np.ones((len(uniq), 1))
    pv0, dd0, dc0, t1, t2 = (np.empty((cf.n_bonds, 1)) for _ in range(5))
    revalue_bonds(
        cf.offsets,
        node.astype(np.int64),
        a,
        at,
        at2,
        one,
        np.zeros_like(one),
        pv0,
        dd0,
        dc0,
        t1,
        t2,
    )
    scale = book.notional.copy()
    bond_row = np.full(book.n_positions, -1, dtype=np.int64)
    bond_row[book.bond_pos] = np.arange(len(book.bond_pos))
    scale[book.bond_pos] /= 100.0
    pos_ccy = tuple(sorted(set(book.position_currency)))
    fx_col = _codes(book.position_currency, pos_ccy)
    return Prepared(
        book,
        node_t,
        node_curve.astype(np.int64),
        node.astype(np.int64),
        a,
        at,
        at2,
        pv0[:, 0],
        dd0[:, 0],
        dc0[:, 0],
        scale,
        bond_row,
        pos_ccy,
        fx_col,
    )


def _codes(values: list[str], categories: tuple[str, ...]) -> IntArray:
    return (
        pl.Series(values)
        .replace_strict({c: i for i, c in enumerate(categories)}, return_dtype=pl.Int64)
        .to_numpy()
    )


def run(
    portfolio: Portfolio,
    market: Market,
    scenarios: ScenarioSource | Sequence[ScenarioSource],
    *,
    detail: str = "summary",
    base_currency: str | None = None,
    chunk_size: int | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> StressResult:
    """Revalue ``portfolio`` under every scenario by full revaluation.

    Args:
        portfolio: validated positions (``portfolios.load``).
        market: the base market; its ``base_currency`` unless ``base_currency`` is given.
        scenarios: built-in names or groups, TOML paths, a ScenarioSet, or a list of these.
        detail: ``"summary"`` (one row per scenario) or ``"positions"`` (also one row per
            position and scenario).
        chunk_size: scenarios per chunk (default: sized to keep work arrays near 256 MiB).
        progress: called with (scenarios done, total) after each chunk.
    """
    if detail not in ("summary", "positions"):
        raise ValueError(f"detail: got {detail!r}; expected 'summary' or 'positions'")
    market = market.with_base(base_currency)
    scen = load(scenarios)
    prepared = prepare(portfolio, market)
    groups = np.zeros(prepared.book.n_positions, dtype=np.int64)
    return evaluate(
        prepared,
        scen,
        groups,
        1,
        detail=detail == "positions",
        chunk_size=chunk_size,
        progress=progress,
    )


def evaluate(
    prepared: Prepared,
    scen: ScenarioSet,
    groups: IntArray,
    n_groups: int,
    *,
    detail: bool = False,
    chunk_size: int | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> StressResult:
    """Run the kernels chunk by chunk and collect group sums (and per-position detail)."""
    book = prepared.book
    shift = resolve_shifts(scen, book)
    fx_mul, gold_mul = resolve_fx_gold(scen, book.market, prepared.position_currencies)
    n_b, n_p, S = book.cashflows.n_bonds, book.n_positions, len(scen)
    if chunk_size is None:
        per_scenario = 8 * (5 * n_b + 5 * len(prepared.node_t) + n_p * (2 + N_METRICS * detail))
        chunk_size = max(1, min(S, _CHUNK_BYTES // max(per_scenario, 1)))
    if chunk_size < 1:
        raise ValueError("chunk_size must be at least 1")
    sums = np.empty((S, n_groups, N_METRICS))
    worst = np.empty((S, min(3, n_p)), dtype=np.int64)
    worst_pnl = np.empty(worst.shape)
    details: list[FloatArray] = []
    gold0 = book.market.gold_usd or 0.0
    for lo in range(0, S, chunk_size):
        hi = min(S, lo + chunk_size)
        n = hi - lo
        g = np.empty((len(prepared.node_t), n))
        d = np.empty_like(g)
        node_shocks(
            prepared.node_t,
            prepared.node_curve,
            scen.grid,
            np.ascontiguousarray(shift[lo:hi]),
            g,
            d,
        )
        pv1, dd1, dc1, t1, t2 = (np.empty((n_b, n)) for _ in range(5))
        revalue_bonds(
            book.cashflows.offsets,
            prepared.node,
            prepared.a,
            prepared.at,
            prepared.at2,
            g,
            d,
            pv1,
            dd1,
            dc1,
            t1,
            t2,
        )
        pnl = np.empty((n, n_p))
        det = np.empty((N_METRICS, n, n_p)) if detail else np.empty((0, 0, 0))
        attribute(
            book.kind,
            prepared.scale,
            book.fx0,
            prepared.fx_col,
            prepared.bond_row,
            groups,
            n_groups,
            gold0,
            np.ascontiguousarray(gold_mul[lo:hi]),
            np.ascontiguousarray(fx_mul[lo:hi]),
            prepared.pv0,
            prepared.dd0,
            prepared.dc0,
            pv1,
            dd1,
            dc1,
            t1,
            t2,
            sums[lo:hi],
            pnl,
            det,
        )
        k = worst.shape[1]
        if k:
            part = (
                np.argpartition(pnl, k - 1, axis=1)[:, :k]
                if n_p > k
                else np.tile(np.arange(n_p), (n, 1))
            )
            order = np.argsort(np.take_along_axis(pnl, part, axis=1), axis=1, kind="stable")
            worst[lo:hi] = np.take_along_axis(part, order, axis=1)
            worst_pnl[lo:hi] = np.take_along_axis(pnl, worst[lo:hi], axis=1)
        if detail:
            details.append(det)
        if progress is not None:
            progress(hi, S)
        log.debug("scenarios %d-%d of %d done", lo, hi, S)
    return StressResult(prepared, scen, sums, worst, worst_pnl, details)


def resolve_shifts(scen: ScenarioSet, book: Book) -> FloatArray:
    """Shift in bp per (scenario, book curve, grid tenor): the currency's own shift plus the
    ALL shift, or the level targets resolved against the market's curve."""
    market = book.market
    for c in scen.currencies:
        if c != ALL and c not in market.curves:
            users = [
                n
                for i, n in enumerate(scen.names)
                if np.any(scen.bp[i, scen.currencies.index(c)] != 0)
            ] or list(scen.names)
            i = scen.names.index(users[0])
            raise ScenarioError(
                f"{scen.origins[i]}: scenario {users[0]!r}: rates.{c}: the market "
                f"({market.source}) has no {c} curve"
            )
    for lv in scen.levels:
        if lv.currency not in market.curves:
            raise ScenarioError(
                f"{scen.origins[lv.scenario]}: scenario "
                f"{scen.names[lv.scenario]!r}: rates.{lv.currency}.to_pct: the "
                f"market ({market.source}) has no {lv.currency} curve"
            )
    grid = scen.grid
    out = np.zeros((len(scen), len(book.currencies), len(grid)))
    for ci, c in enumerate(book.currencies):
        for src in (c, ALL):
            if src in scen.currencies:
                out[:, ci] += scen.bp[:, scen.currencies.index(src)]
    for lv in scen.levels:
        if lv.currency in book.currencies:
            t = np.asarray(lv.tenors)
            bp = (np.asarray(lv.pct) / 100.0 - market.curves[lv.currency].zero(t)) * 1e4
            out[lv.scenario, book.currencies.index(lv.currency)] = np.interp(grid, t, bp)
    return out


def resolve_fx_gold(
    scen: ScenarioSet, market: Market, position_currencies: tuple[str, ...]
) -> tuple[FloatArray, FloatArray]:
    """(multiplier of each position currency's base-currency FX rate per scenario, gold price
    multiplier per scenario)."""
    for c in scen.fx_currencies:
        if c not in market.usd_value:
            i = (
                int(np.flatnonzero(scen.fx_pct[:, scen.fx_currencies.index(c)] != 0)[0])
                if np.any(scen.fx_pct[:, scen.fx_currencies.index(c)] != 0)
                else 0
            )
            raise ScenarioError(
                f"{scen.origins[i]}: scenario {scen.names[i]!r}: fx.{c}: the "
                f"market ({market.source}) has no FX rate for {c}"
            )

    def growth(c: str) -> FloatArray:
        if c in scen.fx_currencies:
            return 1.0 + scen.fx_pct[:, scen.fx_currencies.index(c)] / 100.0
        return np.ones(len(scen))

    base = growth(market.base_currency)
    fx_mul = (
        np.stack([growth(c) / base for c in position_currencies], axis=1)
        if position_currencies
        else np.ones((len(scen), 0))
    )
    return fx_mul, 1.0 + scen.gold_pct / 100.0
