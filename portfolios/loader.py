"""Read positions from CSV, Parquet, pandas or polars and validate every row.

Parsing is vectorized with polars; only the rows that fail a check are visited in Python, so a
million-row book loads in about a second while every problem is still reported. A frame of a
few plain, valid rows (a trading tool's trade) is decided in Python instead, with the same
result (``portfolios.plain_rows``): polars' fixed cost per query would be most of its load.

Hostile input is refused at this boundary, each time with a message naming the file, the row,
the column, the value and what was expected (README, "What is validated"):

- a path is a path: the file is opened here and polars gets its bytes, never a glob pattern;
- CSV text must be UTF-8 (a UTF-8, UTF-16 or UTF-32 byte-order mark is honoured); the header is
  read here, strictly, and every name must be present and unique (polars would rename a
  duplicate); every row must have one field per header column and quotes only around whole
  values (polars fills short rows with empty cells);
- every required cell of every instrument is checked, a missing one included (checks fail
  closed: a check that cannot decide flags the row), and numbers must be finite and plausible.
"""

from __future__ import annotations

import codecs
import datetime as dt
import functools
import io
import numbers
import os
import re
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeAlias

import numpy as np
import polars as pl

from portfolios import plain_rows
from portfolios.conventions import (
    BUSINESS_DAY_CONVENTIONS,
    CALENDARS,
    DAY_COUNT_CHOICES,
    DAY_COUNTS,
    FREQUENCIES,
    MARKET_DEFAULTS,
    MAX_EX_DIVIDEND_DAYS,
    MAX_SETTLEMENT_DAYS,
    PRESETS,
)
from portfolios.currencies import ISO_4217
from portfolios.futures import CONTRACTS, conversion_factor
from portfolios.lazy_pandas import TableSource, is_pandas_frame
from portfolios.limits import (
    EARLIEST_MATURITY,
    KNOWN,
    MATURITY_HORIZON_YEARS,
    MAX_ABS_NOTIONAL,
    MAX_CLEAN_PRICE,
    MAX_CONVERSION_FACTOR,
    MAX_COUPON,
    MAX_FUTURES_PRICE,
    RATE_PCT_RANGE,
    REQUIRED,
    SIDES,
    SPREAD_BP_RANGE,
    years_after,
)
from portfolios.model import CORE_SCHEMA, INSTRUMENTS, Portfolio
from portfolios.parquet_bytes import read_parquet_bytes
from portfolios.problems import PortfolioError, PortfolioValidationError, Problem

if TYPE_CHECKING:
    import pandas as pd

PositionSource: TypeAlias = TableSource

def load(
    source: PositionSource,
    *,
    valuation_date: dt.date | None = None,
    skip_invalid: bool = False,
) -> Portfolio:
    """Load and validate positions.

    Args:
        source: a CSV or Parquet path, or a pandas or polars DataFrame, one row per position.
        valuation_date: when given, bonds maturing on or before it are invalid; it also anchors
            the latest plausible maturity (100 years after it; otherwise after today).
        skip_invalid: keep the valid rows and put the invalid ones in ``Portfolio.rejects``
            instead of raising. Problems of the whole source (a missing required column)
            are raised all the same.

    Raises:
        PortfolioError: the source cannot be read at all.
        PortfolioValidationError: some rows are invalid (lists every problem of every row).
    """
    raw, name = _read(source)
    frame, problems = _validate(raw, name, valuation_date)
    portfolio = Portfolio(
        frame, name, tuple(c for c in raw.columns if c not in KNOWN), n_input_rows=raw.height
    )
    if valuation_date is not None:
        problems += portfolio.matured(valuation_date)
    if not problems:
        return portfolio
    if not skip_invalid or any(p.row is None for p in problems):
        raise PortfolioValidationError(problems)
    return portfolio.drop_rows(problems)


# --- reading -----------------------------------------------------------------------------------


def _read(source: PositionSource) -> tuple[pl.DataFrame, str]:
    if isinstance(source, pl.DataFrame):
        name = "<polars DataFrame>"
        df = source
    elif is_pandas_frame(source):
        name = "<pandas DataFrame>"
        df = _from_pandas(source, name)
    elif isinstance(source, str | os.PathLike):
        try:
            path = Path(source)
        except TypeError:
            raise PortfolioError(
                f"{source!r}: not a path; expected a CSV or Parquet path"
            ) from None
        df, name = _read_file(path)
    else:
        raise PortfolioError(
            f"cannot read positions from a {type(source).__name__}; expected a CSV or Parquet "
            "path, or a pandas or polars DataFrame"
        )
    _check_dtypes(df, name)
    df = _clean_names(df, name)
    if "row" in df.columns:
        raise PortfolioError(
            f"{name}: a column is named 'row', which the loader uses for the data row numbers; "
            "expected another name for it (e.g. source_row)"
        )
    return df, name


def _read_file(path: Path) -> tuple[pl.DataFrame, str]:
    name = str(path)
    try:
        exists, is_dir, is_file = path.exists(), path.is_dir(), path.is_file()
    except (OSError, ValueError):  # a name the OS refuses (NUL byte, too long, ...)
        exists = is_dir = is_file = False
    if is_dir:
        raise PortfolioError(
            f"{name}: is a directory; expected a positions file (.csv or .parquet)"
        )
    if not exists:
        raise PortfolioError(f"{name}: no such positions file")
    if not is_file:
        raise PortfolioError(
            f"{name}: not a regular file; expected a positions file (.csv or .parquet)"
        )
    suffix = path.suffix.lower()
    if suffix not in (".csv", ".parquet", ".pq"):
        raise PortfolioError(
            f"{name}: unknown positions format {suffix!r}; expected .csv or .parquet"
        )
    try:
        # The bytes, not the path: polars would expand [, ] and * in a path as a glob.
        data = path.read_bytes()
    except OSError as exc:
        raise PortfolioError(f"{name}: cannot be read ({exc.strerror or exc})") from None
    if suffix == ".csv":
        return _parse_csv(data, name), name
    return _parse_parquet(data, name), name


def _from_pandas(source: pd.DataFrame, name: str) -> pl.DataFrame:
    for i, c in enumerate(source.columns, 1):
        if not isinstance(c, str):
            raise PortfolioError(
                f"{name}: column {i} is named {c!r} ({type(c).__name__}); expected text column "
                f"names such as {', '.join(REQUIRED)}"
            )
    _check_names(list(source.columns), name)
    for c in source.columns:
        if source[c].dtype == object:
            _one_kind(source[c], c, name)
    try:
        return pl.from_pandas(source)
    except Exception as exc:  # pyarrow and polars raise many types for unconvertible columns
        for c in source.columns:
            try:
                pl.from_pandas(source[[c]])
            except Exception:
                column = source[c]
                held = ""
                if column.dtype == object:
                    types = sorted({type(v).__name__ for v in column.dropna().tolist()})
                    held = f" holding {', '.join(types) or 'nothing'}"
                raise PortfolioError(
                    f"{name}: column {c!r} (pandas {column.dtype}{held}) cannot be read; "
                    "expected text, numbers or dates of one type (convert the column to one)"
                ) from exc
        raise PortfolioError(f"{name}: cannot be converted to a table of positions") from exc


def _cell_kind(t: type) -> str:
    """What a cell of type t in a pandas object column holds: the loader reads one kind a
    column."""
    if issubclass(t, bool | np.bool_):
        return "true/false"
    if issubclass(t, str):
        return "text"
    if issubclass(t, numbers.Number):
        return "numbers"
    if issubclass(t, dt.date | np.datetime64):
        return "dates"
    return t.__name__


