"""Scenario kernels: shocked discount factors per cashflow date, then one fused pass that
revalues every position under a block of scenarios and attributes its P&L.

Layout: scenarios come in blocks of ``BLOCK``; per-block arrays keep the scenario axis last
and of fixed length, so the innermost loop over the block vectorizes, each cashflow is read
once per block and a block's discount multipliers for every node stay in cache while all
positions are processed. Blocks are independent (one thread each) and every sum runs over
positions in portfolio order, so results do not depend on chunking or thread count.
"""

from __future__ import annotations

import numpy as np
from numba import njit, prange

BLOCK = 16

#: Raw metrics summed per (scenario, group); see stress.result for their meaning.
N_METRICS = 15
#: Per-position detail columns written in positions mode; see stress.result.DETAIL_COLUMNS.
N_DETAIL = 15
N_WORST = 3


@njit(cache=True)
def _node(u, node_t, node_curve, grid, shift_bp, out_g, out_d):
    nk = len(grid)
    n_s = shift_bp.shape[0]
    t = node_t[u]
    c = node_curve[u]
    lo = 0
    w = 1.0
    if t >= grid[nk - 1]:
        lo = nk - 1
    elif t > grid[0]:
        while grid[lo + 1] < t:
            lo += 1
        w = (grid[lo + 1] - t) / (grid[lo + 1] - grid[lo])
    hi = min(lo + 1, nk - 1)
    for b in range(out_g.shape[0]):
        for lane in range(BLOCK):
            s = b * BLOCK + lane
            if s < n_s:
                d = (w * shift_bp[s, c, lo] + (1.0 - w) * shift_bp[s, c, hi]) * 1e-4
                out_d[b, u, lane] = d
                out_g[b, u, lane] = np.exp(-d * t)
            else:
                out_d[b, u, lane] = 0.0
                out_g[b, u, lane] = 1.0


@njit(cache=True, parallel=True)
def node_shocks(node_t, node_curve, grid, shift_bp, out_g, out_d):
    """For each distinct (curve, payment date) node u and scenario s of the chunk: the
    zero-rate shift d = shift(t_u) as a decimal (``shift_bp[s, curve, :]`` linear on ``grid``,
    flat beyond) and the discount multiplier g = exp(-d t_u), into ``out[block, u, lane]``.
    Lanes past the last scenario get g = 1, d = 0."""
    for u in prange(len(node_t)):
        _node(u, node_t, node_curve, grid, shift_bp, out_g, out_d)


@njit(cache=True)
def node_shocks_serial(node_t, node_curve, grid, shift_bp, out_g, out_d):
    """``node_shocks`` without threads, for small inputs."""
    for u in range(len(node_t)):
        _node(u, node_t, node_curve, grid, shift_bp, out_g, out_d)


@njit(cache=True)
def base_sums(offsets, a, at, at2, out_pv, out_dd, out_dc):
    """Unshocked PV, dollar duration and dollar convexity per bond (per 100 face), summed in
    the same order as ``stress_positions`` so that a zero shock reproduces them exactly."""
    for i in range(len(offsets) - 1):
        p = 0.0
        dd = 0.0
        dc = 0.0
        for j in range(offsets[i], offsets[i + 1]):
            p += a[j]
            dd += at[j]
            dc += at2[j]
        out_pv[i] = p
        out_dd[i] = dd
        out_dc[i] = dc


