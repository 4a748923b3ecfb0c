"""The loader's plain-rows path (portfolios.plain_rows) against its polars checks: whatever
it accepts they accept with the same frame, and it accepts the trades a trading tool sends."""

from __future__ import annotations

import datetime as dt

import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from polars.testing import assert_frame_equal

import portfolios
from portfolios import loader, plain_rows
from tests.strategies import PLAIN_VALUATION, examples, plain_row_frames


def _same_as_polars(df: pl.DataFrame, valuation_date: dt.date | None) -> pl.DataFrame | None:
    plain = plain_rows.validate(df, valuation_date)
    if plain is not None:
        frame, problems = loader._checked(df, "<frame>", valuation_date)
        assert problems == []
        assert_frame_equal(plain, frame, check_exact=True)
    return plain


@settings(max_examples=examples(250))
@given(plain_row_frames(), st.sampled_from([PLAIN_VALUATION, None]))
def test_what_it_accepts_the_polars_checks_accept_alike(
    df: pl.DataFrame, valuation_date: dt.date | None
) -> None:
    _same_as_polars(df, valuation_date)


TRADE = {"position_id": ["NEW_CORP"], "instrument": ["bond"], "currency": ["USD"],
         "notional": [25e6], "coupon": [5.125], "maturity": ["2036-04-09"],
         "convention": ["USD_CORP"], "spread_bp": [135.0]}  # fmt: skip


@pytest.mark.parametrize(
    "df",
    [
        pl.DataFrame(TRADE),
        pl.DataFrame({**TRADE, "maturity": [dt.date(2036, 4, 9)], "desk": ["credit"]}),
        pl.DataFrame({**TRADE, "convention": [None], "frequency": [2], "day_count": ["30/360"],
                      "spread_bp": [None], "clean_price": [98.75]}),
        pl.DataFrame({**TRADE, "instrument": [" Bond "], "currency": ["usd"],
                      "convention": ["jgb"], "day_count": ["act/365f"], "frequency": [2.0]}),
        pl.DataFrame({"position_id": ["H1", "H2", "B1"], "instrument": ["fx", "gold", "bond"],
                      "currency": ["JPY", "USD", "EUR"], "notional": [-1e9, 1000, 5e6],
                      "coupon": [None, None, 2.5], "maturity": [None, None, "2035-02-15"],
                      "convention": [None, None, "BUND"]}),
        pl.DataFrame({**TRADE, "notional": [-25_000_000], "coupon": [0]}),
    ],
    ids=["benchmark-trade", "date-and-attribute", "explicit-schedule", "case-and-spaces",
         "fx-gold-bund", "integer-columns"],
)  # fmt: skip
def test_a_trading_tools_trades_are_decided_in_python(df: pl.DataFrame) -> None:
    for valuation_date in (PLAIN_VALUATION, None):
        assert _same_as_polars(df, valuation_date) is not None


@pytest.mark.parametrize(
    "change",
    [
        {"position_id": [" "]},
        {"currency": ["XXX"]},
        {"notional": [float("nan")]},
        {"coupon": [100.0]},
        {"maturity": ["2036-02-30"]},
        {"convention": ["UST"], "frequency": [1]},
        {"spread_bp": [135.0], "clean_price": [99.0]},
        {"instrument": ["swap"]},
        {"notional": ["25e6"]},  # a number as text: polars' parse decides
        {"settlement_days": [2]},  # a market-convention column
    ],
)
def test_anything_else_goes_to_the_polars_checks(change: dict[str, list[object]]) -> None:
    df = pl.DataFrame({**TRADE, **change})
    assert plain_rows.validate(df, PLAIN_VALUATION) is None


def test_a_bad_trade_gets_the_positions_files_message() -> None:
    bad = pl.DataFrame({**TRADE, "coupon": [120.0]})
    with pytest.raises(portfolios.PortfolioValidationError, match="between 0 and 100"):
        portfolios.load(bad, valuation_date=PLAIN_VALUATION)


def test_more_rows_than_it_takes_go_to_polars() -> None:
    n = plain_rows.MAX_ROWS + 1
    df = pl.DataFrame({k: v * n for k, v in TRADE.items()}).with_columns(
        position_id=pl.format("T{}", pl.int_range(pl.len()))
    )
    assert plain_rows.validate(df, PLAIN_VALUATION) is None
    assert plain_rows.validate(df.head(n - 1), PLAIN_VALUATION) is not None


def test_an_empty_frame_is_the_same_either_way() -> None:
    df = pl.DataFrame(schema={"position_id": pl.String, "instrument": pl.String,
                              "currency": pl.String, "notional": pl.Float64, "desk": pl.String})
    assert _same_as_polars(df, PLAIN_VALUATION) is not None
