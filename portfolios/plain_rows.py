"""A few plain rows validated in Python: the loader's fast path for the one-trade frames a
trading tool sends many times a minute.

The loader's checks (``loader._plan``) are a hundred polars expressions evaluated in a few
queries; on a one-row frame polars' fixed cost per query and expression makes that about
4 ms, against well under a millisecond for the rest of a session's what-if. ``validate``
decides here, in Python, the rows it can decide exactly as those checks do, and gives the
same frame. It takes only:

- bonds, FX and gold, in frames with none of the other instruments' columns nor a bond's
  market-convention columns (issue and first coupon dates, settlement and ex-dividend days,
  calendar, business-day convention);
- numbers in numeric columns (not text to parse), maturities as dates or ISO text;
- text with no control character and no whitespace but the space;
- rows that pass every check.

Anything else returns None: the polars checks then run and say what is wrong. Accepting
nothing is always correct, so each rule here only ever narrows; ``tests/test_plain_rows.py``
checks on generated frames that every frame accepted here is accepted by the polars checks
with an identical result.
"""

from __future__ import annotations

import datetime as dt
import math
import re
from collections.abc import Callable
from typing import Any

import polars as pl

from portfolios.conventions import DAY_COUNTS, FREQUENCIES, MARKET_DEFAULTS, PRESETS
from portfolios.currencies import ISO_4217
from portfolios.limits import (
    EARLIEST_MATURITY,
    KNOWN,
    MATURITY_HORIZON_YEARS,
    MAX_ABS_NOTIONAL,
    MAX_CLEAN_PRICE,
    MAX_COUPON,
    SPREAD_BP_RANGE,
    years_after,
)
from portfolios.model import CORE_SCHEMA

#: The most rows decided here; a larger frame goes to polars, whose cost is then per row.
MAX_ROWS = 64
#: The columns a plain row may have besides attributes.
COLUMNS = frozenset(
    ("position_id", "instrument", "currency", "notional", "coupon", "maturity", "convention",
     "frequency", "day_count", "spread_bp", "clean_price")
)  # fmt: skip
_NUMBERS = (pl.Float64, pl.Float32, pl.Int64, pl.Int32, pl.Int16, pl.Int8, pl.UInt64,
            pl.UInt32, pl.UInt16, pl.UInt8)  # fmt: skip
_ISO_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}", re.ASCII)
_EPOCH = dt.date(1970, 1, 1)


class _UnsureError(Exception):
    """A cell or row this module does not decide."""


def validate(df: pl.DataFrame, valuation_date: dt.date | None) -> pl.DataFrame | None:
    """The loader's frame of ``df`` (every required column present) when every row is plain
    and valid, else None. Maturities are anchored on ``valuation_date`` (or today)."""
    if df.height > MAX_ROWS or not COLUMNS.issuperset(c for c in df.columns if c in KNOWN):
        return None
    schema = df.schema
    text = [c for c in ("position_id", "instrument", "currency", "convention", "day_count")
            if c in schema]  # fmt: skip
    numbers = [c for c in ("notional", "coupon", "frequency", "spread_bp", "clean_price")
               if c in schema]  # fmt: skip
    # An all-null column is of polars' Null type: a missing cell of every row.
    if any(schema[c] not in (pl.String, pl.Null) for c in text) or any(
        not isinstance(schema[c], (*_NUMBERS, pl.Null)) for c in numbers
    ):
        return None
    cells = {c: df[c].to_list() for c in (*text, *numbers)}
    latest = years_after(valuation_date or dt.date.today(), MATURITY_HORIZON_YEARS)
    try:
        maturities = _maturities(df) if "maturity" in schema else [None] * df.height
        rows = [
            _row(i, {c: v[i] for c, v in cells.items()}, maturities[i], latest)
            for i in range(df.height)
        ]
    except _UnsureError:
        return None
    ids = [r[1] for r in rows]
    if len(set(ids)) < len(ids):
        return None
    frame = pl.DataFrame(rows, schema=CORE_SCHEMA, orient="row")
    attributes = [c for c in df.columns if c not in KNOWN]
    return frame.hstack(df.select(attributes)) if attributes else frame


