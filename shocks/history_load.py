"""Read a market history (CSV, Parquet, pandas or polars) and validate every cell.

The layout is wide: a ``date`` column (ISO ``YYYY-MM-DD`` text, or a date type) and one column
per factor, ``CCY.TENOR`` (yield in percent), ``FX.CCY`` (value of one unit of CCY in USD) or
``XAU`` (gold in USD per troy ounce); names ignore case. An empty cell (null) is no observation;
in a pandas DataFrame NaN is pandas' null and means the same. Every problem names the file, the
data row (1-based, header excluded), the column, the value and what was expected; ``HistoryError``
is the only exception that escapes.
"""

from __future__ import annotations

import csv
import io
import re
import warnings
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import polars as pl

from portfolios.lazy_pandas import is_pandas_frame
from portfolios.parquet_bytes import read_parquet_bytes
from shocks.errors import HistoryError, HistoryWarning, Problem
from shocks.factors import FACTOR_FORMS, Factor, parse_factor
from shocks.history import MAX_CARRY_DAYS, History, HistorySource

if TYPE_CHECKING:
    import pandas as pd

#: Accepted yield levels (percent): anything outside is a unit or data error.
RATE_MIN, RATE_MAX = -50.0, 100.0
#: Percentage points a yield may move between two observations without a warning: more
#: than any developed market's yields have moved in a day or over a gap in the data.
RATE_JUMP_PCT = 10.0
#: Factor by which an FX rate or the gold price may move between two observations without a
#: warning: 1.5 is beyond the Swiss franc's 2015 day (about 1.2) and gold's largest days.
PRICE_JUMP = 1.5
#: Highest accepted value of one unit of a currency in USD (an inverted quote of a currency
#: worth thousands to the dollar lands above it) and gold price in USD per ounce.
FX_MAX, GOLD_MAX = 1e4, 1e6
_ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


def load_history(
    source: HistorySource | History, *, max_carry_days: int = MAX_CARRY_DAYS
) -> History:
    """Load and validate a market history.

    Args:
        source: a CSV or Parquet path, or a pandas or polars DataFrame in the wide layout (a
            History is returned as it is).
        max_carry_days: the longest carry of a factor's last value to a window's start (see
            ``shocks.history``).

    Raises:
        HistoryError: the source cannot be read, or some cells are invalid (lists every one).
    """
    if isinstance(source, History):
        return source
    raw, name = _read(source)
    return _validate(raw, name, max_carry_days)


def _read(source: HistorySource) -> tuple[pl.DataFrame, str]:
    """The raw table with its header names as given (polars; CSV cells as text)."""
    if isinstance(source, pl.DataFrame):
        return source, "<polars DataFrame>"
    if is_pandas_frame(source):
        return _from_pandas(source), "<pandas DataFrame>"
    if not isinstance(source, str | Path):
        raise HistoryError(
            f"{source!r}: expected a CSV or Parquet path, or a pandas or polars DataFrame"
        )
    path = Path(source)
    name = str(path)
    suffix = path.suffix.lower()
    if suffix not in (".csv", ".parquet", ".pq"):
        raise HistoryError(f"{name}: unknown history format {suffix!r}; expected .csv or .parquet")
    try:
        data = path.read_bytes()  # the path itself: no glob expansion
    except OSError as exc:
        raise HistoryError(f"{name}: cannot read the history file ({exc.strerror})") from None
    if suffix == ".csv":
        return _csv(data, name), name
    try:
        return read_parquet_bytes(data), name
    except OSError as exc:
        raise HistoryError(f"{name}: cannot be read as Parquet: {exc}") from None


def _first_line(exc: Exception) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


