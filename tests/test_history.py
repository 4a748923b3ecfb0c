"""Market history: the loader (every problem named by file, row, column, value and what was
expected; only HistoryError escapes), the bundled history, and the missing-observation rule."""

from __future__ import annotations

import datetime as dt
import io
from pathlib import Path

import numpy as np
import pandas as pd
import polars as pl
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

import shocks
from shocks import History, HistoryError
from tests.strategies import examples

# --------------------------------------------------------------------------- loading


def write(tmp_path: Path, text: str, name: str = "hist.csv") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


GOOD = (
    "date,USD.10Y,jpy.10y,FX.JPY,xau,JPY.2Y\n"
    "2020-01-02,1.88,-0.02,0.00920,1528.1,-0.13\n"
    "2020-01-03,1.80,,0.00925,1549.2,-0.14\n"
    "2020-01-06,1.81,-0.04,,1566.2,\n"
)


def test_csv_parquet_pandas_polars_give_the_same_history(tmp_path: Path) -> None:
    h = shocks.load_history(write(tmp_path, GOOD))
    # canonical names, rates by currency and tenor, then FX, then gold
    assert h.factors == ("JPY.2Y", "JPY.10Y", "USD.10Y", "FX.JPY", "XAU")
    assert h.dates.tolist() == [dt.date(2020, 1, 2), dt.date(2020, 1, 3), dt.date(2020, 1, 6)]
    np.testing.assert_array_equal(h.values[:, 1], [-0.02, np.nan, -0.04])
    assert h.source == str(tmp_path / "hist.csv")
    frame = h.frame()
    assert frame.columns == ["date", *h.factors]
    frame.write_parquet(tmp_path / "hist.parquet")
    raw = pl.read_csv(io.StringIO(GOOD), try_parse_dates=True)
    for src in (tmp_path / "hist.parquet", raw, raw.to_pandas(), frame,
                raw.to_pandas().set_index("date")):
        other = History.load(src)
        assert other.factors == h.factors
        np.testing.assert_array_equal(other.dates, h.dates)
        np.testing.assert_array_equal(other.values, h.values)


def test_bom_blank_cells_and_rows_without_values(tmp_path: Path) -> None:
    text = "\ufeffDate , FX.EUR\n2020-01-02, 1.12 \n2020-01-03,\n2020-01-06,  \n2020-01-07,1.11\n"
    h = shocks.load_history(write(tmp_path, text))
    assert h.factors == ("FX.EUR",)
    # a row with no value adds no date to the calendar
    assert h.dates.tolist() == [dt.date(2020, 1, 2), dt.date(2020, 1, 7)]


def test_paths_are_not_patterns(tmp_path: Path) -> None:
    path = write(tmp_path, GOOD, "h[1]*.csv")
    assert len(shocks.load_history(path)) == 3
    with pytest.raises(HistoryError, match=r"cannot read the history file"):
        shocks.load_history(tmp_path / "*.csv")


