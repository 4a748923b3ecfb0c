"""Seeded benchmark inputs: a four-currency market, two kinds of book and key-rate scenario sets.

Workloads (``WORKLOADS``):

- ``dense`` (the headline): a book laid out like a real one. Government bonds mature on their
  markets' own cycles (JGBs on the 20th of Mar/Jun/Sep/Dec; USTs on the 15th of
  Feb/May/Aug/Nov or a month end; Bunds on the 15th of Feb/Aug; gilts on the 7th of
  Mar/Jun/Sep/Dec, the 22nd of Jan/Apr/Jul/Oct or the 31st of Jan/Jul) beside USD (30/360) and
  EUR corporates maturing on any day, so the book's cashflows fall on many distinct days.
  JGB-heavy like a Japanese life insurer's book with a global one beside it; 1 to 40 years;
  long and short.
- ``month-end``: ``portfolios.synthetic_book``, four currencies of government bonds whose
  maturities are all on the 15th or a month end, so its cashflows share few payment days.

The number of distinct (curve, payment day) nodes (``Prepared.n_nodes``) is what separates the
two: every scenario shift is evaluated once per node.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

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
#: The workloads, headline first.
WORKLOADS = ("dense", "month-end")
DESCRIPTIONS = {
    "dense": "government bonds on their markets' maturity cycles (JGB 20th of Mar/Jun/Sep/Dec, "
    "UST 15th of Feb/May/Aug/Nov or month end, Bund 15th of Feb/Aug, gilt 7th/22nd/31st) and "
    "USD 30/360 and EUR corporates maturing on any day; 1-40Y, JGB-heavy, 20 % short",
    "month-end": "four currencies of government bonds maturing on the 15th or a month end "
    "(portfolios.synthetic_book); 3M-40Y, 20 % short",
}

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


def check_workload(workload: str) -> str:
    if workload not in WORKLOADS:
        raise ValueError(f"workload: got {workload!r}; expected one of {', '.join(WORKLOADS)}")
    return workload


def book_frame(n: int, seed: int = 0, workload: str = "month-end") -> pl.DataFrame:
    """``n`` bonds of ``workload`` in the positions format."""
    if check_workload(workload) == "dense":
        return dense_book_frame(n, seed)
    return portfolios.synthetic_book(n, seed=seed, valuation_date=VALUATION, currencies=CURRENCIES)


def book(n: int, seed: int = 0, workload: str = "month-end") -> portfolios.Portfolio:
    """``book_frame(n, seed, workload)`` loaded and validated."""
    return portfolios.load(book_frame(n, seed, workload))


@dataclass(frozen=True)
class _Segment:
    """One kind of bond in the dense book."""

    name: str
    share: float
    currency: str
    convention: str | None  # a preset, or None for frequency + day_count
    frequency: int
    day_count: str
    #: Maturity days: (months, day of month; 31 = the month end), or None for any day.
    cycle: tuple[tuple[tuple[int, ...], int], ...] | None
    years: tuple[float, float]  # maturity range from the valuation date
    long_end: float  # exponent of the maturity draw: < 1 leans toward the long end
    coupon: float  # typical coupon, percent
    spread_bp: tuple[float, float]  # zero spread range (0, 0: none)


_SEGMENTS = (
    # A Japanese life insurer's JGBs, leaning to the super-long end.
    _Segment(
        name="JGB", share=0.40, currency="JPY", convention="JGB", frequency=2,
        day_count="ACT/365F", cycle=(((3, 6, 9, 12), 20),), years=(1.0, 40.0), long_end=0.6,
        coupon=1.6, spread_bp=(0.0, 0.0),
    ),
    # Treasury bonds on the 15th of the quarterly refunding cycle, notes at month ends.
    _Segment(
        name="UST", share=0.07, currency="USD", convention="UST", frequency=2,
        day_count="ACT/ACT-ICMA", cycle=(((2, 5, 8, 11), 15),), years=(1.0, 30.0),
        long_end=1.0, coupon=4.0, spread_bp=(0.0, 0.0),
    ),
    _Segment(
        name="UST notes", share=0.05, currency="USD", convention="UST", frequency=2,
        day_count="ACT/ACT-ICMA", cycle=((tuple(range(1, 13)), 31),), years=(1.0, 10.0),
        long_end=1.0, coupon=4.0, spread_bp=(0.0, 0.0),
    ),
    _Segment(
        name="Bund", share=0.06, currency="EUR", convention="BUND", frequency=1,
        day_count="ACT/ACT-ICMA", cycle=(((2, 8), 15),), years=(1.0, 30.0), long_end=1.0,
        coupon=2.5, spread_bp=(0.0, 0.0),
    ),
    # Gilts: the 7th of Mar/Jun/Sep/Dec, the 22nd of Jan/Apr/Jul/Oct, the 31st of Jan/Jul.
    _Segment(
        name="gilt", share=0.06, currency="GBP", convention="GILT", frequency=2,
        day_count="ACT/ACT-ICMA",
        cycle=(((3, 6, 9, 12), 7), ((1, 4, 7, 10), 22), ((1, 7), 31)), years=(1.0, 40.0),
        long_end=1.0, coupon=4.0, spread_bp=(0.0, 0.0),
    ),
    _Segment(
        name="USD corporate", share=0.22, currency="USD", convention="USD_CORP", frequency=2,
        day_count="30/360", cycle=None, years=(1.0, 30.0), long_end=1.0, coupon=5.0,
        spread_bp=(40.0, 300.0),
    ),
    # EUR corporates: annual ACT/ACT-ICMA (no preset: frequency and day count given).
    _Segment(
        name="EUR corporate", share=0.14, currency="EUR", convention=None, frequency=1,
        day_count="ACT/ACT-ICMA", cycle=None, years=(1.0, 20.0), long_end=1.0, coupon=3.5,
        spread_bp=(30.0, 250.0),
    ),
)  # fmt: skip
SEGMENT_NAMES = tuple(s.name for s in _SEGMENTS)


def dense_book_frame(n: int, seed: int = 0) -> pl.DataFrame:
    """``n`` bonds of the ``dense`` workload (see the module docstring) in the positions
    format, seeded: government bonds on their markets' maturity cycles and corporates maturing
    on any day, with coupons around each market's level (5 % of government bonds zero-coupon),
    lognormal face amounts and a fifth of the positions short."""
    rng = np.random.default_rng(seed)
    shares = np.array([s.share for s in _SEGMENTS])
    pick = rng.choice(len(_SEGMENTS), n, p=shares / shares.sum())
    val = np.datetime64(VALUATION, "D")
    maturity = np.empty(n, dtype="datetime64[D]")
    coupon = np.empty(n)
    spread = np.zeros(n)
    for k, seg in enumerate(_SEGMENTS):
        idx = np.flatnonzero(pick == k)
        m = len(idx)
        lo, hi = seg.years
        years = lo + (hi - lo) * rng.random(m) ** seg.long_end
        target = val + np.round(years * 365.25).astype(np.int64)
        if seg.cycle is None:
            maturity[idx] = target
        else:
            maturity[idx] = _on_cycle(target, seg.cycle, rng)
        c = np.clip(seg.coupon + rng.normal(0.0, 0.8, m), 0.1, 9.0)
        coupon[idx] = np.round(c * 8) / 8
        if seg.spread_bp == (0.0, 0.0):
            coupon[idx[rng.random(m) < 0.05]] = 0.0
        else:
            spread[idx] = np.round(rng.uniform(*seg.spread_bp, m))
    face = np.round(rng.lognormal(np.log(10e6), 1.0, n), -3)
    ccy = np.array([s.currency for s in _SEGMENTS])[pick]
    face[ccy == "JPY"] *= 150
    face[rng.random(n) < 0.2] *= -1
    convention = [_SEGMENTS[k].convention for k in pick]
    plain = [s.convention is None for s in _SEGMENTS]
    return pl.DataFrame(
        {
            "position_id": [f"DNS{i:07d}" for i in range(n)],
            "instrument": "bond",
            "currency": ccy,
            "notional": face,
            "coupon": coupon,
            "maturity": maturity,
            "convention": pl.Series(convention, dtype=pl.String),
            "frequency": pl.Series(
                [_SEGMENTS[k].frequency if plain[k] else None for k in pick], dtype=pl.Int64
            ),
            "day_count": pl.Series(
                [_SEGMENTS[k].day_count if plain[k] else None for k in pick], dtype=pl.String
            ),
            "spread_bp": spread,
            "segment": np.array(SEGMENT_NAMES)[pick],
            "book": np.where(rng.random(n) < 0.5, "rates", "alm"),
        }
    )


def _on_cycle(
    target: np.ndarray, cycle: tuple[tuple[tuple[int, ...], int], ...], rng: np.random.Generator
) -> np.ndarray:
    """Each target date moved to the nearest maturity day of one of ``cycle``'s patterns
    (picked at random per bond) on or before it, or the first one after when that is not
    after the valuation date: (months, day) with day 31 meaning the month's last day."""
    which = rng.integers(0, len(cycle), len(target))
    out = np.empty(len(target), dtype="datetime64[D]")
    for p, (months, day) in enumerate(cycle):
        sel = np.flatnonzero(which == p)
        month = target[sel].astype("datetime64[M]")
        # Step back month by month to one of the pattern's months (at most 11 steps).
        m = month.copy()
        for _ in range(12):
            wrong = ~np.isin(m.astype(np.int64) % 12 + 1, months)
            if not wrong.any():
                break
            m[wrong] -= 1
        dates = _day_of(m, day)
        # A date after its target (the day of the target's own month is later) or not after
        # the valuation date moves by one cycle period.
        gap = 12 // len(months)
        late = dates > target[sel]
        dates[late] = _day_of(m[late] - gap, day)
        early = dates <= np.datetime64(VALUATION, "D") + 365
        dates[early] = _day_of(m[early] + gap, day)
        out[sel] = dates
    return out


def _day_of(month: np.ndarray, day: int) -> np.ndarray:
    """The given day of each month (31: the last day)."""
    if day == 31:
        return (month + 1).astype("datetime64[D]") - 1
    return month.astype("datetime64[D]") + (day - 1)


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
