"""A portfolio laid out on a market: the flat arrays every kernel works on, built once."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from functools import cached_property

import numpy as np
import numpy.typing as npt
import polars as pl

from portfolios.model import Portfolio
from portfolios.problems import PortfolioValidationError, Problem
from stress.calendars import roll
from stress.cashflows import CashflowBook
from stress.dates import to_days
from stress.instruments import INSTRUMENTS, CashflowRows, ForwardRows
from stress.instruments.base import Codes, Read, distinct, read
from stress.kernels.bonds import solve_spread, solve_spread_settled
from stress.market import Market, MarketError

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]
BoolArray = npt.NDArray[np.bool_]

#: Each instrument's index in INSTRUMENTS.
KIND_CODES = Codes({name: k for k, name in enumerate(INSTRUMENTS)})
#: Each instrument's kernel form (``stress.kernels.scenarios.CASHFLOWS``, ...), by index.
KIND_FORMS = np.array([i.form for i in INSTRUMENTS.values()], dtype=np.int8)


@dataclass(frozen=True)
class FuturesBook:
    """The bond futures of a book: ``pos`` their positions, ``rows`` their contracts and CTD
    bonds (``ForwardRows``; spreads solved from quoted CTD prices), ``curve`` the curve of
    each (an index into ``Book.currencies``)."""

    pos: IntArray
    rows: ForwardRows
    curve: IntArray

    @property
    def n(self) -> int:
        return len(self.pos)


@dataclass(frozen=True)
class Book:
    """Positions of a portfolio as arrays on a market.

    Positions keep the portfolio's order; ``form`` says how each one's value moves (see
    ``stress.kernels.scenarios``). Positions with cashflows (bonds) are the rows
    ``cashflow_pos`` (indices into the positions) of the cashflow arrays, per 100 face:
    ``spread`` is a decimal continuously compounded zero spread, ``curve`` the base curve that
    discounts a row today (an index into ``currencies`` and the CSR curve arrays) and
    ``bucket`` its shock bucket, whose shifts move it in a scenario (``bucket_curve[bucket]``:
    the curve whose scenario shifts apply). ``fx0`` is each position's base-currency units per
    unit of its currency.
    """

    portfolio: Portfolio
    market: Market
    form: npt.NDArray[np.int8]
    notional: FloatArray
    position_currencies: tuple[str, ...]
    currency_code: IntArray  # per position: index into position_currencies
    fx0: FloatArray
    cashflow_pos: IntArray
    currencies: tuple[str, ...]
    curve: IntArray
    bucket: IntArray
    bucket_curve: IntArray
    frequency: IntArray
    spread: FloatArray
    clean_price: FloatArray  # quoted clean price per 100 face, NaN where the spread is given
    cashflows: CashflowBook
    curve_off: IntArray
    curve_t: FloatArray
    curve_z: FloatArray
    #: Per cashflow: the time its credit spread discounts over (``CashflowRows``).
    spread_time: FloatArray = field(default_factory=lambda: np.zeros(0))
    #: Per cashflow row: whether it has a credit spread (spread shocks and spread duration).
    credit: BoolArray = field(default_factory=lambda: np.zeros(0, dtype=np.bool_))
    futures: FuturesBook | None = None

    @property
    def n_positions(self) -> int:
        return len(self.form)

    @cached_property
    def scale(self) -> FloatArray:
        """Units of each position's value: notional / 100 for cashflow rows (priced per 100
        face), contracts x contract size / 100 / conversion factor for futures (priced per
        100 of the CTD's forward), the notional otherwise. Kept for every run of the book (5 ms
        a run at 1M positions), so never written to; it stays writeable because the kernels'
        compiled signatures take writeable arrays."""
        scale = self.notional.copy()
        scale[self.cashflow_pos] /= 100.0
        if self.futures is not None and self.futures.n:
            r = self.futures.rows
            scale[self.futures.pos] *= r.contract_size / 100.0 / r.conversion_factor
        return scale




def build_book(portfolio: Portfolio, market: Market, *, skip_invalid: bool = False) -> Book:
    """Lay ``portfolio`` out on ``market``.

    Rows the market cannot value (a bond matured by the valuation date, a currency without a
    curve or FX rate, gold without a price, a clean price no spread reproduces) are errors, or
    with ``skip_invalid`` left out and added to the portfolio's rejects (``book.portfolio``).

    Raises:
        PortfolioValidationError: rows that cannot be valued (without ``skip_invalid``).
        MarketError: the market lacks data some positions need (without ``skip_invalid``).
    """
    portfolio = _valued_by(portfolio, market, skip_invalid)
    book = _layout(portfolio, market)
    unreachable = _paid_out(book) + _solve_price_spreads(book)
    if unreachable:
        if not skip_invalid:
            raise PortfolioValidationError(unreachable)
        return _layout_solved(portfolio.drop_rows(unreachable), market)
    return book


def validate(portfolio: Portfolio, market: Market, *, skip_invalid: bool = False) -> Portfolio:
    """The rows of ``portfolio`` the market can value, with the same checks, errors and
    rejects as ``build_book``, without laying out the whole book (only the bonds quoted by
    clean price, to solve their spreads): a sharded run validates the book on the client
    this way and lays out each shard where it runs.

    Raises:
        PortfolioValidationError: rows that cannot be valued (without ``skip_invalid``).
        MarketError: the market lacks data some positions need (without ``skip_invalid``).
    """
    portfolio = _valued_by(portfolio, market, skip_invalid)
    f = portfolio.frame
    quoted = f.filter((pl.col("instrument") == "bond") & pl.col("clean_price").is_not_null())
    if quoted.height:
        sub = Portfolio(quoted, portfolio.source, portfolio.attributes)
        unreachable = _solve_price_spreads(_layout(sub, market))
        if unreachable:
            if not skip_invalid:
                raise PortfolioValidationError(unreachable)
            portfolio = portfolio.drop_rows(unreachable)
    return portfolio


def _valued_by(portfolio: Portfolio, market: Market, skip_invalid: bool) -> Portfolio:
    """The rows on which the market has a say before any layout: matured or not yet issued
    bonds, expired FRNs, swaps and futures, and rows whose curve, FX rate or gold price the
    market lacks are errors, or dropped to the rejects with ``skip_invalid``."""
    matured = (
        portfolio.matured(market.valuation_date)
        + portfolio.not_issued(market.valuation_date)
        + _expired(portfolio, market)
    )
    if matured and not skip_invalid:
        raise PortfolioValidationError(matured)
    gaps, summary = _market_gaps(portfolio, market)
    if summary and not skip_invalid:
        raise MarketError(
            f"{market.source}: the market lacks data the portfolio needs:\n"
            + "\n".join(f"  - {p}" for p in summary)
        )
    if matured or gaps:
        portfolio = portfolio.drop_rows(matured + gaps)
    return portfolio


def _layout_solved(portfolio: Portfolio, market: Market) -> Book:
    book = _layout(portfolio, market)
    left = _paid_out(book) + _solve_price_spreads(book)
    assert not left, "a spread solvable alone is solvable beside other rows"
    return book


def _layout(portfolio: Portfolio, market: Market) -> Book:
    f = portfolio.frame
    position_currencies = distinct(f, "currency")
    currency_codes = Codes({c: i for i, c in enumerate(position_currencies)})
    cols = read(
        f,
        kind=Read("instrument", "code", codes=KIND_CODES),
        currency=Read("currency", "code", codes=currency_codes),
        notional=Read("notional", "float"),
    )
    kinds = cols["kind"]
    form = KIND_FORMS[kinds]
    currency_code = cols["currency"]
    fx0 = np.array([market.fx_rate(c) for c in position_currencies], dtype=np.float64)[
        currency_code
    ]
    # Each cashflow instrument lays out its own positions; their rows follow one another.
    positions, parts = [], []
    forward_pos: list[IntArray] = []
    forwards: list[ForwardRows] = []
    for code, instrument in enumerate(INSTRUMENTS.values()):
        idx = np.flatnonzero(kinds == code)
        if not len(idx):
            continue
        # A book of one kind (a what-if's trade) needs no gather, a polars query of its own.
        own = f if len(idx) == f.height else f[idx]
        if instrument.build is not None:
            positions.append(idx)
            parts.append(instrument.build(own, market))
        if instrument.forward is not None:
            forward_pos.append(idx)
            forwards.append(instrument.forward(own, market))
    rows = CashflowRows.concat(parts, to_days(market.valuation_date))
    cashflow_pos = np.concatenate(positions) if positions else np.zeros(0, dtype=np.int64)
    fut_currency = tuple(c for fr in forwards for c in fr.currency)
    currencies = tuple(sorted(set(rows.currency) | set(fut_currency)))
    curve_code = {c: k for k, c in enumerate(currencies)}
    curve = np.fromiter(map(curve_code.__getitem__, rows.currency), np.int64, len(rows.currency))
    curve_off = np.zeros(len(currencies) + 1, dtype=np.int64)
    curve_off[1:] = np.cumsum([len(market.curves[c].times) for c in currencies])
    curve_t = (
        np.concatenate([market.curves[c].times for c in currencies]) if currencies else np.zeros(0)
    )
    curve_z = (
        np.concatenate([market.curves[c].rates for c in currencies]) if currencies else np.zeros(0)
    )
    return Book(
        portfolio=portfolio,
        market=market,
        form=form,
        notional=cols["notional"],
        position_currencies=position_currencies,
        currency_code=currency_code,
        fx0=fx0,
        cashflow_pos=cashflow_pos,
        currencies=currencies,
        curve=curve,
        # One shock bucket per curve: a row moves with its own currency's curve shifts.
        bucket=curve,
        bucket_curve=np.arange(len(currencies), dtype=np.int64),
        frequency=rows.frequency,
        spread=rows.spread,
        clean_price=rows.clean_price,
        cashflows=rows.cashflows,
        curve_off=curve_off,
        curve_t=curve_t,
        curve_z=curve_z,
        spread_time=rows.spread_times,
        credit=rows.credits,
        futures=FuturesBook(
            pos=np.concatenate(forward_pos),
            rows=forwards[0],
            curve=np.array([currencies.index(c) for c in fut_currency], dtype=np.int64),
        )
        if forwards
        else None,
    )


def _expired(portfolio: Portfolio, market: Market) -> list[Problem]:
    """Problems for FRNs, swaps and futures' CTDs maturing, and futures delivering, on or
    before the valuation date."""
    val = market.valuation_date
    f = portfolio.frame
    out = []
    present = set(distinct(f, "instrument"))
    for column, kinds in (("maturity", ("frn", "swap", "future")), ("delivery_date", ("future",))):
        # A filter is a polars query (about 0.1 ms each): a what-if's one bond needs none.
        if column not in f.columns or not present.intersection(kinds):
            continue
        gone = f.filter(pl.col("instrument").is_in(kinds) & (pl.col(column) <= val))
        out += [
            Problem(portfolio.source, r, pid, column, d.isoformat(),
                    f"a {column.replace('_', ' ')} after the valuation date {val.isoformat()}")
            for r, pid, d in gone.select("row", "position_id", column).iter_rows()
        ]  # fmt: skip
    if present.intersection(("frn", "swap")):
        out += _rolled_back(portfolio, val)
    return out


#: Days a maturity can roll back on a calendar (Preceding over the longest holiday run).
_ROLL_BACK_DAYS = 15


def _rolled_back(portfolio: Portfolio, val: dt.date) -> list[Problem]:
    """Problems for FRNs and swaps maturing after the valuation date whose maturity, rolled
    on their calendar, falls on or before it (a Saturday rolled back to the Friday valued on):
    no period is left to value."""
    f = portfolio.frame
    near = f.filter(pl.col("instrument").is_in(("frn", "swap")) & (pl.col("calendar") != "NONE")
                    & pl.col("maturity").is_between(val, val + dt.timedelta(days=_ROLL_BACK_DAYS),
                                                    closed="right"))  # fmt: skip
    out = []
    for r, pid, d, cal, conv in near.select("row", "position_id", "maturity", "calendar",
                                            "business_day_convention").iter_rows():  # fmt: skip
        rolled = roll(d, cal, conv)
        if rolled <= val:
            out.append(Problem(portfolio.source, r, pid, "maturity", d.isoformat(),
                               f"a maturity after the valuation date {val.isoformat()} once "
                               f"rolled on its calendar ({cal}, {conv.lower()}: "
                               f"{rolled.isoformat()})"))
    return out


def _market_gaps(portfolio: Portfolio, market: Market) -> tuple[list[Problem], list[str]]:
    """What the market lacks for the positions: one Problem per row it leaves unvalued, and
    one line per (currency, instrument) for the error message."""
    f = portfolio.frame
    problems: list[Problem] = []
    summary: list[str] = []
    currencies = distinct(f, "currency")
    if all(c in market.curves and c in market.usd_value for c in currencies) and (
        market.gold_usd is not None or "gold" not in distinct(f, "instrument")
    ):
        return problems, summary  # nothing lacks: skip the grouping below (a what-if's case)
    needs = (
        f.group_by("currency", "instrument")
        .agg(
            pl.col("position_id").first().alias("example"),
            pl.len(),
            pl.col("row"),
            pl.col("position_id").alias("ids"),
        )
        .sort("currency", "instrument")
        .iter_rows()
    )
    for ccy, instrument, example, n, rows, ids in needs:
        what = f"{n} {instrument} position{'s' if n > 1 else ''} (e.g. {example!r})"
        lacks = []
        if instrument in ("bond", "frn", "swap", "future") and ccy not in market.curves:
            lacks.append((f"no {ccy} curve", f"add [curves.{ccy}]"))
        if ccy not in market.usd_value:
            lacks.append((f"no FX rate for {ccy}", f"add a pair such as USD{ccy}"))
        if instrument == "gold" and market.gold_usd is None:
            lacks.append(("no gold price", "add [gold] XAUUSD = ..."))
        for gap, fix in lacks:
            summary.append(f"{gap}, needed by {what}; {fix}")
            problems += [
                Problem(
                    portfolio.source,
                    r,
                    pid,
                    "currency",
                    ccy,
                    f"a position the market can value ({market.source} has {gap})",
                )
                for r, pid in zip(rows, ids, strict=True)
            ]
    return problems, summary


def _paid_out(book: Book) -> list[Problem]:
    """A Problem for each bond with no payment after the valuation date: its maturity is
    after it, but rolled back onto or before it (Preceding or Modified Following)."""
    empty = np.flatnonzero(np.diff(book.cashflows.offsets) == 0)
    if not len(empty):
        return []  # the usual case, without a polars query (a what-if's trade pays it)
    portfolio = book.portfolio
    rows = portfolio.frame[book.cashflow_pos[empty]]
    return [
        Problem(
            portfolio.source,
            r,
            pid,
            "maturity",
            m.isoformat(),
            f"a maturity paid after the valuation date {book.market.valuation_date.isoformat()} "
            f"(it is paid on a {calendar} business day by the {rolling.lower()} convention)",
        )
        for r, pid, m, calendar, rolling in rows.select(
            "row", "position_id", "maturity", "calendar", "business_day_convention"
        ).iter_rows()
    ]


def _solve_price_spreads(book: Book) -> list[Problem]:
    """Replace the spread of bonds quoted by clean price with the spread that reproduces it;
    return a Problem for each quoted price no spread reproduces."""
    problems = _solve_ctd_spreads(book)
    quoted = np.flatnonzero(~np.isnan(book.clean_price))
    if not len(quoted):
        return problems
    cf = book.cashflows.subset(quoted)
    q = cf.quoted()  # the cashflows a settlement-date price pays for
    out = np.empty(len(quoted))
    ok = np.empty(len(quoted), dtype=np.bool_)
    solve_spread_settled(
        q.offsets,
        q.time,
        q.amount,
        book.curve[quoted],
        book.curve_off,
        book.curve_t,
        book.curve_z,
        cf.settlement_time,
        book.clean_price[quoted] + cf.accrued,
        out,
        ok,
    )
    # A bond maturing by its settlement date has no price to reproduce.
    ok &= np.diff(q.offsets) > 0
    book.spread[quoted] = out
    # A price no spread reproduces would turn every figure of the position into NaN: it is
    # bad input.
    portfolio = book.portfolio
    rows = portfolio.frame[book.cashflow_pos[quoted[~ok]]]
    return problems + [
        Problem(
            portfolio.source,
            r,
            pid,
            "clean_price",
            price,
            f"a clean price that some spread over the {ccy} curve reproduces",
        )
        for r, pid, price, ccy in rows.select(
            "row", "position_id", "clean_price", "currency"
        ).iter_rows()
    ]


def _solve_ctd_spreads(book: Book) -> list[Problem]:
    """``_solve_price_spreads`` for the cheapest-to-deliver bonds of futures."""
    fb = book.futures
    if fb is None:
        return []
    r = fb.rows
    quoted = np.flatnonzero(~np.isnan(r.clean_price))
    if not len(quoted):
        return []
    cf = r.ctd.subset(quoted)
    out = np.empty(len(quoted))
    ok = np.empty(len(quoted), dtype=np.bool_)
    solve_spread(cf.offsets, cf.time, cf.amount, fb.curve[quoted], book.curve_off,
                 book.curve_t, book.curve_z, r.clean_price[quoted] + cf.accrued, out,
                 ok)  # fmt: skip
    r.spread[quoted] = out
    rows = book.portfolio.frame[fb.pos[quoted[~ok]]]
    return [
        Problem(book.portfolio.source, row, pid, "clean_price", price,
                f"a clean price of the cheapest-to-deliver bond that some spread over the "
                f"{ccy} curve reproduces")
        for row, pid, price, ccy in rows.select(
            "row", "position_id", "clean_price", "currency").iter_rows()
    ]  # fmt: skip
