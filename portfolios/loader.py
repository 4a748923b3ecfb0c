"""Read positions from CSV, Parquet, pandas or polars and validate every row.

Parsing is vectorized with polars; only the rows that fail a check are visited in Python, so a
million-row book loads in about a second while every problem is still reported.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import polars as pl

from portfolios.conventions import DAY_COUNT_NAMES, FREQUENCIES, PRESETS
from portfolios.currencies import ISO_4217
from portfolios.model import CORE_SCHEMA, INSTRUMENTS, Portfolio
from portfolios.problems import PortfolioError, PortfolioValidationError, Problem

PositionSource = str | Path | pd.DataFrame | pl.DataFrame

REQUIRED = ("position_id", "instrument", "currency", "notional")
KNOWN = (
    *REQUIRED,
    "coupon",
    "maturity",
    "convention",
    "frequency",
    "day_count",
    "spread_bp",
    "clean_price",
)


def load(
    source: PositionSource,
    *,
    valuation_date: dt.date | None = None,
    skip_invalid: bool = False,
) -> Portfolio:
    """Load and validate positions.

    Args:
        source: a CSV or Parquet path, or a pandas or polars DataFrame, one row per position.
        valuation_date: when given, bonds maturing on or before it are invalid.
        skip_invalid: keep the valid rows and put the invalid ones in ``Portfolio.rejects``
            instead of raising.

    Raises:
        PortfolioError: the source cannot be read at all.
        PortfolioValidationError: some rows are invalid (lists every problem of every row).
    """
    raw, name = _read(source)
    frame, problems = _validate(raw, name)
    portfolio = Portfolio(
        frame, name, tuple(c for c in raw.columns if c not in KNOWN), n_input_rows=raw.height
    )
    if valuation_date is not None:
        problems += portfolio.matured(valuation_date)
    if not problems:
        return portfolio
    if not skip_invalid:
        raise PortfolioValidationError(problems)
    return portfolio.drop_rows(problems)


def _read(source: PositionSource) -> tuple[pl.DataFrame, str]:
    if isinstance(source, pl.DataFrame):
        return _clean_names(source, "<polars DataFrame>"), "<polars DataFrame>"
    if isinstance(source, pd.DataFrame):
        return _clean_names(pl.from_pandas(source), "<pandas DataFrame>"), "<pandas DataFrame>"
    path = Path(source)
    name = str(path)
    if not path.is_file():
        raise PortfolioError(f"{name}: no such positions file")
    suffix = path.suffix.lower()
    try:
        if suffix == ".csv":
            df = pl.read_csv(path, infer_schema=False)
        elif suffix in (".parquet", ".pq"):
            df = pl.read_parquet(path)
        else:
            raise PortfolioError(
                f"{name}: unknown positions format {suffix!r}; expected .csv or .parquet"
            )
    except (pl.exceptions.PolarsError, OSError) as exc:
        raise PortfolioError(f"{name}: cannot be read as {suffix[1:]}: {exc}") from exc
    return _clean_names(df, name), name


def _clean_names(df: pl.DataFrame, name: str) -> pl.DataFrame:
    renamed = {c: c.strip().lower() for c in df.columns}
    if len(set(renamed.values())) != len(renamed):
        raise PortfolioError(f"{name}: duplicate column names {sorted(df.columns)}")
    return df.rename(renamed)


class _Checker:
    """Collects checks as polars expressions and evaluates them all in one pass over the data.

    ``flag(bad, column, expected, value)`` records a check: every row where ``bad`` is true
    becomes a Problem showing ``value`` (default: the raw cell of ``column``).
    """

    def __init__(self, df: pl.DataFrame, name: str) -> None:
        self.df = df
        self.name = name
        self.problems: list[Problem] = []
        self.checks: list[tuple[pl.Expr, str, str, pl.Expr]] = []
        self.staged = df.lazy()

    def flag(self, bad: pl.Expr, column: str, expected: str, value: pl.Expr | None = None) -> None:
        if value is None:
            value = pl.col(column) if column in self.df.columns else pl.lit(None)
        self.checks.append((bad, column, expected, value))

    def stage(self, **exprs: pl.Expr) -> list[pl.Expr]:
        """Compute ``exprs`` once into hidden columns and return references to them: polars
        would otherwise evaluate an expression again in every check that uses it."""
        self.staged = self.staged.with_columns(**{f"__{k}": e for k, e in exprs.items()})
        return [pl.col(f"__{k}") for k in exprs]

    def evaluate(self, columns: dict[str, pl.Expr]) -> pl.DataFrame:
        """Run every check and compute ``columns`` in one query; return the computed columns.
        Small books are dominated by polars' per-query cost, so everything shares one query."""
        bad_names = [f"__bad{i}" for i in range(len(self.checks))]
        self.df = self.staged.collect()
        out = self.df.select(
            *(
                bad.fill_null(False).alias(n)
                for (bad, *_), n in zip(self.checks, bad_names, strict=True)
            ),
            **columns,
        )
        flags = out.select(bad_names).to_numpy() if bad_names else np.zeros((out.height, 0))
        ids = out["position_id"] if "position_id" in columns else None
        for k in np.flatnonzero(flags.any(axis=0)):
            _, column, expected, value = self.checks[k]
            rows = np.flatnonzero(flags[:, k])
            values = self.df.select(value.gather(rows).alias("v"))["v"].to_list()
            for i, v in zip(rows.tolist(), values, strict=True):
                shown: Any = v.isoformat() if isinstance(v, dt.date) else v
                pid = None if ids is None else ids[i]
                self.problems.append(Problem(self.name, i + 1, pid, column, shown, expected))
        self.problems.sort(key=lambda p: p.row or 0)
        return out.drop(bad_names)


