"""Scenario kernels: shocked discount factors per cashflow date, full revaluation, attribution.

Layout: scenarios are the innermost, contiguous axis of every per-scenario array, so the loop
over a block of scenarios vectorizes and each cashflow is read once per block.
"""

from __future__ import annotations

import numpy as np
from numba import njit, prange

# Metrics accumulated per (scenario, group); see stress.engine.METRICS for their names.
N_METRICS = 15


@njit(cache=True, parallel=True)
def node_shocks(node_t, node_curve, grid, shift_bp, out_g, out_d):
    """For each distinct (curve, payment date) node u and scenario s: the zero-rate shift
    d = shift(t_u) as a decimal (``shift_bp[s, curve, :]`` linear on ``grid``, flat beyond)
    and the discount-factor multiplier g = exp(-d t_u)."""
    nk = len(grid)
    n_s = shift_bp.shape[0]
    for u in prange(len(node_t)):
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
        for s in range(n_s):
            d = (w * shift_bp[s, c, lo] + (1.0 - w) * shift_bp[s, c, hi]) * 1e-4
            out_d[u, s] = d
            out_g[u, s] = np.exp(-d * t)


@njit(cache=True, parallel=True)
def revalue_bonds(offsets, node, a, at, at2, g, d, out_pv, out_dd, out_dc, out_t1, out_t2):
    """Per bond and scenario, sums over its cashflows j of a_j*g, a_j t_j g, a_j t_j^2 g
    (shocked PV, dollar duration, dollar convexity, per 100 face) and of a_j t_j d and
    a_j t_j^2 d^2 (the Taylor terms). ``a`` is the cashflow discounted on the base curve."""
    n_s = g.shape[1]
    for i in prange(len(offsets) - 1):
        for s in range(n_s):
            out_pv[i, s] = 0.0
            out_dd[i, s] = 0.0
            out_dc[i, s] = 0.0
            out_t1[i, s] = 0.0
            out_t2[i, s] = 0.0
        for j in range(offsets[i], offsets[i + 1]):
            u = node[j]
            aj = a[j]
            atj = at[j]
            at2j = at2[j]
            for s in range(n_s):
                gs = g[u, s]
                ds = d[u, s]
                out_pv[i, s] += aj * gs
                out_dd[i, s] += atj * gs
                out_dc[i, s] += at2j * gs
                out_t1[i, s] += atj * ds
                out_t2[i, s] += at2j * ds * ds


@njit(cache=True, parallel=True)
def attribute(
    kind,
    scale,
    fx0,
    fx_col,
    bond_row,
    group,
    n_groups,
    gold0,
    gold_mul,
    fx_mul,
    pv0,
    dd0,
    dc0,
    pv1,
    dd1,
    dc1,
    t1,
    t2,
    out_groups,
    out_pnl,
    out_detail,
):
    """Base-currency P&L of every position under every scenario, split exactly into rates
    (local value change at base FX), FX (base value of the unshocked local value), gold and
    cross terms, summed per group into ``out_groups[s, group, metric]``.

    ``scale`` is notional/100 for bonds and the notional otherwise. ``out_pnl[s, i]`` gets each
    position's P&L; ``out_detail[m, s, i]`` every metric when it is not empty.
    """
    n_s = fx_mul.shape[0]
    detail = out_detail.shape[0] > 0
    for s in prange(n_s):
        m = np.empty(N_METRICS)
        for gi in range(n_groups):
            for k in range(N_METRICS):
                out_groups[s, gi, k] = 0.0
        for i in range(len(kind)):
            x0 = fx0[i]
            x1 = x0 * fx_mul[s, fx_col[i]]
            b = bond_row[i]
            for k in range(N_METRICS):
                m[k] = 0.0
            if kind[i] == 0:
                l0 = scale[i] * pv0[b]
                l1 = scale[i] * pv1[b, s]
            elif kind[i] == 1:
                l0 = scale[i] * gold0
                l1 = l0 * gold_mul[s]
            else:
                l0 = scale[i]
                l1 = l0
            dl = l1 - l0
            dx = x1 - x0
            local = dl * x0
            fxp = l0 * dx
            cross = dl * dx
            m[0] = local + fxp + cross
            if kind[i] == 0:
                m[1] = local
                m[7] = l0 * x0
                m[8] = l1 * x1
                m[9] = scale[i] * dd0[b] * x0
                m[10] = scale[i] * dd1[b, s] * x1
                m[11] = scale[i] * dc0[b] * x0
                m[12] = scale[i] * dc1[b, s] * x1
                m[13] = -scale[i] * t1[b, s] * x0
                m[14] = 0.5 * scale[i] * t2[b, s] * x0
            elif kind[i] == 1:
                m[3] = local
            m[2] = fxp
            m[4] = cross
            m[5] = l0 * x0
            m[6] = l1 * x1
            gi = group[i]
            for k in range(N_METRICS):
                out_groups[s, gi, k] += m[k]
            out_pnl[s, i] = m[0]
            if detail:
                for k in range(N_METRICS):
                    out_detail[k, s, i] = m[k]
