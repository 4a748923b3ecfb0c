"""The cashflow book: a portfolio laid out on a market once, as the named kernel records.

Everything here is what the scenarios do not change: each cashflow's present value on the base
curve (and times t, t^2), the distinct (shock bucket, payment day) nodes every scenario shift is
evaluated on, and the per-position arrays of the scenario pass.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from portfolios.model import Portfolio
from stress.book import Book, build_book
from stress.kernels.bonds import discount_cashflows
from stress.kernels.scenarios import Cashflows, base_sums
from stress.market import Market

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]


@dataclass(frozen=True)
class Prepared:
    """A book with its cashflows discounted and their nodes found.

    ``node_day`` (days after the valuation date), ``node_t`` (years) and ``node_curve`` (the
    curve whose shifts move it, an index into ``book.currencies``) describe each distinct
    (shock bucket, payment day) node, in (bucket, day) order;
    ``node_currency`` is its currency as an index into ``book.position_currencies``.
    ``cashflows`` is the kernels' record of the cashflow rows; ``cashflow_row`` maps each
    position to its row (-1 for positions without cashflows).
    """

    book: Book
    node_t: FloatArray
    node_day: IntArray
    node_curve: IntArray
    node_currency: IntArray
    cashflows: Cashflows
    cashflow_row: IntArray

    @property
    def n_nodes(self) -> int:
        return len(self.node_t)


def prepare(portfolio: Portfolio, market: Market, *, skip_invalid: bool = False) -> Prepared:
    """Build the book's cashflows and discount them on the base market, once. With
    ``skip_invalid``, rows the market cannot value join the rejects (``book.portfolio``)."""
    return prepare_book(build_book(portfolio, market, skip_invalid=skip_invalid))


def prepare_book(book: Book) -> Prepared:
    """``prepare`` for a book already laid out on its market."""
    cf = book.cashflows
    n = cf.n_cashflows
    first_day = cf.valuation_day + 1
    n_days = int(cf.pay_day.max() - cf.valuation_day) if n else 1
    pv, pv_t, pv_t2 = np.empty(n), np.empty(n), np.empty(n)
    slot = np.empty(n, dtype=np.int64)
    n_buckets = max(len(book.bucket_curve), 1)
    used = np.zeros(n_buckets * n_days, dtype=np.bool_)
    discount_cashflows(
        cf.offsets,
        book.curve,
        book.bucket,
        book.spread,
        cf.time,
        cf.amount,
        cf.pay_day,
        first_day,
        n_days,
        book.curve_off,
        book.curve_t,
        book.curve_z,
        pv,
        pv_t,
        pv_t2,
        slot,
        used,
    )
    # Distinct (bucket, payment day) nodes without sorting the cashflows: compact the dense
    # table of days to the ones some cashflow uses.
    slots = np.flatnonzero(used)
    compact = np.empty(len(used), dtype=np.int64)
    compact[slots] = np.arange(len(slots))
    node = compact[slot]
    node_bucket = slots // n_days
    node_day = (slots % n_days + 1).astype(np.int64)
    node_t = node_day / 365.0
    rows = cf.n_bonds
    before = np.empty(rows), np.empty(rows), np.empty(rows)
    base_sums(cf.offsets, pv, pv_t, pv_t2, *before)
    cashflow_row = np.full(book.n_positions, -1, dtype=np.int64)
    cashflow_row[book.cashflow_pos] = np.arange(len(book.cashflow_pos))
    node_curve = book.bucket_curve[node_bucket] if len(slots) else np.zeros(0, dtype=np.int64)
    curve_currency = np.array(
        [book.position_currencies.index(c) for c in book.currencies], dtype=np.int64
    )
    return Prepared(
        book=book,
        node_t=node_t,
        node_day=node_day,
        node_curve=node_curve.astype(np.int64),
        node_currency=curve_currency[node_curve] if len(slots) else np.zeros(0, np.int64),
        cashflows=Cashflows(
            offsets=cf.offsets,
            node=node,
            pv=pv,
            pv_t=pv_t,
            pv_t2=pv_t2,
            pv_before=before[0],
            pv_t_before=before[1],
            pv_t2_before=before[2],
        ),
        cashflow_row=cashflow_row,
    )