def _one_kind(column: pd.Series, label: object, name: str) -> None:
    """Refuse an object column mixing kinds of values: pyarrow would convert some of them
    without a word (a number among dates becomes a day count since 1970, a date among numbers
    its day count), so a maturity typed as a number in a spreadsheet would be a date a
    century away."""
    import pandas as pd

    # pandas' own inference first (7 ms for 1M cells, against 60 ms for the loop below): it
    # says "mixed..." for every column that can hold more than one kind.
    if not pd.api.types.infer_dtype(column, skipna=True).startswith("mixed"):
        return
    present = column.notna().to_numpy()
    values = column.to_numpy()[present].tolist()
    kinds = {_cell_kind(t) for t in set(map(type, values))}
    if len(kinds) > 1:
        examples: dict[str, tuple[int, object]] = {}
        for row, v in zip(np.flatnonzero(present) + 1, values, strict=True):
            examples.setdefault(_cell_kind(type(v)), (int(row), v))
        shown = "; ".join(f"{k} (row {r}: {v!r})" for k, (r, v) in examples.items())
        raise PortfolioError(
            f"{name}: column {label!r} mixes kinds of values: {shown}; expected one kind per "
            "column (text, numbers or dates)"
        )


def _parse_parquet(data: bytes, name: str) -> pl.DataFrame:
    where = f"{name}: cannot be read as parquet"
    if len(data) < 12 or not (data.startswith(b"PAR1") and data.endswith(b"PAR1")):
        hint = ""
        if data[:1000].isascii() and b"," in data[:1000]:
            hint = " (it looks like CSV text: name it .csv)"
        raise PortfolioError(
            f"{where}: not a Parquet file; expected a file that begins and ends with the Parquet "
            f"marker PAR1{hint}"
        )
    try:
        import pyarrow as pa
        import pyarrow.parquet as pq  # reads the schema only

        names = pq.ParquetFile(pa.BufferReader(data)).schema_arrow.names
    except Exception as exc:
        raise PortfolioError(
            f"{where}: the file is damaged (its list of columns cannot be read)"
        ) from exc
    _check_names(list(names), name)
    try:
        return read_parquet_bytes(data)
    except OSError as exc:
        raise PortfolioError(
            f"{where}: the file is damaged or uses a Parquet feature this reader does not support"
        ) from exc


def _check_names(names: list[Any], name: str) -> None:
    """Every column named, once (names compare case-insensitively, surrounding spaces ignored),
    and at least one positions column: otherwise the first line is no header."""
    groups: dict[str, list[str]] = {}
    for c in names:
        groups.setdefault(str(c).strip().lower(), []).append(str(c))
    if names and not any(key in KNOWN for key in groups):
        shown = ", ".join(repr(str(c)) for c in names[:8]) + (", ..." if len(names) > 8 else "")
        if len(names) == 1:
            for sep in (";", "\t", "|"):
                if sep in str(names[0]):
                    raise PortfolioError(
                        f"{name}: the header is one column {shown}; expected columns separated "
                        f"by commas (this file seems to use {sep!r})"
                    )
        raise PortfolioError(
            f"{name}: no positions column among {shown}; expected columns named "
            f"{', '.join(REQUIRED)}, ... (a CSV file names them in its first line)"
        )
    for i, c in enumerate(names, 1):
        if not str(c).strip():
            raise PortfolioError(
                f"{name}: column {i} has no name; expected a name for every column (an extra "
                "comma in the header?)"
            )
    clash = sorted(c for group in groups.values() if len(group) > 1 for c in group)
    if clash:
        raise PortfolioError(f"{name}: duplicate column names {clash}")


_UNSUPPORTED = {
    pl.List: "lists",
    pl.Array: "arrays",
    pl.Struct: "records",
    pl.Object: "Python objects",
}
_TYPE_WORDS = {pl.Binary: "bytes", pl.Duration: "durations", pl.Time: "times of day"}
_KNOWN_TYPES = (pl.String, pl.Categorical, pl.Enum, pl.Null, pl.Boolean, pl.Date, pl.Datetime)


def _check_dtypes(df: pl.DataFrame, name: str) -> None:
    """Known columns hold text, numbers or dates; attributes anything but nested values."""
    for c, dtype in df.schema.items():
        kind = _UNSUPPORTED.get(dtype.base_type())
        known = c.strip().lower() in KNOWN
        if kind is None and known and not (dtype.is_numeric() or isinstance(dtype, _KNOWN_TYPES)):
            kind = _TYPE_WORDS.get(dtype.base_type(), f"values of type {dtype}")
        if kind is not None:
            raise PortfolioError(
                f"{name}: column {c!r} holds {kind}; expected one plain value per cell "
                "(text, numbers or dates)"
            )
        if isinstance(dtype, pl.Date | pl.Datetime):
            _check_calendar(df[c], name)


#: Dates further than this from 1970 (about 200,000 years) are refused outright: polars panics
#: formatting dates beyond year 262,142, and no position has one.
_MAX_CALENDAR_DAYS = 73_000_000
_PER_DAY = {"ms": 86_400_000, "us": 86_400_000_000, "ns": 86_400_000_000_000}


def _check_calendar(column: pl.Series, name: str) -> None:
    dtype = column.dtype
    per_day = _PER_DAY[dtype.time_unit or "us"] if isinstance(dtype, pl.Datetime) else 1
    limit = _MAX_CALENDAR_DAYS * per_day
    if limit >= 2**63:  # nanoseconds in int64 span 1677-2262
        return
    physical = column.to_physical()
    beyond = ((physical > limit) | (physical < -limit)).arg_true()
    if beyond.len():
        i = int(beyond[0])
        days = int(physical[i]) // per_day
        raise PortfolioError(
            f"{name}: row {i + 1}, column {column.name!r}: got a date {days} days from "
            "1970-01-01 (beyond year 200,000); expected a real date"
        )


def _clean_names(df: pl.DataFrame, name: str) -> pl.DataFrame:
    _check_names(df.columns, name)
    clean = {c: c.strip().lower() for c in df.columns}
    # A rename is a polars query: 30 us of a one-trade what-if whose names are clean already.
    return df if all(k == v for k, v in clean.items()) else df.rename(clean)


# --- text and CSV ------------------------------------------------------------------------------


class TextDecodeError(ValueError):
    """Bytes that are not text. ``line`` is the 1-based line of the first bad byte and
    ``before`` the text before it."""

    def __init__(self, line: int, reason: str, before: str) -> None:
        super().__init__(f"line {line}: {reason}")
        self.line = line
        self.reason = reason
        self.before = before


_BOMS = (
    (codecs.BOM_UTF32_LE, "utf-32-le", "UTF-32"),
    (codecs.BOM_UTF32_BE, "utf-32-be", "UTF-32"),
    (codecs.BOM_UTF8, "utf-8", "UTF-8"),
    (codecs.BOM_UTF16_LE, "utf-16-le", "UTF-16"),
    (codecs.BOM_UTF16_BE, "utf-16-be", "UTF-16"),
)


def decode_text(data: bytes) -> tuple[str, bool]:
    """The text of a file and whether it began with a byte-order mark: UTF-8, or UTF-16/32
    with a byte-order mark. Raises TextDecodeError at the first NUL or undecodable byte."""
    for bom, codec, label in _BOMS:
        if data.startswith(bom):
            body = data[len(bom) :]
            try:
                text = body.decode(codec)
            except UnicodeDecodeError as exc:
                before = body[: exc.start].decode(codec, errors="replace")
                raise TextDecodeError(
                    before.count("\n") + 1,
                    f"not valid {label} text after the {label} byte-order mark",
                    before,
                ) from None
            _no_nul(text)
            return text, True
    nul = data.find(b"\x00")
    if nul >= 0:
        before = data[:nul].decode("utf-8", errors="replace")
        raise TextDecodeError(
            before.count("\n") + 1,
            "a NUL byte; expected UTF-8 text (this is a binary file, or UTF-16 text without "
            "a byte-order mark)",
            before,
        )
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        before = data[: exc.start].decode("utf-8", errors="replace")
        raise TextDecodeError(
            before.count("\n") + 1,
            f"byte 0x{data[exc.start]:02X} is not UTF-8; expected UTF-8 text (save the file "
            "as UTF-8: it may be Latin-1 or Windows-1252)",
            before,
        ) from None
    return text, False