# (file text, row, column, value shown, a fragment of the expectation); row None = column
BAD_CELLS = [
    ("date,JPY.10Y\n2020-01-02,abc\n", 1, "JPY.10Y", "'abc'", "a yield in percent between -50"),
    ("date,JPY.10Y\n2020-01-02,1\n2020-01-03,1.2%\n", 2, "JPY.10Y", "'1.2%'", "yield in percent"),
    ("date,JPY.10Y\n2020-01-02,nan\n", 1, "JPY.10Y", "'nan'", "yield in percent"),
    ("date,USD.2Y\n2020-01-02,inf\n", 1, "USD.2Y", "'inf'", "yield in percent"),
    ("date,USD.2Y\n2020-01-02,150\n", 1, "USD.2Y", "'150'", "between -50 and 100"),
    ("date,USD.2Y\n2020-01-02,-50.5\n", 1, "USD.2Y", "'-50.5'", "between -50 and 100"),
    ("date,FX.JPY\n2020-01-02,0\n", 1, "FX.JPY", "'0'", "a positive value of one JPY in USD"),
    ("date,FX.EUR\n2020-01-02,-1.1\n", 1, "FX.EUR", "'-1.1'", "positive value of one EUR in USD"),
    ("date,XAU\n2020-01-02,-5\n", 1, "XAU", "'-5'", "a positive gold price in USD per troy"),
    ("date,XAU\n2020-01-02,2e6\n", 1, "XAU", "'2e6'", "at most 1,000,000"),
    ("date,FX.IDR\n2020-01-02,16000\n", 1, "FX.IDR", "'16000'", "at most 10,000 (e.g. 0.0067"),
    ("date,XAU\n2020-01-02,1500\n2020/01/03,1510\n", 2, "date", "'2020/01/03'", "YYYY-MM-DD"),
    ("date,XAU\n2020-01-02,1500\n2020-1-3,1510\n", 2, "date", "'2020-1-3'", "YYYY-MM-DD"),
    ("date,XAU\n2020-02-30,1500\n", 1, "date", "'2020-02-30'", "a date YYYY-MM-DD"),
    ("date,XAU\n,1500\n", 1, "date", None, "a date YYYY-MM-DD (it is missing)"),
    ("date,XAU\n2020-01-03,1500\n2020-01-02,1510\n", 2, "date", "'2020-01-02'",
     "dates in increasing order (an earlier row has 2020-01-03)"),
    ("date,XAU\n2020-01-02,1500\n2020-01-03,1510\n2020-01-02,1520\n", 3, "date", "'2020-01-02'",
     "each date once (it is also on row 1)"),
    ("date,JPY.10X\n2020-01-02,1\n", None, "JPY.10X", None, "a factor name: CCY.TENOR"),
    ("date,USDJPY\n2020-01-02,150\n", None, "USDJPY", None, "FX.CCY (the value of one unit"),
    ("date,FX.USD\n2020-01-02,1\n", None, "FX.USD", None, "USD itself has none"),
    ("date,FX.XAU\n2020-01-02,1\n", None, "FX.XAU", None, "gold is the XAU column"),
    ("date,ALL.10Y\n2020-01-02,1\n", None, "ALL.10Y", None, "ALL stands for every curve"),
    ("date,JPY.10\n2020-01-02,1\n", None, "JPY.10", None, "a tenor label like 10Y"),
    ("date,JPY.10Y,jpy.10y\n2020-01-02,1,1\n", None, "jpy.10y", None,
     "each factor once (JPY.10Y is also column 'JPY.10Y')"),
    ("date,JPY.1Y,JPY.12M\n2020-01-02,1,1\n", None, "JPY.12M", None, "each factor once"),
    ("date,XAU,XAU\n2020-01-02,1,1\n", None, "XAU", None, "each factor once"),
    ("day,XAU\n2020-01-02,1\n", None, "date", None, "a 'date' column"),
    ("date,Date,XAU\n2020-01-02,2020-01-02,1\n", None, "Date", None, "one 'date' column"),
    ("date,,XAU\n2020-01-02,1,1\n", None, "", None, "a column name"),
    ("date\n2020-01-02\n", None, "(header)", None, "one column per factor besides 'date'"),
]


@pytest.mark.parametrize(("text", "row", "column", "value", "fragment"), BAD_CELLS,
                         ids=[f"{c}:{f[:24]}" for _, _, c, _, f in BAD_CELLS])
def test_bad_cells_name_file_row_column_value_and_expectation(
    tmp_path: Path, text: str, row: int | None, column: str, value: str | None, fragment: str
) -> None:
    path = write(tmp_path, text)
    with pytest.raises(HistoryError) as info:
        shocks.load_history(path)
    where = f"{path}: row {row}" if row is not None else f"{path}"
    got = f"got {value}; " if value is not None else ""
    line = f"{where}, column {column!r}: {got}expected "
    assert line in str(info.value), str(info.value)
    assert fragment in str(info.value)
    assert any(p.row == row and p.column == column for p in info.value.problems)


