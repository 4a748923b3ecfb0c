"""The session for trading tools: what-ifs equal a fresh run of the book with the trades, add
and remove keep the book's figures equal to a fresh run, bad trades are reported like a
positions file."""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

import numpy as np
import pandas as pd
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


def test_add_and_what_if_refuse_ids_already_in_the_book() -> None:
    s = stress.Session(BOOK, MARKET, "jgb_2026")
    for ask in (s.add, s.what_if):
        with pytest.raises(PortfolioValidationError, match="column 'position_id': got "
                                                           "'UST_10Y_2035'; expected an id not "
                                                           "in the book"):
            ask(pl.DataFrame([trade("UST_10Y_2035")]))
    with pytest.raises(KeyError, match="no position 'NOPE' in the book"):
        s.remove(["NOPE"])


def test_a_what_if_has_the_same_bits_on_threads(session: stress.Session,
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    """Once the threaded sums kernel is loaded, even a one-trade what-if's sums run on it
    (``stress.work.LOADED_THREADED_MIN_WORK``): the figures must not depend on it."""
    import stress.evaluate as ev

    trades = pl.DataFrame([trade("T1"), trade("T2", "JPY", -3e9, 0.5, dt.date(2066, 3, 20), "JGB")])
    answers = []
    for on_threads in (False, True):
        monkeypatch.setattr(ev, "threaded", lambda *a, _t=on_threads, **k: _t)
        answers.append(session.what_if(trades))
    assert answers[0].pnl.tobytes() == answers[1].pnl.tobytes()
    assert answers[0].combined.equals(answers[1].combined)


PREDICT = """
[[scenario]]
name = "jgb_40y_fill"
description = "JGB 40Y +60bp, the other factors filled from the history"
source = "test"
[scenario.rates.JPY]
tenors = ["10Y", "40Y"]
bp = [25, 60]
[scenario.predict]
window = ["2013-04-01", "2018-03-31"]
horizon = 10
"""

TIER_SPREADS = """
[[scenario]]
name = "tier1_wider"
description = "tier 1 credit +100bp"
source = "test"
[scenario.spreads]
by = "tier"
bp = { "1" = 100 }
"""


def test_a_session_loads_scenarios_as_a_run_does(tmp_path: Any) -> None:
    """A predictive scenario reads the history's factors the market prices (the bundled
    history also has CHF, which the market does not)."""
    path = tmp_path / "predict.toml"
    path.write_text(PREDICT)
    close(stress.Session(BOOK, MARKET, path).totals(), stress.run(BOOK, MARKET, path).summary)


def test_trades_take_the_types_of_the_book_attributes(tmp_path: Any) -> None:
    """pandas makes floats of an integer column with a gap: a trade's tier 1.0 is the book's
    tier 1 for a spread shift keyed "1", in the what-if, after add and in a fresh run."""
    path = tmp_path / "tiers.toml"
    path.write_text(TIER_SPREADS)
    frame = BOOK.frame.drop("row")
    book = portfolios.load(frame.with_columns(tier=pl.Series(np.arange(frame.height) % 2 + 1)))
    s = stress.Session(book, MARKET, path)
    new = pd.DataFrame([trade("NEW")]).assign(tier=[1.0])
    answer = s.what_if(new)
    assert answer.trades["pnl_spread"][0] < 0
    s.add(new)
    assert s.portfolio.frame["tier"].dtype == pl.Int64
    fresh = stress.run(s.portfolio, MARKET, path).summary
    close(answer.combined, fresh)
    close(s.totals(), fresh)
    close(s.result().summary, fresh)
    before = s.totals()
    odd = pd.DataFrame([trade("ODD")]).assign(tier=[1.5])
    with pytest.raises(PortfolioValidationError, match=re.escape(
            "row 1 (position_id 'ODD'), column 'tier': got 1.5; expected a value of the book's "
            "tier column, of type Int64")):
        s.add(odd)
    assert s.totals().equals(before) and "ODD" not in s.portfolio.position_ids


@pytest.mark.parametrize(("book_value", "trade_value"), [
    (dt.date(2026, 1, 20), 20260121),  # read as days since 1970: the year 57440
    (dt.date(2026, 1, 20), 300),       # 1970-10-28, and back to 300
    (1.5, dt.date(2026, 1, 1)),        # its day count
    (2, True),                         # 1, and back to True
    (True, 1),
])
def test_trade_attributes_of_another_kind_than_the_books_are_refused(
        book_value: Any, trade_value: Any) -> None:
    """A number is no date and a flag no number, though the conversion goes back unchanged."""
    book = BOOK.frame.drop("row").with_columns(attr=pl.lit(book_value))
    s = stress.Session(book, MARKET, "jgb_2026")
    with pytest.raises(PortfolioValidationError, match=re.escape(
            "row 1 (position_id 'T'), column 'attr': got ") + ".* expected a value of the "
            "book's attr column"):
        s.add(pl.DataFrame([trade("T") | {"attr": trade_value}]))
    s.add(pl.DataFrame([trade("T") | {"attr": trade_value}]).with_columns(
        pl.lit(None, dtype=pl.DataFrame({"a": [trade_value]})["a"].dtype).alias("attr")))
    assert s.portfolio.frame["attr"].dtype == book["attr"].dtype
    assert s.portfolio.frame["attr"].null_count() == 1


def test_adding_and_removing_positions_that_dwarf_the_book_leave_no_rounding() -> None:
    """Removing 9e14 of notional from a book of 1e4 by subtraction left its P&L 3e-5 off and
    its Taylor residual of the wrong sign; where the sums cancel the book is summed afresh.
    A hedge that cancels the book on ``add`` is the same case."""
    big = [trade(f"BIG{i}", notional=9e14, coupon=4.0 + i, maturity=dt.date(2055, 5, 15))
           for i in range(3)]
    small = [trade(f"SMALL{i}", notional=1000.0 * (i + 1), maturity=dt.date(2030 + i, 5, 15))
             for i in range(4)]
    s = stress.Session(pl.DataFrame(big + small), MARKET, "jgb_2026")
    s.remove(["BIG0", "BIG1", "BIG2"])  # 3 of 7 positions: fewer than half
    fresh = stress.run(s.portfolio, MARKET, "jgb_2026").summary
    close(s.totals(), fresh, rtol=1e-12)
    assert np.sign(s.totals()["taylor_residual"]).equals(np.sign(fresh["taylor_residual"]))
    s.add(pl.DataFrame([trade("HEDGE", notional=-6000.0, maturity=dt.date(2031, 5, 15)),
                        trade("HUGE", notional=9e14, maturity=dt.date(2040, 5, 15))]))
    s.remove(["HUGE"])
    close(s.totals(), stress.run(s.portfolio, MARKET, "jgb_2026").summary, rtol=1e-12)


def test_remove_takes_one_id_or_many_and_an_emptied_book_is_empty() -> None:
    s = stress.Session(BOOK, MARKET, "jgb_2026")
    with pytest.raises(TypeError, match="got a DataFrame; expected position ids"):
        s.remove(BOOK.frame)
    with pytest.raises(TypeError, match="got 7; expected position ids"):
        s.remove(["GOLD", 7])  # type: ignore[list-item]
    for odd in (None, 5, b"GOLD"):
        with pytest.raises(TypeError, match=re.escape(f"remove: got {odd!r}; expected position "
                                                      "ids (a list of strings, or one)")):
            s.remove(odd)  # type: ignore[arg-type]
    s.remove("GOLD")
    ids = s.portfolio.position_ids
    s.remove(ids[: len(ids) // 2])
    s.remove(ids[len(ids) // 2 :])
    empty = s.totals()
    assert empty["pv_before"].to_list() == [0.0] * len(empty)
    assert empty["duration_before"].is_nan().all()
    s.add(pl.DataFrame([trade("SMALL", notional=1000.0)]))
    close(s.totals(), stress.run(s.portfolio, MARKET, "jgb_2026").summary)


def test_session_arguments_are_read_as_a_run_reads_them() -> None:
    positions = BOOK.frame.drop("row")
    s = stress.Session(positions, MARKET, "jgb_2026", risk_levels=0.99)
    assert s.risk_levels == (0.99,)
    close(s.totals(), stress.run(positions, MARKET, "jgb_2026").summary)
    with pytest.raises(ValueError, match="detail: got 'position'; expected 'summary' or "
                                         "'positions'"):
        s.result(detail="position")
