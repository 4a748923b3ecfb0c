"""Validation of the FRN, swap and futures columns: every bad or hostile cell is one problem
naming the file, row, position, column, value and what was expected; only the project's
errors escape."""

from __future__ import annotations

from pathlib import Path

import pytest

import portfolios
from portfolios.problems import PortfolioError, PortfolioValidationError

HEADER = ("position_id,instrument,currency,notional,coupon,maturity,frequency,day_count,"
          "spread_bp,clean_price,contract,futures_price,conversion_factor,delivery_date,"
          "margin_bp,current_coupon,side,float_frequency,float_day_count,calendar,"
          "business_day_convention,settlement_days,ex_dividend_days,issue_date,"
          "first_coupon_date")
FIELDS = HEADER.split(",")
GOOD = {
    "frn": dict(position_id="F", instrument="frn", currency="USD", notional="1e6",
                maturity="2030-03-15", frequency="4", day_count="ACT/360", margin_bp="65",
                current_coupon="4.4"),
    "swap": dict(position_id="S", instrument="swap", currency="JPY", notional="1e9", coupon="1.6",
                 maturity="2046-01-20", frequency="2", day_count="ACT/365F", side="receiver",
                 float_frequency="2", float_day_count="ACT/365F", current_coupon="0.75"),
    "future": dict(position_id="T", instrument="future", currency="USD", notional="-10",
                   contract="TY", coupon="4.25", maturity="2032-11-15", futures_price="112.5",
                   delivery_date="2026-03-31"),
}
HOSTILE = ("abc", "inf", "nan", "1e309", "-1e400", " ", "1e15")


def line(kind: str, **cells: str) -> str:
    row = {**GOOD[kind], **cells}
    return ",".join(row.get(f, "") for f in FIELDS)


def problems(tmp_path: Path, kind: str, **cells: str) -> list[portfolios.Problem]:
    path = tmp_path / "book.csv"
    path.write_text(HEADER + "\n" + line(kind, **cells) + "\n")
    try:
        portfolios.load(path, valuation_date=__import__("datetime").date(2026, 1, 20))
    except PortfolioValidationError as exc:
        return list(exc.problems)
    return []


@pytest.mark.parametrize("kind", sorted(GOOD))
def test_good_rows_load(tmp_path: Path, kind: str) -> None:
    assert problems(tmp_path, kind) == []


CASES = [
    ("frn", "current_coupon", "", "the current period's fixed coupon"),
    ("frn", "current_coupon", "250", "between -50 and 100"),
    ("frn", "margin_bp", "99999", "quoted margin between"),
    ("frn", "clean_price", "99", "an empty cell"),
    ("swap", "side", "", "a side: payer"),
    ("swap", "side", "long", "payer or receiver"),
    ("swap", "float_frequency", "3", "floating-leg frequency of 1, 2, 4 or 12"),
    ("swap", "float_frequency", "", "the floating leg's payments per year"),
    ("swap", "float_day_count", "ACT/999", "one of ACT/ACT-ICMA"),
    ("swap", "spread_bp", "10", "an empty cell"),
    ("swap", "coupon", "-80", "between -50 and 100"),
    ("future", "contract", "", "a futures contract: one of"),
    ("future", "contract", "ZB", "one of JGB10, TU"),
    ("future", "currency", "EUR", "the contract's currency"),
    ("future", "futures_price", "0", "above 0 and below 1000"),
    ("future", "futures_price", "", "the futures price per 100"),
    ("future", "delivery_date", "2030-01-01", "two years ahead"),
    ("future", "delivery_date", "2026-02-30", "an ISO date"),
    ("future", "conversion_factor", "-1", "above 0 and below 10"),
    ("future", "frequency", "4", "an empty cell or the contract's"),
    ("future", "day_count", "30/360", "an empty cell or the contract's"),
    ("future", "coupon", "", "the coupon of the cheapest-to-deliver bond"),
    # A bond's settlement and first period would be read by nothing on these rows, nor a
    # calendar on a future's.
    *[(kind, column, value, "an empty cell (FRNs, swaps and futures' cheapest-to-deliver "
                            "bonds are valued on the valuation date, with no ex-dividend "
                            "period, on regular schedules)")
      for kind in ("frn", "swap", "future")
      for column, value in (("settlement_days", "2"), ("ex_dividend_days", "0"),
                            ("issue_date", "2025-01-20"), ("first_coupon_date", "x"))],
    *[("future", column, value, "an empty cell (a future's cheapest-to-deliver bond runs on "
                                "an unadjusted schedule with no calendar)")
      for column, value in (("calendar", "TARGET"), ("business_day_convention", "following"))],
    ("frn", "calendar", "MARS", "one of NONE, WEEKENDS"),
    ("swap", "business_day_convention", "sometimes", "one of UNADJUSTED"),
]


@pytest.mark.parametrize(("kind", "calendar", "rolling", "want"), [
    ("frn", "TARGET", "", ("TARGET", "MODIFIED FOLLOWING")),
    ("swap", "us", "following", ("US", "FOLLOWING")),
    ("swap", "", "", ("NONE", "UNADJUSTED")),
    ("frn", "", "preceding", ("NONE", "PRECEDING")),
    ("swap", "none", "", ("NONE", "UNADJUSTED")),
])
def test_frns_and_swaps_take_a_calendar(tmp_path: Path, kind: str, calendar: str, rolling: str,
                                         want: tuple[str, str]) -> None:
    """A calendar alone rolls with Modified Following (ISDA's default for swaps); none given,
    the schedule stays unadjusted, as before calendars were taken."""
    path = tmp_path / "book.csv"
    path.write_text(HEADER + "\n" + line(kind, calendar=calendar,
                                         business_day_convention=rolling) + "\n")
    book = portfolios.load(path, valuation_date=__import__("datetime").date(2026, 1, 20))
    assert book.frame.select("calendar", "business_day_convention").row(0) == want