@pytest.mark.parametrize(("content", "fragment"), [
    (b"", "the file is empty; expected a header line and one row per date"),
    (b"  \n\n", "the file is empty"),
    (b"date,XAU\n", "no data rows"),
    (b"date,XAU\n2020-01-02,\n2020-01-03,\n", "no observations; every factor cell is empty"),
    (b"date,XAU\n2020-01-02,1500\n2020-01-03,1510,7\n",
     "cannot be read as CSV: row 2 has 3 fields; the header has 2"),
    # A row short of a cell would otherwise shift its values under the wrong factors.
    (b"date,JPY.10Y,FX.JPY,XAU\n2020-01-02,-0.02,0.0092,1528\n2020-01-03,0.0093,1549\n",
     "cannot be read as CSV: row 2 has 3 fields; the header has 4"),
])
def test_unreadable_or_empty_files(tmp_path: Path, content: bytes, fragment: str) -> None:
    path = tmp_path / "h.csv"
    path.write_bytes(content)
    with pytest.raises(HistoryError) as info:
        shocks.load_history(path)
    assert str(info.value).startswith(str(path)), info.value
    assert fragment in str(info.value)


def test_file_level_errors(tmp_path: Path) -> None:
    with pytest.raises(HistoryError, match=r"missing\.csv: cannot read the history file"):
        shocks.load_history(tmp_path / "missing.csv")
    with pytest.raises(HistoryError, match=r"h\.txt: unknown history format '\.txt'"):
        shocks.load_history(write(tmp_path, GOOD, "h.txt"))
    broken = tmp_path / "h.parquet"
    broken.write_bytes(b"PAR1 not really")
    with pytest.raises(HistoryError, match=r"h\.parquet: cannot be read as Parquet"):
        shocks.load_history(broken)
    with pytest.raises(HistoryError, match="expected a CSV or Parquet path"):
        shocks.load_history(42)  # type: ignore[arg-type]


def test_every_problem_is_reported(tmp_path: Path) -> None:
    text = "date,JPY.10Y,FX.JPY\n2020-01-02,x,0\n2020-01-01,1,0.01\n"
    with pytest.raises(HistoryError) as info:
        shocks.load_history(write(tmp_path, text))
    assert [(p.row, p.column) for p in info.value.problems] == [
        (1, "JPY.10Y"), (1, "FX.JPY"), (2, "date")]
    assert str(info.value).startswith("3 problems in the market history:")


def test_typed_sources(tmp_path: Path) -> None:
    """Parquet and DataFrames: typed columns are checked by type; pandas NaN is missing,
    polars NaN is a non-finite value."""
    days = [dt.date(2020, 1, 2), dt.date(2020, 1, 3)]
    good = History.load(pd.DataFrame({"date": pd.to_datetime(days), "XAU": [1500.0, np.nan]}))
    np.testing.assert_array_equal(good.values[:, 0], [1500.0])
    with pytest.raises(HistoryError, match=r"<polars DataFrame>: row 2, column 'XAU': got nan; "
                       r"expected a positive gold price in USD per troy ounce, at most "
                       r"1,000,000; leave the cell "
                       r"empty \(null\) where there is no observation"):
        History.load(pl.DataFrame({"date": days, "XAU": [1500.0, float("nan")]}))
    frame = pl.DataFrame({"date": [20200102, 20200103], "XAU": [True, False]})
    frame.write_parquet(tmp_path / "t.parquet")
    with pytest.raises(HistoryError) as info:
        History.load(tmp_path / "t.parquet")
    assert "column 'date': expected dates YYYY-MM-DD (the column holds Int64)" in str(info.value)
    assert "column 'XAU': expected a positive gold price in USD per troy ounce, at most " \
        "1,000,000 (the column holds Boolean)" in str(info.value)
    mixed = pd.DataFrame({"date": ["2020-01-02", "2020-01-03"], "XAU": ["1500", 1507]})
    with pytest.raises(HistoryError, match=r"<pandas DataFrame>: row 1, column 'date'") as info:
        History.load(mixed.assign(date=[None, "2020-01-03"]))
    assert len(History.load(mixed)) == 2
    odd = pd.DataFrame({"date": ["2020-01-02", "2020-01-03"], "XAU": [1 + 2j, 3],
                        "FX.EUR": pd.array([True, None], dtype="boolean")})
    with pytest.raises(HistoryError) as info:
        History.load(odd)
    assert "row 1, column 'XAU': got '(1+2j)'" in str(info.value)
    assert "column 'FX.EUR': expected a positive value of one EUR in USD" in str(info.value)


# --------------------------------------------------------------------------- fuzz

