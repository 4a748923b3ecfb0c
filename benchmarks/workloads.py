"""Seeded benchmark inputs: a four-currency market, synthetic books and key-rate scenario sets."""

from __future__ import annotations

import datetime as dt

import numpy as np
import polars as pl

import portfolios
import stress
from shocks.model import ScenarioSet
from shocks.tenors import Tenor

VALUATION = dt.date(2026, 1, 20)
CURRENCIES = ("USD", "JPY", "EUR", "GBP")
#: Shock tenors (years) of the benchmark scenarios: ~7 key rates per currency.
SHOCK_TENORS = (1.0, 2.0, 5.0, 10.0, 20.0, 30.0, 40.0)

_CURVE_TENORS = ["3M", "1Y", "2Y", "5Y", "10Y", "20Y", "30Y", "40Y"]
_CURVE_RATES = {
    "USD": [3.7, 3.5, 3.6, 3.8, 4.2, 4.7, 4.8, 4.8],
    "JPY": [0.7, 0.8, 1.2, 1.6, 2.3, 3.3, 3.6, 4.0],
    "EUR": [2.0, 2.0, 2.1, 2.4, 2.9, 3.3, 3.5, 3.5],
    "GBP": [3.8, 3.7, 3.8, 4.1, 4.6, 5.1, 5.3, 5.3],
}


def market() -> stress.Market:
    """Zero curves in four currencies (continuously compounded), FX and gold."""
    return stress.Market.from_dict(
        {
            "valuation_date": VALUATION.isoformat(),
            "base_currency": "USD",
            "curves": {
                c: {"type": "zero", "tenors": _CURVE_TENORS, "rates": r}
                for c, r in _CURVE_RATES.items()
            },
            "fx": {"USDJPY": 158.0, "EURUSD": 1.17, "GBPUSD": 1.34},
            "gold": {"XAUUSD": 4800.0},
        },
        source="<benchmark market>",
    )


def book_frame(n: int, seed: int = 0) -> pl.DataFrame:
    """``n`` government bonds over four currencies in the positions format (see
    ``portfolios.synthetic_book``)."""
    return portfolios.synthetic_book(n, seed=seed, valuation_date=VALUATION, currencies=CURRENCIES)


def book(n: int, seed: int = 0) -> portfolios.Portfolio:
    """``book_frame(n, seed)`` loaded and validated."""
    return portfolios.load(book_frame(n, seed))


def scenarios(n: int, seed: int = 1) -> ScenarioSet:
    """``n`` random key-rate scenarios (bp ~ N(0, 30) per currency and tenor) with FX moves
    (percent ~ N(0, 3)) for JPY, EUR and GBP."""
    rng = np.random.default_rng(seed)
    fx_ccy = ("EUR", "GBP", "JPY")
    return ScenarioSet(
        names=tuple(f"s{i}" for i in range(n)),
        descriptions=("benchmark",) * n,
        sources=("generated",) * n,
        origins=("benchmarks",) * n,
        currencies=CURRENCIES,
        tenors=tuple(Tenor(t, "") for t in SHOCK_TENORS),
        bp=rng.normal(0.0, 30.0, (n, len(CURRENCIES), len(SHOCK_TENORS))),
        knots=np.ones((n, len(CURRENCIES), len(SHOCK_TENORS)), dtype=np.bool_),
        fx_currencies=fx_ccy,
        fx_pct=rng.normal(0.0, 3.0, (n, len(fx_ccy))),
        gold_pct=np.zeros(n),
    )
