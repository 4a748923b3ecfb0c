"""A book's sums formed as a run split over processes forms them: each shard laid out on its
own (as a task lays it out), its node weights merged in shard order (as the client merges
them)."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

import portfolios
import stress
from shocks.model import ScenarioSet
from stress.evaluate import sum_totals
from stress.groups import Groupings
from stress.kernels.scenarios import N_METRICS
from stress.prepare import prepare
from stress.resolve import resolve
from stress.totals import merge, shard_totals


def split_sums(book: portfolios.Portfolio, market: stress.Market, scen: ScenarioSet,
               size: int) -> npt.NDArray[np.float64]:  # fmt: skip
    """(scenarios, 1, metrics): the book's total under ``scen``, shards of ``size``."""
    laid = prepare(book, market).book
    curves, currencies = laid.currencies, laid.position_currencies
    shocks = resolve(scen, market, curves, currencies)
    attrs = shocks.spread_attributes
    labels = prepare(book, market, spread_by=attrs).spread_labels
    frame = book.frame
    parts = []
    for lo in range(0, len(frame), size):
        shard = portfolios.Portfolio(frame[lo : lo + size], book.source, book.attributes)
        parts += shard_totals(prepare(shard, market, spread_by=attrs),
                              Groupings.total(len(shard)), size)  # fmt: skip
    fx = np.array([market.fx_rate(c) for c in currencies])
    out = np.empty((len(scen), 1, N_METRICS))
    sum_totals(merge(parts, curves, currencies, labels, fx), shocks,
               tuple(sorted(set(attrs))), labels, out)  # fmt: skip
    return out