def _csv(data: bytes, name: str) -> pl.DataFrame:
    data = data.removeprefix(b"\xef\xbb\xbf")  # a byte-order mark is not part of the name
    if not data.strip():
        raise HistoryError(
            f"{name}: the file is empty; expected a header line and one row per date"
        )
    try:
        table = pl.read_csv(
            io.BytesIO(data), has_header=False, infer_schema=False, encoding="utf8-lossy"
        )
    except Exception as exc:
        why = _ragged(data) or _first_line(exc)
        raise HistoryError(f"{name}: cannot be read as CSV: {why}") from None
    # polars pads a short row with empty cells: its values would land under the wrong dates'
    # factors, so every row must have the header's fields.
    ragged = _ragged(data)
    if ragged:
        raise HistoryError(f"{name}: cannot be read as CSV: {ragged}")
    header = [("" if v is None else v) for v in table.row(0)]
    table = table.slice(1)
    if len(set(header)) != len(header):
        # Keep the table readable; the validation reports the repeated names.
        header = [f"{h}\x00{i}" if header.count(h) > 1 else h for i, h in enumerate(header)]
    return table.rename(dict(zip(table.columns, header, strict=True)))


def _ragged(data: bytes) -> str | None:
    """Name the first row with more or fewer fields than the header (polars names neither;
    blank lines aside)."""
    rows = csv.reader(io.StringIO(data.decode("utf-8", errors="replace")))
    try:
        header = next(rows)
        for i, row in enumerate(rows, start=1):
            if row and len(row) != len(header):
                return f"row {i} has {len(row)} fields; the header has {len(header)}"
    except csv.Error:
        return None
    return None


def _from_pandas(df: pd.DataFrame) -> pl.DataFrame:
    import pandas as pd

    if not any(str(c).strip().lower() == "date" for c in df.columns) and (
        str(df.index.name).strip().lower() == "date"
    ):
        df = df.reset_index()
    cols: dict[str, pl.Series] = {}
    for i, c in enumerate(df.columns):
        s = df.iloc[:, i]
        key = str(c) if str(c) not in cols else f"{c}\x00{i}"
        try:
            plain_number = not (
                pd.api.types.is_bool_dtype(s.dtype) or pd.api.types.is_complex_dtype(s.dtype)
            )
            if pd.api.types.is_numeric_dtype(s.dtype) and plain_number:
                cols[key] = pl.Series(key, s.to_numpy(dtype=np.float64, na_value=np.nan),
                                      nan_to_null=True)
            elif pd.api.types.is_datetime64_any_dtype(s.dtype):
                cols[key] = pl.from_pandas(s.rename(key)).alias(key)
            elif pd.api.types.is_bool_dtype(s.dtype):
                cols[key] = pl.Series(
                    key, [None if _is_null(v) else bool(v) for v in s.tolist()], dtype=pl.Boolean
                )
            else:
                cols[key] = pl.Series(
                    key, [None if _is_null(v) else str(v) for v in s.tolist()], dtype=pl.String
                )
        except Exception as exc:
            raise HistoryError(
                f"<pandas DataFrame>, column {str(c)!r}: cannot be read ({_first_line(exc)})"
            ) from None
    return pl.DataFrame(list(cols.values()))


def _is_null(v: Any) -> bool:
    import pandas as pd

    try:
        return bool(pd.isna(v))
    except (TypeError, ValueError):
        return False


def _shown(name: str) -> str:
    return name.split("\x00")[0]


def _validate(df: pl.DataFrame, name: str, max_carry_days: int) -> History:
    problems: list[Problem] = []

    def column_problem(column: str, expected: str) -> None:
        problems.append(Problem(name, None, column, None, expected))

    date_cols = [c for c in df.columns if _shown(c).strip().lower() == "date"]
    if not date_cols:
        column_problem("date", "a 'date' column (dates YYYY-MM-DD, one row per date)")
    for c in date_cols[1:]:
        column_problem(_shown(c), "one 'date' column (it appears twice)")
    factors: dict[tuple[str, str, tuple[str, float]], tuple[str, Factor]] = {}
    for c in df.columns:
        if c in date_cols:
            continue
        shown = _shown(c)
        if not shown.strip():
            column_problem(shown, f"a column name: {FACTOR_FORMS}")
            continue
        try:
            f = parse_factor(shown)
        except ValueError as exc:
            column_problem(shown, f"{FACTOR_FORMS} ({exc})")
            continue
        if f.identity in factors:
            other = _shown(factors[f.identity][0])
            column_problem(shown, f"each factor once ({f.name} is also column {other!r})")
            continue
        factors[f.identity] = (c, f)
    if not factors and not problems:
        column_problem("(header)", f"one column per factor besides 'date': {FACTOR_FORMS}")
    if df.height == 0:
        raise HistoryError(
            f"{name}: no data rows; expected a header line and one row per date", problems
        )
    if problems:
        raise HistoryError.of(problems)

    dates = _dates(df, date_cols[0], name, problems)
    order = sorted(factors.values(), key=lambda cf: cf[1].sort_key)
    values = np.full((df.height, len(order)), np.nan)
    for j, (c, f) in enumerate(order):
        values[:, j] = _numbers(df, c, f, name, problems)
    if problems:
        raise HistoryError.of(sorted(problems, key=lambda p: (p.row or 0)))
    keep = np.isfinite(values).any(axis=1)
    if not keep.any():
        raise HistoryError(f"{name}: no observations; every factor cell is empty")
    _warn_jumps(values, dates, [f for _, f in order], name)
    return History(
        dates=dates[keep],
        factors=tuple(f.name for _, f in order),
        values=np.ascontiguousarray(values[keep]),
        source=name,
        max_carry_days=max_carry_days,
    )


