"""A book's totals per group: node weights merged over its shards.

Every sum per (scenario, group) is linear in the nodes' discount multipliers and the
currencies' FX, so it comes from per-node weights: the group's cashflows at the node, summed.
Weights are formed shard by shard (``SHARD_POSITIONS`` positions; a run split over processes
forms them where its shards are laid out) and merged, in shard order, into one table over the
whole book's nodes: the sums are then formed once, over the book's nodes, whatever the number
of shards (20 times fewer entries than shard by shard at 1M positions), and a run split over
processes gives the same bits as one process, which merges the same shards' weights.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from stress.groups import Groupings
from stress.kernels.nodes import ordered_sums
from stress.kernels.scenarios import (
    NO_CREDIT,
    Futures,
    GroupValues,
    NodeWeights,
    count_group_nodes,
    fill_group_nodes,
    group_futures_values,
    group_node_values,
    group_values,
)
from stress.prepare import Prepared, last_day

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]
Labels = tuple[tuple[str, ...], ...]


@dataclass(frozen=True)
class ShardTotals:
    """One shard's part of the totals, indexed by its own layout: weight entries (``node``,
    ``group``, ``w_*``, as ``NodeWeights``) over the layout's nodes (``day``, ``curve``,
    ``spread``, ``sday``, ``currency``), its groups' fixed values (``GroupValues``, whole-book
    groups) and its futures (rows in position order; groups the whole book's). ``curves``,
    ``currencies`` and ``labels`` name the layout's curves, position currencies and spread
    lines, which its indices refer to."""

    node: IntArray
    group: IntArray
    w_pv: FloatArray
    w_t: FloatArray
    w_t2: FloatArray
    w_ts: FloatArray
    day: IntArray
    curve: IntArray
    spread: IntArray
    sday: IntArray
    currency: IntArray
    values: GroupValues
    futures: Futures
    curves: tuple[str, ...]
    currencies: tuple[str, ...]
    labels: Labels


@dataclass(frozen=True)
class Totals:
    """What the sums kernel (``group_sums``) reads: the merged weights, values and futures,
    indexed by the run's curves, position currencies and spread lines."""

    weights: NodeWeights
    values: GroupValues
    futures: Futures

    @property
    def last_day(self) -> int:
        """The last payment day of any node, the futures' own included."""
        return last_day(self.weights.day, self.futures.node_day)


def kept_totals(prepared: Prepared, groups: Groupings, shard_size: int) -> Totals:
    """``book_totals``, kept on ``prepared`` for the next run with the same groups and shard
    size: a book run again (a session's result, another scenario set) does not sum its
    cashflows again."""
    kept = prepared.memo.get("totals")
    if (isinstance(kept, tuple) and kept[0] == shard_size
            and np.array_equal(kept[1], groups.codes)):  # fmt: skip
        totals: Totals = kept[2]
        return totals
    totals = book_totals(prepared, groups, shard_size)
    prepared.memo["totals"] = (shard_size, groups.codes.copy(), totals)
    return totals


def book_totals(prepared: Prepared, groups: Groupings, shard_size: int) -> Totals:
    """The totals of a whole book laid out in one process: its shards' weights, merged."""
    book = prepared.book
    if book.n_positions <= shard_size:
        # One shard: its weights as laid out (``merge`` of one part gives the same).
        return Totals(*_weights_and_values(prepared, groups))
    fx_before = np.array([book.market.fx_rate(c) for c in book.position_currencies])
    return merge(shard_totals(prepared, groups, shard_size), tuple(book.currencies),
                 tuple(book.position_currencies), prepared.spread_labels, fx_before)


def shard_totals(prepared: Prepared, groups: Groupings, shard_size: int) -> list[ShardTotals]:
    """The parts of the book's shards of ``shard_size`` consecutive positions, in order
    (``groups``: the book's groupings, codes of the whole book's groups)."""
    n_shards = max(1, -(-prepared.book.n_positions // shard_size))
    by_shard = groups.by_shard(shard_size)
    weights, values, _ = _weights_and_values(prepared, by_shard)
    book = prepared.book
    G = groups.n_groups
    node = np.repeat(np.arange(len(weights.day), dtype=np.int64), np.diff(weights.offsets))
    entry_shard = weights.group // G
    future_shard = prepared.futures_pos // shard_size
    parts = []
    for k in range(n_shards):
        on = entry_shard == k
        rows = np.flatnonzero(future_shard == k)
        own = slice(k * G, (k + 1) * G)
        parts.append(ShardTotals(
            node=node[on],
            group=weights.group[on] - k * G,
            w_pv=weights.w_pv[on],
            w_t=weights.w_t[on],
            w_t2=weights.w_t2[on],
            w_ts=weights.w_ts[on],
            day=prepared.node_day,
            curve=prepared.node_curve,
            spread=prepared.node_spread,
            sday=prepared.node_sday,
            currency=prepared.node_currency,
            values=values._replace(
                value=values.value[own], cash=values.cash[own], gold=values.gold[own],
                bond=values.bond[own], dollar_duration=values.dollar_duration[own],
                dollar_convexity=values.dollar_convexity[own],
                dollar_spread_duration=values.dollar_spread_duration[own],
            ),
            futures=_future_rows(prepared.futures, rows,
                                 groups.codes[prepared.futures_pos[rows]]),
            curves=tuple(book.currencies),
            currencies=tuple(book.position_currencies),
            labels=prepared.spread_labels,
        ))  # fmt: skip
    return parts


def merge(parts: Sequence[ShardTotals], curves: Sequence[str], currencies: Sequence[str],
          labels: Labels, fx_before: FloatArray) -> Totals:  # fmt: skip
    """The totals of the shards ``parts`` (in shard order), indexed by ``curves``,
    ``currencies`` and spread lines ``labels``; ``fx_before`` the FX of ``currencies``.

    Nodes are the distinct (curve, spread line, day, spread day) of the parts' entries, in
    that order; a (node, group)'s weight is the parts' weights added in shard order (within
    a shard, in its node order). A single part keeps its own node order.
    """
    maps = [_maps(p, curves, currencies, labels) for p in parts]
    if len(parts) == 1:
        p, (cm, xm, lm) = parts[0], maps[0]
        offsets = np.zeros(len(p.day) + 1, dtype=np.int64)
        np.cumsum(np.bincount(p.node, minlength=len(p.day)), out=offsets[1:])
        weights = NodeWeights(offsets, p.group, p.w_pv, p.w_t, p.w_t2, p.w_ts, p.day,
                              cm[p.curve], _lines(lm, p.spread), p.sday, xm[p.currency],
                              fx_before)  # fmt: skip
    else:
        weights = _merge_weights(parts, maps, fx_before)
    return Totals(weights, _merge_values(parts, maps, currencies),
                  _merge_futures(parts, maps))


def _maps(p: ShardTotals, curves: Sequence[str], currencies: Sequence[str],
          labels: Labels) -> tuple[IntArray, IntArray, IntArray]:  # fmt: skip
    """A part's curve, currency and spread-line indices as the run's."""
    def of(names: Sequence[object], into: Sequence[object]) -> IntArray:
        where = {n: i for i, n in enumerate(into)}
        return np.array([where[n] for n in names], dtype=np.int64)

    return of(p.curves, curves), of(p.currencies, currencies), of(p.labels, labels)


def _lines(lm: IntArray, spread: IntArray) -> IntArray:
    """Spread lines as the run's: NO_CREDIT and NO_SHIFT (negative) as they are."""
    return np.where(spread >= 0, lm[np.maximum(spread, 0)] if len(lm) else 0, spread)


def _merge_weights(parts: Sequence[ShardTotals],
                   maps: list[tuple[IntArray, IntArray, IntArray]],
                   fx_before: FloatArray) -> NodeWeights:  # fmt: skip
    cols: dict[str, list[IntArray | FloatArray]] = {}
    for k, (p, (cm, xm, lm)) in enumerate(zip(parts, maps, strict=True)):
        u = p.node
        for name, a in (("curve", cm[p.curve[u]]), ("spread", _lines(lm, p.spread[u])),
                        ("day", p.day[u]), ("sday", p.sday[u]), ("currency", xm[p.currency[u]]),
                        ("group", p.group), ("shard", np.full(len(u), k, dtype=np.int64)),
                        ("node", u), ("w_pv", p.w_pv), ("w_t", p.w_t), ("w_t2", p.w_t2),
                        ("w_ts", p.w_ts)):  # fmt: skip
            cols.setdefault(name, []).append(a)
    c = {name: np.concatenate(a) for name, a in cols.items()}
    # Sorted by node key and group; equal ones in shard order, then the shard's node order.
    order = np.lexsort((c["node"], c["shard"], c["group"], c["sday"], c["day"], c["spread"],
                        c["curve"]))  # fmt: skip
    s = {name: a[order] for name, a in c.items()}
    n = len(order)
    key_change = np.ones(n, dtype=np.bool_)
    if n:
        key_change[1:] = ((np.diff(s["curve"]) != 0) | (np.diff(s["spread"]) != 0)
                          | (np.diff(s["day"]) != 0) | (np.diff(s["sday"]) != 0))  # fmt: skip
    entry_change = key_change.copy()
    if n:
        entry_change[1:] |= np.diff(s["group"]) != 0
    starts = np.flatnonzero(entry_change)
    bounds = np.append(starts, n).astype(np.int64)
    summed = {}
    for name in ("w_pv", "w_t", "w_t2", "w_ts"):
        out = np.empty(len(starts))
        ordered_sums(bounds, np.ascontiguousarray(s[name]), out)
        summed[name] = out
    firsts = np.flatnonzero(key_change)
    entry_node = (np.cumsum(key_change) - 1)[starts]
    offsets = np.zeros(len(firsts) + 1, dtype=np.int64)
    np.cumsum(np.bincount(entry_node, minlength=len(firsts)), out=offsets[1:])
    return NodeWeights(
        offsets=offsets,
        group=np.ascontiguousarray(s["group"][starts]),
        w_pv=summed["w_pv"],
        w_t=summed["w_t"],
        w_t2=summed["w_t2"],
        w_ts=summed["w_ts"],
        day=np.ascontiguousarray(s["day"][firsts]),
        curve=np.ascontiguousarray(s["curve"][firsts]),
        spread=np.ascontiguousarray(s["spread"][firsts]),
        sday=np.ascontiguousarray(s["sday"][firsts]),
        currency=np.ascontiguousarray(s["currency"][firsts]),
        fx_before=fx_before,
    )


def _merge_values(parts: Sequence[ShardTotals],
                  maps: list[tuple[IntArray, IntArray, IntArray]],
                  currencies: Sequence[str]) -> GroupValues:  # fmt: skip
    """The parts' group values added in shard order (the first one copied, not added to
    zeros, so one part gives its own bits)."""
    G = parts[0].values.gold.shape[0]
    value = np.zeros((G, len(currencies)))
    cash = np.zeros((G, len(currencies)))
    flat = {name: np.zeros(G) for name in ("gold", "bond", "dollar_duration",
                                           "dollar_convexity", "dollar_spread_duration")}
    for k, (p, (_, xm, _)) in enumerate(zip(parts, maps, strict=True)):
        v = p.values
        if k == 0:
            value[:, xm] = v.value
            cash[:, xm] = v.cash
        else:
            value[:, xm] += v.value
            cash[:, xm] += v.cash
        for name, total in flat.items():
            if k == 0:
                total[:] = getattr(v, name)
            else:
                total += getattr(v, name)
    return GroupValues(value=value, cash=cash,
                       gold_currency=list(currencies).index("USD") if "USD" in currencies
                       else -1, **flat)  # fmt: skip


def _merge_futures(parts: Sequence[ShardTotals],
                   maps: list[tuple[IntArray, IntArray, IntArray]]) -> Futures:  # fmt: skip
    """The parts' futures, rows in shard order; nodes the distinct (curve, spread line, day,
    spread day) they read (a single part's as they are)."""
    if len(parts) == 1:
        f, (cm, xm, lm) = parts[0].futures, maps[0]
        return f._replace(node_curve=cm[f.node_curve], node_spread=_lines(lm, f.node_spread),
                          currency=xm[f.currency])  # fmt: skip
    keys, per_row, refs = [], [], []
    for p, (cm, xm, lm) in zip(parts, maps, strict=True):
        f = p.futures
        # The nodes the part's rows read (a part cut from a whole book's futures names them
        # all).
        used = np.unique(np.concatenate([f.node, f.delivery]))
        keys.append(np.stack([cm[f.node_curve[used]], _lines(lm, f.node_spread[used]),
                              f.node_day[used], f.node_sday[used]], axis=1))  # fmt: skip
        refs.append((used, f.node, f.delivery))
        per_row.append(f._replace(currency=xm[f.currency]))
    uniq, inv = np.unique(np.concatenate(keys), axis=0, return_inverse=True)
    inv = inv.ravel().astype(np.int64)
    starts = np.cumsum([0, *(len(used) for used, _, _ in refs)])
    node = np.concatenate([inv[a + np.searchsorted(used, n)]
                           for a, (used, n, _) in zip(starts, refs, strict=False)])
    delivery = np.concatenate([inv[a + np.searchsorted(used, d)]
                               for a, (used, _, d) in zip(starts, refs, strict=False)])
    lengths = np.concatenate([np.diff(f.offsets) for f in per_row])
    offsets = np.zeros(len(lengths) + 1, dtype=np.int64)
    np.cumsum(lengths, out=offsets[1:])

    def cat(name: str) -> Any:
        return np.concatenate([getattr(f, name) for f in per_row])

    return Futures(
        offsets=offsets, node=node, fpv=cat("fpv"), fpv_tau=cat("fpv_tau"),
        fpv_tau2=cat("fpv_tau2"), fpv_ts=cat("fpv_ts"), time=cat("time"), delivery=delivery,
        delivery_t=cat("delivery_t"), fwd=cat("fwd"), fwd_tau=cat("fwd_tau"),
        fwd_tau2=cat("fwd_tau2"), fwd_ts=cat("fwd_ts"), scale=cat("scale"),
        currency=cat("currency"), fx_before=cat("fx_before"),
        group=np.ascontiguousarray(cat("group")),
        node_day=np.ascontiguousarray(uniq[:, 2]), node_curve=np.ascontiguousarray(uniq[:, 0]),
        node_spread=np.ascontiguousarray(uniq[:, 1]), node_sday=np.ascontiguousarray(uniq[:, 3]),
    )  # fmt: skip


def _future_rows(f: Futures, rows: IntArray, group: IntArray) -> Futures:
    """Futures ``rows`` of ``f`` (their nodes still ``f``'s), with groups ``group``."""
    lo, hi = f.offsets[rows], f.offsets[rows + 1]
    offsets = np.zeros(len(rows) + 1, dtype=np.int64)
    np.cumsum(hi - lo, out=offsets[1:])
    flows = np.arange(offsets[-1], dtype=np.int64) + np.repeat(lo - offsets[:-1], hi - lo)
    return f._replace(
        offsets=offsets, node=f.node[flows], fpv=f.fpv[flows], fpv_tau=f.fpv_tau[flows],
        fpv_tau2=f.fpv_tau2[flows], fpv_ts=f.fpv_ts[flows], time=f.time[flows],
        delivery=f.delivery[rows], delivery_t=f.delivery_t[rows], fwd=f.fwd[rows],
        fwd_tau=f.fwd_tau[rows], fwd_tau2=f.fwd_tau2[rows], fwd_ts=f.fwd_ts[rows],
        scale=f.scale[rows], currency=f.currency[rows], fx_before=f.fx_before[rows],
        group=np.ascontiguousarray(group, dtype=np.int64),
    )  # fmt: skip


def _weights_and_values(prepared: Prepared,
                        groups: Groupings) -> tuple[NodeWeights, GroupValues, Futures]:
    """The book's node weights, group values and futures (with their groups) by ``groups``."""
    weights = node_weights(prepared, groups)
    futures = prepared.futures._replace(
        group=np.ascontiguousarray(groups.codes[prepared.futures_pos])
    )
    return weights, group_values_of(prepared, groups, weights, futures), futures


def group_values_of(prepared: Prepared, groups: Groupings, weights: NodeWeights,
                    futures: Futures) -> GroupValues:  # fmt: skip
    """The groups' fixed values (``GroupValues``) of the book by ``groups``."""
    book = prepared.book
    n_ccy = len(book.position_currencies)
    values = GroupValues(
        value=np.zeros((groups.n_groups, n_ccy)),
        cash=np.zeros((groups.n_groups, n_ccy)),
        gold=np.zeros(groups.n_groups),
        gold_currency=book.position_currencies.index("USD")
        if "USD" in book.position_currencies
        else -1,
        bond=np.zeros(groups.n_groups),
        dollar_duration=np.zeros(groups.n_groups),
        dollar_convexity=np.zeros(groups.n_groups),
        dollar_spread_duration=np.zeros(groups.n_groups),
    )
    group_node_values(weights, values)
    group_futures_values(futures, values)
    group_values(
        book.form,
        book.scale,
        prepared.cashflow_row,
        book.currency_code,
        groups.codes,
        prepared.cashflows.pv_before,
        book.market.gold_usd or 0.0,
        values,
    )
    return values


def node_weights(prepared: Prepared, groups: Groupings) -> NodeWeights:
    """Per node (in node order), the groups of every grouping whose cashflows pay there, with
    the sums of scale x pv, scale x pv x t and scale x pv x t^2 (local currency), each summed in
    cashflow order."""
    book = prepared.book
    rows_pos = book.cashflow_pos
    n_rows, n_q = len(rows_pos), groups.codes.shape[1]
    # One (group, row) pair per row and grouping, ordered by group, rows in book order.
    group_of = groups.codes[rows_pos].T.ravel()
    row_of = np.tile(np.arange(n_rows, dtype=np.int64), n_q)
    order = np.argsort(group_of, kind="stable")
    rows = np.ascontiguousarray(row_of[order])
    scale = np.ascontiguousarray(book.scale[rows_pos][rows])
    group_offsets = np.zeros(groups.n_groups + 1, dtype=np.int64)
    np.cumsum(np.bincount(group_of, minlength=groups.n_groups), out=group_offsets[1:])
    n_nodes = prepared.n_nodes
    counts = np.empty(groups.n_groups, dtype=np.int64)
    count_group_nodes(rows, group_offsets, prepared.cashflows, n_nodes, counts)
    offsets = np.zeros(groups.n_groups + 1, dtype=np.int64)
    np.cumsum(counts, out=offsets[1:])
    nnz = int(offsets[-1])
    node = np.empty(nnz, dtype=np.int64)
    w_pv, w_t, w_t2, w_ts = np.empty(nnz), np.empty(nnz), np.empty(nnz), np.empty(nnz)
    fill_group_nodes(
        rows, group_offsets, prepared.cashflows, scale, n_nodes, offsets, node, w_pv, w_t, w_t2,
        w_ts,
    )
    # The same entries node by node (groups increasing within a node): each group still meets
    # its nodes in increasing order, so every sum runs in the same order.
    group = np.repeat(np.arange(groups.n_groups, dtype=np.int64), counts)
    by_node = np.argsort(node, kind="stable")
    node_offsets = np.zeros(n_nodes + 1, dtype=np.int64)
    np.cumsum(np.bincount(node, minlength=n_nodes), out=node_offsets[1:])
    return NodeWeights(
        offsets=node_offsets,
        group=group[by_node],
        w_pv=w_pv[by_node],
        w_t=w_t[by_node],
        w_t2=w_t2[by_node],
        w_ts=w_ts[by_node],
        day=prepared.node_day,
        curve=prepared.node_curve,
        spread=prepared.node_spread,
        sday=prepared.node_sday,
        currency=prepared.node_currency,
        fx_before=np.array(
            [book.market.fx_rate(c) for c in book.position_currencies], dtype=np.float64
        ),
    )


_ENTRY = ("node", "group", "w_pv", "w_t", "w_t2", "w_ts")
_NODE = ("day", "curve", "spread", "sday", "currency")


def to_arrays(t: ShardTotals) -> dict[str, Any]:
    """A part as named arrays (``numpy.savez``; ``from_arrays`` reads them back)."""
    out: dict[str, Any] = {f"t_{n}": getattr(t, n) for n in _ENTRY + _NODE}
    out |= {f"tv_{n}": getattr(t.values, n) for n in GroupValues._fields}
    out |= {f"tf_{n}": getattr(t.futures, n) for n in Futures._fields}
    out["t_curves"] = np.array(t.curves, dtype=str)
    out["t_currencies"] = np.array(t.currencies, dtype=str)
    width = len(t.labels[0]) if t.labels else 0
    out["t_labels"] = np.array(t.labels, dtype=str).reshape(len(t.labels), width)
    return out


def from_arrays(z: dict[str, Any], n_groups: int) -> ShardTotals | None:
    """The part saved by ``to_arrays`` in ``z`` (None when it holds none). Raises ValueError
    when the arrays are not a part's of ``n_groups`` groups."""
    if "t_node" not in z:
        return None
    arrays: dict[str, Any] = {
        n: np.asarray(z[f"t_{n}"], dtype=np.float64 if n.startswith("w_") else np.int64)
        for n in _ENTRY + _NODE
    }
    values: dict[str, Any] = {n: np.asarray(z[f"tv_{n}"], dtype=np.float64)
                              for n in GroupValues._fields if n != "gold_currency"}
    t = ShardTotals(
        **arrays,
        values=GroupValues(gold_currency=int(z["tv_gold_currency"]), **values),
        futures=Futures(**{n: np.asarray(z[f"tf_{n}"]) for n in Futures._fields}),
        curves=tuple(z["t_curves"].tolist()),
        currencies=tuple(z["t_currencies"].tolist()),
        labels=tuple(tuple(row) for row in z["t_labels"].tolist()),
    )
    n, nodes = len(t.node), len(t.day)

    def within(a: IntArray, size: int, low: int = 0) -> bool:
        return not len(a) or (int(a.min()) >= low and int(a.max()) < size)

    flat = ("gold", "bond", "dollar_duration", "dollar_convexity", "dollar_spread_duration")
    if (any(len(getattr(t, c)) != n for c in _ENTRY) or any(len(getattr(t, c)) != nodes
                                                           for c in _NODE)
            or not within(t.node, nodes) or not within(t.group, n_groups)
            or not within(t.curve, len(t.curves)) or not within(t.currency, len(t.currencies))
            or not within(t.spread, len(t.labels), NO_CREDIT)
            or t.values.value.shape != (n_groups, len(t.currencies))
            or t.values.cash.shape != (n_groups, len(t.currencies))
            or any(getattr(t.values, c).shape != (n_groups,) for c in flat)
            or t.futures.group.shape[0] != len(t.futures.scale)):  # fmt: skip
        raise ValueError("not the node weights of a shard of this run")
    return t
