"""Scenario kernels: shocked discount multipliers per cashflow node, one fused pass that
revalues every position under a block of scenarios and attributes its P&L, and the risk sums
per group from per-node weights.

Layout: scenarios come in blocks of ``BLOCK``; per-block arrays keep the scenario axis last
and of fixed length, so the innermost loop over the block vectorizes and each cashflow is read
once per block. Blocks are independent (one thread each) and every sum runs in a fixed order
(positions in portfolio order, nodes in node order), so results do not depend on chunking or
thread count.

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

BLOCK = 16

# --- valuation forms: how a position's local value moves with a scenario --------------------
#: Cashflows discounted on a curve (bonds): value = scale x sum of pv x discount multiplier.
CASHFLOWS = 0
#: Ounces of gold: value = scale x gold price, moved by the gold multiplier.
GOLD = 1
#: Currency cash: a constant amount of its currency (only FX moves its base value).
CASH = 2

# --- metrics summed per (scenario, group), base currency -----------------------------------
METRICS = (
    "pnl_rates",
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
)
PNL_RATES = METRICS.index("pnl_rates")
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
N_METRICS = len(METRICS)
#: Metrics a position has on its own (the per-position pass keeps them for its detail).
N_POSITION_METRICS = DOLLAR_DURATION_BEFORE

# --- per-position detail columns (positions mode and the worst positions) -------------------
DETAIL = (
    "pnl",
    "pnl_rates",
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
)
D_PNL = DETAIL.index("pnl")
D_PNL_RATES = DETAIL.index("pnl_rates")
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

    form: npt.NDArray[np.int8]  # CASHFLOWS, GOLD or CASH
    scale: F8  # notional / 100 for cashflow instruments (per 100 face), notional otherwise
    fx_before: F8  # base-currency units per unit of the position's currency today
    currency: I8  # the position currency: a column of ``Shocks.fx_multiplier``
    cashflow_row: I8  # its row of ``Cashflows`` (-1 without cashflows)


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


class CurveShifts(NamedTuple):
    """A chunk's curve shifts: ``shift_bp[s, curve, k]`` at ``grid[k]`` years, linear between,
    flat beyond; ``segment[day]`` the interval of the grid a payment day falls in (0: before
    the first point, k: from grid[k-1] on, K: from the last on, as ``interp.bracket`` places
    it) and ``first_day[segment]`` the interval's first day."""

    grid: F8
    shift_bp: F8  # (S, curves, K)
    segment: I8  # (days + 1,)
    first_day: I8  # (K + 1,)
    fx_multiplier: F8  # (S, currencies)
    gold_multiplier: F8  # (S,)


class Shocks(NamedTuple):
    """How the pass over positions walks a chunk's scenarios (``CurveShifts``), in blocks of
    ``lanes`` scenarios (at most BLOCK): each block walks the multipliers and shifts of every
    node into a table of nodes x lanes sized to stay in the core's cache while the positions
    read it."""

    node_day: I8  # (nodes,) in node order
    node_curve: I8  # (nodes,)
    lanes: int
    gold_before: float  # gold price today, USD per troy ounce


class Outputs(NamedTuple):
    """Where one chunk's per-position results go (S = the chunk's scenarios)."""

    worst: I8  # (S, K) the K lowest-P&L positions per scenario, worst first (-1: none)
    worst_pnl: F8  # (S, K) their P&L (+inf: none)
    worst_detail: F8  # (S, K, N_DETAIL) their detail columns
    detail: F8  # (N_DETAIL, rows) every position's detail, or shape (0, 0) for none
    detail_first: int  # detail row of (chunk scenario s, position i): (first + s) x stride + i
    detail_stride: int


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


# Per-lane sums of a cashflow position under one block: pv, pv t, pv t^2 after the shock,
# and the two Taylor sums (pv t shift, pv t^2 shift^2).
ACC_PV = 0
ACC_PV_T = 1
ACC_PV_T2 = 2
ACC_TAYLOR_D = 3
ACC_TAYLOR_C = 4
N_ACC = 5


