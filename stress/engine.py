"""The stress engine: full revaluation of a book under every scenario, in scenario chunks."""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from portfolios.model import Portfolio
from shocks.library import ScenarioSource, load
from shocks.model import ALL, ScenarioSet
from shocks.parse import ScenarioError
from stress.book import Book, build_book
from stress.kernels.bonds import discount_cashflows
from stress.kernels.scenarios import (
    BLOCK,
    N_DETAIL,
    N_METRICS,
    N_WORST,
    base_sums,
    node_group_sums,
    node_group_sums_serial,
    node_shocks,
    node_shocks_serial,
    node_weight_table,
    stress_positions,
    stress_positions_serial,
)
from stress.market import Market
from stress.result import StressResult

log = logging.getLogger(__name__)

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]


#: Memory budget for a chunk's per-node, per-scenario discount multipliers and shifts (bytes).
_CHUNK_BYTES = 256 * 2**20
#: Largest (groups x nodes) weight table for the summary's per-node risk sums.
_NODE_WEIGHTS_MAX = 4_000_000


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


def prepare(portfolio: Portfolio, market: Market) -> Prepared:
    """Build the cashflow book and the base-curve discounted amounts once."""
    book = build_book(portfolio, market)
    cf = book.cashflows
    n = cf.n_cashflows
    first_day = cf.valuation_day + 1
    n_days = int(cf.pay_day.max() - cf.valuation_day) if n else 1
    a, at, at2 = np.empty(n), np.empty(n), np.empty(n)
    dense = np.empty(n, dtype=np.int64)
    used = np.zeros(max(len(book.currencies), 1) * n_days, dtype=np.bool_)
    discount_cashflows(
        cf.offsets,
        book.curve,
        book.spread,
        cf.time,
        cf.amount,
        cf.pay_day,
        first_day,
        n_days,
        book.curve_off,
        book.curve_t,
        book.curve_z,
        a,
        at,
        at2,
        dense,
        used,
    )
    # Distinct (curve, payment day) nodes without sorting the cashflows: compact the dense
    # table of days to the ones some cashflow uses.
    slots = np.flatnonzero(used)
    compact = np.empty(len(used), dtype=np.int64)
    compact[slots] = np.arange(len(slots))
    node = compact[dense]
    node_curve = slots // n_days
    node_t = (slots % n_days + 1) / 365.0
    pv0, dd0, dc0 = np.empty(cf.n_bonds), np.empty(cf.n_bonds), np.empty(cf.n_bonds)
    base_sums(cf.offsets, a, at, at2, pv0, dd0, dc0)
    scale = book.notional.copy()
    bond_row = np.full(book.n_positions, -1, dtype=np.int64)
    bond_row[book.bond_pos] = np.arange(len(book.bond_pos))
    scale[book.bond_pos] /= 100.0
    return Prepared(
        book,
        node_t,
        node_curve,
        node,
        a,
        at,
        at2,
        pv0,
        dd0,
        dc0,
        scale,
        bond_row,
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
    fx_mul, gold_mul = resolve_fx_gold(scen, book.market, book.position_currencies)
    n_p, S = book.n_positions, len(scen)
    n_nodes = max(len(prepared.node_t), 1)
    if chunk_size is None:
        # g and d take 16 bytes per node and scenario; keep them near the budget.
        chunk_size = _CHUNK_BYTES // (16 * n_nodes)
    if chunk_size < 1:
        raise ValueError("chunk_size must be at least 1")
    chunk_size = min(max(chunk_size, 1), S)
    sums = np.empty((S, n_groups, N_METRICS))
    worst = np.empty((S, N_WORST), dtype=np.int64)
    worst_pnl = np.empty((S, N_WORST))
    out_detail = np.empty((N_DETAIL, n_p * S)) if detail else np.empty((0, 0))
    gold0 = book.market.gold_usd or 0.0
    # Group sums of the risk metrics come from per-node weights unless the (group x node)
    # weight table would be large
    # (in every mode, so the summary does not depend on whether the detail is kept).
    node_sums = n_groups * n_nodes <= _NODE_WEIGHTS_MAX
    full = detail or not node_sums
    if node_sums:
        w1, w2, node_fx, fx0_code = _node_weights(prepared, groups, n_groups)
    for lo in range(0, S, chunk_size):
        hi = min(S, lo + chunk_size)
        n_blocks = -(-(hi - lo) // BLOCK)
        g = np.empty((n_blocks, n_nodes, BLOCK))
        d = np.empty_like(g)
        parallel = n_blocks > 1 and n_blocks * (book.cashflows.n_cashflows + n_p) > 200_000
        (node_shocks if parallel else node_shocks_serial)(
            prepared.node_t,
            prepared.node_curve,
            scen.grid,
            np.ascontiguousarray(shift[lo:hi]),
            g,
            d,
        )
        args = (
            book.kind, prepared.scale, book.fx0, book.currency_code, groups, prepared.bond_row,
            book.cashflows.offsets, prepared.node, prepared.a, prepared.at, prepared.at2,
            prepared.pv0, prepared.dd0, prepared.dc0, gold0,
            np.ascontiguousarray(gold_mul[lo:hi]), np.ascontiguousarray(fx_mul[lo:hi]), g, d,
            lo, S, sums[lo:hi], worst[lo:hi], worst_pnl[lo:hi], out_detail, full,
        )  # fmt: skip
        (stress_positions if parallel else stress_positions_serial)(n_blocks, args)
        if node_sums:
            (node_group_sums if parallel else node_group_sums_serial)(
                w1, w2, node_fx, fx0_code, np.ascontiguousarray(fx_mul[lo:hi]), g, d, sums[lo:hi]
            )
        if progress is not None:
            progress(hi, S)
        log.debug("scenarios %d-%d of %d done", lo, hi, S)
    return StressResult(prepared, scen, sums, worst, worst_pnl, out_detail if detail else None)


def _node_weights(
    prepared: Prepared, groups: IntArray, n_groups: int
) -> tuple[FloatArray, FloatArray, IntArray, FloatArray]:
    """Per (group, node): sums of scale * t * a and scale * t^2 * a over the cashflows paying
    at the node (local currency); each node's position-currency code and that currency's FX."""
    book = prepared.book
    cf = book.cashflows
    n_nodes = max(len(prepared.node_t), 1)
    pos = book.bond_pos
    w1 = np.zeros((n_groups, n_nodes))
    w2 = np.zeros((n_groups, n_nodes))
    node_weight_table(
        cf.offsets,
        prepared.scale[pos],
        groups[pos],
        prepared.node,
        prepared.at,
        prepared.at2,
        w1,
        w2,
    )
    codes = {c: book.position_currencies.index(c) for c in book.currencies}
    node_fx = (
        np.array([codes[book.currencies[c]] for c in prepared.node_curve], dtype=np.int64)
        if len(prepared.node_curve)
        else np.zeros(1, dtype=np.int64)
    )
    fx0_code = np.array([book.market.fx_rate(c) for c in book.position_currencies], dtype=float)
    return w1, w2, node_fx, fx0_code


def resolve_shifts(scen: ScenarioSet, book: Book) -> FloatArray:
    """Shift in bp per (scenario, book curve, grid tenor): the currency's own shift plus the
    ALL shift, or the level targets resolved against the market's curve."""
    market = book.market
    for c in scen.currencies:
        if c != ALL and c not in market.curves:
            # Blame the first scenario that shifts or targets c (a level target leaves bp 0).
            targets = {lv.scenario for lv in scen.levels if lv.currency == c}
            users = [
                i
                for i in range(len(scen))
                if i in targets or np.any(scen.bp[i, scen.currencies.index(c)] != 0)
            ] or [0]
            i = users[0]
            fld = f"rates.{c}.to_pct" if i in targets else f"rates.{c}"
            raise ScenarioError(
                f"{scen.origins[i]}: scenario {scen.names[i]!r}: {fld}: the market "
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
