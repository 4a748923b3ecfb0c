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

from stress.kernels.interp import bracket

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


class Shocks(NamedTuple):
    """One chunk of S scenarios, in blocks of BLOCK."""

    multiplier: F8  # (blocks, nodes, BLOCK) discount multiplier exp(-shift t) per node
    shift: F8  # (blocks, nodes, BLOCK) zero-rate shift per node, decimal
    fx_multiplier: F8  # (S, currencies) factor on each currency's base-currency FX rate
    gold_multiplier: F8  # (S,) factor on the gold price
    gold_before: float  # gold price today, USD per troy ounce


class Outputs(NamedTuple):
    """Where one chunk's per-position results go (S = the chunk's scenarios)."""

    worst: I8  # (S, K) the K lowest-P&L positions per scenario, worst first (-1: none)
    worst_pnl: F8  # (S, K) their P&L (+inf: none)
    worst_detail: F8  # (S, K, N_DETAIL) their detail columns
    detail: F8  # (N_DETAIL, rows) every position's detail, or shape (0, 0) for none
    detail_first: int  # detail row of (position i, chunk scenario s): i x stride + first + s
    detail_stride: int


@njit(cache=True)
def _node(u, node_t, node_curve, grid, shift_bp, out_g, out_d):
    n_s = shift_bp.shape[0]
    t = node_t[u]
    c = node_curve[u]
    lo, hi, frac = bracket(grid, t)
    for b in range(out_g.shape[0]):
        for lane in range(BLOCK):
            s = b * BLOCK + lane
            if s < n_s:
                y0 = shift_bp[s, c, lo]
                d = (y0 + frac * (shift_bp[s, c, hi] - y0)) * 1e-4
                out_d[b, u, lane] = d
                out_g[b, u, lane] = np.exp(-d * t)
            else:
                out_d[b, u, lane] = 0.0
                out_g[b, u, lane] = 1.0


@njit(cache=True, parallel=True)
def node_shocks(node_t, node_curve, grid, shift_bp, out_g, out_d):
    """For each distinct (shock bucket, payment date) node u and scenario s of the chunk: the
    zero-rate shift d = shift(t_u) as a decimal (``shift_bp[s, node_curve[u], :]`` linear on
    ``grid``, flat beyond) and the discount multiplier g = exp(-d t_u), into
    ``out[block, u, lane]``. Lanes past the last scenario get g = 1, d = 0."""
    for u in prange(len(node_t)):
        _node(u, node_t, node_curve, grid, shift_bp, out_g, out_d)


@njit(cache=True)
def node_shocks_serial(node_t, node_curve, grid, shift_bp, out_g, out_d):
    """``node_shocks`` without threads, for small inputs."""
    for u in range(len(node_t)):
        _node(u, node_t, node_curve, grid, shift_bp, out_g, out_d)


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
def _position_detail(i, s, pos, cf, sh, m, acc, lane, out):
    """Every detail column of position i in chunk scenario s: ``m`` holds its own metrics,
    ``acc[:, lane]`` its sums after the shock (cashflow instruments)."""
    sc = pos.scale[i]
    x0 = pos.fx_before[i]
    x1 = x0 * sh.fx_multiplier[s, pos.currency[i]]
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
def _accumulate(r, blk, cf, sh, acc, full, lane_lo, lane_hi):
    """Sums of cashflow row r over its cashflows for lanes lane_lo:lane_hi of block blk:
    the pv after the shock, and with ``full`` the other sums of ``acc`` too."""
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
                g = sh.multiplier[blk, u, lane]
                d = sh.shift[blk, u, lane]
                acc[ACC_PV, lane] += a * g
                acc[ACC_PV_T, lane] += at * g
                acc[ACC_PV_T2, lane] += at2 * g
                acc[ACC_TAYLOR_D, lane] += at * d
                acc[ACC_TAYLOR_C, lane] += at2 * d * d
        else:
            for lane in range(lane_lo, lane_hi):
                acc[ACC_PV, lane] += a * sh.multiplier[blk, u, lane]


