"""Scenario kernels: shocked discount multipliers per cashflow node, one fused pass that
revalues every position under a block of scenarios and attributes its P&L, and the risk sums
per group from per-node weights.

Layout: scenarios come in blocks of ``BLOCK``; per-block arrays keep the scenario axis last
(the node tables as wide as the block's scenarios), so the innermost loop over the block
vectorizes and each cashflow is read once per block. Blocks, or parts of a block's positions,
are independent tasks (one thread each; the parts' worst positions are merged by P&L, then
book order) and every sum runs in a fixed order (positions in portfolio order, nodes in node
order), so results do not depend on chunking, parts or thread count.

Inputs and outputs are named records (``NamedTuple``) and every metric and detail column has a
named index below, shared with ``stress.result``: nothing is matched by position. The records
are unpacked in helpers called from the ``prange`` loops: numba (0.68) loses writes made through
a named tuple's attribute directly inside a ``prange`` body.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
import numpy.typing as npt
from numba import njit, prange

from stress.kernels.fastexp import exp_into
from stress.kernels.nodes import TS_OWN, TS_SAME

BLOCK = 16

# --- valuation forms: how a position's local value moves with a scenario --------------------
#: Cashflows discounted on a curve (bonds): value = scale x sum of pv x discount multiplier.
CASHFLOWS = 0
#: Ounces of gold: value = scale x gold price, moved by the gold multiplier.
GOLD = 1
#: Currency cash: a constant amount of its currency (only FX moves its base value).
CASH = 2
#: A bond future: worth nothing today (margined); after a shock, scale x the change of its
#: cheapest-to-deliver bond's forward price, a ratio of discount multipliers (``Futures``).
FUTURE = 3

# --- metrics summed per (scenario, group), base currency -----------------------------------
METRICS = (
    "pnl_rates",
    "pnl_spread",
    "pnl_fx",
    "pnl_gold",
    "pnl_cross",
    "pv_before",
    "pv_after",
    "bond_pv_before",  # cashflow instruments only: the weights of duration and convexity
    "bond_pv_after",
    "dollar_duration_before",  # sum of t x PV
    "dollar_duration_after",
    "dollar_convexity_before",  # sum of t^2 x PV
    "dollar_convexity_after",
    "taylor_duration",  # -sum of t x PV x shift
    "taylor_convexity",  # 1/2 sum of t^2 x PV x shift^2
    "dollar_spread_duration_before",  # sum of t_spread x PV over cashflows with a credit spread
    "dollar_spread_duration_after",
)
PNL_RATES = METRICS.index("pnl_rates")
PNL_SPREAD = METRICS.index("pnl_spread")
PNL_FX = METRICS.index("pnl_fx")
PNL_GOLD = METRICS.index("pnl_gold")
PNL_CROSS = METRICS.index("pnl_cross")
PV_BEFORE = METRICS.index("pv_before")
PV_AFTER = METRICS.index("pv_after")
BOND_PV_BEFORE = METRICS.index("bond_pv_before")
BOND_PV_AFTER = METRICS.index("bond_pv_after")
DOLLAR_DURATION_BEFORE = METRICS.index("dollar_duration_before")
DOLLAR_DURATION_AFTER = METRICS.index("dollar_duration_after")
DOLLAR_CONVEXITY_BEFORE = METRICS.index("dollar_convexity_before")
DOLLAR_CONVEXITY_AFTER = METRICS.index("dollar_convexity_after")
TAYLOR_DURATION = METRICS.index("taylor_duration")
TAYLOR_CONVEXITY = METRICS.index("taylor_convexity")
DOLLAR_SPREAD_DURATION_BEFORE = METRICS.index("dollar_spread_duration_before")
DOLLAR_SPREAD_DURATION_AFTER = METRICS.index("dollar_spread_duration_after")
N_METRICS = len(METRICS)

# --- per-position detail columns (positions mode and the worst positions) -------------------
DETAIL = (
    "pnl",
    "pnl_rates",
    "pnl_spread",
    "pnl_fx",
    "pnl_gold",
    "pnl_cross",
    "pv_before",
    "pv_after",
    "duration_before",
    "duration_after",
    "convexity_before",
    "convexity_after",
    "dv01_before",
    "dv01_after",
    "taylor_pnl",
    "taylor_residual",
    "spread_duration_before",
    "spread_duration_after",
    "cs01_before",
    "cs01_after",
)
D_PNL = DETAIL.index("pnl")
D_PNL_RATES = DETAIL.index("pnl_rates")
D_PNL_SPREAD = DETAIL.index("pnl_spread")
D_SPREAD_DURATION_BEFORE = DETAIL.index("spread_duration_before")
D_SPREAD_DURATION_AFTER = DETAIL.index("spread_duration_after")
D_CS01_BEFORE = DETAIL.index("cs01_before")
D_CS01_AFTER = DETAIL.index("cs01_after")
D_PNL_FX = DETAIL.index("pnl_fx")
D_PNL_GOLD = DETAIL.index("pnl_gold")
D_PNL_CROSS = DETAIL.index("pnl_cross")
D_PV_BEFORE = DETAIL.index("pv_before")
D_PV_AFTER = DETAIL.index("pv_after")
D_DURATION_BEFORE = DETAIL.index("duration_before")
D_DURATION_AFTER = DETAIL.index("duration_after")
D_CONVEXITY_BEFORE = DETAIL.index("convexity_before")
D_CONVEXITY_AFTER = DETAIL.index("convexity_after")
D_DV01_BEFORE = DETAIL.index("dv01_before")
D_DV01_AFTER = DETAIL.index("dv01_after")
D_TAYLOR_PNL = DETAIL.index("taylor_pnl")
D_TAYLOR_RESIDUAL = DETAIL.index("taylor_residual")
N_DETAIL = len(DETAIL)

F8 = npt.NDArray[np.float64]
I8 = npt.NDArray[np.int64]


class Positions(NamedTuple):
    """Per position (P), in portfolio order."""

    form: npt.NDArray[np.int8]  # CASHFLOWS, GOLD, CASH or FUTURE
    scale: F8  # notional / 100 for cashflow instruments (per 100 face), notional otherwise
    fx_before: F8  # base-currency units per unit of the position's currency today
    currency: I8  # the position currency: a column of ``Shocks.fx_multiplier``
    cashflow_row: I8  # its row of ``Cashflows`` (futures: of ``Futures``; -1 for none)


class Cashflows(NamedTuple):
    """Cashflow instruments (R rows) and their cashflows (N), per 100 face."""

    offsets: I8  # (R+1,) row r owns cashflows offsets[r]:offsets[r+1]
    node: I8  # (N,) the cashflow's node: (shock bucket, payment day)
    pv: F8  # (N,) cashflow x base discount factor (spread included)
    pv_t: F8  # (N,) pv x t (years)
    pv_t2: F8  # (N,) pv x t^2
    pv_before: F8  # (R,) sum of pv
    pv_t_before: F8  # (R,) sum of pv_t
    pv_t2_before: F8  # (R,) sum of pv_t2
    pv_ts: F8  # (N,) pv x its spread time where the row has a credit spread (0 otherwise)
    pv_ts_before: F8  # (R,) sum of pv_ts
    ts_kind: I8  # (R,) how pv_ts relates to pv_t (``nodes.TS_NONE``, TS_SAME, TS_OWN)


class Futures(NamedTuple):
    """Bond futures (F rows) and the cashflows their cheapest-to-deliver bonds pay after
    delivery (M), per 100 face of the CTD and forward to the delivery date T_d:
    fpv = cashflow x DF(t) / DF_curve(T_d) on the base market (the CTD's spread in DF(t), none
    in the delivery discount factor), so sum fpv is the CTD's forward dirty price. A shock
    moves it to sum fpv g(t) / g_curve(T_d): a ratio of discount multipliers, priced per
    position (its own nodes ``node_*``, whose multipliers are computed like the book's)."""

    offsets: I8  # (F+1,) row f owns cashflows offsets[f]:offsets[f+1]
    node: I8  # (M,) the cashflow's node
    fpv: F8  # (M,)
    fpv_tau: F8  # (M,) fpv x (t - T_d)
    fpv_tau2: F8  # (M,) fpv x (t - T_d)^2
    fpv_ts: F8  # (M,) fpv x t where the CTD has a credit spread, else 0
    time: F8  # (M,) t
    delivery: I8  # (F,) node of the delivery date (its curve alone)
    delivery_t: F8  # (F,) T_d
    fwd: F8  # (F,) sum of fpv: the forward dirty price today
    fwd_tau: F8  # (F,) sum of fpv_tau
    fwd_tau2: F8  # (F,) sum of fpv_tau2
    fwd_ts: F8  # (F,) sum of fpv_ts
    scale: F8  # (F,) contracts x contract size / 100 / conversion factor
    currency: I8  # (F,) column of fx_multiplier
    fx_before: F8  # (F,)
    group: I8  # (F, Q) each future's groups in the sums per group
    node_day: I8  # (nodes,)
    node_curve: I8  # (nodes,)
    node_spread: I8  # (nodes,) spread line (-1: none)
    node_sday: I8  # (nodes,) the day the spread line is read on


class CurveShifts(NamedTuple):
    """A chunk's curve shifts: ``shift_bp[s, curve, k]`` at ``grid[k]`` years, linear between,
    flat beyond; ``segment[day]`` the interval of the grid a payment day falls in (0: before
    the first point, k: from grid[k-1] on, K: from the last on, as ``interp.bracket`` places
    it)."""

    grid: F8
    shift_bp: F8  # (S, curves, K)
    segment: I8  # (days + 1,)
    fx_multiplier: F8  # (S, currencies)
    gold_multiplier: F8  # (S,)
    spread_bp: F8  # (S, spread lines) a parallel credit-spread shift per spread group


#: Spread lines of nodes: -2 a cashflow without a credit spread (swaps), -1 one with a spread
#: the scenarios do not move, k >= 0 one moved by ``CurveShifts.spread_bp[:, k]``.
NO_CREDIT = -2
NO_SHIFT = -1


class Shocks(NamedTuple):
    """How the pass over positions takes a chunk's scenarios (``CurveShifts``), in blocks of
    ``lanes`` scenarios (at most BLOCK): each block computes the multipliers of every node
    into a table of nodes x lanes sized to stay in the core's cache while the positions read
    it (the rows' Taylor sums read the block's shift lines, ``TaylorRuns``)."""

    node_day: I8  # (nodes,) in node order
    node_curve: I8  # (nodes,)
    node_spread: I8  # (nodes,) spread line (see NO_SHIFT)
    node_sday: I8  # (nodes,) the day its spread line is read on
    lanes: int
    gold_before: float  # gold price today, USD per troy ounce


class TaylorRuns(NamedTuple):
    """Each cashflow row's cashflows in runs of one curve and one day segment of the
    scenarios' grid (``CurveShifts.segment``), with their sums (t: the node's time, years).
    Within a segment a curve's shift is a line a + b t (``_shift_lines``), so a row's Taylor
    sums over its cashflows, sum pv_t d and sum pv_t2 d^2, are a few terms per run,
    a m0 + b m1 and a^2 q0 + 2ab q1 + b^2 q2, instead of a pass over every cashflow that
    reads its node's shift."""

    offsets: I8  # (R+1,) row r owns runs offsets[r]:offsets[r+1]
    curve: I8  # (E,)
    segment: I8  # (E,)
    m0: F8  # (E,) sum of pv_t
    m1: F8  # (E,) sum of pv_t x t
    q0: F8  # (E,) sum of pv_t2
    q1: F8  # (E,) sum of pv_t2 x t
    q2: F8  # (E,) sum of pv_t2 x t^2


class Outputs(NamedTuple):
    """Where one chunk's per-position results go (S = the chunk's scenarios, P = the parts of
    the book the pass splits every block into, ``stress_positions``)."""

    worst: I8  # (P x S, K) row p x S + s: part p's K lowest-P&L positions in scenario s
    worst_pnl: F8  # (P x S, K) their P&L, worst first (-1 and +inf: none)
    worst_detail: F8  # (P x S, K, N_DETAIL) their detail columns
    detail: F8  # (N_DETAIL, rows) every position's detail, or shape (0, 0) for none
    detail_first: int  # detail row of (chunk scenario s, position i): (first + s) x stride + i
    detail_stride: int


class Bounds(NamedTuple):
    """What bounds a cashflow row's value under a scenario without pricing it, so that a pass
    keeping only the worst positions can skip the rows that cannot be among them. The row's
    nodes lie in ``run_start[last_node[r]]:last_node[r] + 1`` where ``prunable[r]``, so its
    value per 100 face lies between ``positive`` x (the least multiplier there) +
    ``negative`` x (the greatest) and the same with least and greatest swapped. Empty
    arrays: no pruning."""

    positive: F8  # (R,) the sum of the row's positive pv
    negative: F8  # (R,) the sum of its negative pv
    last_node: I8  # (R,) its highest node
    prunable: npt.NDArray[np.bool_]  # (R,) its nodes all lie in last_node's run
    run_start: I8  # (nodes,) the first node of the run (same curve and spread line) of each
    seed: I8  # cashflow positions priced first for the thresholds: the likely largest losers
    # The order the pass visits positions in: those it cannot bound first, in book order,
    # then the rest by gross value, largest first (ties in book order), so that it stops at
    # the first slot whose bound of all the rest rules them all out (``_rest_ruled_out``)
    # instead of ruling each out in turn.
    order: I8  # (P,) the position in each slot of the order
    # Per slot (``position_bounds``), what the pass reads to rule a visited position out, laid
    # out in the order it visits them (with the position's currency and the slot's ``rest``).
    slot_node: I8  # (P,) the row's last node where it is a prunable cashflow position, else -1
    slot_terms: F8  # (P, 4) the terms of its bound (``_bound_terms``) where slot_node >= 0
    # (P, 3) what bounds the P&L of the positions in this slot and every later one: their
    # greatest gross value c_lo - c_hi (+inf in the slots of positions without a bound), least
    # c_lo + c_hi - v0 and greatest c_slack.
    rest: F8


@njit(cache=True)
def row_bounds(offsets, node, pv, run_start, positive, negative, last_node, prunable):
    """Per cashflow row (``Bounds``): the sums of its positive and of its negative pv, its
    highest node, and whether all its nodes lie in that node's run (rows without cashflows:
    zeros, not prunable)."""
    for r in range(len(offsets) - 1):
        lo, hi = offsets[r], offsets[r + 1]
        p = 0.0
        n = 0.0
        first = len(run_start)
        last = -1
        for j in range(lo, hi):
            a = pv[j]
            if a > 0.0:
                p += a
            else:
                n += a
            first = min(first, node[j])
            last = max(last, node[j])
        positive[r] = p
        negative[r] = n
        last_node[r] = max(last, 0)
        prunable[r] = hi > lo and first >= run_start[last]


#: The bounds' allowance for rounding, relative to the largest values the P&L is computed from:
#: the value before and after, and the value after the curve shift alone (whose rates and
#: spread parts cancel to the P&L when a large spread shift offsets a large curve shift). Each
#: is a rounded sum whose error is a few ulps of its terms.
BOUND_SLACK = 1e-6

#: Live lanes of a position priced one by one rather than as one span (``_live_lanes``).
FEW_LANES = 3


@njit(cache=True, parallel=True)
def taylor_runs(offsets, node, node_day, node_curve, segment, pv_t, pv_t2, fill, out_count, tr):
    """Per cashflow row, its runs of consecutive cashflows on one curve and one day segment
    (``TaylorRuns``; a row paying in time order has one run per segment it spans): their
    number into ``out_count`` and, with ``fill``, each run's curve, segment and sums over its
    cashflows in order into ``tr``, whose offsets the counts set. Rows are independent: the
    same bits on any number of threads."""
    for r in prange(len(offsets) - 1):
        # A row at a time in a function of its own: numba loses writes made through a named
        # tuple's arrays in a parallel loop's own body.
        out_count[r] = _row_runs(r, offsets, node, node_day, node_curve, segment, pv_t, pv_t2,
                                 fill, tr)  # fmt: skip


@njit(cache=True)
def _row_runs(r, offsets, node, node_day, node_curve, segment, pv_t, pv_t2, fill, tr):
    n = 0
    e = tr.offsets[r] - 1 if fill else -1
    last_c = -1
    last_s = -1
    for j in range(offsets[r], offsets[r + 1]):
        u = node[j]
        c = node_curve[u]
        s = segment[node_day[u]]
        if c != last_c or s != last_s:
            n += 1
            last_c = c
            last_s = s
            if fill:
                e += 1
                tr.curve[e] = c
                tr.segment[e] = s
                tr.m0[e] = 0.0
                tr.m1[e] = 0.0
                tr.q0[e] = 0.0
                tr.q1[e] = 0.0
                tr.q2[e] = 0.0
        if fill:
            t = node_day[u] * _DAY  # as ``_node_multipliers`` takes the node's time
            at = pv_t[j]
            at2 = pv_t2[j]
            tr.m0[e] += at
            tr.m1[e] += at * t
            tr.q0[e] += at2
            tr.q1[e] += at2 * t
            tr.q2[e] += at2 * t * t
    return n


@njit(cache=True)
def base_sums(offsets, pv, pv_t, pv_t2, out_pv, out_pv_t, out_pv_t2):
    """Unshocked sums of pv, pv x t and pv x t^2 per row (per 100 face), in the same order as
    the scenario pass, so that a zero shock reproduces them exactly."""
    for i in range(len(offsets) - 1):
        p = 0.0
        dd = 0.0
        dc = 0.0
        for j in range(offsets[i], offsets[i + 1]):
            p += pv[j]
            dd += pv_t[j]
            dc += pv_t2[j]
        out_pv[i] = p
        out_pv_t[i] = dd
        out_pv_t2[i] = dc



# Per-lane sums of a cashflow position under one block: pv after the shock (and after the
# curve shift alone), pv t, pv t^2, pv t_spread after it, and the two Taylor sums
# (pv t shift, pv t^2 shift^2). A future's sums are of fpv, forward to its delivery.
ACC_PV = 0
ACC_PV_T = 1
ACC_PV_T2 = 2
ACC_TAYLOR_D = 3
ACC_TAYLOR_C = 4
ACC_PV_TS = 5
ACC_PV_RATES = 6
N_ACC = 7


@njit(cache=True, inline="always")
def _ratio(a, b):
    """a / b, NaN when b is 0 (a swap's PV can cancel exactly)."""
    return a / b if b != 0.0 else np.nan


#: Positions whose detail a block gathers before writing it out: each (column, scenario) run
#: of the detail then gets this many consecutive values at once, not one value per position a
#: whole scenario's stride apart (which touches a new cache line for every value).
POSITION_TILE = 64
#: Slots per column of a tile (column x position x lane): one more than POSITION_TILE, so that
#: a column's 64 x 16 values are not exactly 8 KB apart from the next. At 8 KB a position's
#: 20 columns fell in the same sets of the L1 cache and its loads 4K-aliased its stores;
#: with the lanes side by side its stores are contiguous (positions 10k x 300 on one thread,
#: whole run: 0.60 to 0.63 s before, 0.52 to 0.56 s after).
TILE_SLOTS = POSITION_TILE + 1


@njit(cache=True)
def _pnl_lanes(i, s0, lo, hi, pos, cf, fu, cs, gold_before, acc, spreads, x1, out, col):
    """The P&L columns and PVs (``D_PNL`` to ``D_PV_AFTER``) of position i in lanes lo:hi of
    the block at chunk scenario s0, into ``out[:, col, lane]``, and its FX after in
    ``x1[lane]``. Per scenario (X = base units per unit of the position currency, L = local
    value, Lr = L after the curve shifts alone): rates = (Lr - L0) X0 and spread = (L1 - Lr)
    X0 for cashflow instruments and futures (gold: (L1 - L0) X0 as the gold part),
    fx = L0 (X1 - X0), cross = (L1 - L0)(X1 - X0). ``acc[:, lane]`` holds a cashflow
    instrument's or future's sums after the shock."""
    form = pos.form[i]
    r = pos.cashflow_row[i]
    sc = pos.scale[i]
    x0 = pos.fx_before[i]
    k = pos.currency[i]
    priced = form in (CASHFLOWS, FUTURE)
    if form == CASHFLOWS:
        l0 = sc * cf.pv_before[r]
    elif form == FUTURE:
        l0 = 0.0  # margined: worth nothing today, the change of its price after the shock
    elif form == GOLD:
        l0 = sc * gold_before
    else:
        l0 = sc
    for lane in range(lo, hi):
        xl = x0 * cs.fx_multiplier[s0 + lane, k]
        if form == CASHFLOWS:
            l1 = sc * acc[ACC_PV, lane]
            lr = sc * acc[ACC_PV_RATES, lane] if spreads else l1
        elif form == FUTURE:
            l1 = sc * (acc[ACC_PV, lane] - fu.fwd[r])
            lr = sc * (acc[ACC_PV_RATES, lane] - fu.fwd[r])
        elif form == GOLD:
            l1 = l0 * cs.gold_multiplier[s0 + lane]
            lr = l1
        else:
            l1 = l0
            lr = l1
        dl = l1 - l0
        dx = xl - x0
        rates = (lr - l0) * x0 if priced else 0.0
        spread = (l1 - lr) * x0 if priced else 0.0
        gold = dl * x0 if form == GOLD else 0.0
        fx = l0 * dx
        cross = dl * dx
        out[D_PNL, col, lane] = rates + spread + fx + gold + cross
        out[D_PNL_RATES, col, lane] = rates
        out[D_PNL_SPREAD, col, lane] = spread
        out[D_PNL_FX, col, lane] = fx
        out[D_PNL_GOLD, col, lane] = gold
        out[D_PNL_CROSS, col, lane] = cross
        out[D_PV_BEFORE, col, lane] = l0 * x0
        out[D_PV_AFTER, col, lane] = l1 * xl
        x1[lane] = xl


@njit(cache=True)
def _risk_lanes(i, lo, hi, pos, cf, fu, acc, x1, out, col):
    """The remaining detail columns of position i in lanes lo:hi (after ``_pnl_lanes``):
    durations, convexities, DV01s, spread durations and CS01s before and after, and the
    duration-convexity estimate of the rates P&L with its residual."""
    form = pos.form[i]
    if form != CASHFLOWS and form != FUTURE:
        for lane in range(lo, hi):
            out[D_DURATION_BEFORE, col, lane] = np.nan
            out[D_DURATION_AFTER, col, lane] = np.nan
            out[D_CONVEXITY_BEFORE, col, lane] = np.nan
            out[D_CONVEXITY_AFTER, col, lane] = np.nan
            out[D_DV01_BEFORE, col, lane] = 0.0
            out[D_DV01_AFTER, col, lane] = 0.0
            out[D_TAYLOR_PNL, col, lane] = 0.0
            out[D_TAYLOR_RESIDUAL, col, lane] = out[D_PNL_RATES, col, lane]
            out[D_SPREAD_DURATION_BEFORE, col, lane] = np.nan
            out[D_SPREAD_DURATION_AFTER, col, lane] = np.nan
            out[D_CS01_BEFORE, col, lane] = 0.0
            out[D_CS01_AFTER, col, lane] = 0.0
        return
    r = pos.cashflow_row[i]
    sc = pos.scale[i]
    x0 = pos.fx_before[i]
    if form == CASHFLOWS:
        p0 = cf.pv_before[r]
        t0 = cf.pv_t_before[r]
        c0 = cf.pv_t2_before[r]
        s0 = cf.pv_ts_before[r]
    else:
        p0 = fu.fwd[r]
        t0 = fu.fwd_tau[r]
        c0 = fu.fwd_tau2[r]
        s0 = fu.fwd_ts[r]
    duration0 = _ratio(t0, p0)
    convexity0 = _ratio(c0, p0)
    spread_duration0 = _ratio(s0, p0)
    dv01_0 = sc * t0 * x0 * 1e-4
    cs01_0 = sc * s0 * x0 * 1e-4
    for lane in range(lo, hi):
        pv1 = acc[ACC_PV, lane]
        xl = x1[lane]
        out[D_DURATION_BEFORE, col, lane] = duration0
        out[D_DURATION_AFTER, col, lane] = _ratio(acc[ACC_PV_T, lane], pv1)
        out[D_CONVEXITY_BEFORE, col, lane] = convexity0
        out[D_CONVEXITY_AFTER, col, lane] = _ratio(acc[ACC_PV_T2, lane], pv1)
        out[D_DV01_BEFORE, col, lane] = dv01_0
        out[D_DV01_AFTER, col, lane] = sc * acc[ACC_PV_T, lane] * xl * 1e-4
        out[D_SPREAD_DURATION_BEFORE, col, lane] = spread_duration0
        out[D_SPREAD_DURATION_AFTER, col, lane] = _ratio(acc[ACC_PV_TS, lane], pv1)
        out[D_CS01_BEFORE, col, lane] = cs01_0
        out[D_CS01_AFTER, col, lane] = sc * acc[ACC_PV_TS, lane] * xl * 1e-4
        taylor = -sc * acc[ACC_TAYLOR_D, lane] * x0 + 0.5 * sc * acc[ACC_TAYLOR_C, lane] * x0
        out[D_TAYLOR_PNL, col, lane] = taylor
        out[D_TAYLOR_RESIDUAL, col, lane] = out[D_PNL_RATES, col, lane] - taylor


@njit(cache=True)
def _accumulate(r, cf, gtab, rtab, tr, lines, acc, full, spreads, lane_lo, lane_hi):
    """Sums of cashflow row r over its cashflows for lanes lane_lo:lane_hi from the block's
    tables of node multipliers (``gtab``; ``rtab`` of the curve shifts alone when the block
    moves spreads): the pv after the shock, and with ``full`` the other sums of ``acc`` too,
    the Taylor sums from the row's runs ``tr`` and the block's shift ``lines``."""
    for k in range(N_ACC if full else 1):
        for lane in range(lane_lo, lane_hi):
            acc[k, lane] = 0.0
    if spreads:
        for lane in range(lane_lo, lane_hi):
            acc[ACC_PV_RATES, lane] = 0.0
    own_ts = full and cf.ts_kind[r] == TS_OWN
    if full and not own_ts and not spreads and lane_lo == 0 and lane_hi == BLOCK:
        _sums16(cf.offsets[r], cf.offsets[r + 1], cf.node, cf.pv, cf.pv_t, cf.pv_t2, gtab, acc)
    else:
        _sums_lanes(r, cf, gtab, rtab, acc, full, own_ts, spreads, lane_lo, lane_hi)
    if full:
        if cf.ts_kind[r] == TS_SAME:
            # The same products summed in the same order: the same bits as summing pv_ts.
            for lane in range(lane_lo, lane_hi):
                acc[ACC_PV_TS, lane] = acc[ACC_PV_T, lane]
        _taylor(r, tr, lines, acc, lane_lo, lane_hi)


@njit(cache=True)
def _sums16(j0, j1, node, pv, pv_t, pv_t2, gtab, acc):
    """``_sums_lanes`` of cashflows j0:j1 in all BLOCK lanes (pv, pv t and pv t^2 only; no
    spread lines), the same sums in the same order. A fixed lane count and accumulators of
    its own, which cannot alias ``gtab``, let the compiler keep them in vector registers:
    the general loop reloads and stores ``acc`` for every cashflow (a quarter faster in
    positions mode, 10k bonds x 1k scenarios)."""
    s0 = np.zeros(BLOCK)
    s1 = np.zeros(BLOCK)
    s2 = np.zeros(BLOCK)
    for j in range(j0, j1):
        u = node[j]
        a = pv[j]
        at = pv_t[j]
        at2 = pv_t2[j]
        g = gtab[u]
        for lane in range(BLOCK):
            s0[lane] += a * g[lane]
            s1[lane] += at * g[lane]
            s2[lane] += at2 * g[lane]
    for lane in range(BLOCK):
        acc[ACC_PV, lane] = s0[lane]
        acc[ACC_PV_T, lane] = s1[lane]
        acc[ACC_PV_T2, lane] = s2[lane]


@njit(cache=True, inline="always")
def _sums_lanes(r, cf, gtab, rtab, acc, full, own_ts, spreads, lane_lo, lane_hi):
    """Row r's sums over its cashflows in lanes lane_lo:lane_hi (see ``_accumulate``)."""
    for j in range(cf.offsets[r], cf.offsets[r + 1]):
        u = cf.node[j]
        a = cf.pv[j]
        if full:
            at = cf.pv_t[j]
            at2 = cf.pv_t2[j]
            for lane in range(lane_lo, lane_hi):
                g = gtab[u, lane]
                acc[ACC_PV, lane] += a * g
                acc[ACC_PV_T, lane] += at * g
                acc[ACC_PV_T2, lane] += at2 * g
            if own_ts:
                ats = cf.pv_ts[j]
                for lane in range(lane_lo, lane_hi):
                    acc[ACC_PV_TS, lane] += ats * gtab[u, lane]
        else:
            for lane in range(lane_lo, lane_hi):
                acc[ACC_PV, lane] += a * gtab[u, lane]
        if spreads:
            for lane in range(lane_lo, lane_hi):
                acc[ACC_PV_RATES, lane] += a * rtab[u, lane]


@njit(cache=True, inline="always")
def _taylor(r, tr, lines, acc, lane_lo, lane_hi):
    """Row r's Taylor sums (sum pv_t d, sum pv_t2 d^2) into ``acc`` from its runs."""
    for e in range(tr.offsets[r], tr.offsets[r + 1]):
        c = tr.curve[e]
        s = tr.segment[e]
        m0 = tr.m0[e]
        m1 = tr.m1[e]
        q0 = tr.q0[e]
        q1 = tr.q1[e]
        q2 = tr.q2[e]
        for lane in range(lane_lo, lane_hi):
            a = lines[c, s, 0, lane]
            b = lines[c, s, 1, lane]
            acc[ACC_TAYLOR_D, lane] += a * m0 + b * m1
            acc[ACC_TAYLOR_C, lane] += a * (a * q0 + b * q1) + b * (a * q1 + b * q2)


@njit(cache=True)
def _forward(f, fu, ftab, frtab, fdtab, acc, lane_lo, lane_hi):
    """A future's forward sums under lanes lane_lo:lane_hi into ``acc`` (``_accumulate``'s
    slots), each divided by the delivery date's multiplier of the curve shift: the CTD's
    forward price sum fpv g(t) / g(T_d) (and after the curve shift alone), its forward
    dollar duration and convexity, its spread sum, and the Taylor sums of x = t shift(t) -
    T_d shift(T_d) (sum fpv x, sum fpv x^2)."""
    dn = fu.delivery[f]
    td = fu.delivery_t[f]
    for k in range(N_ACC):
        for lane in range(lane_lo, lane_hi):
            acc[k, lane] = 0.0
    for j in range(fu.offsets[f], fu.offsets[f + 1]):
        u = fu.node[j]
        a = fu.fpv[j]
        at = fu.fpv_tau[j]
        at2 = fu.fpv_tau2[j]
        ats = fu.fpv_ts[j]
        t = fu.time[j]
        for lane in range(lane_lo, lane_hi):
            g = ftab[u, lane]
            x = t * fdtab[u, lane] - td * fdtab[dn, lane]
            acc[ACC_PV, lane] += a * g
            acc[ACC_PV_RATES, lane] += a * frtab[u, lane]
            acc[ACC_PV_T, lane] += at * g
            acc[ACC_PV_T2, lane] += at2 * g
            acc[ACC_PV_TS, lane] += ats * g
            acc[ACC_TAYLOR_D, lane] += a * x
            acc[ACC_TAYLOR_C, lane] += a * x * x
    for lane in range(lane_lo, lane_hi):
        gd = frtab[dn, lane]
        acc[ACC_PV, lane] = acc[ACC_PV, lane] / gd
        acc[ACC_PV_RATES, lane] = acc[ACC_PV_RATES, lane] / gd
        acc[ACC_PV_T, lane] = acc[ACC_PV_T, lane] / gd
        acc[ACC_PV_T2, lane] = acc[ACC_PV_T2, lane] / gd
        acc[ACC_PV_TS, lane] = acc[ACC_PV_TS, lane] / gd


@njit(cache=True)
def _node_tables(day, curve, spread, sday, cs, lines, s0, nb, gtab, rtab, dtab):
    """The multipliers of nodes (day, curve, spread line, spread day) for the block's lanes
    (shift ``lines`` of ``_shift_lines``), into tables: ``gtab`` the multiplier of the whole
    shift, ``rtab`` of the curve shift alone and ``dtab`` the curve shift (each only when it
    has rows)."""
    lanes = gtab.shape[1]
    g, h, d, x, bits = _tile_scratch(lanes)
    keep_rates = rtab.shape[0] > 0
    keep_shifts = dtab.shape[0] > 0
    for u0 in range(0, len(day), TILE):
        u1 = min(len(day), u0 + TILE)
        _node_multipliers(day, curve, spread, sday, u0, u1, cs, lines, s0, nb, lanes, g, h, d,
                          x, bits)  # fmt: skip
        for u in range(u0, u1):
            j = (u - u0) * lanes
            if spread[u] >= 0:
                for lane in range(lanes):
                    gtab[u, lane] = g[j + lane] * h[j + lane]
            else:
                for lane in range(lanes):
                    gtab[u, lane] = g[j + lane]
            if keep_rates:
                for lane in range(lanes):
                    rtab[u, lane] = g[j + lane]
            if keep_shifts:
                for lane in range(lanes):
                    dtab[u, lane] = d[j + lane]


@njit(cache=True)
def _run_extremes(gtab, run_start, nb, gmin, gmax):
    """Per node and lane, the least and greatest multiplier from its run's first node to it."""
    for u in range(gtab.shape[0]):
        if run_start[u] == u:
            for lane in range(nb):
                gmin[u, lane] = gtab[u, lane]
                gmax[u, lane] = gtab[u, lane]
        else:
            for lane in range(nb):
                g = gtab[u, lane]
                gmin[u, lane] = min(gmin[u - 1, lane], g)
                gmax[u, lane] = max(gmax[u - 1, lane], g)


@njit(cache=True)
def _run_top(gmax, rtab, run_start, nb, hmax):
    """Per node and lane, the greatest of ``gmax`` and of the curve-only multipliers ``rtab``
    from its run's first node to it."""
    for u in range(rtab.shape[0]):
        for lane in range(nb):
            h = max(gmax[u, lane], rtab[u, lane])
            hmax[u, lane] = h if run_start[u] == u else max(hmax[u - 1, lane], h)


@njit(cache=True)
def _seed_thresholds(pos, cf, fu, gtab, rtab, tr, lines, spreads, cs, s0, nb, gold_before,
                     seed, tau):  # fmt: skip
    """Per lane, the n least P&Ls of the cashflow positions ``seed`` in ``tau[lane]`` (lanes x
    n, +inf filled), priced as the pass prices them. At least n positions lose as much as
    the last column or more, so a position whose P&L cannot fall to it is not among the n
    worst."""
    acc = np.zeros((N_ACC, BLOCK))
    rows = np.empty((N_DETAIL, 1, BLOCK))
    x1 = np.empty(BLOCK)
    n = tau.shape[1]
    for i in seed:
        _accumulate(pos.cashflow_row[i], cf, gtab, rtab, tr, lines, acc, False, spreads, 0, nb)
        _pnl_lanes(i, s0, 0, nb, pos, cf, fu, cs, gold_before, acc, spreads, x1, rows, 0)
        for lane in range(nb):
            pnl = rows[D_PNL, 0, lane]
            if pnl < tau[lane, n - 1]:
                k = n - 1
                while k > 0 and pnl < tau[lane, k - 1]:
                    tau[lane, k] = tau[lane, k - 1]
                    k -= 1
                tau[lane, k] = pnl


@njit(cache=True, inline="always")
def _bound_terms(sc, x0, positive, negative, pv_before):
    """The terms of a cashflow position's P&L bound (``_live_lanes``) from its scale, FX rate
    today and row's positive and negative pv sums and pv: (c_lo, c_hi, c_slack, v0), with
    c_lo >= 0 >= c_hi."""
    p = positive * sc * x0
    n = negative * sc * x0
    # A long position is worth least at the least multiplier of its positive cashflows.
    c_lo, c_hi = (p, n) if sc >= 0 else (n, p)
    v0 = sc * pv_before * x0
    return c_lo, c_hi, BOUND_SLACK * (abs(p) + abs(n)), v0 + BOUND_SLACK * abs(v0)


@njit(cache=True)
def position_bounds(form, scale, fx_before, cashflow_row, positive, negative, pv_before,
                    last_node, prunable, node, terms):  # fmt: skip
    """Per position, its row's last node where it has a bound (else -1) into ``node`` and
    the terms of the bound into ``terms``."""
    for i in range(len(form)):
        r = cashflow_row[i]
        if form[i] != CASHFLOWS or not prunable[r]:
            node[i] = -1
            terms[i, :] = 0.0
            continue
        node[i] = last_node[r]
        c_lo, c_hi, c_slack, v0 = _bound_terms(scale[i], fx_before[i], positive[r], negative[r],
                                               pv_before[r])  # fmt: skip
        terms[i, 0] = c_lo
        terms[i, 1] = c_hi
        terms[i, 2] = c_slack
        terms[i, 3] = v0


@njit(cache=True)
def _rest_scale(gmin, gmax, hmax, run_start, fxm, nb, reach, slack_reach):
    """Per lane 0:nb, the multipliers' reach for ``_rest_ruled_out``: into ``reach`` the most
    any g x m moves from 1, below or above, over nodes and currencies, into ``slack_reach``
    the greatest h x (m + 1). The run extremes at each run's last node are those of the run."""
    n = gmin.shape[0]
    lo_g = np.ones(nb)
    hi_g = np.ones(nb)
    hi_h = np.zeros(nb)
    for u in range(n):
        if u + 1 == n or run_start[u + 1] == u + 1:
            for lane in range(nb):
                lo_g[lane] = min(lo_g[lane], gmin[u, lane])
                hi_g[lane] = max(hi_g[lane], gmax[u, lane])
                hi_h[lane] = max(hi_h[lane], hmax[u, lane])
    for lane in range(nb):
        lo_m, hi_m = 1.0, 1.0
        for k in range(fxm.shape[0]):
            lo_m = min(lo_m, fxm[k, lane])
            hi_m = max(hi_m, fxm[k, lane])
        reach[lane] = max(1.0 - lo_g[lane] * lo_m, hi_g[lane] * hi_m - 1.0)
        slack_reach[lane] = hi_h[lane] * (hi_m + 1.0)


@njit(cache=True, inline="always")
def _rest_ruled_out(rest, j, reach, slack_reach, thr, nb):
    """Whether the positions in slot j of the order and every later one (``Bounds.rest``) are
    ruled out in every lane 0:nb. A lane's bound of a position (``_live_lanes``) is (c_lo A +
    c_hi B) m - c_slack h (m + 1) - v0 with A >= (least g), B <= (greatest g) over its
    nodes, so at least -(c_lo - c_hi) reach + (c_lo + c_hi - v0) - c_slack slack_reach
    (``_rest_scale``); its rounding is far inside the bound's own allowance (BOUND_SLACK)."""
    for lane in range(nb):
        if not -rest[j, 0] * reach[lane] + rest[j, 1] - rest[j, 2] * slack_reach[lane] > thr[lane]:
            return False
    return True


@njit(cache=True, inline="always")
def _live_lanes(u, k, c_lo, c_hi, c_slack, v0, nb, gmin, gmax, hmax, fxm, thr, lb, spans):
    """The lane spans of a cashflow position to price, into ``spans`` (lo, hi rows); returns
    how many. In the other lanes a lower bound of its P&L is above the lane's threshold
    ``thr``, so it would not be kept. A few live lanes are priced one by one (each costs a
    pass over the cashflows whatever its width), more as one span.

    The bound (base currency): L1 X1 - L0 X0 with L1 at its least over the multipliers
    between ``gmin`` and ``gmax`` of the run of the row's last node u (``Bounds``), less
    BOUND_SLACK of the values (``_bound_terms``), the value after the curve shift alone
    included (``hmax``: the run's greatest multiplier with or without the spread shift);
    ``fxm`` holds the block's FX multipliers, currency x lane (k: the position's)."""
    for lane in range(nb):
        m = fxm[k, lane]
        lb[lane] = ((c_lo * gmin[u, lane] + c_hi * gmax[u, lane]) * m
                    - c_slack * hmax[u, lane] * (m + 1.0) - v0)  # fmt: skip
    n_live = 0
    for lane in range(nb):
        if not lb[lane] > thr[lane]:
            spans[n_live, 0] = lane
            spans[n_live, 1] = lane + 1
            n_live += 1
    if n_live > FEW_LANES:
        spans[0, 1] = spans[n_live - 1, 1]
        n_live = 1
    return n_live


@njit(cache=True)
def _wide(gmin, gmax, hmax, fxm, nb, g_lo, g_hi, h_hi, m_lo, m_hi):
    """The extremes over lanes 0:nb of the block's bound tables, for a bound of every lane at
    once: per node the least ``gmin`` and the greatest ``gmax`` and ``hmax``; per currency
    the least and greatest FX multiplier."""
    for u in range(len(g_lo)):
        lo = gmin[u, 0]
        hi = gmax[u, 0]
        top = hmax[u, 0]
        for lane in range(1, nb):
            lo = min(lo, gmin[u, lane])
            hi = max(hi, gmax[u, lane])
            top = max(top, hmax[u, lane])
        g_lo[u] = lo
        g_hi[u] = hi
        h_hi[u] = top
    for k in range(len(m_lo)):
        lo = fxm[k, 0]
        hi = fxm[k, 0]
        for lane in range(1, nb):
            lo = min(lo, fxm[k, lane])
            hi = max(hi, fxm[k, lane])
        m_lo[k] = lo
        m_hi[k] = hi


@njit(cache=True, inline="always")
def _top(x, n):
    """The greatest of x[:n] (n >= 1)."""
    top = x[0]
    for k in range(1, n):
        top = max(top, x[k])
    return top


@njit(cache=True, inline="always")
def _before(pnl, i, other_pnl, other):
    """Whether position i of P&L ``pnl`` comes before ``other`` in a list of worst positions:
    a lower P&L, or the same and earlier in the book (an empty slot, +inf, comes last)."""
    return pnl < other_pnl or (pnl == other_pnl and i < other)


@njit(cache=True)
def _keep_worst(i, w0, lo, hi, keep_detail, rows, col, out):
    """Position i into the lanes' lists of the n worst (lowest P&L) positions (``out.worst``
    rows w0 + lo:w0 + hi), earlier positions in the book first on ties whatever order they
    come in, with its detail when every row's detail is at hand (else ``_worst_detail``
    computes it for the positions kept at the end)."""
    n_worst = out.worst.shape[1]
    for s in range(lo, hi if n_worst > 0 else lo):
        pnl = rows[D_PNL, col, s]
        if not _before(pnl, i, out.worst_pnl[w0 + s, n_worst - 1], out.worst[w0 + s, n_worst - 1]):
            continue
        k = n_worst - 1
        while k > 0 and _before(pnl, i, out.worst_pnl[w0 + s, k - 1], out.worst[w0 + s, k - 1]):
            out.worst_pnl[w0 + s, k] = out.worst_pnl[w0 + s, k - 1]
            out.worst[w0 + s, k] = out.worst[w0 + s, k - 1]
            if keep_detail:
                for c in range(N_DETAIL):
                    out.worst_detail[w0 + s, k, c] = out.worst_detail[w0 + s, k - 1, c]
            k -= 1
        out.worst_pnl[w0 + s, k] = pnl
        out.worst[w0 + s, k] = i
        if keep_detail:
            for c in range(N_DETAIL):
                out.worst_detail[w0 + s, k, c] = rows[c, col, s]


@njit(cache=True)
def _worst_detail(s0, w0, nb, pos, cf, fu, cs, gtab, rtab, ftab, frtab, fdtab, tr, lines,
                  spreads, gold_before, out):  # fmt: skip
    """The detail of the block's kept worst positions (their lists from row w0), lane by
    lane: the same sums and columns the pass computes for a position in that lane, so the
    same figures, for the n positions kept rather than for every one that was kept on the
    way (the first positions of a lane all are)."""
    n_worst = out.worst.shape[1]
    acc = np.zeros((N_ACC, BLOCK))
    rows = np.empty((N_DETAIL, n_worst, BLOCK))
    x1 = np.empty(BLOCK)
    for s in range(nb):
        for k in range(n_worst):
            i = out.worst[w0 + s, k]
            if i < 0:
                break
            form = pos.form[i]
            r = pos.cashflow_row[i]
            if form == CASHFLOWS:
                _accumulate(r, cf, gtab, rtab, tr, lines, acc, True, spreads, s, s + 1)
            elif form == FUTURE:
                _forward(r, fu, ftab, frtab, fdtab, acc, s, s + 1)
            _pnl_lanes(i, s0, s, s + 1, pos, cf, fu, cs, gold_before, acc, spreads, x1, rows, k)
            _risk_lanes(i, s, s + 1, pos, cf, fu, acc, x1, rows, k)
            for c in range(N_DETAIL):
                out.worst_detail[w0 + s, k, c] = rows[c, k, s]


@njit(cache=True)
def _block(blk, j_lo, j_hi, step, part, pos, cf, tr, fu, cs, sh, bd, out):
    """Positions j_lo:j_hi:step under block ``blk`` of the chunk's scenarios, their worst into
    the lists of ``part``: with every position's detail, the book's positions (step 1, j_lo a
    multiple of POSITION_TILE); else the positions in those slots of ``bd.order``."""
    n_s = cs.fx_multiplier.shape[0]
    n_worst = out.worst.shape[1]
    keep_detail = out.detail.shape[0] > 0
    lanes = sh.lanes
    s0 = blk * lanes
    w0 = part * n_s + s0  # this block's first row of the part's worst lists
    nb = min(lanes, n_s - s0)
    spreads = cs.spread_bp.shape[1] > 0
    acc = np.zeros((N_ACC, BLOCK))
    for s in range(nb):
        for k in range(n_worst):
            out.worst[w0 + s, k] = -1
            out.worst_pnl[w0 + s, k] = np.inf
            for c in range(N_DETAIL):
                out.worst_detail[w0 + s, k, c] = 0.0  # as RawSums.unfound leaves a slot
    n_nodes = len(sh.node_day)
    # Tables as wide as the block's scenarios: a short block (a one-scenario run, a chunk's
    # last) computes and reads no empty lanes (dense 10k bonds x 1 scenario in summary
    # mode, by hand: 6.0 ms a run with 16 lanes, 3.7 ms).
    gtab = np.empty((n_nodes, nb))
    rtab = np.empty((n_nodes if spreads else 0, nb))
    lines = _shift_lines(cs, s0, nb)
    # The cashflow rows' Taylor sums come from their runs (``TaylorRuns``): no table of shifts.
    _node_tables(sh.node_day, sh.node_curve, sh.node_spread, sh.node_sday, cs, lines, s0, nb,
                 gtab, rtab, np.empty((0, nb)))  # fmt: skip
    n_fn = len(fu.node_day)
    ftab = np.empty((n_fn, nb))
    frtab = np.empty((n_fn, nb))
    fdtab = np.empty((n_fn, nb))
    if n_fn:
        _node_tables(fu.node_day, fu.node_curve, fu.node_spread, fu.node_sday, cs, lines, s0,
                     nb, ftab, frtab, fdtab)  # fmt: skip
    tile = POSITION_TILE if keep_detail else 1
    rows = np.empty((N_DETAIL, TILE_SLOTS if keep_detail else 1, lanes))  # the tile
    x1 = np.empty(lanes)
    # Keeping only the worst positions, those whose P&L bounds keep them out are not priced.
    prune = _prunes(out, bd)
    gmin = np.empty((n_nodes if prune else 0, nb))
    gmax = np.empty((n_nodes if prune else 0, nb))
    # With spreads moving, the greatest multiplier with or without them (else gmax itself).
    hmax = np.empty((n_nodes if prune and spreads else 0, nb))
    seeded = np.full((lanes, max(n_worst, 1)), np.inf)
    thr = np.full(lanes, np.inf)  # per lane: P&Ls above it are not kept
    fxm = np.empty((cs.fx_multiplier.shape[1], lanes))
    lb = np.empty(lanes)
    # Per node and currency, the extremes over the block's lanes (``_wide``).
    g_lo = np.empty(n_nodes if prune else 0)
    g_hi = np.empty(n_nodes if prune else 0)
    h_hi = np.empty(n_nodes if prune else 0)
    m_lo = np.empty(fxm.shape[0] if prune else 0)
    m_hi = np.empty(fxm.shape[0] if prune else 0)
    spans = np.empty((lanes, 2), dtype=np.int64)
    spans[0, 0] = 0
    spans[0, 1] = nb
    n_spans = 1
    if prune:
        _run_extremes(gtab, bd.run_start, nb, gmin, gmax)
        if spreads:
            _run_top(gmax, rtab, bd.run_start, nb, hmax)
        else:
            hmax = gmax
        _seed_thresholds(pos, cf, fu, gtab, rtab, tr, lines, spreads, cs, s0, nb,
                         sh.gold_before, bd.seed, seeded)  # fmt: skip
        for lane in range(nb):
            thr[lane] = seeded[lane, n_worst - 1]
            for k in range(fxm.shape[0]):
                fxm[k, lane] = cs.fx_multiplier[s0 + lane, k]
        _wide(gmin, gmax, hmax, fxm, nb, g_lo, g_hi, h_hi, m_lo, m_hi)
    reach = np.empty(nb)
    slack_reach = np.empty(nb)
    if prune:
        _rest_scale(gmin, gmax, hmax, bd.run_start, fxm, nb, reach, slack_reach)
    thr_top = _top(thr, nb)
    for j in range(j_lo, j_hi, step):
        i = bd.order[j] if prune else j
        col = (j - j_lo) % tile
        u = bd.slot_node[j] if prune else -1
        if prune and u < 0:
            spans[0, 0] = 0
            spans[0, 1] = nb
            n_spans = 1
        elif prune:
            if _rest_ruled_out(bd.rest, j, reach, slack_reach, thr, nb):
                break
            k = pos.currency[i]
            c_lo = bd.slot_terms[j, 0]
            c_hi = bd.slot_terms[j, 1]
            c_slack = bd.slot_terms[j, 2]
            v0 = bd.slot_terms[j, 3]
            # First the bound of every lane at once (the lanes' extremes: each lane's own
            # bound is at least this one) against the greatest threshold: most positions
            # are ruled out here. Written out in the loop, not in a function taking the
            # arrays, which numba would reference-count on every position.
            x = c_lo * g_lo[u] + c_hi * g_hi[u]
            if min(x * m_lo[k], x * m_hi[k]) - c_slack * h_hi[u] * (m_hi[k] + 1.0) - v0 > thr_top:
                n_spans = 0
            else:
                n_spans = _live_lanes(u, k, c_lo, c_hi, c_slack, v0, nb, gmin, gmax, hmax, fxm,
                                      thr, lb, spans)  # fmt: skip
        for q in range(n_spans):
            lo = spans[q, 0]
            hi = spans[q, 1]
            # Read only for a position priced: a ruled-out one costs its bound's bytes alone.
            form = pos.form[i]
            r = pos.cashflow_row[i]
            if form == CASHFLOWS:
                # Every sum a detail row needs when every row is kept; else the pv alone.
                _accumulate(r, cf, gtab, rtab, tr, lines, acc, keep_detail, spreads, lo, hi)
            elif form == FUTURE:
                _forward(r, fu, ftab, frtab, fdtab, acc, lo, hi)
            _pnl_lanes(i, s0, lo, hi, pos, cf, fu, cs, sh.gold_before, acc, spreads, x1, rows,
                       col)  # fmt: skip
            if keep_detail:
                _risk_lanes(i, lo, hi, pos, cf, fu, acc, x1, rows, col)
            _keep_worst(i, w0, lo, hi, keep_detail, rows, col, out)
            if prune:
                for s in range(lo, hi):
                    thr[s] = min(thr[s], out.worst_pnl[w0 + s, n_worst - 1])
                thr_top = _top(thr, nb)
        if keep_detail and (col == tile - 1 or j == j_hi - 1):
            first = i - col
            for c in range(N_DETAIL):
                for s in range(nb):
                    dr = (out.detail_first + s0 + s) * out.detail_stride + first
                    for q in range(col + 1):
                        out.detail[c, dr + q] = rows[c, q, s]
    if not keep_detail and n_worst > 0:
        _worst_detail(s0, w0, nb, pos, cf, fu, cs, gtab, rtab, ftab, frtab, fdtab, tr, lines,
                      spreads, sh.gold_before, out)  # fmt: skip


@njit(cache=True, parallel=True)
def stress_positions(n_blocks, starts, pos, cf, tr, fu, cs, sh, bd, out):
    """Full revaluation and P&L attribution of every position under the chunk's scenarios.

    Per position and scenario (base currency, X = base units per unit of the position
    currency, L = local value, Lr = L after the curve shifts alone): rates = (Lr - L0) X0 and
    spread = (L1 - Lr) X0 for cashflow instruments and futures (gold: (L1 - L0) X0 as the gold
    part), fx = L0 (X1 - X0), cross = (L1 - L0)(X1 - X0); a cashflow instrument's
    L = scale x sum of pv x multiplier, a future's L1 = scale x (forward price after - today).
    ``tr`` holds the cashflow rows' Taylor sums by run (``TaylorRuns``) on ``cs.segment``.
    The K worst positions with their detail go to ``out.worst*``, and with a non-empty
    ``out.detail`` every position's detail columns. (The sums per group come from
    ``group_sums``, which needs no pass over positions.) Without detail, a position is priced
    only in the lanes where ``bd`` cannot rule it out of the K worst; the kept positions are
    the same as with every position priced.

    The book is split into parts (``_part``), and each (block, part) is a task of its own, so
    that a few blocks still keep every thread busy; part p keeps its K worst in its own lists
    (``Outputs``), merged by ``stress.evaluate.keep_lowest``.
    """
    n_parts = len(starts) - 1
    for t in prange(n_blocks * n_parts):
        p = t % n_parts
        j_lo, j_hi, step = _part(p, starts, bd, out)
        _block(t // n_parts, j_lo, j_hi, step, p, pos, cf, tr, fu, cs, sh, bd, out)


@njit(cache=True)
def stress_positions_serial(n_blocks, starts, pos, cf, tr, fu, cs, sh, bd, out):
    """``stress_positions`` without threads, for small inputs."""
    n_parts = len(starts) - 1
    for t in range(n_blocks * n_parts):
        p = t % n_parts
        j_lo, j_hi, step = _part(p, starts, bd, out)
        _block(t // n_parts, j_lo, j_hi, step, p, pos, cf, tr, fu, cs, sh, bd, out)


@njit(cache=True, inline="always")
def _prunes(out, bd):
    """Whether the pass keeps only the worst positions and may rule positions out by bounds."""
    return out.detail.shape[0] == 0 and out.worst.shape[1] > 0 and len(bd.last_node) > 0


@njit(cache=True, inline="always")
def _part(p, starts, bd, out):
    """Part p's slots (first, end, step) for ``_block``: book positions starts[p]:starts[p +
    1] when every position is priced; else every n-th slot of ``bd.order`` from the p-th, so
    that each part holds large positions and small ones alike and stops early."""
    n_parts = len(starts) - 1
    if _prunes(out, bd):
        return p, starts[n_parts], n_parts
    return starts[p], starts[p + 1], 1


class NodeWeights(NamedTuple):
    """Per node (in node order: shock bucket, then payment day), the groups whose cashflows
    pay there, each with the sums over its cashflows at the node of scale x pv (``w_pv``),
    scale x pv x t (``w_t``), scale x pv x t^2 (``w_t2``) and scale x pv_ts (``w_ts``), local
    currency."""

    offsets: I8  # (nodes + 1,) node u owns entries offsets[u]:offsets[u+1], groups increasing
    group: I8
    w_pv: F8
    w_t: F8
    w_t2: F8
    w_ts: F8
    day: I8  # (nodes,) payment day, days after the valuation date
    curve: I8  # (nodes,) the curve whose shifts move the node: a row of the shifts
    spread: I8  # (nodes,) its spread line (NO_CREDIT, NO_SHIFT or a column of spread_bp)
    sday: I8  # (nodes,) the day its spread line is read on
    currency: I8  # (nodes,) the node's currency: a column of fx_multiplier
    fx_before: F8  # (currencies,) base-currency units per unit of each currency today


class GroupValues(NamedTuple):
    """Per group, today's figures that no scenario changes: local values of its positions by
    currency (all positions, and the cash ones alone), its gold (USD), and the base-currency
    PV, dollar duration and dollar convexity of its cashflows."""

    value: F8  # (groups, currencies)
    cash: F8  # (groups, currencies)
    gold: F8  # (groups,)
    gold_currency: int  # the currency gold is held in (USD) as a column of fx_multiplier
    bond: F8  # (groups,) sum over nodes of w_pv X0
    dollar_duration: F8  # (groups,) sum of w_t X0 (and the futures' forward ones)
    dollar_convexity: F8  # (groups,) sum of w_t2 X0 (likewise)
    dollar_spread_duration: F8  # (groups,) sum of w_ts X0 (likewise)


#: Discount multipliers are computed per node, exp(-d(t) t) with d(t) = a + b t the shift on the
#: node's interval of the grid, by ``fastexp`` over a tile of TILE nodes x the block's lanes at
#: a time (one vectorized loop): a function of the node's day and curve alone, so a book, a
#: sub-book and a shard get the same multipliers bit for bit.
TILE = 64
_DAY = 1.0 / 365.0


@njit(cache=True)
def _shift_lines(cs, s0, nb):
    """``lines[c, seg, 0 | 1, lane]``: the shift of curve c on interval ``seg`` of the grid
    (``CurveShifts.segment``) as a + b t (decimal, t in years) in scenario s0 + lane; lanes
    from nb on stay zero (no shift)."""
    grid = cs.grid
    k = len(grid)
    lines = np.zeros((cs.shift_bp.shape[1], k + 1, 2, BLOCK))
    for c in range(cs.shift_bp.shape[1]):
        for lane in range(nb):
            s = s0 + lane
            lines[c, 0, 0, lane] = cs.shift_bp[s, c, 0] * 1e-4
            lines[c, k, 0, lane] = cs.shift_bp[s, c, k - 1] * 1e-4
            for seg in range(1, k):
                y0 = cs.shift_bp[s, c, seg - 1] * 1e-4
                y1 = cs.shift_bp[s, c, seg] * 1e-4
                slope = (y1 - y0) / (grid[seg] - grid[seg - 1])
                lines[c, seg, 0, lane] = y0 - slope * grid[seg - 1]
                lines[c, seg, 1, lane] = slope
    return lines


@njit(cache=True)
def _tile_scratch(lanes):
    """Work arrays of ``_node_multipliers`` for a tile of TILE nodes x ``lanes``: g, h, d,
    the exponents and exp's exponent bits."""
    size = TILE * lanes
    return (np.empty(size), np.empty(size), np.empty(size), np.empty(size),
            np.empty(size, dtype=np.int64))  # fmt: skip


@njit(cache=True)
def _node_multipliers(day, curve, spread, sday, u0, u1, cs, lines, s0, nb, lanes, g, h, d, x,
                      bits):  # fmt: skip
    """For nodes u0..u1 (day, curve, spread line, spread day) and each of ``lanes`` lanes, at
    flat index (u - u0) x lanes + lane: ``d`` the curve shift (decimal), ``g`` the multiplier
    of the curve shift exp(-d t) and ``h`` that of the spread shift exp(-s ts), written only
    when some node of the tile has a moving spread line (the others never read it). ``x`` and
    ``bits`` are scratch of the same length."""
    n = 0
    for u in range(u0, u1):
        t = day[u] * _DAY
        seg = cs.segment[day[u]]
        c = curve[u]
        for lane in range(lanes):
            dd = lines[c, seg, 0, lane] + lines[c, seg, 1, lane] * t
            d[n + lane] = dd
            x[n + lane] = -dd * t
        n += lanes
    exp_into(x, g, bits, n)
    moved = False
    n = 0
    for u in range(u0, u1):
        k = spread[u]
        ts = sday[u] * _DAY
        for lane in range(lanes):
            x[n + lane] = 0.0
        if k >= 0:
            moved = True
            for lane in range(nb):
                x[n + lane] = -(cs.spread_bp[s0 + lane, k] * 1e-4) * ts
        n += lanes
    if moved:
        exp_into(x, h, bits, n)


#: Slots of the per-group accumulators of ``_totals_block``.
T_RATES = 0
T_CROSS = 1
T_PV = 2
T_DD = 3
T_DC = 4
T_TAYLOR_D = 5
T_TAYLOR_C = 6
T_SPREAD = 7
T_SD = 8
T_FUTURES_PV = 9  # futures' value after, apart: no weight of duration and convexity
N_T = 10


@njit(cache=True)
def _totals_futures(fu, cs, lines, s0, nb, x1, acc):
    """Add the futures' figures of the block's lanes to their groups' accumulators, futures
    in position order (each one's own small computation: its forward price is a ratio of
    multipliers, not a sum of weights)."""
    n_fn = len(fu.node_day)
    ftab = np.empty((n_fn, BLOCK))
    frtab = np.empty((n_fn, BLOCK))
    fdtab = np.empty((n_fn, BLOCK))
    _node_tables(fu.node_day, fu.node_curve, fu.node_spread, fu.node_sday, cs,
                 lines, s0, nb, ftab, frtab, fdtab)  # fmt: skip
    facc = np.zeros((N_ACC, BLOCK))
    for f in range(len(fu.scale)):
        _forward(f, fu, ftab, frtab, fdtab, facc, 0, nb)
        sc = fu.scale[f]
        k = fu.currency[f]
        x0 = fu.fx_before[f]
        for q in range(fu.group.shape[1]):
            grp = fu.group[f, q]
            for lane in range(nb):
                xl = x1[k, lane]
                l1 = sc * (facc[ACC_PV, lane] - fu.fwd[f])
                lr = sc * (facc[ACC_PV_RATES, lane] - fu.fwd[f])
                acc[grp, T_RATES, lane] += lr * x0
                acc[grp, T_SPREAD, lane] += (l1 - lr) * x0
                acc[grp, T_CROSS, lane] += l1 * (xl - x0)
                acc[grp, T_FUTURES_PV, lane] += l1 * xl
                acc[grp, T_DD, lane] += sc * facc[ACC_PV_T, lane] * xl
                acc[grp, T_DC, lane] += sc * facc[ACC_PV_T2, lane] * xl
                acc[grp, T_SD, lane] += sc * facc[ACC_PV_TS, lane] * xl
                acc[grp, T_TAYLOR_D, lane] += sc * facc[ACC_TAYLOR_D, lane] * x0
                acc[grp, T_TAYLOR_C, lane] += sc * facc[ACC_TAYLOR_C, lane] * x0


@njit(cache=True, inline="always")
def _node_sums(w, cs, lines, s0, nb, x1, acc, lanes):
    """The node terms of ``_totals_block``'s sums into ``acc`` (groups x N_T x BLOCK), lanes
    0:lanes (nb <= lanes <= BLOCK)."""
    gt, ht, dt, xt, bits = _tile_scratch(lanes)
    for u0 in range(0, len(w.day), TILE):
        u1 = min(len(w.day), u0 + TILE)
        _node_multipliers(w.day, w.curve, w.spread, w.sday, u0, u1, cs, lines, s0, nb, lanes,
                          gt, ht, dt, xt, bits)  # fmt: skip
        for u in range(u0, u1):
            j = (u - u0) * lanes
            g = gt[j : j + lanes]
            h = ht[j : j + lanes]
            d = dt[j : j + lanes]
            k = w.currency[u]
            x0 = w.fx_before[k]
            for e in range(w.offsets[u], w.offsets[u + 1]):
                grp = w.group[e]
                v0 = w.w_pv[e]
                v1 = w.w_t[e]
                v2 = w.w_t2[e]
                v3 = w.w_ts[e]
                if w.spread[u] >= 0:
                    for lane in range(lanes):
                        gl = g[lane]
                        gf = gl * h[lane]
                        dl = d[lane]
                        xl = x1[k, lane]
                        acc[grp, T_RATES, lane] += v0 * (gl - 1.0) * x0
                        acc[grp, T_SPREAD, lane] += v0 * (gf - gl) * x0
                        acc[grp, T_CROSS, lane] += v0 * (gf - 1.0) * (xl - x0)
                        acc[grp, T_PV, lane] += v0 * gf * xl
                        acc[grp, T_DD, lane] += v1 * gf * xl
                        acc[grp, T_DC, lane] += v2 * gf * xl
                        acc[grp, T_SD, lane] += v3 * gf * xl
                        acc[grp, T_TAYLOR_D, lane] += v1 * dl * x0
                        acc[grp, T_TAYLOR_C, lane] += v2 * dl * dl * x0
                else:
                    for lane in range(lanes):
                        gl = g[lane]
                        dl = d[lane]
                        xl = x1[k, lane]
                        moved = v0 * (gl - 1.0)
                        acc[grp, T_RATES, lane] += moved * x0
                        acc[grp, T_CROSS, lane] += moved * (xl - x0)
                        acc[grp, T_PV, lane] += v0 * gl * xl
                        acc[grp, T_DD, lane] += v1 * gl * xl
                        acc[grp, T_DC, lane] += v2 * gl * xl
                        acc[grp, T_SD, lane] += v3 * gl * xl
                        acc[grp, T_TAYLOR_D, lane] += v1 * dl * x0
                        acc[grp, T_TAYLOR_C, lane] += v2 * dl * dl * x0


@njit(cache=True)
def _totals_block(blk, w, v, fu, cs, sums):
    n_s = cs.fx_multiplier.shape[0]
    s0 = blk * BLOCK
    nb = min(BLOCK, n_s - s0)
    n_groups = sums.shape[1]
    n_ccy = len(w.fx_before)
    acc = np.zeros((n_groups, N_T, BLOCK))
    x1 = np.empty((max(n_ccy, 1), BLOCK))
    for c in range(n_ccy):
        for lane in range(BLOCK):
            m = cs.fx_multiplier[s0 + lane, c] if lane < nb else 1.0
            x1[c, lane] = w.fx_before[c] * m
    lines = _shift_lines(cs, s0, nb)
    # A full block's loops over lanes have a fixed trip count, which its code is best at; a
    # short one (a one-scenario run, a set's last block) loops over its own lanes alone.
    if nb == BLOCK:
        _node_sums(w, cs, lines, s0, nb, x1, acc, BLOCK)
    else:
        _node_sums(w, cs, lines, s0, nb, x1, acc, nb)
    if len(fu.scale):
        _totals_futures(fu, cs, lines, s0, nb, x1, acc)
    for lane in range(nb):
        s = s0 + lane
        gm = cs.gold_multiplier[s]
        for grp in range(n_groups):
            fx = 0.0
            pv0 = 0.0
            pv1 = 0.0
            for k in range(n_ccy):
                x0 = w.fx_before[k]
                xk = x1[k, lane]
                fx += v.value[grp, k] * (xk - x0)
                pv0 += v.cash[grp, k] * x0
                pv1 += v.cash[grp, k] * xk
            bpv0 = v.bond[grp]
            gold = 0.0
            cross = acc[grp, T_CROSS, lane]
            if v.gold[grp] != 0.0:
                x0 = w.fx_before[v.gold_currency]
                xg = x1[v.gold_currency, lane]
                moved = v.gold[grp] * (gm - 1.0)
                gold = moved * x0
                cross += moved * (xg - x0)
                pv0 += v.gold[grp] * x0
                pv1 += v.gold[grp] * gm * xg
            sums[s, grp, PNL_RATES] = acc[grp, T_RATES, lane]
            sums[s, grp, PNL_SPREAD] = acc[grp, T_SPREAD, lane]
            sums[s, grp, PNL_FX] = fx
            sums[s, grp, PNL_GOLD] = gold
            sums[s, grp, PNL_CROSS] = cross
            sums[s, grp, PV_BEFORE] = bpv0 + pv0
            sums[s, grp, PV_AFTER] = acc[grp, T_PV, lane] + acc[grp, T_FUTURES_PV, lane] + pv1
            sums[s, grp, BOND_PV_BEFORE] = bpv0
            sums[s, grp, BOND_PV_AFTER] = acc[grp, T_PV, lane]
            sums[s, grp, DOLLAR_DURATION_BEFORE] = v.dollar_duration[grp]
            sums[s, grp, DOLLAR_DURATION_AFTER] = acc[grp, T_DD, lane]
            sums[s, grp, DOLLAR_CONVEXITY_BEFORE] = v.dollar_convexity[grp]
            sums[s, grp, DOLLAR_CONVEXITY_AFTER] = acc[grp, T_DC, lane]
            sums[s, grp, TAYLOR_DURATION] = -acc[grp, T_TAYLOR_D, lane]
            sums[s, grp, TAYLOR_CONVEXITY] = 0.5 * acc[grp, T_TAYLOR_C, lane]
            sums[s, grp, DOLLAR_SPREAD_DURATION_BEFORE] = v.dollar_spread_duration[grp]
            sums[s, grp, DOLLAR_SPREAD_DURATION_AFTER] = acc[grp, T_SD, lane]


@njit(cache=True, parallel=True)
def group_sums(n_blocks, w, v, fu, cs, sums):
    """Every metric per (scenario, group), without a pass over positions or a table of
    multipliers: each one is linear in the nodes' discount multipliers (and shifts) weighted
    by the group's per-node sums, plus its cash and gold, times the FX of each currency. Per
    position and scenario the definitions are those of ``stress_positions``; summed over a
    group they become: rates = sum over nodes of w_pv (g - 1) X0, cross = sum of
    w_pv (g - 1)(X1 - X0) (plus gold's), fx = sum over currencies of the group's value today x
    (X1 - X0), gold = gold value x (gold multiplier - 1) X0. With spread shifts a node's
    multiplier is g h (h of its spread line): rates = w_pv (g - 1) X0, spread = w_pv g (h - 1)
    X0. Futures (a ratio of multipliers) are each priced on their own nodes and added to their
    groups after the nodes, in position order. Multipliers are computed a tile of nodes at a
    time (see TILE), one block of scenarios per thread."""
    for blk in prange(n_blocks):
        _totals_block(blk, w, v, fu, cs, sums)


@njit(cache=True)
def group_sums_serial(n_blocks, w, v, fu, cs, sums):
    """``group_sums`` without threads, for small inputs."""
    for blk in range(n_blocks):
        _totals_block(blk, w, v, fu, cs, sums)


@njit(cache=True)
def group_node_values(w, out):
    """The cashflow figures of ``GroupValues`` (``bond``, ``dollar_duration``,
    ``dollar_convexity``, starting at zero), summed in node order exactly as ``group_sums``
    sums them after a shock, so that a zero shock gives them back bit for bit."""
    for u in range(len(w.day)):
        x0 = w.fx_before[w.currency[u]]
        for e in range(w.offsets[u], w.offsets[u + 1]):
            grp = w.group[e]
            out.bond[grp] += w.w_pv[e] * 1.0 * x0
            out.dollar_duration[grp] += w.w_t[e] * 1.0 * x0
            out.dollar_convexity[grp] += w.w_t2[e] * 1.0 * x0
            out.dollar_spread_duration[grp] += w.w_ts[e] * 1.0 * x0


@njit(cache=True)
def group_futures_values(fu, out):
    """The futures' part of ``GroupValues``, added after ``group_node_values`` in position
    order exactly as ``group_sums`` adds them after a shock (their value today is 0)."""
    for f in range(len(fu.scale)):
        sc = fu.scale[f]
        x0 = fu.fx_before[f]
        for q in range(fu.group.shape[1]):
            grp = fu.group[f, q]
            out.dollar_duration[grp] += sc * (fu.fwd_tau[f] / 1.0) * x0
            out.dollar_convexity[grp] += sc * (fu.fwd_tau2[f] / 1.0) * x0
            out.dollar_spread_duration[grp] += sc * (fu.fwd_ts[f] / 1.0) * x0


@njit(cache=True)
def group_values(form, scale, cashflow_row, currency, group, pv_before, gold_before, out):
    """``GroupValues`` from the positions, summed in portfolio order (the tables start at
    zero): every position's local value today under each of its groups."""
    for i in range(len(form)):
        if form[i] == CASHFLOWS:
            value = scale[i] * pv_before[cashflow_row[i]]
        elif form[i] == GOLD:
            value = scale[i] * gold_before
        elif form[i] == FUTURE:
            value = 0.0
        else:
            value = scale[i]
        c = currency[i]
        for q in range(group.shape[1]):
            g = group[i, q]
            out.value[g, c] += value
            if form[i] == CASH:
                out.cash[g, c] += value
            elif form[i] == GOLD:
                out.gold[g] += value

@njit(cache=True)
def _group_nodes(rows, row_lo, row_hi, cf, mark, stamp, touched):
    """Mark the distinct nodes of cashflow rows ``rows[row_lo:row_hi]``; return how many."""
    n = 0
    for k in range(row_lo, row_hi):
        r = rows[k]
        for j in range(cf.offsets[r], cf.offsets[r + 1]):
            u = cf.node[j]
            if mark[u] != stamp:
                mark[u] = stamp
                touched[n] = u
                n += 1
    return n


@njit(cache=True)
def count_group_nodes(rows, group_offsets, cf, n_nodes, out_count):
    """Number of distinct nodes of each group, the group owning cashflow rows
    ``rows[group_offsets[g]:group_offsets[g+1]]``."""
    mark = np.full(n_nodes, -1, dtype=np.int64)
    touched = np.empty(n_nodes, dtype=np.int64)
    for g in range(len(group_offsets) - 1):
        out_count[g] = _group_nodes(
            rows, group_offsets[g], group_offsets[g + 1], cf, mark, g, touched
        )


@njit(cache=True)
def fill_group_nodes(rows, group_offsets, cf, scale, n_nodes, out_offsets, out_node, out_w_pv,
                     out_w_t, out_w_t2, out_w_ts):  # fmt: skip
    """The entries of ``NodeWeights`` (``out_offsets`` from ``count_group_nodes``): per group
    and node, scale x pv, scale x pv_t, scale x pv_t2 and scale x pv_ts summed in cashflow
    order, nodes increasing (``scale[k]`` belongs to row ``rows[k]``)."""
    mark = np.full(n_nodes, -1, dtype=np.int64)
    touched = np.empty(n_nodes, dtype=np.int64)
    acc_pv = np.zeros(n_nodes)
    acc_t = np.zeros(n_nodes)
    acc_t2 = np.zeros(n_nodes)
    acc_ts = np.zeros(n_nodes)
    for g in range(len(group_offsets) - 1):
        lo = group_offsets[g]
        hi = group_offsets[g + 1]
        n = _group_nodes(rows, lo, hi, cf, mark, g, touched)
        for k in range(lo, hi):
            r = rows[k]
            sc = scale[k]
            for j in range(cf.offsets[r], cf.offsets[r + 1]):
                u = cf.node[j]
                acc_pv[u] += sc * cf.pv[j]
                acc_t[u] += sc * cf.pv_t[j]
                acc_t2[u] += sc * cf.pv_t2[j]
                acc_ts[u] += sc * cf.pv_ts[j]
        nodes = np.sort(touched[:n])
        e = out_offsets[g]
        for u in nodes:
            out_node[e] = u
            out_w_pv[e] = acc_pv[u]
            out_w_t[e] = acc_t[u]
            out_w_t2[e] = acc_t2[u]
            out_w_ts[e] = acc_ts[u]
            acc_pv[u] = 0.0
            acc_t[u] = 0.0
            acc_t2[u] = 0.0
            acc_ts[u] = 0.0
            e += 1