def _no_nul(text: str) -> None:
    nul = text.find("\x00")
    if nul >= 0:
        before = text[:nul]
        raise TextDecodeError(before.count("\n") + 1, "a NUL character; expected text", before)


class _CsvSyntaxError(Exception):
    """A structural CSV error at ``record`` (0 = the header) starting on ``line``."""

    def __init__(self, record: int, line: int, message: str) -> None:
        super().__init__(message)
        self.record = record
        self.line = line
        self.message = message


_QUOTED = re.compile(r'"((?:[^"]|"")*)"')
_UNQUOTED = re.compile(r"[^,\n]*")


def _scan(text: str, names: list[str] | None = None) -> Iterator[tuple[int, int, list[str]]]:
    """(record, first line, fields) of every record of comma-separated ``text`` with ``\\n``
    line ends, strictly: quotes only around whole fields, ``""`` inside them. Raises
    _CsvSyntaxError.

    Slow (Python), so it only reads headers, files whose quoted values span lines, and files
    polars refused, to say where and why."""

    def column(k: int) -> str:
        return repr(names[k]) if names and k < len(names) else f"{k + 1}"

    pos, line, record, n = 0, 1, 0, len(text)
    while pos < n:
        end = text.find("\n", pos)
        end = n if end < 0 else end
        chunk = text[pos:end]
        if '"' not in chunk:
            yield record, line, chunk.removesuffix("\r").split(",")
            pos, line, record = end + 1, line + 1, record + 1
            continue
        first, fields = line, list[str]()
        while True:
            if text.startswith('"', pos):
                m = _QUOTED.match(text, pos)
                if m is None:
                    raise _CsvSyntaxError(
                        record,
                        first,
                        f"a quoted value in column {column(len(fields))} is never closed; "
                        'expected a closing quote (")',
                    )
                fields.append(m.group(1).replace('""', '"'))
                line += m.group(0).count("\n")
                pos = m.end()
                if text.startswith("\r", pos) and (pos + 1 == n or text[pos + 1] == "\n"):
                    pos += 1  # CRLF line end
                if pos < n and text[pos] not in ",\n":
                    raise _CsvSyntaxError(
                        record,
                        first,
                        f"text after the closing quote of a quoted value in column "
                        f"{column(len(fields) - 1)}; expected a comma or the end of the line "
                        '(a quote inside a quoted value is written "")',
                    )
            else:
                m = _UNQUOTED.match(text, pos)
                assert m is not None  # matches the empty string
                value = m.group(0)
                if '"' in value:
                    raise _CsvSyntaxError(
                        record,
                        first,
                        f"a quote inside the unquoted value {value.removesuffix(chr(13))!r} in "
                        f"column {column(len(fields))}; expected quotes only around a whole "
                        'value (a quote inside a quoted value is written "")',
                    )
                fields.append(value.removesuffix("\r"))
                pos = m.end()
            if pos < n and text[pos] == ",":
                pos += 1
                continue
            break
        yield record, first, fields
        pos, line, record = pos + 1, line + 1, record + 1


def _parse_csv(data: bytes, name: str) -> pl.DataFrame:
    data = _utf8(data, name)
    if b"\r" in data and data.count(b"\r") != data.count(b"\r\n"):
        data = _lf_line_ends(data)
    data, lead = _trim_blank_lines(data)
    if not data:
        raise PortfolioError(
            f"{name}: the file is empty; expected a header line naming the columns "
            f"({', '.join(REQUIRED)}, ...) and one line per position"
        )
    names = _header(data, name, lead)
    _check_names(names, name)
    try:
        df = pl.read_csv(io.BytesIO(data), has_header=True, new_columns=names, infer_schema=False)
    except (Exception, pl.exceptions.PanicException) as exc:
        _diagnose(data, names, name, lead)
        raise PortfolioError(
            f"{name}: cannot be read as CSV; expected comma-separated lines, one per position, "
            "with quotes only around whole values"
        ) from exc
    _check_field_counts(data, names, df.height, name, lead)
    if b'""' in data:  # polars reads a quoted empty cell as "", an unquoted one as null
        df = df.with_columns(pl.col(c).replace("", None) for c in df.columns)
    return df


#: Leading bytes of files often given by mistake for CSV text.
_MAGIC = (
    (b"PAR1", "a Parquet file (name it .parquet)"),
    (b"PK\x03\x04", "a ZIP archive (an Excel workbook? save it as CSV UTF-8)"),
    (b"\xd0\xcf\x11\xe0", "an old Excel or Office file (save it as CSV UTF-8)"),
    (b"\x1f\x8b", "gzip-compressed (decompress it first)"),
)


def _utf8(data: bytes, name: str) -> bytes:
    """``data`` as UTF-8 without a byte-order mark; a PortfolioError if it is not text."""
    if data.isascii() and b"\x00" not in data:
        return data
    for magic, what in _MAGIC:
        if data.startswith(magic):
            raise PortfolioError(f"{name}: not CSV text: this is {what}")
    try:
        text, had_bom = decode_text(data)
    except TextDecodeError as exc:
        if exc.line == 1:
            where = "the header (line 1)"
        elif '"' in exc.before:  # a quoted value may span lines: the line is all we know
            where = f"line {exc.line}"
        else:
            lead = len(exc.before) - len(exc.before.lstrip(" \t\r\n"))
            lead_lines = exc.before[:lead].count("\n")
            row = exc.line - lead_lines - 1
            where = f"row {row} (line {exc.line})" if row > 0 else f"the header (line {exc.line})"
        raise PortfolioError(f"{name}: {where}: {exc.reason}") from None
    return text.encode("utf-8") if had_bom else data


def _lf_line_ends(data: bytes) -> bytes:
    """A lone CR (old Mac line ends) outside quoted values ends a line, as in Python's csv
    module; inside a quoted value it is text."""

    def lf(b: bytes) -> bytes:
        return b.replace(b"\r\n", b"\n").replace(b"\r", b"\n")

    if b'"' not in data:
        return lf(data)
    parts = re.split(rb'("(?:[^"]|"")*")', data)
    return b"".join(p if i % 2 else lf(p) for i, p in enumerate(parts))


def _trim_blank_lines(data: bytes) -> tuple[bytes, int]:
    """Drop blank lines before the header and after the last row; return the data and the
    number of lines dropped at the start (for line numbers in messages)."""
    m = re.match(rb"(?:[ \t\r]*\n)*", data)
    assert m is not None
    lead = m.group(0).count(b"\n")
    data = data[m.end() :]
    last = len(data.rstrip(b" \t\r\n"))
    if last == 0:
        return b"", lead
    nl = data.find(b"\n", last)
    return (data if nl < 0 else data[: nl + 1]), lead


def _header(data: bytes, name: str, lead: int) -> list[str]:
    end = data.find(b"\n")
    first = data if end < 0 else data[:end]
    # A quoted name may span lines: then read the header from the whole text.
    text = (data if first.count(b'"') % 2 else first).decode("utf-8")
    try:
        _, _, names = next(_scan(text))
    except _CsvSyntaxError as fault:
        raise PortfolioError(f"{name}: the header (line {lead + 1}): {fault.message}") from None
    return names


def _fault(name: str, fault: _CsvSyntaxError, lead: int) -> PortfolioError:
    line = fault.line + lead
    where = (
        f"the header (line {line})" if fault.record == 0 else f"row {fault.record} (line {line})"
    )
    return PortfolioError(f"{name}: {where}: {fault.message}")


def _field_count_fault(record: int, line: int, got: int, width: int) -> _CsvSyntaxError:
    hint = (
        "a value that contains a comma must be quoted"
        if got > width
        else "an empty cell still needs its comma"
    )
    return _CsvSyntaxError(
        record,
        line,
        f"got {got} field{'s' if got != 1 else ''}; expected {width}, one per column of the "
        f"header ({hint})",
    )