@pytest.mark.parametrize("kind", ["frn", "swap"])
def test_a_bond_preset_gives_frns_and_swaps_no_calendar(tmp_path: Path, kind: str) -> None:
    """A UST preset's T+1, US calendar and Following are a bond's: on an FRN or a swap it
    gives the frequency and day count alone, and the schedule stays unadjusted."""
    path = tmp_path / "book.csv"
    path.write_text("convention," + HEADER + "\n"
                    + "UST," + line(kind, frequency="", day_count="") + "\n")
    book = portfolios.load(path, valuation_date=__import__("datetime").date(2026, 1, 20))
    assert book.frame.select("calendar", "business_day_convention").row(0) == (
        "NONE", "UNADJUSTED")


@pytest.mark.parametrize(("kind", "rolling", "refused"), [
    ("frn", "", True), ("swap", "preceding", True), ("frn", "following", False),
])
def test_a_maturity_rolled_back_onto_the_valuation_date_is_refused(
        kind: str, rolling: str, refused: bool) -> None:
    """Valued on Friday 2026-01-30, a leg maturing on Saturday the 31st on TARGET rolls back
    to the Friday under Modified Following (Monday is in February) or Preceding: no period
    is left to value. Refused as a maturity on the valuation date is, or left out with the
    other rejects; under Following it pays on Monday and is valued."""
    import datetime as dt

    import polars as pl

    import stress

    val = dt.date(2026, 1, 30)
    market = stress.Market.from_dict({
        "valuation_date": val.isoformat(), "base_currency": "USD",
        "curves": {c: {"type": "zero", "tenors": ["1Y", "10Y"], "rates": [3.0, 3.5]}
                   for c in ("USD", "JPY", "EUR", "GBP")},
        "fx": {"USDJPY": 150.0, "EURUSD": 1.17, "GBPUSD": 1.34},
        "gold": {"XAUUSD": 4600.0}})  # fmt: skip
    cells = {**GOOD[kind], "maturity": "2026-01-31", "calendar": "TARGET",
             "business_day_convention": rolling}
    book = pl.DataFrame([cells])
    if not refused:
        assert stress.run(book, market, "jgb_2026").summary.height
        return
    with pytest.raises(PortfolioValidationError, match=r"column 'maturity': got '2026-01-31'; "
                       r"expected a maturity after the valuation date 2026-01-30 once rolled "
                       r"on its calendar \(TARGET, .*: 2026-01-30\)"):
        stress.run(book, market, "jgb_2026")
    other = {**cells, "position_id": "OK", "calendar": "", "business_day_convention": ""}
    kept = stress.run(pl.DataFrame([cells, other]), market, "jgb_2026", skip_invalid=True)
    assert kept.rejects["position_id"].to_list() == [cells["position_id"]]
    # A maturity on the valuation date itself is refused once, as before calendars.
    on = {**cells, "maturity": val.isoformat()}
    with pytest.raises(PortfolioValidationError, match=r"^1 problem in 1 row"):
        stress.run(pl.DataFrame([on]), market, "jgb_2026")


@pytest.mark.parametrize(("kind", "column", "value", "expected"), CASES)
def test_each_check_names_its_cell(tmp_path: Path, kind: str, column: str, value: str,
                                   expected: str) -> None:
    found = problems(tmp_path, kind, **{column: value})
    assert len(found) == 1, found
    p = found[0]
    assert (p.row, p.column) == (1, column), p
    assert expected in p.expected, p
    assert str(p).startswith(f"{tmp_path / 'book.csv'}: row 1 (position_id ")


NUMERIC = [("frn", "margin_bp"), ("frn", "current_coupon"), ("swap", "current_coupon"),
           ("swap", "float_frequency"), ("future", "futures_price"),
           ("future", "conversion_factor")]


@pytest.mark.parametrize(("kind", "column"), NUMERIC)
@pytest.mark.parametrize("value", HOSTILE)
def test_hostile_numbers_are_refused_with_a_message(tmp_path: Path, kind: str, column: str,
                                                    value: str) -> None:
    try:
        found = problems(tmp_path, kind, **{column: value})
    except PortfolioError as exc:  # only the project's own errors escape
        pytest.fail(f"unexpected whole-file error: {exc}")
    if value.strip() == "" and column in ("margin_bp", "conversion_factor"):
        assert found == []  # optional: a default or the exchange's formula
        return
    if value == "1e15" and column in ("margin_bp",):
        assert len(found) == 1
        return
    assert found, (column, value)
    assert all(p.column == column and p.row == 1 for p in found), found


def test_delivery_after_the_ctd_matures_is_refused(tmp_path: Path) -> None:
    found = problems(tmp_path, "future", maturity="2026-06-30", delivery_date="2026-12-01")
    assert [(p.column, p.expected) for p in found] == [
        ("delivery_date", "a delivery date before the cheapest-to-deliver bond's maturity")]
