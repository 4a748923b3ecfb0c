"""Kernels that lay a book's cashflows on nodes: present values on the base curve with the
instrument's credit spread over each cashflow's spread time, and the (shock bucket, day)
slot of each."""

from __future__ import annotations

import numpy as np
from numba import njit

from stress.kernels.interp import interp_flat


@njit(cache=True)
def discount_nodes(offsets, curve, bucket, line, credit, spread, time, spread_time, amount,
                   pay_day, first_day, n_days, curve_off, curve_t, curve_z, out_pv, out_pv_t,
                   out_pv_t2, out_pv_ts, out_slot, out_used):  # fmt: skip
    """Each cashflow's present value per 100 face on its base curve with the row's spread
    over its spread time (exp(-(z(t) + s) t) when that is its curve time, exp(-z(t) t - s ts)
    otherwise), times t, t^2 and (rows with a credit spread) ts, and its slot (shock bucket,
    payment day) in a dense table of ``n_days`` per bucket, marked in ``out_used``. A
    cashflow whose spread time is not its curve time in a bucket whose spread line moves
    (``line`` >= 0) reads the line on another day: its slot is -1 (a node of its own)."""
    for i in range(len(offsets) - 1):
        c = curve[i]
        xs = curve_t[curve_off[c] : curve_off[c + 1]]
        zs = curve_z[curve_off[c] : curve_off[c + 1]]
        b = bucket[i]
        for j in range(offsets[i], offsets[i + 1]):
            t = time[j]
            ts = spread_time[j]
            if ts == t:
                v = amount[j] * np.exp(-(interp_flat(xs, zs, t) + spread[i]) * t)
            else:
                v = amount[j] * np.exp(-interp_flat(xs, zs, t) * t - spread[i] * ts)
            out_pv[j] = v
            out_pv_t[j] = v * t
            out_pv_t2[j] = v * t * t
            out_pv_ts[j] = v * ts if credit[i] else 0.0
            if ts != t and line[b] >= 0:
                out_slot[j] = -1
            else:
                k = b * n_days + (pay_day[j] - first_day)
                out_slot[j] = k
                out_used[k] = True


@njit(cache=True)
def ordered_sums(offsets, x, out):
    """Per row, the sum of x over its entries, in order."""
    for i in range(len(offsets) - 1):
        p = 0.0
        for j in range(offsets[i], offsets[i + 1]):
            p += x[j]
        out[i] = p
