"""A portfolio laid out on a market: the flat arrays every kernel works on, built once."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
import polars as pl

from portfolios.conventions import DAY_COUNTS
from portfolios.model import Portfolio
from portfolios.problems import PortfolioValidationError, Problem
from stress.cashflows import CashflowBook, build_cashflows
from stress.kernels.bonds import solve_spread
from stress.kernels.scenarios import CASH, CASHFLOWS, GOLD
from stress.market import Market, MarketError

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]


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
    cashflows: CashflowBook
    curve_off: IntArray
    curve_t: FloatArray
    curve_z: FloatArray

    @property
    def n_positions(self) -> int:
        return len(self.form)

    @property
    def scale(self) -> FloatArray:
        """Units of each position's value: notional / 100 for cashflow rows (priced per 100
        face), the notional otherwise."""
        scale = self.notional.copy()
        scale[self.cashflow_pos] /= 100.0
        return scale


#: How each instrument's value moves in a scenario (the kernels' valuation forms).
FORMS = {"bond": CASHFLOWS, "gold": GOLD, "fx": CASH}


def build_book(portfolio: Portfolio, market: Market) -> Book:
    """Lay ``portfolio`` out on ``market``; raises if a bond has matured or the market lacks a
    curve, an FX rate or the gold price a position needs."""
    matured = portfolio.matured(market.valuation_date)
    if matured:
        raise PortfolioValidationError(matured)
    f = portfolio.frame
    _check_market(portfolio, market)
    position_currencies = tuple(sorted(f["currency"].unique().to_list()))
    # One query for every column the kernels need; non-bond rows hold nulls in the bond ones.
    cols = f.select(
        form=pl.col("instrument").replace_strict(FORMS, return_dtype=pl.Int8),
        currency=pl.col("currency").replace_strict(
            {c: i for i, c in enumerate(position_currencies)}, return_dtype=pl.Int64
        ),
        notional=pl.col("notional"),
        maturity=pl.col("maturity").cast(pl.Int64),
        coupon=pl.col("coupon"),
        frequency=pl.col("frequency"),
        day_count=pl.col("day_count").replace_strict(DAY_COUNTS, default=0, return_dtype=pl.Int64),
        spread_bp=pl.col("spread_bp").fill_null(0.0),
        clean_price=pl.col("clean_price").fill_null(np.nan),
    )
    form = cols["form"].to_numpy()
    currency_code = cols["currency"].to_numpy()
    bond_pos = np.flatnonzero(form == CASHFLOWS).astype(np.int64)

    def bond_column(name: str, dtype: type) -> npt.NDArray[Any]:
        return cols[name].to_numpy()[bond_pos].astype(dtype)

    fx0 = np.array([market.fx_rate(c) for c in position_currencies])[currency_code]
    curve_codes = np.unique(currency_code[bond_pos])
    currencies = tuple(position_currencies[c] for c in curve_codes)
    curve = np.searchsorted(curve_codes, currency_code[bond_pos]).astype(np.int64)
    frequency = bond_column("frequency", np.int64)
    cashflows = build_cashflows(
        market.valuation_date,
        bond_column("maturity", np.int64),
        bond_column("coupon", np.float64),
        frequency,
        bond_column("day_count", np.int64),
    )
    curve_off = np.zeros(len(currencies) + 1, dtype=np.int64)
    curve_off[1:] = np.cumsum([len(market.curves[c].times) for c in currencies])
    curve_t = (
        np.concatenate([market.curves[c].times for c in currencies]) if currencies else np.zeros(0)
    )
    curve_z = (
        np.concatenate([market.curves[c].rates for c in currencies]) if currencies else np.zeros(0)
    )
    book = Book(
        portfolio=portfolio,
        market=market,
        form=form,
        notional=cols["notional"].to_numpy().astype(np.float64),
        position_currencies=position_currencies,
        currency_code=currency_code,
        fx0=fx0,
        cashflow_pos=bond_pos,
        currencies=currencies,
        curve=curve,
        # One shock bucket per curve: a bond moves with its own currency's curve shifts.
        bucket=curve,
        bucket_curve=np.arange(len(currencies), dtype=np.int64),
        frequency=frequency,
        # Divided here: polars may multiply by the reciprocal, which differs in the last bit.
        spread=bond_column("spread_bp", np.float64) / 1e4,
        cashflows=cashflows,
        curve_off=curve_off,
        curve_t=curve_t,
        curve_z=curve_z,
    )
    _solve_price_spreads(book, bond_column("clean_price", np.float64))
    return book


def _check_market(portfolio: Portfolio, market: Market) -> None:
    f = portfolio.frame
    problems = []
    needs = (
        f.group_by("currency", "instrument")
        .agg(pl.col("position_id").first(), pl.len())
        .sort("currency", "instrument")
        .iter_rows()
    )
    for ccy, instrument, example, n in needs:
        what = f"{n} {instrument} position{'s' if n > 1 else ''} (e.g. {example!r})"
        if instrument == "bond" and ccy not in market.curves:
            problems.append(f"no {ccy} curve, needed by {what}; add [curves.{ccy}]")
        if ccy not in market.usd_value:
            problems.append(f"no FX rate for {ccy}, needed by {what}; add a pair such as USD{ccy}")
        if instrument == "gold" and market.gold_usd is None:
            problems.append(f"no gold price, needed by {what}; add [gold] XAUUSD = ...")
    if problems:
        raise MarketError(
            f"{market.source}: the market lacks data the portfolio needs:\n"
            + "\n".join(f"  - {p}" for p in problems)
        )


def _solve_price_spreads(book: Book, clean_price: FloatArray) -> None:
    """Replace the spread of bonds quoted by clean price with the spread that reproduces it."""
    quoted = np.flatnonzero(~np.isnan(clean_price))
    if not len(quoted):
        return
    cf = book.cashflows.subset(quoted)
    out = np.empty(len(quoted))
    ok = np.empty(len(quoted), dtype=np.bool_)
    solve_spread(
        cf.offsets,
        cf.time,
        cf.amount,
        book.curve[quoted],
        book.curve_off,
        book.curve_t,
        book.curve_z,
        clean_price[quoted] + cf.accrued,
        out,
        ok,
    )
    book.spread[quoted] = out
    if not ok.all():
        # A price no spread reproduces would turn every figure of the position into NaN:
        # report it as bad input instead.
        portfolio = book.portfolio
        rows = portfolio.frame[book.cashflow_pos[quoted[~ok]]]
        raise PortfolioValidationError(
            [
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
        )
