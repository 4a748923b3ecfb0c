"""The session for trading tools: what-ifs equal a fresh run of the book with the trades, add
and remove keep the book's figures equal to a fresh run, bad trades are reported like a
positions file."""

from __future__ import annotations

import datetime as dt
from typing import Any

import numpy as np
import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import portfolios
import stress
from portfolios import PortfolioValidationError
from tests import strategies as ts

MARKET = stress.Market.load(stress.default_market_path())
BOOK = portfolios.load(portfolios.sample_path("global_macro"))
SUMMED = ("pnl", "pnl_rates", "pnl_spread", "pnl_fx", "pnl_gold", "pnl_cross", "pv_before",
         "pv_after", "cs01_before", "cs01_after",
          "dv01_before", "dv01_after", "taylor_pnl", "taylor_residual")
RATIOS = ("duration_before", "duration_after", "convexity_before", "convexity_after")


def trade(pid: str, ccy: str = "USD", notional: float = 1e7, coupon: float = 4.0,
          maturity: dt.date = dt.date(2035, 5, 15), convention: str = "UST",
          instrument: str = "bond") -> dict[str, Any]:
    row: dict[str, Any] = {"position_id": pid, "instrument": instrument, "currency": ccy,
                           "notional": notional}
    if instrument == "bond":
        row |= {"coupon": coupon, "maturity": maturity, "convention": convention}
    return row


def close(a: pl.DataFrame, b: pl.DataFrame, rtol: float = 1e-9) -> None:
    scale = max(1.0, float(b["pv_before"].abs().max()))
    for c in SUMMED:
        np.testing.assert_allclose(a[c].to_numpy(), b[c].to_numpy(), rtol=0,
                                   atol=rtol * scale, err_msg=c)
    for c in RATIOS:
        np.testing.assert_allclose(a[c].to_numpy(), b[c].to_numpy(), rtol=rtol, err_msg=c)


@pytest.fixture(scope="module")
def session() -> stress.Session:
    return stress.Session(BOOK, MARKET, "all")


TRADES = st.lists(
    st.builds(trade, st.just("T"), st.sampled_from(("USD", "JPY", "EUR", "GBP")),
              st.floats(-1e9, 1e9).filter(lambda x: abs(x) > 1),
              st.floats(0.0, 8.0), st.dates(dt.date(2026, 2, 1), dt.date(2070, 1, 1)),
              st.sampled_from(("UST", "JGB", "BUND", "GILT")),
              st.sampled_from(("bond", "bond", "fx"))),
    min_size=1, max_size=3)


@settings(max_examples=ts.examples(15), deadline=None)
@given(TRADES)
def test_what_if_is_the_book_with_the_trades(session: stress.Session,
                                             rows: list[dict[str, Any]]) -> None:
    rows = [{**r, "position_id": f"T{i}"} for i, r in enumerate(rows)]
    trades = ts.positions_frame(rows)
    answer = session.what_if(trades)
    alone = stress.run(portfolios.load(trades), MARKET, "all").summary
    close(answer.trades, alone)
    both = portfolios.load(pl.concat([BOOK.frame.drop("row"), trades], how="diagonal_relaxed"))
    fresh = stress.run(both, MARKET, "all").summary
    close(answer.combined, fresh)
    assert answer.worst["scenario"].cast(pl.String).to_list() == \
        fresh.sort("pnl", maintain_order=True)["scenario"].cast(pl.String).to_list()
    np.testing.assert_allclose(answer.pnl, alone["pnl"].to_numpy(), rtol=1e-12, atol=1e-6)
    r = answer.risk.filter(pl.col("book") == "combined")
    assert r["es"].to_list() == pytest.approx(stress.run(both, MARKET, "all").risk()["es"]
                                              .to_list(), rel=1e-9)


def test_add_and_remove_keep_the_book_equal_to_a_fresh_run() -> None:
    s = stress.Session(BOOK, MARKET, ["jgb_2026", "historical"])
    s.add(pl.DataFrame([trade("NEW1"), trade("NEW2", "JPY", -5e9, 1.0, dt.date(2055, 3, 20),
                                              "JGB")]))
    s.remove(["UST_10Y_2035", "GOLD", "NEW1"])
    fresh = stress.run(s.portfolio, MARKET, ["jgb_2026", "historical"])
    close(s.totals(), fresh.summary)
    assert set(s.portfolio.position_ids) == set(BOOK.position_ids) - {"UST_10Y_2035", "GOLD"} \
        | {"NEW2"}
    res = s.result()
    assert res.summary.equals(fresh.summary)
    assert s.result() is res  # cached until the book changes
    s.remove(["NEW2"])
    assert s.result() is not res


def test_bad_trades_get_the_positions_file_messages(session: stress.Session) -> None:
    bad = pl.DataFrame([{**trade("X"), "coupon": "four"}], schema_overrides={"coupon": pl.String})
    with pytest.raises(PortfolioValidationError) as info:
        session.what_if(bad)
    assert "row 1 (position_id 'X'), column 'coupon': got 'four'; expected a coupon in " \
           "percent per annum, e.g. 4.25" in str(info.value)
    with pytest.raises(PortfolioValidationError, match="a maturity after the valuation date"):
        session.what_if(pl.DataFrame([trade("OLD", maturity=dt.date(2020, 1, 1))]))


def test_add_refuses_ids_already_in_the_book() -> None:
    s = stress.Session(BOOK, MARKET, "jgb_2026")
    with pytest.raises(PortfolioValidationError, match="column 'position_id': got "
                                                       "'UST_10Y_2035'; expected an id not in "
                                                       "the book"):
        s.add(pl.DataFrame([trade("UST_10Y_2035")]))
    with pytest.raises(KeyError, match="no position 'NOPE' in the book"):
        s.remove(["NOPE"])