def _row(i: int, r: dict[str, Any], maturity: dt.date | None, latest: dt.date) -> tuple[Any, ...]:
    """Row ``i``'s values in CORE_SCHEMA's order."""
    pid = _text(r["position_id"])
    instrument = _code(r["instrument"], str.lower)
    currency = _code(r["currency"], str.upper)
    notional = _number(r["notional"])
    if pid is None or currency not in ISO_4217 or notional is None:
        raise _UnsureError
    if not -MAX_ABS_NOTIONAL <= notional <= MAX_ABS_NOTIONAL:
        raise _UnsureError
    row = dict.fromkeys(CORE_SCHEMA)
    row.update(row=i + 1, position_id=pid, instrument=instrument, currency=currency,
               notional=notional)  # fmt: skip
    if instrument in ("fx", "gold"):
        if instrument == "gold" and currency != "USD":
            raise _UnsureError
        return tuple(row.values())
    if instrument != "bond":
        raise _UnsureError
    coupon = _number(r.get("coupon"))
    spread = _number(r.get("spread_bp"))
    price = _number(r.get("clean_price"))
    if coupon is None or not 0 <= coupon < MAX_COUPON:
        raise _UnsureError
    if maturity is None or not EARLIEST_MATURITY <= maturity <= latest:
        raise _UnsureError
    if spread is not None and not SPREAD_BP_RANGE[0] <= spread <= SPREAD_BP_RANGE[1]:
        raise _UnsureError
    if price is not None and (not 0 < price < MAX_CLEAN_PRICE or spread is not None):
        raise _UnsureError
    frequency, day_count, market = _schedule(r)
    row.update(coupon=coupon, maturity=maturity, frequency=frequency, day_count=day_count,
               spread_bp=spread, clean_price=price, **market)  # fmt: skip
    return tuple(row.values())


def _schedule(r: dict[str, Any]) -> tuple[int, str, dict[str, Any]]:
    """A bond's frequency, day count and market conventions, from its convention or its
    frequency and day count cells (given with a convention, they must agree with it)."""
    convention = _code(r.get("convention"), str.upper)
    day_count = _code(r.get("day_count"), str.upper)
    frequency = _number(r.get("frequency"))
    if frequency is not None:
        if not frequency.is_integer() or int(frequency) not in FREQUENCIES:
            raise _UnsureError
        frequency = int(frequency)
    if day_count is not None and day_count not in DAY_COUNTS:
        raise _UnsureError
    if convention is None:
        if frequency is None or day_count is None:
            raise _UnsureError
        return frequency, day_count, MARKET_DEFAULTS
    preset = PRESETS.get(convention)
    if preset is None or frequency not in (None, preset.frequency):
        raise _UnsureError
    if day_count is not None and DAY_COUNTS[day_count] != DAY_COUNTS[preset.day_count]:
        raise _UnsureError
    return preset.frequency, preset.day_count, {k: getattr(preset, k) for k in MARKET_DEFAULTS}


def _text(cell: str | None) -> str | None:
    """The cell stripped, None when empty; only a printable cell (no control character and no
    whitespace but the space, on which polars and Python agree what to strip)."""
    if cell is None:
        return None
    if not cell.isprintable():
        raise _UnsureError
    return cell.strip(" ") or None


def _code(cell: str | None, case: Callable[[str], str]) -> str | None:
    """A coded cell (instrument, currency, convention, day count) in ``case``; ASCII only, as
    every code is (the two libraries' case mappings differ beyond it)."""
    text = _text(cell)
    if text is not None and not text.isascii():
        raise _UnsureError
    return None if text is None else case(text)


def _number(cell: float | int | None) -> float | None:
    """A numeric cell as the loader reads it: a float, None when missing; not finite is not
    decided here."""
    if cell is None:
        return None
    x = float(cell)
    if not math.isfinite(x):
        raise _UnsureError
    return x


def _maturities(df: pl.DataFrame) -> list[dt.date | None]:
    column = df["maturity"]
    if column.dtype == pl.Date:
        # Days since 1970, as dates only within Python's: polars has dates beyond its range.
        days = column.to_physical().to_list()
        if any(d is not None and not -700_000 < d < 2_900_000 for d in days):
            raise _UnsureError
        return [None if d is None else _EPOCH + dt.timedelta(days=d) for d in days]
    if column.dtype == pl.Null:
        return [None] * len(column)
    if column.dtype != pl.String:
        raise _UnsureError
    out: list[dt.date | None] = []
    for cell in column.to_list():
        text = _text(cell)
        if text is None:
            out.append(None)
        elif _ISO_DATE.fullmatch(text):
            try:
                out.append(dt.date.fromisoformat(text))
            except ValueError:
                raise _UnsureError from None
        else:
            raise _UnsureError
    return out