@njit(cache=True)
def _position_detail(i, s, pos, cf, cs, m, acc, lane, out):
    """Every detail column of position i in chunk scenario s: ``m`` holds its own metrics,
    ``acc[:, lane]`` its sums after the shock (cashflow instruments)."""
    sc = pos.scale[i]
    x0 = pos.fx_before[i]
    x1 = x0 * cs.fx_multiplier[s, pos.currency[i]]
    out[D_PNL] = m[PNL_RATES] + m[PNL_FX] + m[PNL_GOLD] + m[PNL_CROSS]
    out[D_PNL_RATES] = m[PNL_RATES]
    out[D_PNL_FX] = m[PNL_FX]
    out[D_PNL_GOLD] = m[PNL_GOLD]
    out[D_PNL_CROSS] = m[PNL_CROSS]
    out[D_PV_BEFORE] = m[PV_BEFORE]
    out[D_PV_AFTER] = m[PV_AFTER]
    r = pos.cashflow_row[i]
    if pos.form[i] != CASHFLOWS:
        out[D_DURATION_BEFORE] = np.nan
        out[D_DURATION_AFTER] = np.nan
        out[D_CONVEXITY_BEFORE] = np.nan
        out[D_CONVEXITY_AFTER] = np.nan
        out[D_DV01_BEFORE] = 0.0
        out[D_DV01_AFTER] = 0.0
        out[D_TAYLOR_PNL] = 0.0
        out[D_TAYLOR_RESIDUAL] = m[PNL_RATES]
        return
    pv1 = acc[ACC_PV, lane]
    out[D_DURATION_BEFORE] = cf.pv_t_before[r] / cf.pv_before[r]
    out[D_DURATION_AFTER] = acc[ACC_PV_T, lane] / pv1
    out[D_CONVEXITY_BEFORE] = cf.pv_t2_before[r] / cf.pv_before[r]
    out[D_CONVEXITY_AFTER] = acc[ACC_PV_T2, lane] / pv1
    out[D_DV01_BEFORE] = sc * cf.pv_t_before[r] * x0 * 1e-4
    out[D_DV01_AFTER] = sc * acc[ACC_PV_T, lane] * x1 * 1e-4
    taylor = -sc * acc[ACC_TAYLOR_D, lane] * x0 + 0.5 * sc * acc[ACC_TAYLOR_C, lane] * x0
    out[D_TAYLOR_PNL] = taylor
    out[D_TAYLOR_RESIDUAL] = m[PNL_RATES] - taylor


@njit(cache=True)
def _accumulate(r, cf, gtab, dtab, acc, full, lane_lo, lane_hi):
    """Sums of cashflow row r over its cashflows for lanes lane_lo:lane_hi from the block's
    tables of node multipliers and shifts: the pv after the shock, and with ``full`` the
    other sums of ``acc`` too."""
    for k in range(N_ACC if full else 1):
        for lane in range(lane_lo, lane_hi):
            acc[k, lane] = 0.0
    for j in range(cf.offsets[r], cf.offsets[r + 1]):
        u = cf.node[j]
        a = cf.pv[j]
        if full:
            at = cf.pv_t[j]
            at2 = cf.pv_t2[j]
            for lane in range(lane_lo, lane_hi):
                g = gtab[u, lane]
                d = dtab[u, lane]
                acc[ACC_PV, lane] += a * g
                acc[ACC_PV_T, lane] += at * g
                acc[ACC_PV_T2, lane] += at2 * g
                acc[ACC_TAYLOR_D, lane] += at * d
                acc[ACC_TAYLOR_C, lane] += at2 * d * d
        else:
            for lane in range(lane_lo, lane_hi):
                acc[ACC_PV, lane] += a * gtab[u, lane]


