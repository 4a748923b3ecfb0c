"""Shared hypothesis strategies (and the helpers that turn their draws into package objects).

Draws are plain data (dates, floats, small dataclasses) so that the same draw can feed our
package, the pure-Python references in ``tests/reference.py`` and the QuantLib oracle in
``tests/qlref.py``.
"""

from __future__ import annotations

import calendar
import datetime as dt
import itertools
import math
import os
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import polars as pl
from hypothesis import strategies as st

import portfolios
from portfolios.conventions import DAY_COUNT_NAMES, DAY_COUNTS, FREQUENCIES, PRESETS
from portfolios.model import CORE_SCHEMA
from stress import Market

MIN_VALUATION = dt.date(2000, 1, 1)
MAX_VALUATION = dt.date(2035, 12, 31)
MAX_YEARS = 50

#: Tenor labels a drawn curve picks its nodes from (strictly increasing in length).
TENOR_LABELS = (
    "1M", "2M", "3M", "6M", "9M", "1Y", "18M", "2Y", "3Y", "4Y", "5Y", "6Y", "7Y", "8Y",
    "9Y", "10Y", "12Y", "15Y", "20Y", "25Y", "30Y", "40Y", "50Y",
)  # fmt: skip


def month_end(year: int, month: int) -> dt.date:
    return dt.date(year, month, calendar.monthrange(year, month)[1])


def add_years(d: dt.date, years: int) -> dt.date:
    """``d`` plus whole years, Feb 29 clamped to Feb 28."""
    try:
        return d.replace(year=d.year + years)
    except ValueError:
        return d.replace(year=d.year + years, day=28)


def horizon(valuation_date: dt.date) -> dt.date:
    """The latest maturity drawn: 50 years after the valuation date."""
    return add_years(valuation_date, MAX_YEARS)


# --- dates --------------------------------------------------------------------------------

_SPECIAL_VALUATIONS = (
    dt.date(2000, 2, 29),
    dt.date(2004, 2, 29),
    dt.date(2024, 2, 29),
    dt.date(2028, 2, 28),
    dt.date(2026, 2, 28),
    dt.date(2025, 12, 31),
    dt.date(2031, 8, 31),
    dt.date(2026, 1, 20),
    dt.date(2035, 12, 31),
    dt.date(2000, 1, 1),
)


def valuation_dates() -> st.SearchStrategy[dt.date]:
    """Valuation dates in 2000-2035, with leap days and month ends drawn often."""
    month_ends = st.builds(
        month_end, st.integers(MIN_VALUATION.year, MAX_VALUATION.year), st.integers(1, 12)
    )
    return st.one_of(
        st.dates(MIN_VALUATION, MAX_VALUATION),
        st.sampled_from(_SPECIAL_VALUATIONS),
        month_ends,
    )


@st.composite
def maturities(draw: st.DrawFn, valuation_date: dt.date) -> dt.date:
    """A maturity 1 day to 50 years after ``valuation_date``: any day, or forced to a month end,
    the last day of February, Feb 28 of a leap year, the 29th/30th or the 31st of a month."""
    first = valuation_date + dt.timedelta(days=1)
    last = horizon(valuation_date)
    kind = draw(st.sampled_from(["any", "short", "month_end", "february", "feb28_leap", "31st",
                                 "29_30"]))
    if kind == "any":
        return draw(st.dates(first, last))
    if kind == "short":  # the first few weeks: one-coupon and one-day bonds
        return valuation_date + dt.timedelta(days=draw(st.integers(1, 40)))
    months = draw(st.integers(0, 12 * MAX_YEARS))
    idx = valuation_date.year * 12 + valuation_date.month - 1 + months
    year, month = divmod(idx, 12)
    month += 1
    if kind == "february":
        d = month_end(year, 2)
    elif kind == "feb28_leap":
        # The next leap year: not always within four years (2100 is not one).
        leap = next(y for y in itertools.count(year) if calendar.isleap(y))
        d = dt.date(leap, 2, 28)
    elif kind == "31st":
        month = draw(st.sampled_from([1, 3, 5, 7, 8, 10, 12]))
        d = dt.date(year, month, 31)
    elif kind == "29_30":
        d = dt.date(year, month, min(draw(st.sampled_from([29, 30])),
                                     calendar.monthrange(year, month)[1]))
    else:
        d = month_end(year, month)
    return min(max(d, first), last)