def _diagnose(data: bytes, names: list[str], name: str, lead: int) -> None:
    """Raise a PortfolioError saying where and why ``data`` is not well-formed CSV, if the
    strict scanner finds out."""
    width = len(names)
    try:
        for record, line, fields in _scan(data.decode("utf-8"), names):
            blank = len(fields) == 1 and not fields[0].strip()  # a blank line: an empty row
            if record and len(fields) != width and not blank:
                raise _field_count_fault(record, line, len(fields), width)
    except _CsvSyntaxError as fault:
        raise _fault(name, fault, lead) from None


#: A whole line of strict CSV: fields unquoted (no quote in them) or quoted (``""`` inside).
_STRICT_LINE = r'^(?:"(?:[^"]|"")*"|[^",]*)(?:,(?:"(?:[^"]|"")*"|[^",]*))*\r?$'


def _check_field_counts(data: bytes, names: list[str], height: int, name: str, lead: int) -> None:
    """Every row has one field per header column (blank lines aside; polars fills short rows
    with empty cells silently) and quotes only around whole values (polars reads some stray
    quotes as text). Line by line in polars; record by record in Python only when a quoted
    value spans lines or a line breaks the quoting rules."""
    width = len(names)
    try:
        lines = pl.read_csv(
            io.BytesIO(data),
            has_header=False,
            separator="\x00",  # absent: NUL bytes are refused
            quote_char=None,
            infer_schema=False,
            new_columns=["line"],
            empty_string_is_null=False,
        )["line"].fill_null("")
    except (Exception, pl.exceptions.PanicException):
        lines = None
    if lines is not None and lines.len() - 1 == height:
        bare: pl.Series | None = lines
        if b'"' in data:
            quoted = lines.str.contains('"', literal=True)
            strict = lines.filter(quoted).str.contains(_STRICT_LINE).all()
            bare = lines.str.replace_all('"(?:[^"]|"")*"', "") if strict else None
        if bare is not None:
            counts = bare.str.count_matches(",", literal=True) + 1
            wrong = (counts != width).arg_true()
            if wrong.len():  # blank lines are rows of empty cells, not wrong ones
                wrong = wrong.filter((wrong > 0) & (lines.gather(wrong).str.strip_chars() != ""))
            if wrong.len():
                i = int(wrong[0])
                raise _fault(name, _field_count_fault(i, i + 1, int(counts[i]), width), lead)
            return
    # Quoted values span lines, or a line breaks the quoting rules: read record by record.
    _diagnose(data, names, name, lead)
    records = sum(1 for _ in _scan(data.decode("utf-8"), names)) - 1
    if records != height:
        raise PortfolioError(
            f"{name}: cannot be read as CSV: {records} rows by the quoting rules but {height} "
            "as read; expected comma-separated lines with quotes only around whole values"
        )


# --- validation --------------------------------------------------------------------------------


class _Checker:
    """Collects checks as polars expressions, to evaluate them all in a few eager queries.

    Built on a frame's schema alone (an empty frame with its columns): a plan of checks is
    kept per schema and valuation date (``_plan``), since a trading tool validates one-row
    trades of the same columns many times a minute and building the hundred expressions costs
    more than evaluating them. ``flag(bad, column, expected, value)`` records a check: every
    row where ``bad`` is true becomes a Problem showing ``value`` (default: the raw cell of
    ``column``). Checks fail closed: where ``bad`` is null (it could not be decided, e.g. on a
    missing cell), the row is flagged. A ``fallback`` check is reported only for rows no other
    check flagged.
    """

    def __init__(self, df: pl.DataFrame) -> None:
        self.df = df
        self.checks: list[tuple[pl.Expr, str, str, pl.Expr, bool]] = []
        self.stages: list[dict[str, pl.Expr]] = []
        self.columns: dict[str, pl.Expr] = {}
        # The prefix of hidden working columns: one no input column starts with.
        self.hidden = "__"
        while any(c.startswith(self.hidden) for c in df.columns):
            self.hidden += "_"

    def flag(
        self,
        bad: pl.Expr,
        column: str,
        expected: str,
        value: pl.Expr | None = None,
        *,
        fallback: bool = False,
    ) -> None:
        if value is None:
            value = pl.col(column) if column in self.df.columns else pl.lit(None)
        self.checks.append((bad, column, expected, value, fallback))

    def stage(self, **exprs: pl.Expr) -> list[pl.Expr]:
        """Compute ``exprs`` once into hidden columns and return references to them: polars
        would otherwise evaluate an expression again in every check that uses it."""
        names = {f"{self.hidden}{k}": e for k, e in exprs.items()}
        assert not any(n in stage for n in names for stage in self.stages), sorted(names)
        self.stages.append(names)
        return [pl.col(f"{self.hidden}{k}") for k in exprs]

    def finish(self, columns: dict[str, pl.Expr]) -> None:
        """Fix the computed ``columns`` and build the query's expressions: the plan is
        complete. Stages are merged by level (a stage's level is one more than the highest
        level of the stages whose columns it reads): polars' cost on a small frame grows with
        the number of stages, a few hundred microseconds each."""
        self.columns = columns
        level: dict[str, int] = {}  # hidden column -> level of its stage
        merged: list[dict[str, pl.Expr]] = []
        for exprs in self.stages:
            reads = {r for e in exprs.values() for r in e.meta.root_names()}
            k = max((level[r] + 1 for r in reads if r in level), default=0)
            if k == len(merged):
                merged.append({})
            merged[k] |= exprs
            level |= dict.fromkeys(exprs, k)
        self.queries = [[e.alias(n) for n, e in exprs.items()] for exprs in merged]
        self.outputs = [bad.alias(f"{self.hidden}bad{i}") for i, (bad, *_) in
                        enumerate(self.checks)]
        self.fallback = np.array([c[4] for c in self.checks], dtype=np.bool_)

    def run(self, df: pl.DataFrame, name: str) -> tuple[pl.DataFrame, list[Problem]]:
        """Run every check and compute the columns on ``df`` in a few queries (small books
        are dominated by polars' per-query cost); return the columns of every row and the
        problems."""
        # Eager, a query per stage: polars' lazy engine takes several times as long to plan
        # the same expressions as one query, even with its optimizations off.
        staged = df
        for exprs in self.queries:
            staged = staged.with_columns(exprs)
        frame = staged.select(**self.columns)
        bad = staged.select(self.outputs)
        if bad.null_count().sum_horizontal().item():
            # Checks fail closed: a check that could not be decided (null) flags its row.
            bad = bad.fill_null(True)
        flags = bad.to_numpy().astype(np.bool_, copy=False)
        if self.fallback.any():
            flagged = np.any(flags[:, ~self.fallback], axis=1)
            flags[:, self.fallback] &= ~flagged.reshape(-1, 1)
        failed = np.flatnonzero(flags.any(axis=0))
        if not len(failed):
            return frame, []
        problems: list[Problem] = []
        ids = frame["position_id"] if "position_id" in self.columns else None
        for k in failed:
            _, column, expected, value, _ = self.checks[k]
            rows = np.flatnonzero(flags[:, k])
            # with_columns, not select: a literal value (an absent column) broadcasts to every
            # row before the gather (select would keep one row).
            v = f"{self.hidden}v"
            shown = staged.with_columns(value.alias(v))[v].gather(rows)
            if shown.dtype.is_temporal():  # dates beyond year 9999 have no Python date
                shown = shown.cast(pl.String)
            for i, v in zip(rows.tolist(), shown.to_list(), strict=True):
                pid = None if ids is None else ids[i]
                problems.append(Problem(name, i + 1, pid, column, v, expected))
        problems.sort(key=lambda p: p.row or 0)
        return frame, problems