@njit(cache=True)
def _block(blk, pos, cf, cs, sh, out):
    n_s = cs.fx_multiplier.shape[0]
    n_worst = out.worst.shape[1]
    keep_detail = out.detail.shape[0] > 0
    lanes = sh.lanes
    s0 = blk * lanes
    nb = min(lanes, n_s - s0)
    acc = np.zeros((N_ACC, BLOCK))
    m = np.empty(N_POSITION_METRICS)
    row = np.empty(N_DETAIL)
    for s in range(nb):
        for k in range(n_worst):
            out.worst[s0 + s, k] = -1
            out.worst_pnl[s0 + s, k] = np.inf
            for c in range(N_DETAIL):
                out.worst_detail[s0 + s, k, c] = np.nan
    n_nodes = len(sh.node_day)
    gtab = np.empty((n_nodes, lanes))
    dtab = np.empty((n_nodes, lanes))
    walk = np.zeros((6, BLOCK))
    state = np.full(4, -1, dtype=np.int64)
    for u in range(n_nodes):
        _walk(sh.node_day[u], sh.node_curve[u], cs, s0, nb, state, walk)
        for lane in range(nb):
            gtab[u, lane] = walk[2, lane]
            dtab[u, lane] = walk[5, lane]
    for i in range(len(pos.form)):
        form = pos.form[i]
        r = pos.cashflow_row[i]
        if form == CASHFLOWS:
            # Every sum a detail row needs when every row is kept; else the pv alone.
            _accumulate(r, cf, gtab, dtab, acc, keep_detail, 0, nb)
        x0 = pos.fx_before[i]
        sc = pos.scale[i]
        for s in range(nb):
            x1 = x0 * cs.fx_multiplier[s0 + s, pos.currency[i]]
            if form == CASHFLOWS:
                l0 = sc * cf.pv_before[r]
                l1 = sc * acc[ACC_PV, s]
            elif form == GOLD:
                l0 = sc * sh.gold_before
                l1 = l0 * cs.gold_multiplier[s0 + s]
            else:
                l0 = sc
                l1 = sc
            dl = l1 - l0
            dx = x1 - x0
            for k in range(N_POSITION_METRICS):
                m[k] = 0.0
            if form == CASHFLOWS:
                m[PNL_RATES] = dl * x0
            elif form == GOLD:
                m[PNL_GOLD] = dl * x0
            m[PNL_FX] = l0 * dx
            m[PNL_CROSS] = dl * dx
            m[PV_BEFORE] = l0 * x0
            m[PV_AFTER] = l1 * x1
            pnl = m[PNL_RATES] + m[PNL_FX] + m[PNL_GOLD] + m[PNL_CROSS]
            enters = n_worst > 0 and pnl < out.worst_pnl[s0 + s, n_worst - 1]
            if keep_detail or enters:
                if form == CASHFLOWS and not keep_detail:
                    # A rare event: this lane's full sums for the detail of a worst position.
                    _accumulate(r, cf, gtab, dtab, acc, True, s, s + 1)
                _position_detail(i, s0 + s, pos, cf, cs, m, acc, s, row)
            # Keep the n_worst lowest P&Ls, earlier positions first on ties.
            if enters:
                k = n_worst - 1
                while k > 0 and pnl < out.worst_pnl[s0 + s, k - 1]:
                    out.worst_pnl[s0 + s, k] = out.worst_pnl[s0 + s, k - 1]
                    out.worst[s0 + s, k] = out.worst[s0 + s, k - 1]
                    for c in range(N_DETAIL):
                        out.worst_detail[s0 + s, k, c] = out.worst_detail[s0 + s, k - 1, c]
                    k -= 1
                out.worst_pnl[s0 + s, k] = pnl
                out.worst[s0 + s, k] = i
                for c in range(N_DETAIL):
                    out.worst_detail[s0 + s, k, c] = row[c]
            if keep_detail:
                dr = (out.detail_first + s0 + s) * out.detail_stride + i
                for c in range(N_DETAIL):
                    out.detail[c, dr] = row[c]