NAMES = ["date", "Date", "JPY.10Y", "USD.2Y", "FX.JPY", "XAU", "EURUSD", "jpy.10y", "", "FX.USD",
         "JPY.0Y", "JPY.1e3Y", "\u00e9", '"q"', "a,b"]
CELLS = st.one_of(
    st.sampled_from(["", "1.5", "-0.1", "0", "nan", "inf", "-inf", "1e309", "abc", "2020-01-02",
                     "2020-13-01", "1,5", '"', "\u00e9", " 7 ", "-", "1e-300", "150", "-60"]),
    st.floats(allow_nan=True, allow_infinity=True).map(repr),
    st.text(max_size=6),
)


@st.composite
def csv_texts(draw: st.DrawFn) -> bytes:
    header = draw(st.lists(st.sampled_from(NAMES), min_size=0, max_size=5))
    width = max(len(header), 1)
    rows = draw(st.lists(st.lists(CELLS, min_size=0, max_size=width + 1), max_size=6))
    sep = draw(st.sampled_from(["\n", "\r\n"]))
    text = sep.join([",".join(header), *(",".join(r) for r in rows)])
    data = text.encode("utf-8", errors="replace")
    if draw(st.booleans()):
        data += draw(st.binary(max_size=8))
    return data


@settings(max_examples=examples(60), deadline=None)
@given(csv_texts())
@example(b"date,XAU\n2020-01-02,1e309\n")
@example(b"date,XAU\n\"2020-01-02")
@example(b"\xff\xfe")
def test_fuzzed_csv_raises_only_history_errors(data: bytes) -> None:
    path = Path("/tmp") / f"fuzz_history_{abs(hash(data))}.csv"
    path.write_bytes(data)
    try:
        h = shocks.load_history(path)
    except HistoryError as exc:
        assert str(exc)
        for p in exc.problems:
            assert p.source == str(path)
    else:
        assert len(h) >= 1 and np.isfinite(h.values).any(axis=1).all()
    finally:
        path.unlink()


COLUMN = st.one_of(
    st.lists(st.one_of(st.none(), st.floats()), min_size=3, max_size=3),
    st.lists(st.one_of(st.none(), st.text(max_size=5)), min_size=3, max_size=3),
    st.lists(st.one_of(st.none(), st.booleans()), min_size=3, max_size=3),
    st.lists(st.one_of(st.none(), st.integers(-10**6, 10**6)), min_size=3, max_size=3),
    st.lists(st.one_of(st.none(), st.dates(dt.date(1900, 1, 1), dt.date(2100, 1, 1))),
             min_size=3, max_size=3),
)


@settings(max_examples=examples(60), deadline=None)
@given(st.dictionaries(st.sampled_from(NAMES), COLUMN, max_size=4), st.booleans())
def test_fuzzed_parquet_and_frames_raise_only_history_errors(
    columns: dict[str, list[object]], as_pandas: bool
) -> None:
    frame = pl.DataFrame({k: pl.Series(k, v, strict=False) for k, v in columns.items()})
    path = Path("/tmp") / f"fuzz_history_{abs(hash(str(columns)))}.parquet"
    frame.write_parquet(path)
    try:
        for src in (path, frame.to_pandas() if as_pandas else frame):
            try:
                shocks.load_history(src)
            except HistoryError as exc:
                assert str(exc)
    finally:
        path.unlink()


# --------------------------------------------------------------------------- bundled history