def _dates(df: pl.DataFrame, column: str, name: str, problems: list[Problem]) -> np.ndarray:
    col = df[column]
    shown = _shown(column)
    if col.dtype == pl.Date:
        parsed = col
        raw = col
    elif isinstance(col.dtype, pl.Datetime):
        parsed = col.dt.date()
        raw = col
    elif col.dtype == pl.String:
        raw = col.str.strip_chars()
        parsed = raw.str.strptime(pl.Date, "%Y-%m-%d", strict=False)
        iso = raw.str.contains(_ISO_DATE.pattern).fill_null(False).to_numpy()
    else:
        problems.append(
            Problem(name, None, shown, None, f"dates YYYY-MM-DD (the column holds {col.dtype})")
        )
        return np.zeros(0, dtype="datetime64[D]")
    days = parsed.cast(pl.Int32).to_numpy().astype(np.float64)  # NaN where null
    if col.dtype == pl.String:
        days[~iso] = np.nan  # strptime is lenient about unpadded fields
    raw_values = raw.to_list()
    bad = np.flatnonzero(~np.isfinite(days))
    for i in bad.tolist():
        v = raw_values[i]
        if v is None or v == "":
            problems.append(Problem(name, i + 1, shown, None, "a date YYYY-MM-DD (it is missing)"))
        else:
            problems.append(Problem(name, i + 1, shown, v, "a date YYYY-MM-DD"))
    valid = np.flatnonzero(np.isfinite(days))
    dv = days[valid]
    if len(dv) > 1:
        first_row: dict[float, int] = {}
        running = np.maximum.accumulate(dv)
        for pos in np.flatnonzero(np.r_[False, dv[1:] <= running[:-1]]).tolist():
            row = int(valid[pos]) + 1
            earlier = np.flatnonzero(dv[:pos] == dv[pos])
            if len(earlier):
                first_row.setdefault(dv[pos], int(valid[earlier[0]]) + 1)
                expected = f"each date once (it is also on row {first_row[dv[pos]]})"
            else:
                prev = np.datetime64(int(running[pos - 1]), "D")
                expected = f"dates in increasing order (an earlier row has {prev})"
            problems.append(Problem(name, row, shown, _text(raw_values[int(valid[pos])]), expected))
    out = np.full(df.height, np.datetime64("NaT"), dtype="datetime64[D]")
    out[valid] = dv.astype(np.int64).astype("datetime64[D]")
    return out


def _text(v: Any) -> Any:
    return v.isoformat() if hasattr(v, "isoformat") else v


def _expected(f: Factor) -> tuple[str, float, float]:
    """(what a cell should be, lowest, highest) for a factor's levels."""
    if f.kind == "rate":
        return (
            f"a yield in percent between {RATE_MIN:g} and {RATE_MAX:g} (e.g. 0.85 for 0.85 %)",
            RATE_MIN,
            RATE_MAX,
        )
    if f.kind == "fx":
        return (
            f"a positive value of one {f.currency} in USD, at most {FX_MAX:,.0f} (e.g. 0.0067 "
            "for JPY, 1.08 for EUR)",
            0.0,
            FX_MAX,
        )
    return f"a positive gold price in USD per troy ounce, at most {GOLD_MAX:,.0f}", 0.0, GOLD_MAX


