"""Build the bundled market history (``history.parquet``) from the four public series.

    python -m shocks.data.build_history /path/to/shared/data/history [--out history.parquet]

Inputs (see ``README.md`` beside this file for their provenance):

- ``jgb_yields_mof.csv``: MoF JGB yields, two header rows (a title, then ``Date,1Y,...,40Y``),
  dates as ``Y/M/D``, ``-`` for no value -> ``JPY.1Y`` ... ``JPY.40Y`` (percent);
- ``ust_cmt_yields.csv``: H.15 constant-maturity yields -> ``USD.1Y`` ... ``USD.30Y``;
- ``fx_noon_rates.csv``: H.10 noon rates as quoted -> the value of one unit in USD:
  ``FX.JPY`` = 1 / USDJPY, ``FX.EUR`` = EURUSD, ``FX.GBP`` = GBPUSD, ``FX.CHF`` = 1 / USDCHF;
- ``gold_london_pm.csv``: LBMA gold PM fixing -> ``XAU`` (USD per troy ounce).

The series are joined on their dates (an empty cell where a series has no value that day),
validated by ``shocks.load_history`` and written as a compact Parquet file.
"""

from __future__ import annotations

import argparse
import datetime as dt
import sys
from pathlib import Path

import polars as pl

from shocks.history import History
from shocks.history_load import load_history

#: Spans in which the Federal Reserve published no value for a Treasury tenor: the 20-year
#: constant maturity was discontinued from 1987-01-01 to 1993-09-30 and the 30-year from
#: 2002-02-19 to 2006-02-08 (FRED DGS20, DGS30). The shared copy holds values in these spans
#: of unknown origin (the 20Y even on New Year's Days), and their splice with the published
#: series shows as moves no market made (20Y +40 bp against 10Y -6 bp on 1993-10-01). They
#: are dropped: the missing-observation rule then leaves these tenors out of those windows.
NOT_PUBLISHED = {
    "USD.20Y": (dt.date(1987, 1, 1), dt.date(1993, 9, 30)),
    "USD.30Y": (dt.date(2002, 2, 19), dt.date(2006, 2, 8)),
}
DEFAULT_OUT = Path(__file__).with_name("history.parquet")


def _numbers(df: pl.DataFrame, names: dict[str, str], missing: str = "") -> pl.DataFrame:
    return df.select(
        "date",
        *(
            pl.when(pl.col(src).str.strip_chars().is_in([missing, ""]))
            .then(None)
            .otherwise(pl.col(src).str.strip_chars())
            .cast(pl.Float64)
            .alias(dst)
            for src, dst in names.items()
        ),
    )


def jgb(path: Path) -> pl.DataFrame:
    raw = pl.read_csv(path.read_bytes(), skip_rows=1, infer_schema=False)
    raw = raw.with_columns(pl.col("Date").str.strptime(pl.Date, "%Y/%m/%d").alias("date"))
    return _numbers(raw, {c: f"JPY.{c}" for c in raw.columns if c not in ("Date", "date")}, "-")


def ust(path: Path) -> pl.DataFrame:
    raw = pl.read_csv(path.read_bytes(), infer_schema=False)
    raw = raw.with_columns(pl.col("date").str.strptime(pl.Date, "%Y-%m-%d"))
    out = _numbers(raw, {c: f"USD.{c}" for c in raw.columns if c != "date"})
    return out.with_columns(
        pl.when(pl.col("date").is_between(lo, hi)).then(None).otherwise(pl.col(c)).alias(c)
        for c, (lo, hi) in NOT_PUBLISHED.items()
    )


def fx(path: Path) -> pl.DataFrame:
    raw = pl.read_csv(path.read_bytes(), infer_schema=False)
    raw = raw.with_columns(pl.col("date").str.strptime(pl.Date, "%Y-%m-%d"))
    q = _numbers(raw, {c: c for c in raw.columns if c != "date"})
    return q.select(
        "date",
        (1.0 / pl.col("USDJPY")).alias("FX.JPY"),
        pl.col("EURUSD").alias("FX.EUR"),
        pl.col("GBPUSD").alias("FX.GBP"),
        (1.0 / pl.col("USDCHF")).alias("FX.CHF"),
    )


def gold(path: Path) -> pl.DataFrame:
    raw = pl.read_csv(path.read_bytes(), infer_schema=False)
    raw = raw.with_columns(pl.col("date").str.strptime(pl.Date, "%Y-%m-%d"))
    return _numbers(raw, {"XAUUSD": "XAU"})


def build(folder: Path) -> History:
    """The history from the four CSV files in ``folder``, validated."""
    parts = [
        jgb(folder / "jgb_yields_mof.csv"),
        ust(folder / "ust_cmt_yields.csv"),
        fx(folder / "fx_noon_rates.csv"),
        gold(folder / "gold_london_pm.csv"),
    ]
    wide = parts[0]
    for p in parts[1:]:
        wide = wide.join(p, on="date", how="full", coalesce=True)
    return load_history(wide.sort("date"))


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description="Build the bundled market history.")
    ap.add_argument("folder", type=Path, help="the folder holding the four CSV files")
    ap.add_argument("--out", type=Path, default=DEFAULT_OUT, help="the Parquet file to write")
    args = ap.parse_args(argv)
    history = build(args.folder)
    history.frame().write_parquet(
        args.out, compression="zstd", compression_level=22, statistics=False
    )
    print(
        f"{args.out}: {len(history)} dates {history.first_date} .. {history.last_date}, "
        f"{len(history.factors)} factors, {args.out.stat().st_size / 1e6:.2f} MB"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
