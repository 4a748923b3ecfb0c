"""Seeded benchmark inputs: a four-currency market, synthetic books and key-rate scenario sets."""

from __future__ import annotations

import dataclasses
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


#: Futures contracts of the mixed workload per currency (GBP has none bundled).
_CONTRACTS = {"USD": "TY", "JPY": "JGB10", "EUR": "FGBL"}
SECTORS = ("govt", "financials", "utilities", "industrials")


def mixed_book_frame(n: int, seed: int = 0) -> pl.DataFrame:
    """``n`` positions mixing every cashflow instrument over four currencies: 60 % bonds (the
    synthetic book's), 15 % FRNs, 15 % swaps (payer and receiver) and 10 % bond futures, each
    with a ``sector`` the spread shocks of ``credit_scenarios`` go by."""
    rng = np.random.default_rng(seed)
    n_bond = n * 6 // 10
    n_frn = n * 15 // 100
    n_swap = n * 15 // 100
    n_fut = n - n_bond - n_frn - n_swap
    bonds = book_frame(n_bond, seed).with_columns(
        pl.Series("sector", rng.choice(SECTORS, n_bond))
    )
    val = VALUATION

    def dates(k: int, lo: int, hi: int) -> list[dt.date]:
        return [val + dt.timedelta(days=int(d)) for d in rng.integers(lo, hi, k)]

    ccy = rng.choice(CURRENCIES, n_frn + n_swap)
    frn = pl.DataFrame({
        "position_id": [f"FRN{i}" for i in range(n_frn)], "instrument": "frn",
        "currency": ccy[:n_frn], "notional": rng.uniform(1e6, 5e7, n_frn),
        "maturity": dates(n_frn, 200, 10 * 365), "frequency": 4, "day_count": "ACT/360",
        "margin_bp": rng.uniform(0, 150, n_frn), "current_coupon": rng.uniform(0.5, 5, n_frn),
        "spread_bp": rng.uniform(0, 200, n_frn), "sector": rng.choice(SECTORS[1:], n_frn),
    })  # fmt: skip
    swap = pl.DataFrame({
        "position_id": [f"SWAP{i}" for i in range(n_swap)], "instrument": "swap",
        "currency": ccy[n_frn:], "notional": rng.uniform(1e6, 1e8, n_swap),
        "maturity": dates(n_swap, 365, 30 * 365), "coupon": rng.uniform(0.5, 5, n_swap),
        "frequency": 2, "day_count": "30/360", "side": rng.choice(("payer", "receiver"), n_swap),
        "float_frequency": 4, "float_day_count": "ACT/360",
        "current_coupon": rng.uniform(0.5, 5, n_swap), "sector": "govt",
    })  # fmt: skip
    fccy = rng.choice(list(_CONTRACTS), n_fut)
    fut = pl.DataFrame({
        "position_id": [f"FUT{i}" for i in range(n_fut)], "instrument": "future",
        "currency": fccy, "notional": rng.integers(-500, 500, n_fut).astype(float),
        "contract": [_CONTRACTS[c] for c in fccy], "coupon": rng.uniform(0.1, 5, n_fut),
        "maturity": dates(n_fut, 7 * 365, 10 * 365), "delivery_date": val + dt.timedelta(60),
        "futures_price": rng.uniform(100, 140, n_fut), "sector": "govt",
    })  # fmt: skip
    return pl.concat([bonds, frn, swap, fut], how="diagonal_relaxed")


def mixed_book(n: int, seed: int = 0) -> portfolios.Portfolio:
    """``mixed_book_frame(n, seed)`` loaded and validated."""
    return portfolios.load(mixed_book_frame(n, seed), valuation_date=VALUATION)


def credit_scenarios(n: int, seed: int = 2) -> ScenarioSet:
    """``scenarios(n)`` with a spread shift per sector (bp ~ |N(0, 40)|) in every scenario."""
    rng = np.random.default_rng(seed)
    base = scenarios(n)
    keys = tuple(("sector", s) for s in sorted(SECTORS))
    return dataclasses.replace(
        base,
        spread_keys=keys,
        spread_bp=np.abs(rng.normal(0.0, 40.0, (n, len(keys)))),
        spread_set=np.ones((n, len(keys)), dtype=np.bool_),
    )
