"""Kernels that lay a book's cashflows on nodes: present values on the base curve with the
instrument's credit spread over each cashflow's spread time, and the (shock bucket, day)
slot of each."""

from __future__ import annotations

import numpy as np
from numba import njit, prange

from stress.kernels.interp import interp_flat


@njit(cache=True)
def mark_slots(offsets, bucket, line, time, spread_time, pay_day, first_day, n_days, out_used):
    """Mark in ``out_used`` the slot (shock bucket, payment day) of every cashflow that has
    one in a dense table of ``n_days`` per bucket: all but those whose spread time is not
    their curve time in a bucket whose spread line moves (``line`` >= 0), which read the
    line on another day (a node of their own)."""
    for i in range(len(offsets) - 1):
        b = bucket[i]
        for j in range(offsets[i], offsets[i + 1]):
            if spread_time[j] == time[j] or line[b] < 0:
                out_used[b * n_days + (pay_day[j] - first_day)] = True


@njit(cache=True)
def _discount_row(i, args):
    (offsets, curve, bucket, line, credit, spread, time, spread_time, amount, pay_day,
     first_day, n_days, node_of_slot, curve_off, curve_t, curve_z, out_pv, out_pv_t, out_pv_t2,
     out_pv_ts, out_node) = args  # fmt: skip
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
            out_node[j] = -1
        else:
            out_node[j] = node_of_slot[b * n_days + (pay_day[j] - first_day)]


@njit(cache=True, parallel=True)
def discount_nodes(args):
    """Each cashflow's present value per 100 face on its base curve with the row's spread
    over its spread time (exp(-(z(t) + s) t) when that is its curve time, exp(-z(t) t - s ts)
    otherwise), times t, t^2 and (rows with a credit spread) ts, and its node: its slot's
    number in ``node_of_slot`` (slots as in ``mark_slots``), -1 for a cashflow without one.
    ``args`` is the tuple (offsets, curve, bucket, line, credit, spread, time, spread_time,
    amount, pay_day, first_day, n_days, node_of_slot, curve_off, curve_t, curve_z, out_pv,
    out_pv_t, out_pv_t2, out_pv_ts, out_node). Rows are independent: the same bits on any
    number of threads."""
    for i in prange(len(args[0]) - 1):
        _discount_row(i, args)


@njit(cache=True)
def discount_nodes_serial(args):
    """``discount_nodes`` without threads, for small books (thread start-up costs more)."""
    for i in range(len(args[0]) - 1):
        _discount_row(i, args)


#: How a cashflow row's pv x spread time (``pv_ts``) relates to its pv x t, per row: a pass
#: over positions then sums it only for the rows where it is neither (most rows have no credit
#: spread, or read their spread on their curve's times).
TS_NONE = 0  # every pv_ts is 0 (no credit spread)
TS_SAME = 1  # every pv_ts is its pv_t, bit for bit
TS_OWN = 2  # some other value


@njit(cache=True)
def spread_time_kinds(offsets, pv_t, pv_ts, out):
    """Per row, TS_NONE, TS_SAME or TS_OWN (NONE when both hold)."""
    for i in range(len(offsets) - 1):
        zero = True
        same = True
        for j in range(offsets[i], offsets[i + 1]):
            v = pv_ts[j]
            zero = zero and v == 0.0
            same = same and v == pv_t[j]
        out[i] = TS_NONE if zero else (TS_SAME if same else TS_OWN)


@njit(cache=True)
def ordered_sums(offsets, x, out):
    """Per row, the sum of x over its entries, in order."""
    for i in range(len(offsets) - 1):
        p = 0.0
        for j in range(offsets[i], offsets[i + 1]):
            p += x[j]
        out[i] = p