def test_default_history() -> None:
    h = shocks.default_history()
    assert h is shocks.default_history()  # cached, and read-only since it is shared
    with pytest.raises(ValueError, match="read-only"):
        h.values[0, 0] = 1.0
    assert h.source == "bundled:shocks/data/history.parquet"
    assert h.factors[:2] == ("JPY.1Y", "JPY.2Y")
    assert set(h.curves) == {"JPY", "USD"}
    assert [str(t) for t in h.curves["USD"]] == ["1Y", "2Y", "5Y", "10Y", "20Y", "30Y"]
    assert h.space.names[-5:] == ("FX.CHF", "FX.EUR", "FX.GBP", "FX.JPY", "XAU")
    assert (h.first_date, h.last_date) == (dt.date(1962, 1, 2), dt.date(2026, 2, 20))
    # spliced spans the Treasury did not publish are dropped
    usd20 = h.values[:, h.factors.index("USD.20Y")]
    inside = (h.dates >= np.datetime64("1987-01-01")) & (h.dates <= np.datetime64("1993-09-30"))
    assert np.isnan(usd20[inside]).all() and np.isfinite(usd20[~inside]).sum() > 10_000
    # FX as the value of one unit in USD; spot checks against the published quotes
    row = int(np.searchsorted(h.dates, np.datetime64("2019-06-28")))
    assert h.values[row, h.factors.index("FX.JPY")] == 1 / 107.84
    assert h.values[row, h.factors.index("FX.CHF")] == 1 / 0.9758
    assert h.values[row, h.factors.index("FX.EUR")] == 1.1374
    assert h.values[row, h.factors.index("JPY.10Y")] == -0.156
    assert h.values[row, h.factors.index("JPY.40Y")] == 0.413
    size = Path(shocks.history.__file__).with_name("data").joinpath("history.parquet")
    assert size.stat().st_size < 2_000_000


# --------------------------------------------------------------------------- the rule


def history(rows: dict[str, list[float | None]], dates: list[str], carry: int = 10) -> History:
    frame = pl.DataFrame({"date": dates, **rows}, strict=False)
    return History.load(frame, max_carry_days=carry)


# Mon 6 .. Fri 17 January 2020; USD closed on Fri 10, JPY closed on Mon 13.
DATES = ["2020-01-06", "2020-01-07", "2020-01-08", "2020-01-09", "2020-01-10", "2020-01-13",
         "2020-01-14"]
TWO = {
    "USD.10Y": [1.00, 1.10, 1.20, 1.30, None, 1.50, 1.60],
    "JPY.10Y": [0.00, 0.01, 0.02, 0.03, 0.04, None, 0.06],
}


def test_one_day_windows_on_the_union_calendar() -> None:
    h = history(TWO, DATES)
    ch = h.changes(1)
    assert [str(e) for e in ch.ends] == DATES[1:]
    assert [str(s) for s in ch.starts] == DATES[:-1]
    moves = ch.moves()
    usd, jpy = moves[:, h.factors.index("USD.10Y")], moves[:, h.factors.index("JPY.10Y")]
    # USD has no observation on the 10th: missing in the window ending then; the window
    # ending on the 13th takes its start from the 9th (carried over its own gap).
    np.testing.assert_allclose(usd, [10, 10, 10, np.nan, 20, 10])
    np.testing.assert_allclose(jpy, [1, 1, 1, 1, np.nan, 2])
    # no move is lost or counted twice
    assert np.nansum(usd) == pytest.approx(60) and np.nansum(jpy) == pytest.approx(6)
    np.testing.assert_array_equal(ch.present, np.isfinite(moves))


def test_two_day_windows_and_restrictions() -> None:
    h = history(TWO, DATES)
    ch = h.changes(2)
    assert [(str(s), str(e)) for s, e in zip(ch.starts, ch.ends, strict=True)] == list(
        zip(DATES[:-2], DATES[2:], strict=True))
    # (9th, 13th]: 1.30 -> 1.50; (10th, 14th]: USD closed on the 10th, carried from the 9th
    np.testing.assert_allclose(ch.moves()[:, h.factors.index("USD.10Y")],
                               [20, 20, np.nan, 20, 30])
    # windows lying within [start, end] only
    inside = h.changes(2, start="2020-01-07", end="2020-01-13")
    assert [(str(s), str(e)) for s, e in zip(inside.starts, inside.ends, strict=True)] == [
        ("2020-01-07", "2020-01-09"), ("2020-01-08", "2020-01-10"), ("2020-01-09", "2020-01-13")]
    # non-overlapping: every N-th window counted back from the last
    apart = h.changes(2, overlapping=False)
    assert [str(e) for e in apart.ends] == ["2020-01-08", "2020-01-10", "2020-01-14"]
    # the calendar is business days: Friday 10th to Monday 13th is one day
    assert h.calendar.tolist() == [dt.date.fromisoformat(d) for d in DATES]