@njit(cache=True)
def _block(blk, pos, cf, sh, out):
    n_s = sh.fx_multiplier.shape[0]
    n_worst = out.worst.shape[1]
    keep_detail = out.detail.shape[0] > 0
    s0 = blk * BLOCK
    nb = min(BLOCK, n_s - s0)
    acc = np.zeros((N_ACC, BLOCK))
    m = np.empty(N_POSITION_METRICS)
    row = np.empty(N_DETAIL)
    for s in range(nb):
        for k in range(n_worst):
            out.worst[s0 + s, k] = -1
            out.worst_pnl[s0 + s, k] = np.inf
            for c in range(N_DETAIL):
                out.worst_detail[s0 + s, k, c] = np.nan
    for i in range(len(pos.form)):
        form = pos.form[i]
        r = pos.cashflow_row[i]
        if form == CASHFLOWS:
            # Every sum a detail row needs when every row is kept; else the pv alone.
            _accumulate(r, blk, cf, sh, acc, keep_detail, 0, BLOCK)
        x0 = pos.fx_before[i]
        sc = pos.scale[i]
        for s in range(nb):
            x1 = x0 * sh.fx_multiplier[s0 + s, pos.currency[i]]
            if form == CASHFLOWS:
                l0 = sc * cf.pv_before[r]
                l1 = sc * acc[ACC_PV, s]
            elif form == GOLD:
                l0 = sc * sh.gold_before
                l1 = l0 * sh.gold_multiplier[s0 + s]
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
                    _accumulate(r, blk, cf, sh, acc, True, s, s + 1)
                _position_detail(i, s0 + s, pos, cf, sh, m, acc, s, row)
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
                dr = i * out.detail_stride + out.detail_first + s0 + s
                for c in range(N_DETAIL):
                    out.detail[c, dr] = row[c]


@njit(cache=True, parallel=True)
def stress_positions(n_blocks, pos, cf, sh, out):
    """Full revaluation and P&L attribution of every position under the chunk's scenarios.

    Per position and scenario (base currency, X = base units per unit of the position
    currency, L = local value): rates = (L1 - L0) X0 for cashflow instruments (gold likewise
    as the gold part), fx = L0 (X1 - X0), cross = (L1 - L0)(X1 - X0); a cashflow instrument's
    L = scale x sum of pv x multiplier. The K worst positions with their detail go to
    ``out.worst*``, and with a non-empty ``out.detail`` every position's detail columns. (The
    sums per group come from ``group_sums``, which needs no pass over positions.)
    """
    for blk in prange(n_blocks):
        _block(blk, pos, cf, sh, out)


@njit(cache=True)
def stress_positions_serial(n_blocks, pos, cf, sh, out):
    """``stress_positions`` without threads, for small inputs."""
    for blk in range(n_blocks):
        _block(blk, pos, cf, sh, out)


class NodeWeights(NamedTuple):
    """Per group, its nodes (increasing) with the sums over the group's cashflows paying there
    of scale x pv (``w_pv``), scale x pv x t (``w_t``) and scale x pv x t^2 (``w_t2``), local
    currency."""

    offsets: I8  # (groups + 1,) group g owns entries offsets[g]:offsets[g+1]
    node: I8
    w_pv: F8
    w_t: F8
    w_t2: F8
    node_currency: I8  # (nodes,) the currency of each node: a column of fx_multiplier
    fx_before: F8  # (currencies,) base-currency units per unit of each currency today


class GroupValues(NamedTuple):
    """Per group, today's local values of its positions by currency (all positions, and the
    cash ones alone) and of its gold (USD)."""

    value: F8  # (groups, currencies)
    cash: F8  # (groups, currencies)
    gold: F8  # (groups,)
    gold_currency: int  # the currency gold is held in (USD) as a column of fx_multiplier