def coupons() -> st.SearchStrategy[float]:
    """Coupons in percent, 0-10, zero-coupon drawn often, eighths and arbitrary values."""
    return st.one_of(
        st.just(0.0),
        st.integers(0, 80).map(lambda k: k / 8.0),
        st.floats(0.0, 10.0, allow_nan=False, allow_infinity=False),
    )


def notionals() -> st.SearchStrategy[float]:
    """Long and short face amounts."""
    size = st.one_of(
        st.sampled_from([100.0, 1e6, 25e6, 1e9]),
        st.floats(1.0, 5e9, allow_nan=False, allow_infinity=False),
    )
    return st.builds(lambda s, short: -s if short else s, size, st.booleans())


def spreads_bp() -> st.SearchStrategy[float]:
    return st.one_of(
        st.just(0.0),
        st.floats(-100.0, 300.0, allow_nan=False, allow_infinity=False),
    )


@dataclass(frozen=True)
class BondSpec:
    """One bond position as drawn (coupon in percent, spread in bp)."""

    maturity: dt.date
    coupon: float
    frequency: int
    day_count: str
    notional: float = 1e6
    spread_bp: float = 0.0


@st.composite
def bonds(draw: st.DrawFn, valuation_date: dt.date) -> BondSpec:
    """A bond over all day counts and frequencies, alive on ``valuation_date``."""
    return BondSpec(
        maturity=draw(maturities(valuation_date)),
        coupon=draw(coupons()),
        frequency=draw(st.sampled_from(FREQUENCIES)),
        day_count=draw(st.sampled_from(DAY_COUNT_NAMES)),
        notional=draw(notionals()),
        spread_bp=draw(spreads_bp()),
    )


@dataclass(frozen=True)
class CurveSpec:
    """A zero curve as it appears in a market file: tenor labels and percent rates."""

    tenors: tuple[str, ...]
    rates: tuple[float, ...]

    def shifted(self, bp: float) -> CurveSpec:
        return replace(self, rates=tuple(r + bp / 100.0 for r in self.rates))

    def table(self) -> dict[str, Any]:
        return {"type": "zero", "tenors": list(self.tenors), "rates": list(self.rates)}


def rates_pct() -> st.SearchStrategy[float]:
    return st.floats(-1.0, 8.0, allow_nan=False, allow_infinity=False)


@st.composite
def zero_curves(draw: st.DrawFn, min_nodes: int = 3, max_nodes: int = 8) -> CurveSpec:
    """3-8 nodes picked from 1M ... 50Y with zero rates in -1 % ... 8 %."""
    picks = draw(
        st.lists(st.sampled_from(TENOR_LABELS), min_size=min_nodes, max_size=max_nodes,
                 unique=True)
    )
    tenors = tuple(sorted(picks, key=TENOR_LABELS.index))
    rates = tuple(draw(st.lists(rates_pct(), min_size=len(tenors), max_size=len(tenors))))
    return CurveSpec(tenors, rates)


@dataclass(frozen=True)
class Case:
    """A valuation date, a USD zero curve and some bonds on it."""

    valuation_date: dt.date
    curve: CurveSpec
    bonds: tuple[BondSpec, ...]


@st.composite
def cases(draw: st.DrawFn, max_bonds: int = 4) -> Case:
    val = draw(valuation_dates())
    curve = draw(zero_curves())
    bs = draw(st.lists(bonds(val), min_size=1, max_size=max_bonds))
    return Case(val, curve, tuple(bs))