@njit(cache=True, parallel=True)
def stress_positions(n_blocks, pos, cf, cs, sh, out):
    """Full revaluation and P&L attribution of every position under the chunk's scenarios.

    Per position and scenario (base currency, X = base units per unit of the position
    currency, L = local value): rates = (L1 - L0) X0 for cashflow instruments (gold likewise
    as the gold part), fx = L0 (X1 - X0), cross = (L1 - L0)(X1 - X0); a cashflow instrument's
    L = scale x sum of pv x multiplier. The K worst positions with their detail go to
    ``out.worst*``, and with a non-empty ``out.detail`` every position's detail columns. (The
    sums per group come from ``group_sums``, which needs no pass over positions.)
    """
    for blk in prange(n_blocks):
        _block(blk, pos, cf, cs, sh, out)


@njit(cache=True)
def stress_positions_serial(n_blocks, pos, cf, cs, sh, out):
    """``stress_positions`` without threads, for small inputs."""
    for blk in range(n_blocks):
        _block(blk, pos, cf, cs, sh, out)


class NodeWeights(NamedTuple):
    """Per node (in node order: curve, then payment day), the groups whose cashflows pay there,
    each with the sums over its cashflows at the node of scale x pv (``w_pv``), scale x pv x t
    (``w_t``) and scale x pv x t^2 (``w_t2``), local currency."""

    offsets: I8  # (nodes + 1,) node u owns entries offsets[u]:offsets[u+1], groups increasing
    group: I8
    w_pv: F8
    w_t: F8
    w_t2: F8
    day: I8  # (nodes,) payment day, days after the valuation date
    curve: I8  # (nodes,) the curve whose shifts move the node: a row of the shifts
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
    dollar_duration: F8  # (groups,) sum of w_t X0
    dollar_convexity: F8  # (groups,) sum of w_t2 X0


#: Discount multipliers are computed exactly on calendar anchors (every ANCHOR days, and at the
#: first day of each interval of the shift grid) and walked from there day by day: within an
#: interval the shift d(t) = a + b t is linear, so the exponent -d(t) t is quadratic and the
#: multiplier of each next day is the last one times a ratio that itself changes by a constant
#: factor: two multiplications a day instead of an exp a node, exact to a few units in the last
#: place, and a function of the day alone (not of which other days a book pays on), so a book,
#: a sub-book and a shard get the same multipliers bit for bit.
ANCHOR = 16
_DAY = 1.0 / 365.0


@njit(cache=True, inline="always")
def _segment_line(cs, s, c, seg, a, b, lane):
    """The shift of curve c in chunk scenario s on interval ``seg`` as a + b t (decimals)."""
    grid = cs.grid
    k = len(grid)
    if seg == 0:
        a[lane] = cs.shift_bp[s, c, 0] * 1e-4
        b[lane] = 0.0
    elif seg == k:
        a[lane] = cs.shift_bp[s, c, k - 1] * 1e-4
        b[lane] = 0.0
    else:
        y0 = cs.shift_bp[s, c, seg - 1] * 1e-4
        y1 = cs.shift_bp[s, c, seg] * 1e-4
        slope = (y1 - y0) / (grid[seg] - grid[seg - 1])
        a[lane] = y0 - slope * grid[seg - 1]
        b[lane] = slope