def _nan_text(v: Any) -> bool:
    return isinstance(v, str) and v.strip().lower() in ("nan", "na", "n/a", "-", ".", "null")


def _numbers(
    df: pl.DataFrame, column: str, f: Factor, name: str, problems: list[Problem]
) -> np.ndarray:
    col = df[column]
    shown = _shown(column)
    expected, lo, hi = _expected(f)
    if col.dtype == pl.String:
        text = col.str.strip_chars()
        nums = text.cast(pl.Float64, strict=False)
        empty = (text == "").fill_null(True)
        unparsable = (~empty & nums.is_null()).to_numpy()
        nums = nums.set(empty, None)
        shown_values = text
    elif col.dtype.is_numeric():
        nums = col.cast(pl.Float64)
        unparsable = np.zeros(df.height, dtype=np.bool_)
        shown_values = nums
    elif col.dtype == pl.Null:
        return np.full(df.height, np.nan)
    else:
        problems.append(
            Problem(name, None, shown, None, f"{expected} (the column holds {col.dtype})")
        )
        return np.full(df.height, np.nan)
    x = nums.to_numpy().astype(np.float64)  # null -> NaN
    is_null = nums.is_null().to_numpy()
    nonfinite = ~is_null & ~np.isfinite(x)  # NaN or inf given as a value
    with np.errstate(invalid="ignore"):
        inside = ((x > 0) if lo == 0.0 else (x >= lo)) & (x <= hi)
    out_of_range = np.isfinite(x) & ~inside
    bad = unparsable | nonfinite | out_of_range
    if bad.any():
        values = shown_values.to_list()
        blank = f"{expected}; leave the cell empty (null) where there is no observation"
        for i in np.flatnonzero(bad).tolist():
            why = blank if nonfinite[i] or (unparsable[i] and _nan_text(values[i])) else expected
            problems.append(Problem(name, i + 1, shown, values[i], why))
    x[bad | is_null] = np.nan
    return x


def _warn_jumps(values: np.ndarray, dates: np.ndarray, factors: list[Factor], name: str) -> None:
    """Warn of a yield that moves by more than RATE_JUMP_PCT from one observation to the next:
    within the -50..100 % range, a cell typed in bp (34.4 for 0.344) would make a pair of
    ±3,400 bp moves that dominate every tail figure. Likewise an FX rate or gold price that
    moves by more than PRICE_JUMP (a factor) between two observations: one mistyped cell
    (9260 for 1260) doubled a historical ES."""
    for j, f in enumerate(factors):
        seen = np.flatnonzero(np.isfinite(values[:, j]))
        if len(seen) < 2:
            continue
        v = values[seen, j]
        if f.kind == "rate":
            step = np.abs(np.diff(v))
            k = int(np.argmax(step))
            if step[k] > RATE_JUMP_PCT:
                warnings.warn(
                    f"{name}: row {seen[k + 1] + 1}, column {f.name!r}: {v[k]:g} % on "
                    f"{dates[seen[k]]}, then {v[k + 1]:g} % on {dates[seen[k + 1]]}: a move "
                    f"of {step[k]:g} percentage points between two observations; is a cell "
                    "in bp?",
                    HistoryWarning,
                    stacklevel=4,
                )
            continue
        ratio = np.abs(np.diff(np.log(v)))  # FX and gold levels are positive (checked)
        k = int(np.argmax(ratio))
        if ratio[k] > np.log(PRICE_JUMP):
            warnings.warn(
                f"{name}: row {seen[k + 1] + 1}, column {f.name!r}: {v[k]:g} on "
                f"{dates[seen[k]]}, then {v[k + 1]:g} on {dates[seen[k + 1]]}: a move by a "
                f"factor of {np.exp(ratio[k]):.3g} between two observations; is a cell "
                "mistyped?",
                HistoryWarning,
                stacklevel=4,
            )