def test_carry_is_limited_and_series_starts_are_missing() -> None:
    dates = ["2020-01-01", "2020-01-02", "2020-01-20", "2020-01-21", "2020-01-22"]
    h = history({"XAU": [1000.0, 1010.0, 1100.0, 1111.0, None],
                 "FX.EUR": [None, None, 1.1, 1.21, 1.1]}, dates, carry=10)
    ch = h.changes(1)
    # The window ending Monday 20th starts Friday 17th: gold's last value (2nd) is 15 days
    # old, beyond the carry limit, and EUR has none: no change at all, the window is skipped.
    # No window ends on the empty weekdays 3rd..17th.
    assert [str(e) for e in ch.ends] == ["2020-01-02", "2020-01-21", "2020-01-22"]
    moves = ch.moves("scenario")
    np.testing.assert_allclose(moves[:, h.factors.index("XAU")], [1.0, 1.0, np.nan])
    np.testing.assert_allclose(moves[:, h.factors.index("FX.EUR")],
                               [np.nan, 10.0, 100 * (1.1 / 1.21 - 1)], rtol=1e-12)
    # log-percent in factor units
    assert ch.moves()[1, h.factors.index("FX.EUR")] == pytest.approx(100 * np.log(1.21 / 1.1))
    # with a longer carry the gap is bridged
    longer = History.load(h.frame(), max_carry_days=30).changes(1)
    assert [str(e) for e in longer.ends] == ["2020-01-02", "2020-01-20", "2020-01-21",
                                             "2020-01-22"]
    assert longer.moves("scenario")[1, h.factors.index("XAU")] == pytest.approx(
        100 * (1100 / 1010 - 1))


def test_a_factor_observed_weekly_is_warned_of_at_shorter_horizons() -> None:
    """Gold observed on Fridays alone: within the carry limit, every window ending on a
    Friday carries last Friday's price to its start, so its one-day changes are five-day
    ones. Warned of below a horizon of five days, naming the factor and its gap."""
    days = np.arange(np.datetime64("2024-01-01"), np.datetime64("2024-07-01"))
    days = days[np.is_busday(days)]
    fridays = np.is_busday(days, weekmask="Fri")
    rows = {"USD.10Y": list(4.0 + 0.01 * np.arange(len(days))),
            "XAU": [2000.0 + k if f else None for k, f in enumerate(fridays)]}
    h = history(rows, [str(d) for d in days])
    for horizon in (1, 4):
        with pytest.warns(shocks.HistoryWarning, match=rf"every {horizon} business.*: XAU "
                          rf"every 5; their {horizon}-day changes .* horizon of 5 days"):
            h.changes(horizon)
    h.changes(5)  # warnings are errors in the tests
    h.changes(20, overlapping=False)
    h.select(["USD.10Y"]).changes(1)


def test_windows_without_any_change_are_skipped() -> None:
    dates = ["2020-01-01", "2020-03-02", "2020-03-03"]
    h = history({"XAU": [1000.0, 1010.0, 1020.0]}, dates)
    assert [str(e) for e in h.changes(1).ends] == ["2020-03-03"]
    assert len(h.changes(2)) == 0


# Random levels: a price that doubles from one day to the next is a case here, not a mistype;
# random gaps: a factor seen every other day is a case too.
@pytest.mark.filterwarnings("ignore:.*is a cell mistyped")
@pytest.mark.filterwarnings("ignore:.*observed less often than")
@settings(max_examples=examples(40), deadline=None)
@given(st.data())
def test_one_day_changes_add_up_over_each_factors_own_dates(data: st.DataObject) -> None:
    """With every own gap within the carry limit, a factor's one-day changes add up to its
    last minus its first level: no move is lost or counted twice."""
    n = data.draw(st.integers(3, 40))
    days = np.cumsum(data.draw(st.lists(st.integers(1, 4), min_size=n, max_size=n)))
    dates = [(dt.date(2020, 1, 1) + dt.timedelta(days=int(d))).isoformat() for d in days]
    rows: dict[str, list[float | None]] = {}
    for name in ("USD.2Y", "JPY.2Y", "XAU"):
        seen = data.draw(st.lists(st.booleans(), min_size=n, max_size=n))
        levels = data.draw(st.lists(st.floats(0.5, 5.0), min_size=n, max_size=n))
        rows[name] = [lv if s else None for lv, s in zip(levels, seen, strict=True)]
    if not any(v is not None for col in rows.values() for v in col):
        return
    h = history(rows, dates, carry=10_000)
    moves = h.changes(1).moves()
    for j, name in enumerate(h.factors):
        obs = [v for v in rows[name] if v is not None]
        if len(obs) < 2 or name == "XAU":
            continue
        assert np.nansum(moves[:, j]) == pytest.approx(100 * (obs[-1] - obs[0]), abs=1e-9)
    j = h.factors.index("XAU")
    obs = [v for v in rows["XAU"] if v is not None]
    if len(obs) >= 2:
        assert np.nansum(moves[:, j]) == pytest.approx(100 * np.log(obs[-1] / obs[0]), abs=1e-9)