@njit(cache=True)
def _block(blk, args):
    (
        kind,
        scale,
        fx0,
        fx_col,
        group,
        bond_row,
        offsets,
        node,
        a,
        at,
        at2,
        pv0,
        dd0,
        dc0,
        gold0,
        gold_mul,
        fx_mul,
        g,
        d,
        s_first,
        s_total,
        out_sums,
        out_worst,
        out_worst_pnl,
        out_detail,
        full,
    ) = args
    n_s = fx_mul.shape[0]
    n_groups = out_sums.shape[1]
    detail = out_detail.shape[0] > 0
    s0 = blk * BLOCK
    nb = min(BLOCK, n_s - s0)
    acc = np.empty((5, BLOCK))
    m = np.empty(N_METRICS)
    for s in range(nb):
        for gi in range(n_groups):
            for k in range(N_METRICS):
                out_sums[s0 + s, gi, k] = 0.0
        for k in range(N_WORST):
            out_worst[s0 + s, k] = -1
            out_worst_pnl[s0 + s, k] = np.inf
    for i in range(len(kind)):
        b = bond_row[i]
        if kind[i] == 0:
            for k in range(5):
                for lane in range(BLOCK):
                    acc[k, lane] = 0.0
            if full:
                for j in range(offsets[b], offsets[b + 1]):
                    u = node[j]
                    aj = a[j]
                    atj = at[j]
                    at2j = at2[j]
                    for lane in range(BLOCK):
                        gs = g[blk, u, lane]
                        ds = d[blk, u, lane]
                        acc[0, lane] += aj * gs
                        acc[1, lane] += atj * gs
                        acc[2, lane] += at2j * gs
                        acc[3, lane] += atj * ds
                        acc[4, lane] += at2j * ds * ds
            else:
                # Only the PV: the risk sums are linear in the nodes and summed per group
                # by ``node_group_sums``.
                for j in range(offsets[b], offsets[b + 1]):
                    u = node[j]
                    aj = a[j]
                    for lane in range(BLOCK):
                        acc[0, lane] += aj * g[blk, u, lane]
        x0 = fx0[i]
        sc = scale[i]
        for s in range(nb):
            x1 = x0 * fx_mul[s0 + s, fx_col[i]]
            for k in range(N_METRICS):
                m[k] = 0.0
            if kind[i] == 0:
                l0 = sc * pv0[b]
                l1 = sc * acc[0, s]
            elif kind[i] == 1:
                l0 = sc * gold0
                l1 = l0 * gold_mul[s0 + s]
            else:
                l0 = sc
                l1 = sc
            dl = l1 - l0
            dx = x1 - x0
            local = dl * x0
            if kind[i] == 0:
                m[1] = local
                m[7] = l0 * x0
                m[8] = l1 * x1
                if full:
                    m[9] = sc * dd0[b] * x0
                    m[10] = sc * acc[1, s] * x1
                    m[11] = sc * dc0[b] * x0
                    m[12] = sc * acc[2, s] * x1
                    m[13] = -sc * acc[3, s] * x0
                    m[14] = 0.5 * sc * acc[4, s] * x0
            elif kind[i] == 1:
                m[3] = local
            m[2] = l0 * dx
            m[4] = dl * dx
            m[5] = l0 * x0
            m[6] = l1 * x1
            m[0] = m[1] + m[2] + m[3] + m[4]
            gi = group[i]
            for k in range(N_METRICS):
                out_sums[s0 + s, gi, k] += m[k]
            pnl = m[0]
            # Keep the N_WORST lowest P&Ls, earlier positions first on ties.
            if pnl < out_worst_pnl[s0 + s, N_WORST - 1]:
                k = N_WORST - 1
                while k > 0 and pnl < out_worst_pnl[s0 + s, k - 1]:
                    out_worst_pnl[s0 + s, k] = out_worst_pnl[s0 + s, k - 1]
                    out_worst[s0 + s, k] = out_worst[s0 + s, k - 1]
                    k -= 1
                out_worst_pnl[s0 + s, k] = pnl
                out_worst[s0 + s, k] = i
            if detail:
                r = i * s_total + s_first + s0 + s
                for k in range(7):
                    out_detail[k, r] = m[k]
                if kind[i] == 0:
                    out_detail[7, r] = dd0[b] / pv0[b]
                    out_detail[8, r] = acc[1, s] / acc[0, s]
                    out_detail[9, r] = dc0[b] / pv0[b]
                    out_detail[10, r] = acc[2, s] / acc[0, s]
                else:
                    out_detail[7, r] = np.nan
                    out_detail[8, r] = np.nan
                    out_detail[9, r] = np.nan
                    out_detail[10, r] = np.nan
                out_detail[11, r] = m[9] * 1e-4
                out_detail[12, r] = m[10] * 1e-4
                out_detail[13, r] = m[13] + m[14]
                out_detail[14, r] = m[1] - (m[13] + m[14])