@njit(cache=True)
def _group_sums(s, w, v, sh, sums):
    blk = s // BLOCK
    lane = s - blk * BLOCK
    n_ccy = v.value.shape[1]
    gm = sh.gold_multiplier[s]
    for grp in range(len(w.offsets) - 1):
        rates = 0.0
        cross = 0.0
        bpv0 = 0.0
        bpv1 = 0.0
        dd0 = 0.0
        dd1 = 0.0
        dc0 = 0.0
        dc1 = 0.0
        td = 0.0
        tc = 0.0
        for e in range(w.offsets[grp], w.offsets[grp + 1]):
            u = w.node[e]
            c = w.node_currency[u]
            x0 = w.fx_before[c]
            x1 = x0 * sh.fx_multiplier[s, c]
            g = sh.multiplier[blk, u, lane]
            d = sh.shift[blk, u, lane]
            v0 = w.w_pv[e]
            v1 = w.w_t[e]
            v2 = w.w_t2[e]
            dl = v0 * (g - 1.0)
            rates += dl * x0
            cross += dl * (x1 - x0)
            bpv0 += v0 * x0
            bpv1 += v0 * g * x1
            dd0 += v1 * x0
            dd1 += v1 * g * x1
            dc0 += v2 * x0
            dc1 += v2 * g * x1
            td += v1 * d * x0
            tc += v2 * d * d * x0
        fx = 0.0
        pv0 = bpv0
        pv1 = bpv1
        for c in range(n_ccy):
            x0 = w.fx_before[c]
            x1 = x0 * sh.fx_multiplier[s, c]
            fx += v.value[grp, c] * (x1 - x0)
            pv0 += v.cash[grp, c] * x0
            pv1 += v.cash[grp, c] * x1
        gold = 0.0
        if v.gold[grp] != 0.0:
            x0 = w.fx_before[v.gold_currency]
            x1 = x0 * sh.fx_multiplier[s, v.gold_currency]
            dl = v.gold[grp] * (gm - 1.0)
            gold = dl * x0
            cross += dl * (x1 - x0)
            pv0 += v.gold[grp] * x0
            pv1 += v.gold[grp] * gm * x1
        sums[s, grp, PNL_RATES] = rates
        sums[s, grp, PNL_FX] = fx
        sums[s, grp, PNL_GOLD] = gold
        sums[s, grp, PNL_CROSS] = cross
        sums[s, grp, PV_BEFORE] = pv0
        sums[s, grp, PV_AFTER] = pv1
        sums[s, grp, BOND_PV_BEFORE] = bpv0
        sums[s, grp, BOND_PV_AFTER] = bpv1
        sums[s, grp, DOLLAR_DURATION_BEFORE] = dd0
        sums[s, grp, DOLLAR_DURATION_AFTER] = dd1
        sums[s, grp, DOLLAR_CONVEXITY_BEFORE] = dc0
        sums[s, grp, DOLLAR_CONVEXITY_AFTER] = dc1
        sums[s, grp, TAYLOR_DURATION] = -td
        sums[s, grp, TAYLOR_CONVEXITY] = 0.5 * tc


@njit(cache=True, parallel=True)
def group_sums(w, v, sh, sums):
    """Every metric per (scenario, group), without a pass over positions: each one is linear
    in the nodes' discount multipliers (and shifts) weighted by the group's per-node sums,
    plus its cash and gold, times the FX of each currency. Per position and scenario the
    definitions are those of ``stress_positions``; summed over a group they become: rates =
    sum over nodes of w_pv (g - 1) X0, cross = sum of w_pv (g - 1)(X1 - X0) (plus gold's), fx =
    sum over currencies of the group's value today x (X1 - X0), gold = gold value x (gold
    multiplier - 1) X0."""
    for s in prange(sh.fx_multiplier.shape[0]):
        _group_sums(s, w, v, sh, sums)


@njit(cache=True)
def group_sums_serial(w, v, sh, sums):
    """``group_sums`` without threads, for small inputs."""
    for s in range(sh.fx_multiplier.shape[0]):
        _group_sums(s, w, v, sh, sums)


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