def _text(df: pl.DataFrame, column: str) -> pl.Expr:
    """The column as stripped strings, with empty strings as null; all-null when absent."""
    if column not in df.columns:
        return pl.lit(None, dtype=pl.String)
    s = pl.col(column).cast(pl.String).str.strip_chars()
    return pl.when(s == "").then(None).otherwise(s)


_NO = pl.lit(False)


def _number(df: pl.DataFrame, column: str) -> tuple[pl.Expr, pl.Expr]:
    """(parsed float column, mask of present-but-unparsable cells)."""
    if column not in df.columns:
        return pl.lit(None, dtype=pl.Float64), _NO
    if df.schema[column].is_numeric():
        raw = pl.col(column).cast(pl.Float64)
    else:
        text = _text(df, column)
        raw = text.cast(pl.Float64, strict=False)
        unparsable = text.is_not_null() & raw.is_null()
    # fill_null: a missing cell is not a bad number (the "missing" checks combine this mask
    # with is_null()).
    bad = (raw.is_nan() | raw.is_infinite()).fill_null(False)
    if not df.schema[column].is_numeric():
        bad = bad | unparsable
    return pl.when(bad).then(None).otherwise(raw), bad


def _date(df: pl.DataFrame, column: str) -> tuple[pl.Expr, pl.Expr]:
    if column not in df.columns:
        return pl.lit(None, dtype=pl.Date), _NO
    dtype = df.schema[column]
    if dtype == pl.Date:
        return pl.col(column), _NO
    if isinstance(dtype, pl.Datetime):
        return pl.col(column).dt.date(), _NO
    text = _text(df, column)
    parsed = text.str.strptime(pl.Date, "%Y-%m-%d", strict=False)
    return parsed, text.is_not_null() & parsed.is_null()


def _named(name: str, pair: tuple[pl.Expr, pl.Expr]) -> dict[str, pl.Expr]:
    return {name: pair[0], f"{name}_bad": pair[1]}


def _validate(df: pl.DataFrame, name: str) -> tuple[pl.DataFrame, list[Problem]]:
    chk = _Checker(df, name)
    missing = [c for c in REQUIRED if c not in df.columns]
    for c in missing:
        chk.problems.append(
            Problem(
                name,
                None,
                None,
                c,
                None,
                f"a {c!r} column (required columns: {', '.join(REQUIRED)})",
            )
        )
    if missing:
        return pl.DataFrame(schema=CORE_SCHEMA), chk.problems

    (pid,) = chk.stage(pid=_text(df, "position_id"))
    chk.flag(pid.is_null(), "position_id", "a non-empty position id", pid)
    dup = pid.is_duplicated() & ~pid.is_first_distinct()
    chk.flag(dup, "position_id", "a unique position id (it appears on an earlier row)", pid)

    instrument, currency = chk.stage(
        instrument=_text(df, "instrument").str.to_lowercase(),
        currency=_text(df, "currency").str.to_uppercase(),
    )
    chk.flag(
        ~instrument.is_in(INSTRUMENTS),
        "instrument",
        "one of " + ", ".join(INSTRUMENTS),
        _text(df, "instrument"),
    )
    (is_bond,) = chk.stage(is_bond=(instrument == "bond").fill_null(False))

    chk.flag(
        ~currency.is_in(sorted(ISO_4217)),
        "currency",
        "an ISO 4217 currency code, e.g. USD",
        _text(df, "currency"),
    )
    chk.flag(
        (instrument == "gold") & (currency != "USD"),
        "currency",
        "USD for gold (gold positions are priced in USD per troy ounce)",
    )

    notional, bad = chk.stage(**_named("notional", _number(df, "notional")))
    chk.flag(bad, "notional", "a number (face amount, ounces or currency amount; negative = short)")
    chk.flag(notional.is_null() & ~bad, "notional", "a notional (it is missing)")

    coupon, bad = chk.stage(**_named("coupon", _number(df, "coupon")))
    chk.flag(is_bond & bad, "coupon", "a coupon in percent per annum, e.g. 4.25")
    chk.flag(is_bond & coupon.is_null() & ~bad, "coupon", "a coupon for a bond (0 for zero-coupon)")
    chk.flag(
        is_bond & ((coupon < 0) | (coupon >= 100)),
        "coupon",
        "a coupon in percent per annum between 0 and 100",
    )

    maturity, bad = chk.stage(**_named("maturity", _date(df, "maturity")))
    chk.flag(is_bond & bad, "maturity", "an ISO date YYYY-MM-DD", _text(df, "maturity"))
    chk.flag(is_bond & maturity.is_null() & ~bad, "maturity", "a maturity date for a bond")

    frequency, day_count = _conventions(df, chk, is_bond)

    spread, bad = chk.stage(**_named("spread_bp", _number(df, "spread_bp")))
    chk.flag(is_bond & bad, "spread_bp", "a spread over the curve in basis points")
    price, bad = chk.stage(**_named("clean_price", _number(df, "clean_price")))
    chk.flag(is_bond & bad, "clean_price", "a clean price per 100 face")
    chk.flag(is_bond & (price <= 0), "clean_price", "a positive clean price per 100 face")
    chk.flag(
        is_bond & spread.is_not_null() & price.is_not_null(),
        "clean_price",
        "either spread_bp or clean_price, not both",
    )

    def bond_only(e: pl.Expr) -> pl.Expr:
        return pl.when(is_bond).then(e).otherwise(None)

    columns = {
        "row": pl.int_range(1, pl.len() + 1, dtype=pl.Int64),
        "position_id": pid,
        "instrument": instrument,
        "currency": currency,
        "notional": notional,
        "coupon": bond_only(coupon),
        "maturity": bond_only(maturity),
        "frequency": bond_only(frequency),
        "day_count": bond_only(day_count),
        "spread_bp": bond_only(spread),
        "clean_price": bond_only(price),
    }
    columns = {k: e.cast(CORE_SCHEMA[k]) for k, e in columns.items()}
    columns |= {c: pl.col(c) for c in df.columns if c not in KNOWN}  # attributes, as they are
    frame = chk.evaluate(columns)
    if chk.problems:
        bad_rows = sorted({p.row for p in chk.problems if p.row is not None})
        frame = frame.filter(~pl.col("row").is_in(bad_rows))
    return frame, chk.problems