def _text(df: pl.DataFrame, column: str) -> pl.Expr:
    """The column as stripped strings, with empty strings as null; all-null when absent."""
    if column not in df.columns:
        return pl.lit(None, dtype=pl.String)
    s = pl.col(column).cast(pl.String).str.strip_chars()
    return pl.when(s == "").then(None).otherwise(s)


_NO = pl.lit(False)


def _number(df: pl.DataFrame, column: str) -> tuple[pl.Expr, pl.Expr]:
    """(parsed float column, mask of present-but-unparsable or non-finite cells)."""
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


def _outside(x: pl.Expr, low: Any, high: Any) -> pl.Expr:
    """Present and outside [low, high] (never null)."""
    outside: pl.Expr = (x < low) | (x > high)
    return x.is_not_null() & outside


def _validate(
    df: pl.DataFrame, name: str, valuation_date: dt.date | None = None
) -> tuple[pl.DataFrame, list[Problem]]:
    missing = [c for c in REQUIRED if c not in df.columns]
    if missing:
        return pl.DataFrame(schema=CORE_SCHEMA), [
            Problem(name, None, None, c, None,
                    f"a {c!r} column (required columns: {', '.join(REQUIRED)})")
            for c in missing
        ]  # fmt: skip
    plain = plain_rows.validate(df, valuation_date)
    if plain is not None:
        return plain, []
    return _checked(df, name, valuation_date)


def _checked(
    df: pl.DataFrame, name: str, valuation_date: dt.date | None
) -> tuple[pl.DataFrame, list[Problem]]:
    """Every check of every row in polars (every required column present): the frame of the
    valid rows and the problems of the others."""
    plan = _plan(tuple(df.schema.items()), valuation_date, valuation_date or dt.date.today())
    frame, problems = plan.run(df, name)
    if problems:
        bad_rows = sorted({p.row for p in problems if p.row is not None})
        frame = frame.filter(~pl.col("row").is_in(bad_rows))
    return frame, problems


@functools.lru_cache(maxsize=64)
def _plan(
    schema: tuple[tuple[str, pl.DataType], ...], valuation_date: dt.date | None, anchor: dt.date
) -> _Checker:
    """The checks and computed columns of a frame with ``schema`` (every required column
    present), maturities anchored on ``anchor`` (the valuation date, or today)."""
    df = pl.DataFrame(schema=dict(schema))
    chk = _Checker(df)
    (pid,) = chk.stage(pid=_text(df, "position_id"))
    chk.flag(pid.is_null(), "position_id", "a non-empty position id", pid)
    chk.flag(
        # Invisible format characters too: "\ufeffA" (a byte-order mark pasted into a row)
        # and "A" look the same in every report, yet are two positions.
        pid.is_not_null() & pid.str.contains(r"[\p{Cc}\p{Cf}]"),
        "position_id",
        "a position id without control or invisible characters (tabs, line breaks, "
        "byte-order marks, ...)",
        pid,
    )
    chk.flag(
        # Likewise "JGB 10" with a no-break space (pasted from a web page or a spreadsheet)
        # and with a space: Session.remove("JGB 10") would not find the first.
        pid.is_not_null() & pid.str.contains(r"[\p{Z}&&[^ ]]"),
        "position_id",
        "a position id whose spaces are plain spaces (not no-break, ideographic or other "
        "Unicode spaces)",
        pid,
    )
    dup = pid.is_not_null() & pid.is_duplicated() & ~pid.is_first_distinct()
    chk.flag(dup, "position_id", "a unique position id (it appears on an earlier row)", pid)

    instrument, currency = chk.stage(
        instrument=_text(df, "instrument").str.to_lowercase(),
        currency=_text(df, "currency").str.to_uppercase(),
    )
    chk.flag(
        instrument.is_null(),
        "instrument",
        "an instrument: one of " + ", ".join(INSTRUMENTS) + " (it is missing)",
        instrument,
    )
    chk.flag(
        instrument.is_not_null() & ~instrument.is_in(INSTRUMENTS),
        "instrument",
        "one of " + ", ".join(INSTRUMENTS),
        _text(df, "instrument"),
    )
    is_bond, is_frn, is_swap, is_future = chk.stage(
        is_bond=(instrument == "bond").fill_null(False),
        is_frn=(instrument == "frn").fill_null(False),
        is_swap=(instrument == "swap").fill_null(False),
        is_future=(instrument == "future").fill_null(False),
    )
    # Which instruments read which columns: the coupon (a future's is its CTD's, a swap's its
    # fixed rate), the maturity, the schedule conventions, the spread and the clean price.
    # Staged, as every mask a check reads: polars plans a query in time that grows faster than
    # the depth of its expressions.
    fixed_coupon, has_maturity, has_schedule, takes_spread, takes_price, floating = chk.stage(
        fixed_coupon=is_bond | is_future,
        has_maturity=is_bond | is_frn | is_swap | is_future,
        has_schedule=is_bond | is_frn | is_swap,
        takes_spread=is_bond | is_frn | is_future,
        takes_price=is_bond | is_future,
        floating=is_frn | is_swap,
    )

    chk.flag(
        currency.is_null(),
        "currency",
        "an ISO 4217 currency code, e.g. USD (it is missing)",
        currency,
    )
    chk.flag(
        currency.is_not_null() & ~currency.is_in(sorted(ISO_4217)),
        "currency",
        "an ISO 4217 currency code, e.g. USD",
        _text(df, "currency"),
    )
    chk.flag(
        (instrument == "gold").fill_null(False) & currency.is_not_null() & (currency != "USD"),
        "currency",
        "USD for gold (gold positions are priced in USD per troy ounce)",
    )

    notional, bad = chk.stage(**_named("notional", _number(df, "notional")))
    chk.flag(bad, "notional", "a number (face amount, ounces or currency amount; negative = short)")
    chk.flag(notional.is_null() & ~bad, "notional", "a notional (it is missing)")
    chk.flag(
        _outside(notional, -MAX_ABS_NOTIONAL, MAX_ABS_NOTIONAL),
        "notional",
        f"a notional between {-MAX_ABS_NOTIONAL:g} and {MAX_ABS_NOTIONAL:g} (face amount, "
        "ounces or currency amount; negative = short)",
    )

    coupon, bad = chk.stage(**_named("coupon", _number(df, "coupon")))
    chk.flag((fixed_coupon | is_swap) & bad, "coupon", "a coupon in percent per annum, e.g. 4.25")
    chk.flag(is_bond & coupon.is_null() & ~bad, "coupon", "a coupon for a bond (0 for zero-coupon)")
    chk.flag(is_future & coupon.is_null() & ~bad, "coupon",
             "the coupon of the cheapest-to-deliver bond (percent per annum)")  # fmt: skip
    chk.flag(is_swap & coupon.is_null() & ~bad, "coupon",
             "the swap's fixed rate in percent per annum")  # fmt: skip
    chk.flag(
        fixed_coupon & coupon.is_not_null() & ((coupon < 0) | (coupon >= MAX_COUPON)),
        "coupon",
        "a coupon in percent per annum between 0 and 100",
    )
    chk.flag(
        is_swap & _outside(coupon, *RATE_PCT_RANGE),
        "coupon",
        f"a fixed rate in percent per annum between {RATE_PCT_RANGE[0]:g} and "
        f"{RATE_PCT_RANGE[1]:g}",
    )

    latest = years_after(anchor, MATURITY_HORIZON_YEARS)
    after = f"the valuation date {anchor.isoformat()}" if valuation_date else "today"
    maturity, bad = chk.stage(**_named("maturity", _date(df, "maturity")))
    chk.flag(has_maturity & bad, "maturity", "an ISO date YYYY-MM-DD", _text(df, "maturity"))
    chk.flag(is_bond & maturity.is_null() & ~bad, "maturity", "a maturity date for a bond")
    chk.flag(floating & maturity.is_null() & ~bad, "maturity",
             "a maturity date for an FRN or swap")  # fmt: skip
    chk.flag(is_future & maturity.is_null() & ~bad, "maturity",
             "the maturity date of the cheapest-to-deliver bond")  # fmt: skip
    chk.flag(
        has_maturity & _outside(maturity, EARLIEST_MATURITY, latest),
        "maturity",
        f"a maturity date from {EARLIEST_MATURITY.isoformat()} to {latest.isoformat()} "
        f"({MATURITY_HORIZON_YEARS} years after {after})",
    )

    frequency, day_count, convention, dc = _conventions(df, chk, has_schedule)
    market = _market_conventions(df, chk, is_bond, floating, convention, frequency, maturity,
                                 valuation_date)  # fmt: skip
    for column in BOND_ONLY:
        # Read by nothing on these rows: a settlement lag given for a swap would be unused.
        chk.flag(
            (floating | is_future) & _text(df, column).is_not_null(),
            column,
            "an empty cell (FRNs, swaps and futures' cheapest-to-deliver bonds are valued on "
            "the valuation date, with no ex-dividend period, on regular schedules)",
        )
    for column in SCHEDULE_ONLY:
        chk.flag(
            is_future & _text(df, column).is_not_null(),
            column,
            "an empty cell (a future's cheapest-to-deliver bond runs on an unadjusted schedule "
            "with no calendar)",
        )

    spread, bad = chk.stage(**_named("spread_bp", _number(df, "spread_bp")))
    low, high = SPREAD_BP_RANGE
    chk.flag(takes_spread & bad, "spread_bp", "a spread over the curve in basis points")
    chk.flag(
        takes_spread & _outside(spread, low, high),
        "spread_bp",
        f"a spread over the curve between {low:g} and {high:g} basis points",
    )
    chk.flag(is_swap & (spread.is_not_null() | bad), "spread_bp",
             "an empty cell (a swap is priced on its currency's curve, without a spread)")
    price, bad = chk.stage(**_named("clean_price", _number(df, "clean_price")))
    chk.flag(takes_price & bad, "clean_price", "a clean price per 100 face")
    chk.flag(
        takes_price & price.is_not_null() & (price <= 0),
        "clean_price",
        "a positive clean price per 100 face",
    )
    chk.flag(
        takes_price & price.is_not_null() & (price >= MAX_CLEAN_PRICE),
        "clean_price",
        f"a clean price per 100 face below {MAX_CLEAN_PRICE:g}",
    )
    chk.flag(
        takes_price & spread.is_not_null() & price.is_not_null(),
        "clean_price",
        "either spread_bp or clean_price, not both",
    )
    chk.flag(floating & (price.is_not_null() | bad), "clean_price",
             "an empty cell (FRNs take a discount spread_bp, swaps none)")  # fmt: skip
    extra = _instrument_columns(df, chk, (floating, is_swap, is_future), (currency, convention, dc),
                                coupon, maturity, frequency, day_count, anchor)  # fmt: skip

    def only(mask: pl.Expr, e: pl.Expr) -> pl.Expr:
        return pl.when(mask).then(e).otherwise(None)

    columns = {
        "row": pl.int_range(1, pl.len() + 1, dtype=pl.Int64),
        "position_id": pid,
        "instrument": instrument,
        "currency": currency,
        "notional": notional,
        "coupon": only(fixed_coupon | is_swap, coupon),
        "maturity": only(has_maturity, maturity),
        "frequency": only(has_schedule | is_future, extra.pop("frequency")),
        "day_count": only(has_schedule | is_future, extra.pop("day_count")),
        "spread_bp": only(takes_spread, spread),
        "clean_price": only(takes_price, price),
        **extra,
        **{k: only(is_bond | floating if k in SCHEDULE_ONLY else is_bond, e)
           for k, e in market.items()},
    }
    assert columns.keys() == CORE_SCHEMA.keys(), sorted(columns.keys() ^ CORE_SCHEMA.keys())
    columns = {k: columns[k] for k in CORE_SCHEMA}  # the frame's columns in the model's order
    # Staged, so that the net below tests the computed columns rather than evaluating their
    # expressions again.
    columns = dict(zip(columns, chk.stage(**{f"out_{k}": e.cast(CORE_SCHEMA[k])
                                              for k, e in columns.items()}), strict=True))
    # The net under the checks above: a row they all pass must have every value the engine
    # needs for its instrument.
    for c, needed in [(c, pl.lit(True)) for c in REQUIRED] + [
        (c, is_bond | is_future) for c in ("coupon", "maturity", "frequency", "day_count")
    ] + [(c, floating) for c in ("maturity", "frequency", "day_count",
                                          "current_coupon")] + [
        (c, is_swap) for c in ("coupon", "side", "float_frequency", "float_day_count")
    ] + [(c, is_future) for c in ("contract", "futures_price", "conversion_factor",
                                  "delivery_date")] + [
        (c, is_bond) for c in ("settlement_days", "ex_dividend_days")
    ] + [(c, is_bond | floating) for c in SCHEDULE_ONLY]:  # fmt: skip
        chk.flag(
            needed & columns[c].is_null(),
            c,
            "a value (it is missing or unreadable)",
            fallback=True,
        )
    columns = {k: e.alias(k) for k, e in columns.items()}
    columns |= {c: pl.col(c) for c in df.columns if c not in KNOWN}  # attributes, as they are
    chk.finish(columns)
    return chk


