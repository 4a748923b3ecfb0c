"""Large synthetic books for tests and benchmarks (seeded, vectorized: a million rows in ~1 s)."""

from __future__ import annotations

import datetime as dt

import numpy as np
import polars as pl

from portfolios.conventions import CURRENCY_BOND_CONVENTION

#: Typical coupon levels (percent) per currency for the synthetic draw.
_COUPON_CENTRE = {"USD": 4.0, "JPY": 1.2, "EUR": 2.5, "GBP": 4.0}


def synthetic_book(
    n: int,
    *,
    seed: int = 0,
    valuation_date: dt.date = dt.date(2026, 1, 20),
    currencies: tuple[str, ...] = ("USD", "JPY", "EUR", "GBP"),
    max_years: float = 40.0,
    market_conventions: bool = False,
) -> pl.DataFrame:
    """A book of ``n`` government bonds across ``currencies`` in the positions-file format.

    Maturities are uniform in 3 months to ``max_years`` (on the 15th or a month end, as real
    issues), coupons scatter around each market's level (10 % zero-coupon), a fifth are short.
    Each bond has its market's preset (UST, JGB, BUND, GILT); by default settling on the
    valuation date with unadjusted payments and no ex-dividend period (explicit columns
    override the presets': the benchmarks' QuantLib baseline builds its bonds so), with
    ``market_conventions`` the presets' settlement, calendars, rolling and ex-dividend periods.
    """
    rng = np.random.default_rng(seed)
    val = np.datetime64(valuation_date, "D")
    months = rng.integers(3, int(max_years * 12) + 1, n)
    month_start = (val.astype("datetime64[M]") + months).astype("datetime64[D]")
    month_end = (val.astype("datetime64[M]") + months + 1).astype("datetime64[D]") - 1
    maturity = np.where(rng.random(n) < 0.5, month_start + 14, month_end)
    pick = rng.integers(0, len(currencies), n)
    ccy = np.asarray(currencies)[pick]
    centre = np.array([_COUPON_CENTRE.get(c, 3.0) for c in currencies])[pick]
    coupon = np.round(np.clip(centre + rng.normal(0.0, 1.0, n), 0.0, 10.0) * 8) / 8
    coupon[rng.random(n) < 0.1] = 0.0
    face = np.round(rng.lognormal(np.log(10e6), 1.0, n), -3)
    face[ccy == "JPY"] *= 150
    face[rng.random(n) < 0.2] *= -1
    frame = pl.DataFrame(
        {
            "position_id": [f"SYN{i:07d}" for i in range(n)],
            "instrument": "bond",
            "currency": ccy,
            "notional": face,
            "coupon": coupon,
            "maturity": maturity.astype("datetime64[D]"),
            "convention": np.array([CURRENCY_BOND_CONVENTION.get(c, "UST") for c in currencies])[
                pick
            ],
            "book": np.where(rng.random(n) < 0.5, "rates", "alm"),
        }
    )
    if market_conventions:
        return frame
    return frame.with_columns(
        settlement_days=pl.lit(0), calendar=pl.lit("NONE"), ex_dividend_days=pl.lit(0)
    )