@njit(cache=True, inline="always")
def _walk(day, c, cs, s0, nb, state, walk):
    """Advance the walk of discount multipliers to ``day`` of curve c for scenarios
    s0..s0+nb (see ANCHOR): ``walk`` holds per lane the shift line a + b t (rows 0, 1), the
    multiplier g (2), its ratio to the next day r (3), r's daily factor q (4) and the shift at
    ``day`` (5); ``state`` the curve, interval, anchor and day walked so far."""
    seg = cs.segment[day]
    start = max((day // ANCHOR) * ANCHOR, cs.first_day[seg])
    a = walk[0]
    b = walk[1]
    g = walk[2]
    r = walk[3]
    q = walk[4]
    if c != state[0] or seg != state[1] or start != state[2] or day < state[3]:
        # Anchor: exact multiplier, ratio to the next day, and the ratio's daily factor.
        t0 = start * _DAY
        h2 = _DAY * _DAY
        for lane in range(nb):
            _segment_line(cs, s0 + lane, c, seg, a, b, lane)
            aa = a[lane]
            bb = b[lane]
            g[lane] = np.exp(-(aa + bb * t0) * t0)
            r[lane] = np.exp(-aa * _DAY - bb * (2.0 * t0 * _DAY + h2))
            q[lane] = np.exp(-2.0 * bb * h2)
        state[0] = c
        state[1] = seg
        state[2] = start
        state[3] = start
    for _ in range(day - state[3]):
        for lane in range(nb):
            g[lane] *= r[lane]
            r[lane] *= q[lane]
    state[3] = day
    t = day * _DAY
    for lane in range(nb):
        walk[5, lane] = a[lane] + b[lane] * t


@njit(cache=True)
def _totals_block(blk, w, v, cs, sums):
    n_s = cs.fx_multiplier.shape[0]
    s0 = blk * BLOCK
    nb = min(BLOCK, n_s - s0)
    n_groups = sums.shape[1]
    n_ccy = len(w.fx_before)
    acc = np.zeros((n_groups, 7, BLOCK))
    x1 = np.empty((max(n_ccy, 1), BLOCK))
    for c in range(n_ccy):
        for lane in range(BLOCK):
            m = cs.fx_multiplier[s0 + lane, c] if lane < nb else 1.0
            x1[c, lane] = w.fx_before[c] * m
    walk = np.zeros((6, BLOCK))  # a, b, g, r, q, d per lane (see _walk)
    state = np.full(4, -1, dtype=np.int64)
    d = walk[5]
    g = walk[2]
    for u in range(len(w.day)):
        _walk(w.day[u], w.curve[u], cs, s0, nb, state, walk)
        k = w.currency[u]
        x0 = w.fx_before[k]
        for e in range(w.offsets[u], w.offsets[u + 1]):
            grp = w.group[e]
            v0 = w.w_pv[e]
            v1 = w.w_t[e]
            v2 = w.w_t2[e]
            for lane in range(BLOCK):
                gl = g[lane]
                dl = d[lane]
                xl = x1[k, lane]
                moved = v0 * (gl - 1.0)
                acc[grp, 0, lane] += moved * x0
                acc[grp, 1, lane] += moved * (xl - x0)
                acc[grp, 2, lane] += v0 * gl * xl
                acc[grp, 3, lane] += v1 * gl * xl
                acc[grp, 4, lane] += v2 * gl * xl
                acc[grp, 5, lane] += v1 * dl * x0
                acc[grp, 6, lane] += v2 * dl * dl * x0
    for lane in range(nb):
        s = s0 + lane
        gm = cs.gold_multiplier[s]
        for grp in range(n_groups):
            fx = 0.0
            pv0 = 0.0
            pv1 = 0.0
            dd0 = 0.0
            dc0 = 0.0
            for k in range(n_ccy):
                x0 = w.fx_before[k]
                xk = x1[k, lane]
                fx += v.value[grp, k] * (xk - x0)
                pv0 += v.cash[grp, k] * x0
                pv1 += v.cash[grp, k] * xk
            bpv0 = v.bond[grp]
            dd0 = v.dollar_duration[grp]
            dc0 = v.dollar_convexity[grp]
            gold = 0.0
            cross = acc[grp, 1, lane]
            if v.gold[grp] != 0.0:
                x0 = w.fx_before[v.gold_currency]
                xg = x1[v.gold_currency, lane]
                moved = v.gold[grp] * (gm - 1.0)
                gold = moved * x0
                cross += moved * (xg - x0)
                pv0 += v.gold[grp] * x0
                pv1 += v.gold[grp] * gm * xg
            sums[s, grp, PNL_RATES] = acc[grp, 0, lane]
            sums[s, grp, PNL_FX] = fx
            sums[s, grp, PNL_GOLD] = gold
            sums[s, grp, PNL_CROSS] = cross
            sums[s, grp, PV_BEFORE] = bpv0 + pv0
            sums[s, grp, PV_AFTER] = acc[grp, 2, lane] + pv1
            sums[s, grp, BOND_PV_BEFORE] = bpv0
            sums[s, grp, BOND_PV_AFTER] = acc[grp, 2, lane]
            sums[s, grp, DOLLAR_DURATION_BEFORE] = dd0
            sums[s, grp, DOLLAR_DURATION_AFTER] = acc[grp, 3, lane]
            sums[s, grp, DOLLAR_CONVEXITY_BEFORE] = dc0
            sums[s, grp, DOLLAR_CONVEXITY_AFTER] = acc[grp, 4, lane]
            sums[s, grp, TAYLOR_DURATION] = -acc[grp, 5, lane]
            sums[s, grp, TAYLOR_CONVEXITY] = 0.5 * acc[grp, 6, lane]


@njit(cache=True, parallel=True)
def group_sums(n_blocks, w, v, cs, sums):
    """Every metric per (scenario, group), without a pass over positions or a table of
    multipliers: each one is linear in the nodes' discount multipliers (and shifts) weighted
    by the group's per-node sums, plus its cash and gold, times the FX of each currency. Per
    position and scenario the definitions are those of ``stress_positions``; summed over a
    group they become: rates = sum over nodes of w_pv (g - 1) X0, cross = sum of
    w_pv (g - 1)(X1 - X0) (plus gold's), fx = sum over currencies of the group's value today x
    (X1 - X0), gold = gold value x (gold multiplier - 1) X0. Multipliers are walked along the
    calendar (see ANCHOR), one block of scenarios per thread."""
    for blk in prange(n_blocks):
        _totals_block(blk, w, v, cs, sums)


@njit(cache=True)
def group_sums_serial(n_blocks, w, v, cs, sums):
    """``group_sums`` without threads, for small inputs."""
    for blk in range(n_blocks):
        _totals_block(blk, w, v, cs, sums)


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


@njit(cache=True)
def group_values(form, scale, cashflow_row, currency, group, pv_before, gold_before, out):
    """``GroupValues`` from the positions, summed in portfolio order (the tables start at
    zero): every position's local value today under each of its groups."""
    for i in range(len(form)):
        if form[i] == CASHFLOWS:
            value = scale[i] * pv_before[cashflow_row[i]]
        elif form[i] == GOLD:
            value = scale[i] * gold_before
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
                     out_w_t, out_w_t2):  # fmt: skip
    """The entries of ``NodeWeights`` (``out_offsets`` from ``count_group_nodes``): per group
    and node, scale x pv, scale x pv_t and scale x pv_t2 summed in cashflow order, nodes
    increasing (``scale[k]`` belongs to row ``rows[k]``)."""
    mark = np.full(n_nodes, -1, dtype=np.int64)
    touched = np.empty(n_nodes, dtype=np.int64)
    acc_pv = np.zeros(n_nodes)
    acc_t = np.zeros(n_nodes)
    acc_t2 = np.zeros(n_nodes)
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
        nodes = np.sort(touched[:n])
        e = out_offsets[g]
        for u in nodes:
            out_node[e] = u
            out_w_pv[e] = acc_pv[u]
            out_w_t[e] = acc_t[u]
            out_w_t2[e] = acc_t2[u]
            acc_pv[u] = 0.0
            acc_t[u] = 0.0
            acc_t2[u] = 0.0
            e += 1