def _instrument_columns(df: pl.DataFrame, chk: _Checker, kinds: tuple[pl.Expr, pl.Expr, pl.Expr],
                        given: tuple[pl.Expr, pl.Expr, pl.Expr], coupon: pl.Expr,
                        maturity: pl.Expr, frequency: pl.Expr, day_count: pl.Expr,
                        anchor: dt.date) -> dict[str, pl.Expr]:  # fmt: skip
    """Checks and columns of FRNs, swaps and bond futures (README, Positions file); ``kinds``
    are the masks of the floating-rate rows (FRNs and swaps), swaps and futures, ``given``
    the staged upper-case currency, convention and day count cells. The ``frequency`` and
    ``day_count`` returned are the schedule's (a future's from its contract's convention)."""
    floating, is_swap, is_future = kinds
    ccy, given_c, given_d = given
    out: dict[str, pl.Expr] = {}

    margin, bad = chk.stage(**_named("margin_bp", _number(df, "margin_bp")))
    low, high = SPREAD_BP_RANGE
    chk.flag(floating & bad, "margin_bp", "a quoted margin over the floating rate in basis points")
    chk.flag(floating & _outside(margin, low, high), "margin_bp",
             f"a quoted margin between {low:g} and {high:g} basis points")  # fmt: skip
    out["margin_bp"] = pl.when(floating).then(margin.fill_null(0.0)).otherwise(None)

    current, bad = chk.stage(**_named("current_coupon", _number(df, "current_coupon")))
    lo, hi = RATE_PCT_RANGE
    chk.flag(floating & bad, "current_coupon",
             "the current period's coupon in percent per annum (margin included)")
    chk.flag(floating & current.is_null() & ~bad, "current_coupon",
             "the current period's fixed coupon in percent per annum (margin included)")
    chk.flag(floating & _outside(current, lo, hi), "current_coupon",
             f"a current coupon in percent per annum between {lo:g} and {hi:g}")
    out["current_coupon"] = pl.when(floating).then(current).otherwise(None)

    (side,) = chk.stage(side=_text(df, "side").str.to_lowercase())
    chk.flag(is_swap & side.is_null(), "side", "a side: payer (pays fixed) or receiver "
             "(receives fixed)", side)
    chk.flag(is_swap & side.is_not_null() & ~side.is_in(SIDES), "side",
             "payer or receiver", _text(df, "side"))
    out["side"] = pl.when(is_swap).then(side).otherwise(None)

    ffreq, fbad = _number(df, "float_frequency")
    ffreq, fbad, fdc = chk.stage(ffreq=ffreq, fbad=fbad,
                                 fdc=_text(df, "float_day_count").str.to_uppercase())
    (fint,) = chk.stage(fint=ffreq.cast(pl.Int64, strict=False))
    chk.flag(is_swap & (fbad | (ffreq.is_not_null() & (~fint.is_in(FREQUENCIES)
                                                     | (ffreq != fint.cast(pl.Float64))))),
             "float_frequency", "a floating-leg frequency of 1, 2, 4 or 12 per year")
    chk.flag(is_swap & ffreq.is_null() & ~fbad, "float_frequency",
             "the floating leg's payments per year (1, 2, 4 or 12)")
    chk.flag(is_swap & fdc.is_null(), "float_day_count",
             "the floating leg's day count: one of " + DAY_COUNT_CHOICES)
    chk.flag(is_swap & fdc.is_not_null() & ~fdc.is_in(list(DAY_COUNTS)), "float_day_count",
             "one of " + DAY_COUNT_CHOICES, _text(df, "float_day_count"))
    out["float_frequency"] = pl.when(is_swap).then(fint).otherwise(None)
    out["float_day_count"] = pl.when(is_swap).then(fdc).otherwise(None)

    (contract,) = chk.stage(contract=_text(df, "contract").str.to_uppercase())
    names = ", ".join(CONTRACTS)
    chk.flag(is_future & contract.is_null(), "contract", f"a futures contract: one of {names}",
             contract)
    chk.flag(is_future & contract.is_not_null() & ~contract.is_in(list(CONTRACTS)), "contract",
             f"one of {names}", _text(df, "contract"))
    want, conv, given_f = chk.stage(
        want=contract.replace_strict({k: c.currency for k, c in CONTRACTS.items()},
                                     default=None, return_dtype=pl.String),
        conv=contract.replace_strict({k: c.convention for k, c in CONTRACTS.items()},
                                     default=None, return_dtype=pl.String),
        given_f=_text(df, "frequency").cast(pl.Float64, strict=False),
    )
    chk.flag(is_future & want.is_not_null() & ccy.is_not_null() & (ccy != want), "currency",
             "the contract's currency (JGB10: JPY, TU/FV/TY/US: USD, FGBL: EUR)")
    chk.flag(is_future & given_c.is_not_null() & conv.is_not_null() & (given_c != conv),
             "convention", "the contract's bond convention or an empty cell",
             _text(df, "convention"))
    preset_f, preset_d = chk.stage(
        preset_f=conv.replace_strict({k: v.frequency for k, v in PRESETS.items()},
                                     default=None, return_dtype=pl.Int64),
        preset_d=conv.replace_strict({k: v.day_count for k, v in PRESETS.items()},
                                     default=None, return_dtype=pl.String),
    )
    # A future's CTD follows its contract's convention: frequency and day count empty or its.
    chk.flag(is_future & _text(df, "frequency").is_not_null() & preset_f.is_not_null()
             & (given_f.is_null() | (given_f != preset_f.cast(pl.Float64))), "frequency",
             "an empty cell or the contract's convention's frequency")
    chk.flag(is_future & given_d.is_not_null() & preset_d.is_not_null() & (given_d != preset_d),
             "day_count", "an empty cell or the contract's convention's day count",
             _text(df, "day_count"))
    out["frequency"] = pl.when(is_future).then(preset_f).otherwise(frequency)
    out["day_count"] = pl.when(is_future).then(preset_d).otherwise(day_count)

    price, bad = chk.stage(**_named("futures_price", _number(df, "futures_price")))
    chk.flag(is_future & bad, "futures_price", "a futures price per 100, e.g. 132.45")
    chk.flag(is_future & price.is_null() & ~bad, "futures_price",
             "the futures price per 100 (it is missing)")
    chk.flag(is_future & price.is_not_null() & ((price <= 0) | (price >= MAX_FUTURES_PRICE)),
             "futures_price", f"a futures price per 100 above 0 and below {MAX_FUTURES_PRICE:g}")
    out["futures_price"] = pl.when(is_future).then(price).otherwise(None)

    delivery, bad = chk.stage(**_named("delivery_date", _date(df, "delivery_date")))
    chk.flag(is_future & bad, "delivery_date", "an ISO date YYYY-MM-DD",
             _text(df, "delivery_date"))
    chk.flag(is_future & delivery.is_null() & ~bad, "delivery_date",
             "the contract's delivery date (it is missing)")
    chk.flag(is_future & _outside(delivery, EARLIEST_MATURITY, years_after(anchor, 2)),
             "delivery_date", f"a delivery date from {EARLIEST_MATURITY.isoformat()} to "
             f"{years_after(anchor, 2).isoformat()} (two years ahead)")
    chk.flag(is_future & delivery.is_not_null() & maturity.is_not_null()
             & (delivery >= maturity), "delivery_date",
             "a delivery date before the cheapest-to-deliver bond's maturity")
    out["delivery_date"] = pl.when(is_future).then(delivery).otherwise(None)

    factor, bad = chk.stage(**_named("conversion_factor", _number(df, "conversion_factor")))
    chk.flag(is_future & bad, "conversion_factor", "a conversion factor, e.g. 0.6962")
    chk.flag(is_future & factor.is_not_null() & ((factor <= 0)
                                                 | (factor >= MAX_CONVERSION_FACTOR)),
             "conversion_factor",
             f"a conversion factor above 0 and below {MAX_CONVERSION_FACTOR:g}")
    # Left empty: the exchange's formula for the CTD (portfolios.futures).
    known = contract.is_in(list(CONTRACTS)) & coupon.is_not_null() & maturity.is_not_null() \
        & delivery.is_not_null() & (delivery < maturity)
    formula = pl.struct(c=contract, cp=coupon, m=maturity, d=delivery).map_elements(
        _formula_factor, return_dtype=pl.Float64, skip_nulls=False
    )
    computed = pl.when(is_future & factor.is_null() & known.fill_null(False)).then(formula)
    out["conversion_factor"] = pl.when(is_future).then(
        pl.coalesce(factor, computed.otherwise(None))).otherwise(None)
    out["contract"] = pl.when(is_future).then(contract).otherwise(None)

    # Columns another instrument reads, given on the wrong row kind, are ignored (like a
    # bond's coupon on a gold row), not flagged.
    return out