# --- package objects ----------------------------------------------------------------------


def market(
    valuation_date: dt.date, curve: CurveSpec, currency: str = "USD", **extra: Any
) -> Market:
    data: dict[str, Any] = {
        "valuation_date": valuation_date,
        "base_currency": "USD",
        "curves": {currency: curve.table()},
    }
    data.update(extra)
    return Market.from_dict(data)


def bond_frame(bs: tuple[BondSpec, ...] | list[BondSpec], currency: str = "USD") -> pl.DataFrame:
    return pl.DataFrame(
        {
            "position_id": [f"B{i}" for i in range(len(bs))],
            "instrument": ["bond"] * len(bs),
            "currency": [currency] * len(bs),
            "notional": [b.notional for b in bs],
            "coupon": [b.coupon for b in bs],
            "maturity": [b.maturity for b in bs],
            "frequency": [b.frequency for b in bs],
            "day_count": [b.day_count for b in bs],
            "spread_bp": [b.spread_bp for b in bs],
        }
    )


def portfolio(case: Case) -> portfolios.Portfolio:
    return portfolios.load(bond_frame(case.bonds), valuation_date=case.valuation_date)


# --- example counts and position frames ------------------------------------------------------

#: Multiplier of every test's example count under the ``explore`` profile (see conftest.py).
EXPLORE = int(os.environ.get("STRESS_EXPLORE", "20"))


def examples(n: int) -> int:
    """``n`` examples, or ``EXPLORE`` times as many under the ``explore`` hypothesis profile."""
    return n * EXPLORE if os.environ.get("HYPOTHESIS_PROFILE") == "explore" else n


#: Column types of the positions frames the tests build from row dicts: the portfolio's own
#: columns, a convention and book and sector attributes.
POSITION_SCHEMA: dict[str, pl.DataType] = {
    **{k: v for k, v in CORE_SCHEMA.items() if k != "row"},
    "convention": pl.String(),
    "book": pl.String(),
    "sector": pl.String(),
}

#: A small two-curve market file for command-line tests.
MARKET_TOML = """
valuation_date = "2026-01-20"
base_currency = "USD"
[curves.USD]
type = "zero"
tenors = ["1Y", "10Y", "30Y"]
rates = [3.6, 4.2, 4.8]
[curves.JPY]
type = "zero"
tenors = ["1Y", "10Y", "40Y"]
rates = [0.8, 2.2, 3.9]
[fx]
USDJPY = 158.0
[gold]
XAUUSD = 4800.0
"""


def positions_frame(rows: list[dict[str, Any]]) -> pl.DataFrame:
    """A positions frame from row dicts: the schema's columns that some row has, in the
    schema's order, missing cells null."""
    schema = {k: v for k, v in POSITION_SCHEMA.items() if any(k in r for r in rows)}
    return pl.DataFrame([{k: r.get(k) for k in schema} for r in rows], schema=schema,
                        orient="row")


def input_files(directory: Path, book: str, scenarios: str) -> dict[str, Path]:
    """A market file (``MARKET_TOML``), a positions file and a scenario file written into
    ``directory``, by role: market, book, scen."""
    paths = {"market": directory / "market.toml", "book": directory / "book.csv",
             "scen": directory / "scen.toml"}
    paths["market"].write_text(MARKET_TOML)
    paths["book"].write_text(book)
    paths["scen"].write_text(scenarios)
    return paths


def run_cli(args: list[str], capsys: Any) -> tuple[int, str, str]:
    """``stress`` with ``args`` in this process: (exit code, stdout, stderr)."""
    from stress.cli import main

    code = main(args)
    cap = capsys.readouterr()
    return code, cap.out, cap.err


# --- frames for the loader's plain-rows path (portfolios.plain_rows) ----------------------------