@njit(cache=True, parallel=True)
def stress_positions(n_blocks, args):
    """Full revaluation and P&L attribution of every position under the chunk's scenarios.

    ``args`` is the tuple (kind, scale, fx0, fx_col, group, bond_row, offsets, node, a, at, at2,
    pv0, dd0, dc0, gold0, gold_mul, fx_mul, g, d, s_first, s_total, out_sums, out_worst,
    out_worst_pnl, out_detail, full), one numba tuple so the serial and threaded loops share it.
    Without ``full`` only the P&L metrics are summed here; the risk metrics 9-14 are left 0
    for ``node_group_sums``.

    Per position and scenario (base currency, X = base units per unit of position currency,
    L = local value): rates = (L1-L0) X0 for bonds, gold likewise for gold, fx = L0 (X1-X0),
    cross = (L1-L0)(X1-X0). Bond L = scale * sum a_j g_j (a = cashflow x base discount
    factor per 100 face, scale = notional/100). Sums per (scenario, group) go to
    ``out_sums[s, group, metric]``; the ``N_WORST`` lowest P&Ls per scenario to
    ``out_worst``/``out_worst_pnl``; with a non-empty ``out_detail`` every detail column to
    ``out_detail[col, position * s_total + s_first + s]``.
    """
    for blk in prange(n_blocks):
        _block(blk, args)


@njit(cache=True)
def stress_positions_serial(n_blocks, args):
    """``stress_positions`` without threads, for small inputs."""
    for blk in range(n_blocks):
        _block(blk, args)


@njit(cache=True)
def _node_group_sums_one(s, w1, w2, node_fx, fx0_code, fx_mul, g, d, out_sums):
    n_groups, n_nodes = w1.shape
    blk = s // BLOCK
    lane = s - blk * BLOCK
    for grp in range(n_groups):
        b1 = 0.0
        a1 = 0.0
        b2 = 0.0
        a2 = 0.0
        t1 = 0.0
        t2 = 0.0
        for u in range(n_nodes):
            c = node_fx[u]
            x0 = fx0_code[c]
            x1 = x0 * fx_mul[s, c]
            gs = g[blk, u, lane]
            ds = d[blk, u, lane]
            v1 = w1[grp, u]
            v2 = w2[grp, u]
            b1 += v1 * x0
            a1 += v1 * gs * x1
            b2 += v2 * x0
            a2 += v2 * gs * x1
            t1 += v1 * ds * x0
            t2 += v2 * ds * ds * x0
        out_sums[s, grp, 9] = b1
        out_sums[s, grp, 10] = a1
        out_sums[s, grp, 11] = b2
        out_sums[s, grp, 12] = a2
        out_sums[s, grp, 13] = -t1
        out_sums[s, grp, 14] = 0.5 * t2


@njit(cache=True, parallel=True)
def node_group_sums(w1, w2, node_fx, fx0_code, fx_mul, g, d, out_sums):
    """The risk metrics 9-14 per (scenario, group) from per-node weights: dollar duration and
    convexity before/after and the Taylor terms are linear in each node's g and d, so they are
    sums over the distinct nodes u of ``w1[group, u]`` = sum of scale * t * a and
    ``w2[group, u]`` = sum of scale * t^2 * a over the group's cashflows at u, times the FX of
    the node's currency (``node_fx`` indexes ``fx0_code`` and the columns of ``fx_mul``)."""
    for s in prange(fx_mul.shape[0]):
        _node_group_sums_one(s, w1, w2, node_fx, fx0_code, fx_mul, g, d, out_sums)


@njit(cache=True)
def node_group_sums_serial(w1, w2, node_fx, fx0_code, fx_mul, g, d, out_sums):
    """``node_group_sums`` without threads, for small inputs."""
    for s in range(fx_mul.shape[0]):
        _node_group_sums_one(s, w1, w2, node_fx, fx0_code, fx_mul, g, d, out_sums)


@njit(cache=True)
def node_weight_table(offsets, bond_scale, bond_group, node, at, at2, out_w1, out_w2):
    """``out_w1[group, u]`` += scale * t * a and ``out_w2[group, u]`` += scale * t^2 * a over
    every cashflow (node u) of every bond, in cashflow order (the tables start at zero)."""
    for i in range(len(offsets) - 1):
        sc = bond_scale[i]
        grp = bond_group[i]
        for j in range(offsets[i], offsets[i + 1]):
            u = node[j]
            out_w1[grp, u] += sc * at[j]
            out_w2[grp, u] += sc * at2[j]