def _formula_factor(r: dict[str, Any]) -> float | None:
    """The exchange's conversion factor of a row's CTD (None where it cannot be computed)."""
    c, cp, m, d = r["c"], r["cp"], r["m"], r["d"]
    if c not in CONTRACTS or cp is None or m is None or d is None or not d < m:
        return None
    if not (0 <= cp < MAX_COUPON) or m.year > d.year + 200:
        return None
    return conversion_factor(c, cp, m, d)


def _conventions(
    df: pl.DataFrame, chk: _Checker, is_bond: pl.Expr
) -> tuple[pl.Expr, pl.Expr, pl.Expr, pl.Expr]:
    """Resolve each scheduled instrument's (frequency, day count) from a preset or the
    explicit columns (``is_bond``: bonds, FRNs and swaps); also return the (upper-case)
    convention and day count cells."""
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
            | (
                freq_raw.is_not_null()
                & (~freq_int.is_in(FREQUENCIES) | (freq_raw != freq_int.cast(pl.Float64)))
            )
        ),
        "frequency",
        "a coupon frequency of 1, 2, 4 or 12 per year",
    )
    chk.flag(
        is_bond & dc.is_not_null() & ~dc.is_in(list(DAY_COUNTS)),
        "day_count",
        "one of " + DAY_COUNT_CHOICES,
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
    clash_f = (
        has_conv & preset_freq.is_not_null() & freq_int.is_not_null() & (freq_int != preset_freq)
    )
    chk.flag(is_bond & clash_f, "frequency", "the convention's frequency or an empty cell")
    def code(names: pl.Expr) -> pl.Expr:
        return names.replace_strict(DAY_COUNTS, default=None, return_dtype=pl.Int64)

    clash_d = has_conv & dc.is_not_null() & preset_dc.is_not_null() & (code(dc) != code(preset_dc))
    chk.flag(
        is_bond & clash_d,
        "day_count",
        "the convention's day count or an empty cell",
        _text(df, "day_count"),
    )
    frequency, day_count = chk.stage(
        frequency=pl.when(has_conv).then(preset_freq).otherwise(freq_int),
        day_count=pl.when(has_conv).then(preset_dc).otherwise(dc),
    )
    return frequency, day_count, convention, dc


def _whole_days(
    df: pl.DataFrame, chk: _Checker, is_bond: pl.Expr, column: str, high: int, what: str
) -> pl.Expr:
    """A column of business-day counts 0 ... ``high`` (null where absent)."""
    raw, bad = _number(df, column)
    raw, bad, whole = chk.stage(
        **{f"{column}_raw": raw, f"{column}_bad": bad},
        **{f"{column}_int": raw.cast(pl.Int64, strict=False)},
    )
    chk.flag(
        is_bond
        & (
            bad
            | (
                raw.is_not_null()
                & (whole.is_null() | (raw != whole.cast(pl.Float64)) | (whole < 0) | (whole > high))
            )
        ),
        column,
        f"a whole number of business days from 0 to {high} ({what})",
    )
    return whole


def _names(df: pl.DataFrame, column: str) -> pl.Expr:
    """Upper-case names with runs of spaces, underscores and hyphens as one space."""
    return _text(df, column).str.to_uppercase().str.replace_all(r"[\s_\-]+", " ")


#: Columns of a bond's schedule and settlement that FRNs, swaps and futures do not take.
BOND_ONLY = ("settlement_days", "ex_dividend_days", "issue_date", "first_coupon_date")
#: Columns of a schedule's calendar that bonds, FRNs and swaps take and futures do not.
SCHEDULE_ONLY = ("calendar", "business_day_convention")


def _market_conventions(
    df: pl.DataFrame,
    chk: _Checker,
    is_bond: pl.Expr,
    floating: pl.Expr,
    convention: pl.Expr,
    frequency: pl.Expr,
    maturity: pl.Expr,
    valuation_date: dt.date | None,
) -> dict[str, pl.Expr]:
    """Each bond's issue and first coupon dates, settlement and ex-dividend days, calendar and
    business-day convention: the explicit column where given, else the preset's value, else
    none (T+0, no calendar, unadjusted, no ex-dividend period). FRNs and swaps take a
    calendar and convention too, but no preset's: the ones given, Modified Following when
    only a calendar is given (ISDA's default for swaps), else none."""

    def preset(attribute: str, dtype: pl.DataType) -> pl.Expr:
        values = {k: getattr(v, attribute) for k, v in PRESETS.items()}
        return convention.replace_strict(values, default=None, return_dtype=dtype)

    lag = _whole_days(df, chk, is_bond, "settlement_days", MAX_SETTLEMENT_DAYS,
                      "from the valuation date to settlement")  # fmt: skip
    ex = _whole_days(df, chk, is_bond, "ex_dividend_days", MAX_EX_DIVIDEND_DAYS,
                     "before a coupon's payment date; 0 for none")  # fmt: skip
    calendar, rolling = chk.stage(
        calendar_name=_names(df, "calendar"), rolling_name=_names(df, "business_day_convention")
    )
    scheduled = is_bond | floating
    chk.flag(
        scheduled & calendar.is_not_null() & ~calendar.is_in(list(CALENDARS)),
        "calendar",
        "one of " + ", ".join(CALENDARS),
        _text(df, "calendar"),
    )
    chk.flag(
        scheduled & rolling.is_not_null() & ~rolling.is_in(list(BUSINESS_DAY_CONVENTIONS)),
        "business_day_convention",
        "one of " + ", ".join(BUSINESS_DAY_CONVENTIONS),
        _text(df, "business_day_convention"),
    )

    issue, issue_bad, first, first_bad = chk.stage(
        **_named("issue", _date(df, "issue_date")),
        **_named("first", _date(df, "first_coupon_date")),
    )
    chk.flag(is_bond & issue_bad, "issue_date", "an ISO date YYYY-MM-DD", _text(df, "issue_date"))
    chk.flag(
        is_bond & _outside(issue, EARLIEST_MATURITY, dt.date(2399, 12, 31)),
        "issue_date",
        f"an issue date from {EARLIEST_MATURITY.isoformat()} to 2399-12-31",
    )
    chk.flag(
        is_bond & issue.is_not_null() & maturity.is_not_null() & (issue >= maturity),
        "issue_date",
        "an issue date before the maturity date",
    )
    if valuation_date is not None:
        chk.flag(
            is_bond & issue.is_not_null() & (issue > valuation_date),
            "issue_date",
            f"an issue date on or before the valuation date {valuation_date.isoformat()} "
            "(bonds not issued yet are not modelled)",
        )
    chk.flag(
        is_bond & first_bad, "first_coupon_date", "an ISO date YYYY-MM-DD",
        _text(df, "first_coupon_date"),
    )  # fmt: skip
    chk.flag(
        is_bond & first.is_not_null() & issue.is_null() & ~issue_bad,
        "first_coupon_date",
        "a first coupon date only with an issue_date (the first coupon period starts on it)",
    )
    chk.flag(
        is_bond & first.is_not_null() & issue.is_not_null() & (first <= issue),
        "first_coupon_date",
        "a first coupon date after the issue date",
    )
    chk.flag(
        is_bond & first.is_not_null() & maturity.is_not_null() & (first > maturity),
        "first_coupon_date",
        "a first coupon date on or before the maturity date",
    )
    # On the schedule: a whole number of coupon periods before maturity, on the maturity's
    # day of the month (clamped to the month's length; the month's end for a month-end
    # maturity), as the engine rolls it back.
    months_apart = (maturity.dt.year() * 12 + maturity.dt.month()) - (
        first.dt.year() * 12 + first.dt.month()
    )
    first_month_end = first.dt.month_end().dt.day()
    expected_day = (
        pl.when(maturity.dt.day() == maturity.dt.month_end().dt.day())
        .then(first_month_end)
        .otherwise(pl.min_horizontal(maturity.dt.day(), first_month_end))
    )
    step = pl.lit(12, dtype=pl.Int64) // frequency
    chk.flag(
        is_bond
        & first.is_not_null()
        & maturity.is_not_null()
        & frequency.is_in(FREQUENCIES)
        & (first <= maturity)
        & (((months_apart % step) != 0) | (first.dt.day() != expected_day)),
        "first_coupon_date",
        "a coupon date of the bond's schedule: the maturity date rolled back by whole coupon "
        "periods (its day of the month, or the month's last day when the maturity is one)",
    )

    def bond(k: str, given: pl.Expr, dtype: pl.DataType) -> pl.Expr:
        return pl.coalesce(given, preset(k, dtype), pl.lit(MARKET_DEFAULTS[k], dtype=dtype))

    # FRNs and swaps take no bond preset's calendar: theirs is the one given, or none.
    on_calendar = calendar.is_not_null() & (calendar != "NONE")
    leg_rolling = pl.coalesce(rolling, pl.when(on_calendar).then(pl.lit("MODIFIED FOLLOWING")),
                              pl.lit(MARKET_DEFAULTS["business_day_convention"]))  # fmt: skip
    return {
        "issue_date": issue,
        "first_coupon_date": first,
        "settlement_days": bond("settlement_days", lag, pl.Int64()),
        "ex_dividend_days": bond("ex_dividend_days", ex, pl.Int64()),
        "calendar": pl.when(floating)
        .then(pl.coalesce(calendar, pl.lit(MARKET_DEFAULTS["calendar"])))
        .otherwise(bond("calendar", calendar, pl.String())),
        "business_day_convention": pl.when(floating)
        .then(leg_rolling)
        .otherwise(bond("business_day_convention", rolling, pl.String())),
    }