#: Cell decorations: case and surrounding or inner characters that polars and Python might
#: strip or map differently (tabs, no-break and ideographic spaces, a control character).
_DECORATIONS = (
    lambda s: s, str.upper, str.lower, str.title, lambda s: f"  {s} ", lambda s: f"\t{s}",
    lambda s: f"{s}\u00a0", lambda s: f"\u3000{s}", lambda s: f"{s}\x01", lambda s: f"{s}\n",
    lambda s: s.replace("S", "\u017f"), lambda s: f"{s[:1]} {s[1:]}",
)  # fmt: skip


def _cells(words: list[str]) -> st.SearchStrategy[str | None]:
    return st.one_of(
        st.none(),
        st.just(""),
        st.builds(lambda w, f: f(w), st.sampled_from(words), st.sampled_from(_DECORATIONS)),
        st.sampled_from(words),
    )


def _numbers(specials: list[float], low: float, high: float) -> st.SearchStrategy[float | None]:
    return st.one_of(
        st.none(),
        st.sampled_from([*specials, math.nan, math.inf, -math.inf]),
        st.floats(low, high, allow_nan=False),
    )


PLAIN_VALUATION = dt.date(2026, 1, 30)
_PLAIN_LATEST = add_years(PLAIN_VALUATION, 100)
_MATURITY_DATES = st.one_of(
    st.sampled_from([dt.date(1899, 12, 31), dt.date(1900, 1, 1), PLAIN_VALUATION,
                     dt.date(2036, 4, 9), dt.date(2048, 2, 29), _PLAIN_LATEST,
                     _PLAIN_LATEST + dt.timedelta(days=1)]),
    st.dates(dt.date(1850, 1, 1), dt.date(2200, 12, 31)),
)  # fmt: skip
_MATURITY_TEXT = st.one_of(
    _MATURITY_DATES.map(dt.date.isoformat),
    st.sampled_from(["2036-4-9", " 2036-04-09 ", "2036-02-30", "20360409", "2036-04-09T00:00",
                     "\u0662\u0660\u0663\u0666-04-09", "2036/04/09", "0000-01-01"]),
)  # fmt: skip


_VALID_CASE = (lambda s: s, str.upper, str.lower, str.title, lambda s: f"  {s} ")


def _valid(words: list[str]) -> st.SearchStrategy[str]:
    return st.builds(lambda w, f: f(w), st.sampled_from(words), st.sampled_from(_VALID_CASE))


