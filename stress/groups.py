"""Groupings of positions by an attribute, requested before evaluation.

The scenario pass sums every metric per (scenario, group) for all requested groupings at once;
the first grouping is always the whole book (``TOTAL``), so the totals never depend on which
other groupings were asked for.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from functools import cached_property
from itertools import accumulate

import numpy as np
import numpy.typing as npt
import polars as pl

from portfolios.model import Portfolio

IntArray = npt.NDArray[np.int64]

TOTAL = "total"
#: Maturity buckets for ``by="maturity_bucket"``: (label, upper bound in years).
MATURITY_BUCKETS = (
    ("0-2y", 2.0),
    ("2-5y", 5.0),
    ("5-10y", 10.0),
    ("10-20y", 20.0),
    ("20-30y", 30.0),
    ("30y+", np.inf),
)
MISSING = "n/a"


class GroupingError(KeyError):
    """A grouping names no attribute of the positions."""

    def __str__(self) -> str:
        return str(self.args[0])


@dataclass(frozen=True)
class Groupings:
    """Q groupings of P positions on one shared axis of groups.

    ``names[q]`` is the attribute of grouping q (``TOTAL`` first), ``labels[q]`` its group
    labels, and ``codes[:, q]`` each position's group as an index into the shared axis:
    grouping q owns groups ``offsets[q]:offsets[q+1]``.
    """

    names: tuple[str, ...]
    labels: tuple[tuple[str, ...], ...]
    codes: IntArray  # (P, Q)

    @classmethod
    def total(cls, n_positions: int) -> Groupings:
        """The whole book as one group."""
        return cls((TOTAL,), ((TOTAL,),), np.zeros((n_positions, 1), dtype=np.int64))

    def by_shard(self, shard_size: int) -> Groupings:
        """The groupings with every group split by shard of ``shard_size`` consecutive
        positions: group g of shard k becomes k x n_groups + g (one grouping axis; itself when
        there is one shard)."""
        n = len(self.codes)
        if n <= shard_size:
            return self
        shard = np.arange(n, dtype=np.int64) // shard_size
        n_shards = int(shard[-1]) + 1
        codes = self.codes + (shard * self.n_groups)[:, None]
        labels = tuple(lab for _ in range(n_shards) for lab in self.labels)
        names = tuple(name for _ in range(n_shards) for name in self.names)
        return Groupings(names, labels, np.ascontiguousarray(codes))

    @cached_property
    def offsets(self) -> IntArray:
        out = np.array(list(accumulate((len(x) for x in self.labels), initial=0)), np.int64)
        out.flags.writeable = False
        return out

    @cached_property
    def n_groups(self) -> int:
        return int(self.offsets[-1])

    def span(self, name: str) -> slice:
        q = self.names.index(name)
        return slice(int(self.offsets[q]), int(self.offsets[q + 1]))


def groupings(
    portfolio: Portfolio, by: str | Sequence[str] | None, valuation_day: int
) -> Groupings:
    """The whole book plus one grouping per attribute in ``by`` (any position column, or
    ``maturity_bucket``: the engine's buckets unless the book has a column of that name);
    missing values form the group ``n/a``."""
    frame = portfolio.frame
    names = [TOTAL]
    labels: list[tuple[str, ...]] = [(TOTAL,)]
    codes = [np.zeros(frame.height, dtype=np.int64)]
    offset = 1
    if by is None:
        by = ()
    elif isinstance(by, str):
        by = [by]
    for column in dict.fromkeys(by):  # each once, in the order asked
        if column in _result_columns():
            raise GroupingError(
                f"cannot group by {column!r}: the results have a column of that name; "
                "rename the attribute"
            )
        values, order = _values(frame, column, valuation_day)
        present = set(values.to_list())
        categories = [c for c in order if c in present] + sorted(present - set(order))
        mapping = {c: i + offset for i, c in enumerate(categories)}
        codes.append(values.replace_strict(mapping, return_dtype=pl.Int64).to_numpy())
        names.append(column)
        labels.append(tuple(categories))
        offset += len(categories)
    return Groupings(
        tuple(names),
        tuple(labels),
        np.ascontiguousarray(np.stack(codes, axis=1), dtype=np.int64),
    )


def _result_columns() -> frozenset[str]:
    """The columns of the frames a grouping's figures are shown in (``StressResult.by``,
    ``risk(by=)``, ``component_es(by=)``), beside the grouping's own column."""
    from stress.result import GROUP_FRAME_COLUMNS  # the results module builds on this one

    return GROUP_FRAME_COLUMNS


def _values(frame: pl.DataFrame, column: str, valuation_day: int) -> tuple[pl.Series, list[str]]:
    # A book's own attribute first: a book that keeps its maturity buckets in a column of
    # that name groups by them (the engine's buckets were put in their place without a word).
    if column == "maturity_bucket" and column not in frame.columns:
        years = (
            frame["maturity"].cast(pl.Int64).to_numpy(allow_copy=True).astype(float)
            - valuation_day
        ) / 365.0
        names = np.array([b[0] for b in MATURITY_BUCKETS] + [MISSING])
        idx = np.searchsorted([b[1] for b in MATURITY_BUCKETS], years, side="left")
        idx[np.isnan(years)] = len(MATURITY_BUCKETS)
        return pl.Series(column, names[idx]), [b[0] for b in MATURITY_BUCKETS] + [MISSING]
    if column in frame.columns and column not in (TOTAL, "row"):
        return frame[column].cast(pl.String).fill_null(MISSING), []
    raise GroupingError(
        f"no column {column!r} to group by; positions have "
        f"{', '.join(c for c in frame.columns if c != 'row')} and maturity_bucket"
    )