def _conventions(df: pl.DataFrame, chk: _Checker, is_bond: pl.Expr) -> tuple[pl.Expr, pl.Expr]:
    """Resolve each bond's (frequency, day count) from a preset or the explicit columns."""
    convention = _text(df, "convention").str.to_uppercase()
    freq_raw, freq_bad = _number(df, "frequency")
    convention, freq_raw, freq_bad, dc, preset_freq, preset_dc = chk.stage(
        convention=convention,
        freq_raw=freq_raw,
        freq_bad=freq_bad,
        dc=_text(df, "day_count").str.to_uppercase(),
        preset_freq=convention.replace_strict(
            {k: v.frequency for k, v in PRESETS.items()}, default=None, return_dtype=pl.Int64
        ),
        preset_dc=convention.replace_strict(
            {k: v.day_count for k, v in PRESETS.items()}, default=None, return_dtype=pl.String
        ),
    )
    has_conv = convention.is_not_null()
    chk.flag(
        is_bond & has_conv & preset_freq.is_null(),
        "convention",
        "one of " + ", ".join(PRESETS),
        _text(df, "convention"),
    )
    (freq_int,) = chk.stage(freq_int=freq_raw.cast(pl.Int64, strict=False))
    chk.flag(
        is_bond
        & (
            freq_bad
            | (freq_raw.is_not_null() & ~freq_int.is_in(FREQUENCIES))
            | (freq_raw != freq_int.cast(pl.Float64))
        ),
        "frequency",
        "a coupon frequency of 1, 2, 4 or 12 per year",
    )
    chk.flag(
        is_bond & dc.is_not_null() & ~dc.is_in(DAY_COUNT_NAMES),
        "day_count",
        "one of " + ", ".join(DAY_COUNT_NAMES),
        _text(df, "day_count"),
    )
    chk.flag(
        is_bond & ~has_conv & (freq_raw.is_null() & ~freq_bad),
        "frequency",
        "a frequency (or a convention: " + ", ".join(PRESETS) + ")",
    )
    chk.flag(
        is_bond & ~has_conv & dc.is_null(),
        "day_count",
        "a day count (or a convention: " + ", ".join(PRESETS) + ")",
    )
    clash_f = has_conv & freq_int.is_not_null() & (freq_int != preset_freq)
    chk.flag(is_bond & clash_f, "frequency", "the convention's frequency or an empty cell")
    clash_d = has_conv & dc.is_not_null() & preset_dc.is_not_null() & (dc != preset_dc)
    chk.flag(
        is_bond & clash_d,
        "day_count",
        "the convention's day count or an empty cell",
        _text(df, "day_count"),
    )
    frequency = pl.when(has_conv).then(preset_freq).otherwise(freq_int)
    day_count = pl.when(has_conv).then(preset_dc).otherwise(dc)
    return frequency, day_count
