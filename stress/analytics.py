"""Per-position analytics: prices, yield, durations, convexity, DV01, PV and key-rate risk."""

from __future__ import annotations

import numpy as np
import polars as pl

from portfolios.model import Portfolio
from stress.book import Book, build_book
from stress.instruments import INSTRUMENTS
from stress.market import Market
from stress.pricing import KEY_TENORS, bond_risk, simple_yield


def analytics(
    portfolio: Portfolio, market: Market, *, base_currency: str | None = None
) -> pl.DataFrame:
    """One row per position.

    Bond columns, quoted for settlement on ``settlement_date`` (the valuation date plus the
    bond's settlement days on its calendar), as the market quotes them: ``clean_price``,
    ``dirty_price`` and ``accrued`` per 100 face (accrued is negative in an ex-dividend period);
    ``ytm`` in percent, compounded at the coupon frequency (QuantLib's ``bondYield``);
    ``simple_yield`` in percent, the Japanese market's simple yield on the clean price;
    ``macaulay_duration`` and ``modified_duration`` in years and ``convexity`` in years^2 on
    that yield (all empty for a bond maturing by its settlement date). The position's figures,
    on the valuation date: curve-based ``effective_duration``/``effective_convexity`` (parallel
    shift of the continuously compounded zero curve) and key-rate durations ``krd_2y`` ...
    ``krd_40y``, which add up to the effective duration; ``dv01`` = PV change for a 1 bp
    parallel fall of the curve, in the position currency. Every row: ``pv`` in the position
    currency (bonds: the value of the cashflows paid after the valuation date, which for T+0
    settlement is notional / 100 x dirty price) and ``pv_base`` in the base currency (gold:
    ounces x XAUUSD, in USD; fx: the cash amount).
    """
    return book_analytics(build_book(portfolio, market.with_base(base_currency)))


def book_analytics(book: Book) -> pl.DataFrame:
    """``analytics`` of a book already laid out on its market (``stress.book.build_book``)."""
    market = book.market
    portfolio = book.portfolio
    risk = bond_risk(book)
    n = book.n_positions
    pos = book.cashflow_pos

    def column(values: np.ndarray) -> np.ndarray:
        out = np.full(n, np.nan)
        out[pos] = values
        return out

    f = portfolio.frame
    # Positions without cashflows are worth their units times the instrument's unit value.
    unit = f["instrument"].replace_strict(
        {name: i.unit_value(market) for name, i in INSTRUMENTS.items()}, return_dtype=pl.Float64
    )
    pv = book.notional * unit.to_numpy()
    pv[pos] = book.notional[pos] / 100.0 * risk.pv
    clean = risk.dirty - risk.accrued
    cf = book.cashflows
    bonds = f[pos]
    maturity_day = bonds["maturity"].cast(pl.Int64).to_numpy().astype(np.int64)
    simple = simple_yield(bonds["coupon"].to_numpy().astype(np.float64), clean,
                          cf.settlement_day, maturity_day)
    settlement = pl.Series(column(cf.settlement_day.astype(np.float64)), nan_to_null=True)
    out = pl.DataFrame(
        {
            "position_id": f["position_id"],
            "instrument": f["instrument"],
            "currency": f["currency"],
            "notional": f["notional"],
            "maturity": f["maturity"],
            "coupon": f["coupon"],
            "spread_bp": column(book.spread * 1e4),
            "settlement_date": settlement.cast(pl.Int32).cast(pl.Date),
            "clean_price": column(clean),
            "dirty_price": column(risk.dirty),
            "accrued": column(risk.accrued),
            "ytm": column(risk.ytm * 100.0),
            "simple_yield": column(simple),
            "macaulay_duration": column(risk.macaulay_duration),
            "modified_duration": column(risk.modified_duration),
            "convexity": column(risk.convexity),
            "effective_duration": column(risk.effective_duration),
            "effective_convexity": column(risk.effective_convexity),
            "dv01": column(risk.effective_duration * pv[pos] * 1e-4),
            "pv": pv,
            "pv_base": pv * book.fx0,
            **{
                f"krd_{k:g}y": column(risk.key_rate_durations[:, i])
                for i, k in enumerate(KEY_TENORS)
            },
        },
        nan_to_null=True,
    )
    return pl.concat([out, f.select(portfolio.attributes)], how="horizontal")
