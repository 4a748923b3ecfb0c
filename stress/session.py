"""A session for trading tools: a book prepared once against a market and a scenario set, then
what-if questions about trades, each pricing only the trades' own cashflows.

    session = stress.Session(book, market, "all")
    answer = session.what_if(trades)      # the trades' P&L per scenario, book + trades totals
    session.add(trades); session.remove(["UST_10Y"])
    session.result()                      # a StressResult of the current book

The book's raw sums per scenario are kept; a what-if adds the trades' sums to them (raw sums of
disjoint positions add up), ``add`` and ``remove`` update them in place, and ``result`` runs the
current book afresh (cached until the next change).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from functools import cached_property

import numpy as np
import numpy.typing as npt
import polars as pl

from portfolios.loader import PositionSource
from portfolios.model import Portfolio
from portfolios.problems import PortfolioValidationError, Problem
from shocks.history import History
from shocks.library import ScenarioSource
from shocks.model import ScenarioSet
from stress.engine import as_portfolio, load_for, run_prepared
from stress.evaluate import RawSums, check_finite, evaluate, pnl_of
from stress.groups import Groupings
from stress.market import MarketSource, as_market
from stress.prepare import Prepared, prepare
from stress.resolve import ResolvedShocks, resolve
from stress.result import StressResult, derived_columns, enum_of
from stress.risk import DEFAULT_LEVELS, Levels, check_levels, var_es

FloatArray = npt.NDArray[np.float64]

#: How much larger than the result an addition's terms may be (per figure, over the
#: scenarios) before ``add`` and ``remove`` rebuild the book's sums afresh: the rounding of
#: terms 1e4 times a figure is 1e-12 of it.
CANCELLATION = 1e4


class WhatIf:
    """The answer to one what-if, all amounts in the base currency (frames built on first use).

    ``trades``: per scenario the trades' P&L, its parts and their risk figures (summary
    columns); ``combined``: the same for the book plus the trades; ``worst``: the combined
    book's scenarios ranked by P&L, worst first (scenario, pnl, and pnl_before, the book's
    P&L without the trades); ``risk``: VaR and ES of the combined book and of the book alone
    at the session's levels. ``pnl`` is the trades' P&L per scenario as an array.
    """

    def __init__(
        self,
        names: tuple[str, ...],
        book: FloatArray,
        trades: FloatArray,
        levels: tuple[float, ...],
    ) -> None:
        self._names = names
        self._book = book  # (S, N_METRICS) raw sums
        self._trades = trades
        self._levels = levels
        self.pnl = pnl_of(trades.T)

    @cached_property
    def _scenario(self) -> pl.Series:
        return enum_of(pl.Series("scenario", list(self._names), dtype=pl.String))

    @cached_property
    def trades(self) -> pl.DataFrame:
        return pl.DataFrame({"scenario": self._scenario, **derived_columns(self._trades.T)})

    @cached_property
    def combined(self) -> pl.DataFrame:
        sums = self._book + self._trades
        return pl.DataFrame({"scenario": self._scenario, **derived_columns(sums.T)})

    @cached_property
    def worst(self) -> pl.DataFrame:
        before = pnl_of(self._book.T)
        after = before + self.pnl
        order = np.argsort(after, kind="stable")
        return pl.DataFrame(
            {
                "scenario": self._scenario.gather(order),
                "pnl": after[order],
                "pnl_before": before[order],
            }
        )

    @cached_property
    def risk(self) -> pl.DataFrame:
        before = pnl_of(self._book.T)
        rows = []
        for which, pnl in (("combined", before + self.pnl), ("book", before)):
            for a in self._levels:
                r = var_es(pnl, a)
                rows.append({"book": which, "level": a, "var": r.var, "es": r.es})
        return pl.DataFrame(rows)


class Session:
    """A book prepared once for many what-ifs (see the module docstring).

    Args:
        portfolio: the book (validated positions, or positions as a frame or file).
        market: the market; ``base_currency`` overrides its base currency.
        scenarios: built-in names or groups, TOML or Parquet paths, a ScenarioSet, or a list,
            loaded as ``stress.run`` loads them (``history`` and ``fill_unshocked`` as there).
        risk_levels: levels (or one level) of the VaR/ES figures every answer carries.
    """

    def __init__(
        self,
        portfolio: Portfolio | PositionSource,
        market: MarketSource,
        scenarios: ScenarioSource | Sequence[ScenarioSource],
        *,
        base_currency: str | None = None,
        risk_levels: Levels = DEFAULT_LEVELS,
        history: History | None = None,
        fill_unshocked: bool = False,
    ) -> None:
        self.market = as_market(market).with_base(base_currency)
        self.scenarios: ScenarioSet = load_for(self.market, scenarios, history,
                                               fill_unshocked=fill_unshocked)  # fmt: skip
        self.risk_levels = check_levels(risk_levels)
        self._result: StressResult | None = None
        self._set_book(as_portfolio(portfolio, self.market))
        # Every curve and currency of the market, resolved once: a trade in any of them
        # reads its rows.
        self._shock_rows: dict[tuple[tuple[str, ...], tuple[str, ...]], ResolvedShocks] = {}
        self._shocks = resolve(
            self.scenarios,
            self.market,
            tuple(sorted(self.market.curves)),
            tuple(sorted(self.market.usd_value)),
        )
        self._sums = self._raw(self._prepare(self._portfolio)).sums[:, 0, :].copy()

    @property
    def portfolio(self) -> Portfolio:
        """The current book."""
        return self._portfolio

    def what_if(self, trades: PositionSource | Portfolio) -> WhatIf:
        """The trades' P&L under every scenario and the book-plus-trades figures; the book is
        unchanged. ``trades`` are positions in the positions format (validated like a
        positions file) or an already loaded Portfolio, with ids not in the book."""
        added = self._load(trades)
        self._refuse_known_ids(added)
        trade_sums = self._raw(self._prepare(added)).sums[:, 0, :]
        return WhatIf(self.scenarios.names, self._sums.copy(), trade_sums, self.risk_levels)

    def add(self, trades: PositionSource | Portfolio) -> None:
        """Add positions to the book (their ids must be new). On any error the book and its
        figures stay as they were."""
        added = self._load(trades)
        self._refuse_known_ids(added)
        book = _concat(self._portfolio, added)
        self._sums = self._updated(self._raw(self._prepare(added)).sums[:, 0, :], book)
        self._set_book(book)

    def remove(self, position_ids: str | Iterable[str]) -> None:
        """Remove positions from the book by id (one id, or several)."""
        ids = _ids(position_ids)
        unknown = sorted(set(ids) - self._ids)
        if unknown:
            raise KeyError(f"no position {', '.join(map(repr, unknown))} in the book")
        book = self._portfolio
        gone = book.frame["position_id"].is_in(ids)
        kept = Portfolio(book.frame.filter(~gone), book.source, book.attributes, book.rejected,
                         book.n_input_rows)  # fmt: skip
        if len(kept) <= len(ids):
            # Most of the book goes: its figures afresh, not the difference of two larger sums
            # (an emptied book keeps no rounding residue that reads as a duration).
            self._sums = self._raw(self._prepare(kept)).sums[:, 0, :].copy()
        else:
            removed = Portfolio(book.frame.filter(gone), book.source, book.attributes)
            self._sums = self._updated(-self._raw(self._prepare(removed)).sums[:, 0, :], kept)
        self._set_book(kept)

    def _refuse_known_ids(self, added: Portfolio) -> None:
        """Trades are new positions: an id the book has would make the book with them one that
        ``add`` and a run refuse."""
        clash = self._ids.intersection(added.position_ids)
        if clash:
            raise PortfolioValidationError(
                [
                    Problem(added.source, r, pid, "position_id", pid, "an id not in the book")
                    for r, pid in added.frame.select("row", "position_id").iter_rows()
                    if pid in clash
                ]
            )

    def _updated(self, change: FloatArray, book: Portfolio) -> FloatArray:
        """The kept sums plus ``change`` (the raw sums of positions added, or less those of
        positions removed), or ``book``'s afresh where that addition cancels: a figure far
        smaller than the sums it is the difference of keeps their rounding (removing 9e14 of
        notional from a book of 1e4 left its P&L 3e-5 off), and a fresh run sums the
        positions kept alone. Judged per figure over all scenarios: one scenario's P&L near
        zero by chance is no cancellation (10 of 19 removals from the sample book under 10k
        scenarios recomputed the book when judged cell by cell)."""
        new = self._sums + change
        scale = (np.abs(self._sums) + np.abs(change)).max(axis=0)
        if np.any(scale > CANCELLATION * np.abs(new).max(axis=0)):
            return self._raw(self._prepare(book)).sums[:, 0, :].copy()
        return new

    def totals(self) -> pl.DataFrame:
        """The current book's summary columns per scenario, from the kept sums."""
        names = enum_of(pl.Series("scenario", list(self.scenarios.names), dtype=pl.String))
        return pl.DataFrame({"scenario": names, **derived_columns(self._sums.T)})

    def result(self, *, by: Sequence[str] = (), detail: str = "summary") -> StressResult:
        """A StressResult of the current book: a fresh run (the plain one is cached until the
        book changes)."""
        if by or detail != "summary":
            return run_prepared(self._prepare(self._portfolio), self.scenarios,
                                by=by, detail=detail)  # fmt: skip
        if self._result is None:
            self._result = run_prepared(self._prepare(self._portfolio), self.scenarios)
        return self._result

    def _set_book(self, portfolio: Portfolio) -> None:
        """Make ``portfolio`` the current book (its schema kept, which polars builds afresh on
        every read, 20 us of a what-if, and its ids)."""
        self._portfolio = portfolio
        self._schema = portfolio.frame.schema
        self._ids = frozenset(portfolio.position_ids)
        self._result = None

    def _load(self, trades: PositionSource | Portfolio) -> Portfolio:
        """The trades validated, their attributes of the book's types (as the book with them
        will have them)."""
        return as_portfolio(trades, self.market).aligned_to(self._schema)

    def _prepare(self, portfolio: Portfolio) -> Prepared:
        return prepare(portfolio, self.market, spread_by=self.scenarios.spread_attributes)

    def _raw(self, prepared: Prepared) -> RawSums:
        book = prepared.book
        shocks = self._rows(book.currencies, book.position_currencies)
        one = Groupings.total(book.n_positions)
        raw, _ = evaluate(prepared, shocks, one, worst=0)
        check_finite(raw, prepared, shocks, self.scenarios)
        return raw

    def _rows(self, curves: tuple[str, ...], currencies: tuple[str, ...]) -> ResolvedShocks:
        """The session's resolved shocks for the given curves and position currencies (kept:
        trades in the same currencies read the same rows)."""
        key = (curves, currencies)
        if key not in self._shock_rows:
            self._shock_rows[key] = self._select_rows(curves, currencies)
        return self._shock_rows[key]

    def _select_rows(self, curves: tuple[str, ...], currencies: tuple[str, ...]
                     ) -> ResolvedShocks:  # fmt: skip
        s = self._shocks
        return ResolvedShocks(
            curves=curves,
            currencies=currencies,
            times=s.times,
            shift_bp=np.ascontiguousarray(s.shift_bp[:, [s.curves.index(c) for c in curves]]),
            fx_multiplier=np.ascontiguousarray(
                s.fx_multiplier[:, [s.currencies.index(c) for c in currencies]]
            ),
            gold_multiplier=s.gold_multiplier,
            spreads=s.spreads,
        )


def _ids(position_ids: str | Iterable[str]) -> list[str]:
    """The distinct ids of ``remove``'s argument, in order."""
    if isinstance(position_ids, str):
        return [position_ids]
    if isinstance(position_ids, Portfolio) or hasattr(position_ids, "columns"):
        raise TypeError(
            f"remove: got a {type(position_ids).__name__}; expected position ids (a list of "
            "strings, or one); for the positions of a frame pass its position_id column"
        )
    if isinstance(position_ids, bytes) or not isinstance(position_ids, Iterable):
        raise TypeError(f"remove: got {position_ids!r}; expected position ids (a list of "
                        "strings, or one)")
    ids = list(dict.fromkeys(position_ids))
    odd = [i for i in ids if not isinstance(i, str)]
    if odd:
        raise TypeError(f"remove: got {', '.join(map(repr, odd[:5]))}; expected position ids "
                        "(text)")
    return ids


def _concat(book: Portfolio, added: Portfolio) -> Portfolio:
    attributes = tuple(dict.fromkeys(book.attributes + added.attributes))
    return Portfolio(
        pl.concat([book.frame, added.frame], how="diagonal_relaxed"),
        book.source,
        attributes,
        book.rejected,
        book.n_input_rows,
    )