@st.composite
def plain_row_frames(draw: st.DrawFn) -> pl.DataFrame:
    """Frames of one to four positions shaped like a trading tool's trades: bonds, FX and gold
    in the columns the plain-rows path reads, mostly valid with now and then a bad cell
    (decorated text, numbers out of range or not finite, bad dates, clashing conventions,
    repeated ids), numbers given as text, an attribute or another instrument's column."""
    n = draw(st.integers(1, 4))
    has = {c: draw(st.booleans()) for c in ("convention", "frequency", "day_count")}
    has |= {"spread_bp": draw(st.booleans()), "clean_price": draw(st.integers(0, 2)) == 0}
    if not has["convention"]:
        has["frequency"] = has["day_count"] = True
    rows: list[dict[str, Any]] = []
    for i in range(n):
        kind = draw(st.sampled_from(["bond", "bond", "bond", "fx", "gold"]))
        preset = draw(st.sampled_from([*PRESETS.values(), None])) if has["convention"] else None
        if preset is None:
            frequency: Any = draw(st.sampled_from(FREQUENCIES))
            day_count: Any = draw(_valid(list(DAY_COUNTS)))
        else:
            frequency = draw(st.sampled_from([None, preset.frequency]))
            same = [k for k, v in DAY_COUNTS.items() if v == DAY_COUNTS[preset.day_count]]
            day_count = draw(st.one_of(st.none(), _valid(same)))
        spread = draw(st.one_of(st.none(), st.floats(-5000.0, 10_000.0),
                                st.sampled_from([-5000.0, 10_000.0, 135.0])))  # fmt: skip
        price = None
        if has["clean_price"] and (spread is None or not has["spread_bp"]):
            price = draw(st.one_of(st.none(), st.floats(1e-9, 9999.99)))
        row = {
            "position_id": draw(_valid([f"P{i}", f"\u65e5\u672c{i}", f"T {i}"])),
            "instrument": draw(_valid([kind])),
            "currency": "USD" if kind == "gold" else draw(_valid(["USD", "JPY", "EUR", "GBP"])),
            "notional": draw(st.one_of(st.floats(-1e15, 1e15), st.sampled_from([0.0, -1e15]))),
            "coupon": draw(st.one_of(st.floats(0.0, 99.99), st.sampled_from([0.0, 5.125]))),
            "maturity": draw(st.dates(dt.date(1900, 1, 1), _PLAIN_LATEST)),
            "convention": None if preset is None else draw(_valid([preset.name])),
            "frequency": frequency,
            "day_count": day_count,
            "spread_bp": spread,
            "clean_price": price,
        }
        bad = draw(st.sampled_from([*row, None, None, None, None, None, None]))
        if bad is not None:  # one hostile cell
            row[bad] = draw(_HOSTILE[bad])
        rows.append(row)
    present = ["position_id", "instrument", "currency", "notional", "coupon", "maturity",
               *(c for c, on in has.items() if on)]  # fmt: skip
    columns: dict[str, pl.Series] = {}
    for c in present:
        values = [r[c] for r in rows]
        if c == "maturity":
            if draw(st.booleans()):
                values = [v.isoformat() if isinstance(v, dt.date) else v for v in values]
            else:
                values = [None if isinstance(v, str) else v for v in values]
            columns[c] = pl.Series(c, values, strict=False)
        elif c in ("position_id", "instrument", "currency", "convention", "day_count"):
            columns[c] = pl.Series(c, values, dtype=pl.String)
        else:
            dtype = draw(st.sampled_from([pl.Float64] * 4 + [pl.Float32, pl.Int64, pl.String]))
            if dtype == pl.Int64:
                values = [None if v is None or not math.isfinite(v) else int(v) for v in values]
            elif dtype == pl.String:
                values = [None if v is None else repr(v) for v in values]
            columns[c] = pl.Series(c, values, dtype=dtype, strict=False)
    if draw(st.booleans()):
        columns["desk"] = pl.Series("desk", draw(st.lists(_cells(["rates", "credit"]),
                                                          min_size=n, max_size=n)))
    if draw(st.integers(0, 9)) == 0:
        columns["calendar"] = pl.Series("calendar", ["US"] * n)
    return pl.DataFrame(list(columns.values()))


_HOSTILE: dict[str, st.SearchStrategy[Any]] = {
    "position_id": _cells(["P0", "P1", ""]),
    "instrument": _cells(["bond", "fx", "gold", "frn", "future", "bnd"]),
    "currency": _cells(["USD", "JPY", "XXX", "US"]),
    "notional": _numbers([1e15, -1e15, 1.0000000001e15], -2e15, 2e15),
    "coupon": _numbers([0.0, -0.0, 99.99, 100.0, -1e-9], -10.0, 120.0),
    "maturity": st.one_of(st.none(), _MATURITY_DATES, _MATURITY_TEXT),
    "convention": _cells([*PRESETS, "XXX"]),
    "frequency": st.one_of(st.none(), st.sampled_from([1, 2, 4, 12, 3, 0, 2.5, math.nan])),
    "day_count": _cells(["ACT/360", "30/360 US", "ACT/365", "30/360  US"]),
    "spread_bp": _numbers([-5000.0, 10_000.0, 10_000.0001, -5000.0001], -6000.0, 11_000.0),
    "clean_price": _numbers([0.0, 99.5, 9999.99, 1e4], -1.0, 1.1e4),
}