def test_history_helpers() -> None:
    h = history(TWO, DATES)
    lv, when = h.levels("2020-01-10")
    np.testing.assert_array_equal(lv, [0.04, 1.30])
    assert [str(w) for w in when] == ["2020-01-10", "2020-01-09"]
    assert h.default_window() == (dt.date(2015, 1, 14), dt.date(2020, 1, 14))
    assert h.window(("2020-01-01", dt.date(2020, 2, 1))) == (dt.date(2020, 1, 1),
                                                             dt.date(2020, 2, 1))
    jpy = h.select(["jpy.10y"])
    assert jpy.factors == ("JPY.10Y",) and len(jpy) == 6  # its own dates only
    with pytest.raises(HistoryError, match=r"window: got 2020-02-01 \.\. 2020-01-01"):
        h.window(("2020-02-01", "2020-01-01"))
    with pytest.raises(HistoryError, match="start: got '2020-1-1'; expected a date YYYY-MM-DD"):
        h.changes(1, start="2020-1-1")
    with pytest.raises(HistoryError, match="horizon: got 100000000000000000000; expected a "
                                           "whole number of days from 1 to 26,100"):
        h.changes(10**20)  # overflowed the index arithmetic
    with pytest.raises(HistoryError, match="horizon: got 0"):
        h.changes(0)
    with pytest.raises(HistoryError, match="expected strictly increasing dates"):
        History(dates=h.dates[::-1].copy(), factors=h.factors, values=h.values)
    with pytest.raises(HistoryError, match="expected canonical names"):
        History(dates=h.dates, factors=("jpy.10y", "USD.10Y"), values=h.values)


def test_a_yield_cell_in_bp_is_warned_of_by_row_and_column(tmp_path: Path) -> None:
    path = tmp_path / "h.csv"
    path.write_text("date,JPY.10Y,XAU\n2015-09-10,0.349,1100\n2015-09-11,34.4,1101\n"
                    "2015-09-14,0.351,1102\n")
    with pytest.warns(shocks.HistoryWarning, match=r"h\.csv: row 2, column 'JPY\.10Y': 0\.349 % "
                      r"on 2015-09-10, then 34\.4 % on 2015-09-11: a move of 34\.051 percentage"):
        shocks.load_history(path)


@pytest.mark.parametrize(("column", "cells", "factor"), [
    ("XAU", ("1268.75", "9260.25", "1270"), "7.3"),  # a gold price mistyped: ES doubled
    ("FX.JPY", ("0.00845", "0.04226", "0.0085"), "5"),  # a JPY rate times five
])
def test_an_fx_or_gold_cell_far_off_its_neighbours_is_warned_of(
        tmp_path: Path, column: str, cells: tuple[str, str, str], factor: str) -> None:
    path = tmp_path / "h.csv"
    path.write_text(f"date,{column}\n" + "".join(
        f"2015-01-{day},{cell}\n" for day, cell in zip((29, 30, "31"), cells, strict=True)))
    with pytest.warns(shocks.HistoryWarning, match=rf"h\.csv: row 2, column '{column}': "
                      rf"{cells[0]} on 2015-01-29, then {cells[1]} on 2015-01-30: a move by a "
                      rf"factor of {factor}"):
        shocks.load_history(path)
    # The Swiss franc's day in 2015 (about a fifth) is no mistype.
    path.write_text(f"date,{column}\n2015-01-14,1.0\n2015-01-15,1.2\n")
    shocks.load_history(path)
