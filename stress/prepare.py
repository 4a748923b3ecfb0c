"""The cashflow book: a portfolio laid out on a market once, as the named kernel records.

Everything here is what the scenarios do not change: each cashflow's present value on the base
curve (and times t, t^2 and its spread time), the distinct (shock bucket, payment day) nodes
every scenario shift is evaluated on, and the per-position arrays of the scenario pass.

A shock bucket is a curve and a *spread line*: the credit spread group of the positions, by
the position attributes the scenarios' spread shifts go by (``spread_by``), whose shift is the
curve's shift plus the group's parallel spread shift. Rows without a credit spread (swaps)
have a bucket of their own per curve (line NO_CREDIT), rows with one but no spread attribute
to go by line NO_SHIFT. Nothing else distinguishes a spread shock: the kernels see nodes.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from functools import cached_property

import numpy as np
import numpy.typing as npt
import polars as pl

from portfolios.model import Portfolio
from stress.book import Book, build_book
from stress.groups import MISSING
from stress.kernels.nodes import (
    discount_nodes,
    discount_nodes_serial,
    mark_slots,
    ordered_sums,
    spread_time_kinds,
)
from stress.kernels.scenarios import (
    NO_CREDIT,
    NO_SHIFT,
    Bounds,
    Cashflows,
    Futures,
    base_sums,
    position_bounds,
    row_bounds,
)
from stress.market import Market
from stress.work import threaded

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]


#: How many positions seed the worst-positions pass's thresholds (``Prepared.bounds``).
SEED_POSITIONS = 512


@dataclass(frozen=True)
class Prepared:
    """A book with its cashflows discounted and their nodes found.

    ``node_day`` (days after the valuation date), ``node_t`` (years) and ``node_curve`` (the
    curve whose shifts move it, an index into ``book.currencies``) describe each distinct
    (shock bucket, payment day) node, in (bucket, day) order, then the nodes of cashflows
    whose spread line is read on another day (``node_sday``; floating coupons' reset terms);
    ``node_spread`` is its spread line (NO_CREDIT, NO_SHIFT or an index into
    ``spread_labels``, the values of ``spread_by`` of each line) and ``node_currency`` its
    currency as an index into ``book.position_currencies``. ``cashflows`` is the kernels'
    record of the cashflow rows; ``cashflow_row`` maps each position to its row (futures: to
    their row of ``futures``; -1 for positions without either).
    """

    book: Book
    node_t: FloatArray
    node_day: IntArray
    node_curve: IntArray
    node_currency: IntArray
    cashflows: Cashflows
    cashflow_row: IntArray
    node_spread: IntArray
    node_sday: IntArray
    spread_by: tuple[str, ...]
    spread_labels: tuple[tuple[str, ...], ...]
    futures: Futures
    futures_pos: IntArray

    @property
    def n_nodes(self) -> int:
        return len(self.node_t)

    @property
    def last_day(self) -> int:
        """The last payment day of any node, the futures' own nodes included: the day
        segments of a pass over positions must reach it."""
        return last_day(self.node_day, self.futures.node_day)

    @cached_property
    def memo(self) -> dict[str, object]:
        """Work a run derives from the book alone, kept for the next run on it (``stress.
        evaluate`` keeps its node weights here)."""
        return {}

    @cached_property
    def bounds(self) -> Bounds:
        """The cashflow rows' value bounds for passes that keep only the worst positions."""
        cf = self.cashflows
        if len(cf.node) == 0:
            empty = np.zeros(0, dtype=np.int64)
            n = self.book.n_positions
            return Bounds(np.zeros(0), np.zeros(0), empty, np.zeros(0, np.bool_), empty, empty,
                          np.arange(n, dtype=np.int64), np.full(n, -1, dtype=np.int64),
                          np.zeros((n, 4)), np.zeros((n, 3)))  # fmt: skip
        key = np.stack([self.node_curve, self.node_spread], axis=1)
        new_run = np.ones(self.n_nodes, dtype=np.bool_)
        new_run[1:] = (key[1:] != key[:-1]).any(axis=1)
        run_start = np.maximum.accumulate(np.where(new_run, np.arange(self.n_nodes), 0))
        n_rows = len(cf.offsets) - 1
        positive, negative = np.empty(n_rows), np.empty(n_rows)
        last = np.empty(n_rows, dtype=np.int64)
        prunable = np.empty(n_rows, dtype=np.bool_)
        row_bounds(cf.offsets, cf.node, cf.pv, run_start, positive, negative, last, prunable)
        # The seed: the positions with the most value at the longest times, the ones a shock
        # moves most (any choice is exact; a good one prunes more from the start).
        book = self.book
        rows = self.cashflow_row[book.cashflow_pos]
        exposure = (np.abs(book.scale[book.cashflow_pos] * book.fx0[book.cashflow_pos])
                    * (positive - negative)[rows] * self.node_t[last[rows]])  # fmt: skip
        n_seed = min(len(exposure), SEED_POSITIONS)
        top = np.argpartition(-exposure, n_seed - 1)[:n_seed] if n_seed else np.zeros(0, int)
        node = np.empty(book.n_positions, dtype=np.int64)
        terms = np.empty((book.n_positions, 4))
        position_bounds(book.form, book.scale, book.fx0, self.cashflow_row, positive, negative,
                        cf.pv_before, last, prunable, node, terms)  # fmt: skip
        order, rest = position_order(node, terms)
        return Bounds(
            positive=positive,
            negative=negative,
            last_node=last,
            prunable=prunable,
            run_start=run_start.astype(np.int64),
            seed=np.sort(book.cashflow_pos[top]).astype(np.int64),
            order=order,
            slot_node=node[order],
            slot_terms=terms[order],
            rest=rest,
        )


def position_order(node: IntArray, terms: FloatArray) -> tuple[IntArray, FloatArray]:
    """``Bounds.order`` and ``Bounds.rest`` from each position's bound node and terms
    (``position_bounds``): the positions without a bound (node -1) first, then the others by
    gross value c_lo - c_hi, largest first, ties in book order."""
    bounded = node >= 0
    gross = np.where(bounded, terms[:, 0] - terms[:, 1], np.inf)
    order = np.lexsort((np.arange(len(node)), -gross)).astype(np.int64)
    rest = np.empty((len(node), 3))
    rest[:, 0] = gross[order]
    # Suffix extremes: the least and greatest over this slot and every later one.
    spare = np.where(bounded, terms[:, 0] + terms[:, 1] - terms[:, 3], 0.0)[order]
    slack = np.where(bounded, terms[:, 2], 0.0)[order]
    rest[:, 1] = np.minimum.accumulate(spare[::-1])[::-1]
    rest[:, 2] = np.maximum.accumulate(slack[::-1])[::-1]
    return order, rest


def last_day(*node_days: IntArray) -> int:
    """The last of the given nodes' payment days (days after the valuation date; 0 for
    none)."""
    return max((int(d.max()) for d in node_days if len(d)), default=0)


def prepare(
    portfolio: Portfolio,
    market: Market,
    *,
    skip_invalid: bool = False,
    spread_by: Sequence[str] = (),
) -> Prepared:
    """Build the book's cashflows and discount them on the base market, once. With
    ``skip_invalid``, rows the market cannot value join the rejects (``book.portfolio``).
    ``spread_by``: the position attributes credit-spread shifts go by (a ScenarioSet's
    ``spread_attributes``); a run needing others lays the book out again."""
    return prepare_book(build_book(portfolio, market, skip_invalid=skip_invalid), spread_by)


def spread_lines(
    book: Book, spread_by: Sequence[str]
) -> tuple[tuple[str, ...], tuple[tuple[str, ...], ...], IntArray]:
    """The attributes (sorted), the distinct label tuples of the positions with a credit
    spread (sorted) and each position's line (NO_SHIFT without attributes)."""
    attrs = tuple(sorted(set(spread_by)))
    n = book.n_positions
    if not attrs:
        return attrs, (), np.full(n, NO_SHIFT, dtype=np.int64)
    f = book.portfolio.frame
    cols = [
        (f[a].cast(pl.String).fill_null(MISSING) if a in f.columns
         else pl.Series(a, [MISSING] * n, dtype=pl.String)).to_list()
        for a in attrs
    ]  # fmt: skip
    labels = list(zip(*cols, strict=True)) if n else []
    lines = tuple(sorted(set(labels)))
    index = {lab: i for i, lab in enumerate(lines)}
    return attrs, lines, np.array([index[lab] for lab in labels], dtype=np.int64)


def prepare_book(book: Book, spread_by: Sequence[str] = ()) -> Prepared:
    """``prepare`` for a book already laid out on its market."""
    attrs, labels, pos_line = spread_lines(book, spread_by)
    cf = book.cashflows
    n = cf.n_cashflows
    rows = cf.n_bonds
    # Shock buckets: (curve, spread line) of each row, numbered in sorted order (so a subset
    # of the positions numbers its buckets in the same relative order).
    row_line = np.where(book.credit, pos_line[book.cashflow_pos], NO_CREDIT).astype(np.int64)
    # One integer per (curve, line), ordered as the pairs: np.unique over rows of a 2-column
    # array is several times slower, a cost a what-if's trade pays on every call.
    span = int(row_line.max()) - NO_CREDIT + 1 if rows else 1
    uniq, bucket = np.unique(book.curve * span + (row_line - NO_CREDIT), return_inverse=True)
    bucket = bucket.astype(np.int64)
    bucket_curve = (uniq // span).astype(np.int64)
    bucket_line = (uniq % span + NO_CREDIT).astype(np.int64)
    first_day = cf.valuation_day + 1
    n_days = int(cf.pay_day.max() - cf.valuation_day) if n else 1
    n_buckets = max(len(bucket_curve), 1)
    used = np.zeros(n_buckets * n_days, dtype=np.bool_)
    spread_time = book.spread_time if len(book.spread_time) == n else cf.time
    credit = book.credit if len(book.credit) == rows else np.ones(rows, dtype=np.bool_)
    # Distinct (bucket, payment day) nodes without sorting the cashflows: mark the dense
    # table of days, then number the slots some cashflow uses, in order.
    mark_slots(cf.offsets, bucket, bucket_line, cf.time, spread_time, cf.pay_day, first_day,
               n_days, used)  # fmt: skip
    slots = np.flatnonzero(used)
    node_of_slot = np.full(len(used), -1, dtype=np.int64)
    node_of_slot[slots] = np.arange(len(slots))
    pv, pv_t, pv_t2, pv_ts = np.empty(n), np.empty(n), np.empty(n), np.empty(n)
    node = np.empty(n, dtype=np.int64)
    kernel = discount_nodes if threaded(n, rows) else discount_nodes_serial
    kernel((cf.offsets, book.curve, bucket, bucket_line, credit, book.spread, cf.time,
            spread_time, cf.amount, cf.pay_day, first_day, n_days, node_of_slot, book.curve_off,
            book.curve_t, book.curve_z, pv, pv_t, pv_t2, pv_ts, node))  # fmt: skip
    node_bucket = slots // n_days
    node_day = (slots % n_days + 1).astype(np.int64)
    node_sday = node_day.copy()
    reset = np.flatnonzero(node < 0)
    if len(reset):
        # Cashflows reading their spread line on another day: nodes (bucket, day, spread day).
        row_of = np.repeat(np.arange(rows), np.diff(cf.offsets))[reset]
        sday = np.rint(spread_time[reset] * 365.0).astype(np.int64)
        rkeys = np.stack([bucket[row_of], cf.pay_day[reset] - cf.valuation_day, sday], axis=1)
        ru, rinv = np.unique(rkeys, axis=0, return_inverse=True)
        node[reset] = len(slots) + rinv.ravel()
        node_bucket = np.concatenate([node_bucket, ru[:, 0]])
        node_day = np.concatenate([node_day, ru[:, 1]])
        node_sday = np.concatenate([node_sday, ru[:, 2]])
    node_t = node_day / 365.0
    before = np.empty(rows), np.empty(rows), np.empty(rows)
    base_sums(cf.offsets, pv, pv_t, pv_t2, *before)
    ts_before = np.empty(rows)
    ordered_sums(cf.offsets, pv_ts, ts_before)
    ts_kind = np.empty(rows, dtype=np.int64)
    spread_time_kinds(cf.offsets, pv_t, pv_ts, ts_kind)
    cashflow_row = np.full(book.n_positions, -1, dtype=np.int64)
    cashflow_row[book.cashflow_pos] = np.arange(len(book.cashflow_pos))
    has_nodes = len(node_bucket) > 0
    node_curve = bucket_curve[node_bucket] if has_nodes else np.zeros(0, dtype=np.int64)
    node_spread = bucket_line[node_bucket] if has_nodes else np.zeros(0, dtype=np.int64)
    curve_currency = np.array(
        [book.position_currencies.index(c) for c in book.currencies], dtype=np.int64
    )
    futures, futures_pos = _futures(book, pos_line)
    cashflow_row[futures_pos] = np.arange(len(futures_pos))
    return Prepared(
        book=book,
        node_t=node_t,
        node_day=node_day,
        node_curve=node_curve.astype(np.int64),
        node_currency=curve_currency[node_curve] if has_nodes else np.zeros(0, np.int64),
        cashflows=Cashflows(
            offsets=cf.offsets,
            node=node,
            pv=pv,
            pv_t=pv_t,
            pv_t2=pv_t2,
            pv_before=before[0],
            pv_t_before=before[1],
            pv_t2_before=before[2],
            pv_ts=pv_ts,
            pv_ts_before=ts_before,
            ts_kind=ts_kind,
        ),
        cashflow_row=cashflow_row,
        node_spread=node_spread.astype(np.int64),
        node_sday=node_sday.astype(np.int64),
        spread_by=attrs,
        spread_labels=labels,
        futures=futures,
        futures_pos=futures_pos,
    )


def empty_futures() -> Futures:
    z = np.zeros(0)
    zi = np.zeros(0, dtype=np.int64)
    return Futures(offsets=np.zeros(1, dtype=np.int64), node=zi, fpv=z, fpv_tau=z, fpv_tau2=z,
                   fpv_ts=z, time=z, delivery=zi, delivery_t=z, fwd=z, fwd_tau=z, fwd_tau2=z,
                   fwd_ts=z, scale=z, currency=zi, fx_before=z,
                   group=np.zeros((0, 0), dtype=np.int64), node_day=zi, node_curve=zi,
                   node_spread=zi, node_sday=zi)  # fmt: skip


def _futures(book: Book, pos_line: IntArray) -> tuple[Futures, IntArray]:
    """The kernels' record of the book's bond futures: their CTD cashflows after delivery,
    forward to the delivery date on the base market, and their nodes."""
    fb = book.futures
    if fb is None or not fb.n:
        return empty_futures(), np.zeros(0, dtype=np.int64)
    r = fb.rows
    ctd = r.ctd
    val = ctd.valuation_day
    lengths = np.diff(ctd.offsets)
    row = np.repeat(np.arange(fb.n), lengths)
    keep = ctd.pay_day > r.delivery_day[row]
    row = row[keep]
    t = ctd.time[keep]
    td = (r.delivery_day - val) / 365.0
    # Zero rates per curve (elementwise, so the same numbers as per future).
    z, zd = np.empty(len(t)), np.empty(fb.n)
    curve_of = fb.curve[row]
    for k in np.unique(fb.curve):
        zero = book.market.curves[book.currencies[k]].zero
        on, mine = curve_of == k, fb.curve == k
        z[on] = zero(t[on])
        zd[mine] = zero(td[mine])
    pv = ctd.amount[keep] * np.exp(-(z + r.spread[row]) * t)
    pd = np.exp(-zd * td)
    fpv = pv / pd[row]
    tau = t - td[row]
    offsets = np.zeros(fb.n + 1, dtype=np.int64)
    np.cumsum(np.bincount(row, minlength=fb.n), out=offsets[1:])
    fpv_tau = fpv * tau
    fpv_tau2 = fpv * tau * tau
    fpv_ts = fpv * t
    sums = [np.empty(fb.n) for _ in range(4)]
    for x, out in zip((fpv, fpv_tau, fpv_tau2, fpv_ts), sums, strict=True):
        ordered_sums(offsets, x, out)
    # Nodes: (curve, spread line, day) of each CTD cashflow, (curve, NO_CREDIT, delivery day).
    line = pos_line[fb.pos]
    day = ctd.pay_day[keep] - val
    keys = np.concatenate([
        np.stack([fb.curve[row], line[row], day], axis=1),
        np.stack([fb.curve, np.full(fb.n, NO_CREDIT), r.delivery_day - val], axis=1),
    ]).astype(np.int64)  # fmt: skip
    uniq, inv = np.unique(keys, axis=0, return_inverse=True)
    inv = inv.ravel()
    position_currency = np.array(
        [book.position_currencies.index(book.currencies[c]) for c in fb.curve], dtype=np.int64
    )
    return Futures(
        offsets=offsets,
        node=inv[: len(row)].astype(np.int64),
        fpv=fpv,
        fpv_tau=fpv_tau,
        fpv_tau2=fpv_tau2,
        fpv_ts=fpv_ts,
        time=t,
        delivery=inv[len(row):].astype(np.int64),
        delivery_t=td,
        fwd=sums[0],
        fwd_tau=sums[1],
        fwd_tau2=sums[2],
        fwd_ts=sums[3],
        scale=book.scale[fb.pos],
        currency=position_currency,
        fx_before=book.fx0[fb.pos],
        group=np.zeros((fb.n, 0), dtype=np.int64),
        node_day=uniq[:, 2].copy(),
        node_curve=uniq[:, 0].copy(),
        node_spread=uniq[:, 1].copy(),
        node_sday=uniq[:, 2].copy(),
    ), fb.pos
