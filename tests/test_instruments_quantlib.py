"""FRNs, swaps, bond futures and credit-spread shocks against QuantLib full revaluation.

One currency per case (the market's base, so amounts compare in the position currency), a
random zero curve, random books mixing bonds, FRNs, swaps and futures, and random scenarios
with key-rate / parallel curve shifts and spread shifts by sector. QuantLib prices:

- FRNs as ``FloatingRateBond`` on a single curve: an ``IborIndex`` (fixing days 0, no
  calendar, the coupon's day count) projecting on the (shifted) curve, par coupons, the
  current period's fixing added, discounted on the curve plus the spread (plus its shift);
- swaps as ``VanillaSwap`` with the same index, discounted on the curve (no spread);
- bonds as ``FixedRateBond`` (as ``test_engine_quantlib``);
- futures from the CTD ``FixedRateBond``'s cashflows: the forward dirty price is the sum of
  those paid after delivery discounted on the curve plus the CTD spread, over the curve's
  discount factor to delivery; P&L = contracts x size x change / (100 CF).

The engine's rates part is checked against the curve shift alone, its spread part against the
further move of adding the spread shift.
"""

from __future__ import annotations

import datetime as dt
import os
from typing import Any

import numpy as np
import polars as pl
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

import portfolios
import shocks
import stress
from portfolios.futures import CONTRACTS
from tests import qlref
from tests import strategies as ts
from tests.test_engine_quantlib import (
    CURVE_TENORS,
    SHOCK_TENORS,
    base_curve,
    qdate,
    shifted,
)

ql = pytest.importorskip("QuantLib")
ql.IborCoupon.createAtParCoupons()

EXAMPLES = int(os.environ.get("STRESS_QL_EXAMPLES", "30"))
RTOL = 1e-8
FLOOR = 1e-6  # P&Ls below FLOOR x the position's size (its gross legs) compare in absolute terms
DC = {"ACT/360": ql.Actual360, "ACT/365F": ql.Actual365Fixed,
      "30/360": lambda: ql.Thirty360(ql.Thirty360.USA)}
CCY = {"USD": ("TY", "US", "FV", "TU"), "JPY": ("JGB10",), "EUR": ("FGBL",)}
SECTORS = ("financials", "utilities", "govt")


def _pct(lo: float, hi: float) -> st.SearchStrategy[float]:
    return st.floats(lo, hi, allow_nan=False).map(lambda x: round(x, 4))


def schedule(val: Any, maturity: dt.date, frequency: int, cal: Any = None,
             rolling: Any = ql.Unadjusted) -> Any:
    """A regular schedule rolled back from maturity to on or before ``val``, its dates then
    rolled on ``cal`` (default none) with ``rolling``. The roll back is the engine's: on no
    calendar, a maturity on a month's last day rolling to months' last days (QuantLib's
    end-of-month rule on a calendar would take a maturity on the last business day, the 30th
    when the 31st is a Saturday, as a month end too)."""
    months = 12 // frequency
    mat = qdate(maturity)
    null = ql.NullCalendar()
    cal = cal if cal is not None else null
    n = 1
    while cal.adjust(null.advance(mat, -n * months, ql.Months, ql.Unadjusted, True),
                     rolling) > val:
        n += 1
    eff = null.advance(mat, -n * months, ql.Months, ql.Unadjusted, True)
    plain = ql.Schedule(eff, mat, ql.Period(months, ql.Months), null, ql.Unadjusted,
                        ql.Unadjusted, ql.DateGeneration.Backward, True)
    return ql.Schedule([cal.adjust(d, rolling) for d in plain.dates()], cal, ql.Unadjusted)


def calendar_of(row: dict[str, Any]) -> tuple[Any, Any]:
    """A row's QuantLib calendar (the engine's holidays) and convention: none when it gives
    no calendar, Modified Following when it gives a calendar alone."""
    name = row.get("calendar")
    if name is None:
        return ql.NullCalendar(), ql.Unadjusted
    return (qlref.holidays_calendar(name),
            qlref.ROLLING[row.get("business_day_convention") or "MODIFIED FOLLOWING"])


# --------------------------------------------------------------------------- strategies


@st.composite
def cases(draw: st.DrawFn) -> tuple[dict[str, Any], list[dict[str, Any]], list[dict[str, Any]]]:
    val = draw(st.dates(dt.date(2022, 1, 1), dt.date(2030, 12, 31)))
    ccy = draw(st.sampled_from(sorted(CCY)))
    idx = sorted(draw(st.lists(st.integers(0, len(CURVE_TENORS) - 1), min_size=1, max_size=8,
                               unique=True)))
    market = {"valuation_date": val.isoformat(), "base_currency": ccy,
              "curves": {ccy: {"type": "zero", "tenors": [CURVE_TENORS[i] for i in idx],
                               "rates": [draw(_pct(-0.5, 7.0)) for _ in idx]}},
              "fx": {"USDJPY": 150.0, "EURUSD": 1.1}}
    rows = []
    for i in range(draw(st.integers(1, 5))):
        kind = draw(st.sampled_from(("bond", "frn", "swap", "future")))
        row: dict[str, Any] = {"position_id": f"P{i}", "instrument": kind, "currency": ccy,
                               "sector": draw(st.sampled_from((*SECTORS, None)))}
        mat = val + dt.timedelta(days=draw(st.integers(30, 30 * 365)))
        if kind in ("frn", "swap") and draw(st.booleans()):
            row.update(calendar=draw(st.sampled_from(("US", "JP", "UK", "TARGET", "WEEKENDS"))),
                       business_day_convention=draw(st.one_of(
                           st.none(), st.sampled_from(sorted(qlref.ROLLING)))))
        if kind == "bond":
            row.update(notional=draw(_pct(-1e8, 1e8)), coupon=draw(_pct(0.0, 8.0)),
                       maturity=mat, frequency=draw(st.sampled_from((1, 2, 4))),
                       day_count=draw(st.sampled_from(sorted(DC))),
                       spread_bp=draw(_pct(-50.0, 300.0)))
        elif kind == "frn":
            row.update(notional=draw(_pct(-1e8, 1e8)), maturity=mat,
                       frequency=draw(st.sampled_from((2, 4, 12))),
                       day_count=draw(st.sampled_from(("ACT/360", "ACT/365F"))),
                       margin_bp=draw(_pct(-20.0, 200.0)), current_coupon=draw(_pct(0.0, 8.0)),
                       spread_bp=draw(st.one_of(st.none(), _pct(-50.0, 300.0))))
        elif kind == "swap":
            row.update(notional=draw(_pct(1e5, 1e9)), maturity=mat, coupon=draw(_pct(-0.5, 6.0)),
                       frequency=draw(st.sampled_from((1, 2))),
                       day_count=draw(st.sampled_from(sorted(DC))),
                       side=draw(st.sampled_from(("payer", "receiver"))),
                       float_frequency=draw(st.sampled_from((2, 4))),
                       float_day_count=draw(st.sampled_from(("ACT/360", "ACT/365F"))),
                       current_coupon=draw(_pct(0.0, 6.0)),
                       margin_bp=draw(st.one_of(st.none(), _pct(-10.0, 50.0))))
        else:
            contract = draw(st.sampled_from(CCY[ccy]))
            delivery = val + dt.timedelta(days=draw(st.integers(1, 300)))
            mat = delivery + dt.timedelta(days=draw(st.integers(400, 25 * 365)))
            row.update(notional=float(draw(st.integers(-500, 500))), contract=contract,
                       coupon=draw(_pct(0.0, 7.0)), maturity=mat, delivery_date=delivery,
                       futures_price=draw(_pct(80.0, 160.0)),
                       conversion_factor=draw(st.one_of(st.none(), _pct(0.5, 1.3))),
                       spread_bp=draw(st.one_of(st.none(), _pct(-30.0, 60.0))))
        rows.append(row)
    scenarios = []
    for k in range(draw(st.integers(1, 3))):
        spec: dict[str, Any] = {"name": f"s{k}"}
        if draw(st.booleans()):
            if draw(st.booleans()):
                spec["rates"] = {ccy: {"parallel_bp": draw(_pct(-200.0, 200.0))}}
            else:
                ks = sorted(draw(st.lists(st.integers(0, len(SHOCK_TENORS) - 1), min_size=1,
                                          max_size=4, unique=True)))
                spec["rates"] = {ccy: {"tenors": [SHOCK_TENORS[i] for i in ks],
                                       "bp": [draw(_pct(-200.0, 200.0)) for _ in ks]}}
        if draw(st.booleans()):
            labels = draw(st.lists(st.sampled_from((*SECTORS, "ALL")), min_size=1, max_size=3,
                                   unique=True))
            spec["spreads"] = {"by": "sector", "bp": {x: draw(_pct(-100.0, 400.0))
                                                      for x in labels}}
        scenarios.append(spec)
    return market, rows, scenarios


# --------------------------------------------------------------------------- QuantLib side


def spread_shift(spec: dict[str, Any], row: dict[str, Any]) -> float:
    table = spec.get("spreads")
    if not table:
        return 0.0
    label = row.get("sector") or "n/a"
    return float(table["bp"].get(label, table["bp"].get("ALL", 0.0)))


def spreaded(handle: Any, bp: float) -> Any:
    q = ql.QuoteHandle(ql.SimpleQuote(bp * 1e-4))
    return ql.YieldTermStructureHandle(ql.ZeroSpreadedTermStructure(
        handle, q, ql.Continuous, ql.NoFrequency, ql.Actual365Fixed()))


class Priced:
    """QuantLib values of one row per 100 face/notional, on a (curve, spread shift) pair."""

    def __init__(self, val: Any, row: dict[str, Any]) -> None:
        self.val = val
        self.row = row
        self.proj = ql.RelinkableYieldTermStructureHandle()
        kind = row["instrument"]
        if kind in ("frn", "swap"):
            f = row["float_frequency"] if kind == "swap" else row["frequency"]
            dcn = row["float_day_count"] if kind == "swap" else row["day_count"]
            cal, rolling = calendar_of(row)
            # Fixing on each period's start as rolled: QuantLib advances a fixing date by 0
            # days on the index's calendar, which moves an unadjusted start on a holiday.
            fixing = cal if rolling != ql.Unadjusted else ql.NullCalendar()
            self.index = ql.IborIndex(f"I{id(self)}", ql.Period(12 // f, ql.Months), 0,
                                      ql.USDCurrency(), fixing, rolling, False, DC[dcn](),
                                      self.proj)  # fmt: skip
            sch = schedule(val, row["maturity"], f, cal, rolling)
            m = (row.get("margin_bp") or 0.0) / 1e4
            if kind == "frn":
                self.inst = ql.FloatingRateBond(0, 100.0, sch, self.index, DC[dcn](),
                                                rolling, 0, [1.0], [m])
                legs = self.inst.cashflows()
            else:
                typ = ql.Swap.Payer if row["side"] == "payer" else ql.Swap.Receiver
                self.inst = ql.VanillaSwap(typ, 100.0, schedule(val, row["maturity"],
                                                                row["frequency"], cal, rolling),
                                           row["coupon"] / 100.0, DC[row["day_count"]](), sch,
                                           self.index, m, DC[dcn](), rolling)
                legs = self.inst.floatingLeg()
            for cf in legs:
                c = ql.as_floating_rate_coupon(cf)
                if c is not None and c.fixingDate() <= val < c.date():
                    self.index.addFixing(c.fixingDate(), row["current_coupon"] / 100.0 - m)
        else:
            freq, dcn = (row.get("frequency"), row.get("day_count"))
            if kind == "future":
                conv = {"UST": (2, ql.ActualActual(ql.ActualActual.ISMA)),
                        "JGB": (2, ql.Actual365Fixed()),
                        "BUND": (1, ql.ActualActual(ql.ActualActual.ISMA))}
                freq, dc = conv[CONTRACTS[row["contract"]].convention]
            else:
                dc = DC[dcn]()
            sch = schedule(val, row["maturity"], freq)
            self.inst = ql.FixedRateBond(0, 100.0, sch, [row["coupon"] / 100.0], dc)

    def value(self, curve: Any, spread_shift_bp: float) -> float:
        row = self.row
        kind = row["instrument"]
        self.proj.linkTo(curve.currentLink())
        if kind == "swap":
            self.inst.setPricingEngine(ql.DiscountingSwapEngine(curve))
            return float(self.inst.NPV())
        disc = spreaded(curve, (row.get("spread_bp") or 0.0) + spread_shift_bp)
        if kind in ("bond", "frn"):
            self.inst.setPricingEngine(ql.DiscountingBondEngine(disc))
            return float(self.inst.NPV())
        delivery = qdate(row["delivery_date"])
        fwd = sum(cf.amount() * disc.discount(cf.date()) for cf in self.inst.cashflows()
                  if cf.date() > delivery)
        return fwd / curve.discount(delivery)


def quantlib(market: dict[str, Any], rows: list[dict[str, Any]],
             scenarios: list[dict[str, Any]], factors: dict[str, float]) -> list[dict[str, float]]:
    val = qdate(dt.date.fromisoformat(market["valuation_date"]))
    ql.Settings.instance().evaluationDate = val
    ql.IndexManager.instance().clearHistories()
    ccy = market["base_currency"]
    base = ql.YieldTermStructureHandle(base_curve(val, market["curves"][ccy]))
    priced = [Priced(val, r) for r in rows]
    out = []
    for spec in scenarios:
        curve = shifted(base, val, spec.get("rates", {}).get(ccy), None)
        for p, r in zip(priced, rows, strict=True):
            if r["instrument"] == "future":
                size = CONTRACTS[r["contract"]].size
                scale = r["notional"] * size / 100.0 / factors[r["position_id"]]
                f0 = p.value(base, 0.0)
                l0, lr, l1 = 0.0, scale * (p.value(curve, 0.0) - f0), scale * (
                    p.value(curve, spread_shift(spec, r)) - f0)
            else:
                scale = r["notional"] / 100.0
                l0 = scale * p.value(base, 0.0)
                lr = scale * p.value(curve, 0.0)
                l1 = scale * p.value(curve, spread_shift(spec, r))
            out.append({"pv_before": l0, "pv_after": l1, "pnl": l1 - l0, "pnl_rates": lr - l0,
                        "pnl_spread": l1 - lr, "size": abs(scale) * 100.0})
    return out


def engine(market: dict[str, Any], rows: list[dict[str, Any]],
           scenarios: list[dict[str, Any]]) -> tuple[pl.DataFrame, dict[str, float]]:
    book = portfolios.load(ts.positions_frame(rows),
                           valuation_date=dt.date.fromisoformat(market["valuation_date"]))
    factors = dict(zip(book.frame["position_id"].to_list(),
                       book.frame["conversion_factor"].to_list(), strict=True))
    res = stress.run(book, stress.Market.from_dict(market),
                     shocks.from_dict({"scenario": scenarios}, "<ql instruments>"),
                     detail="positions")
    pos = res.positions.sort(pl.col("scenario").to_physical(), pl.col("position_id").to_physical())
    return pos, factors


def worst_errors(market: dict[str, Any], rows: list[dict[str, Any]],
                 scenarios: list[dict[str, Any]]) -> dict[str, float]:
    pos, factors = engine(market, rows, scenarios)
    ref = quantlib(market, rows, scenarios, factors)
    worst = {}
    for k in ("pv_before", "pv_after", "pnl", "pnl_rates", "pnl_spread"):
        g = pos[k].to_numpy()
        r = np.array([x[k] for x in ref])
        scale = np.maximum(np.abs(r), FLOOR * np.array([x["size"] for x in ref]))
        with np.errstate(invalid="ignore", divide="ignore"):
            err = np.where(g == r, 0.0, np.abs(g - r) / scale)
        worst[k] = float(np.max(err))
    return worst


FRN_CASE = (
    {"valuation_date": "2026-01-20", "base_currency": "USD",
     "curves": {"USD": {"type": "zero", "tenors": ["3M", "1Y", "5Y", "10Y", "30Y"],
                        "rates": [3.7, 3.5, 3.8, 4.2, 4.8]}},
     "fx": {"USDJPY": 150.0, "EURUSD": 1.1}},
    [{"position_id": "FRN", "instrument": "frn", "currency": "USD", "notional": 1e7,
      "maturity": dt.date(2030, 3, 15), "frequency": 4, "day_count": "ACT/360",
      "margin_bp": 65.0, "current_coupon": 4.45, "spread_bp": 80.0, "sector": "financials"},
     {"position_id": "SWAP", "instrument": "swap", "currency": "USD", "notional": 5e7,
      "maturity": dt.date(2036, 1, 20), "coupon": 3.9, "frequency": 2, "day_count": "30/360",
      "side": "receiver", "float_frequency": 4, "float_day_count": "ACT/360",
      "current_coupon": 3.95, "sector": "govt"},
     {"position_id": "TY", "instrument": "future", "currency": "USD", "notional": -200.0,
      "contract": "TY", "coupon": 4.25, "maturity": dt.date(2032, 11, 15),
      "delivery_date": dt.date(2026, 3, 31), "futures_price": 112.5, "sector": "govt"}],
    [{"name": "up", "rates": {"USD": {"tenors": ["1Y", "10Y"], "bp": [50, 120]}},
      "spreads": {"by": "sector", "bp": {"financials": 150, "ALL": 20}}}],
)


# A 10-year EUR swap and a EUR FRN maturing on a Saturday and on a month's last day, on their
# market's calendar: rolled dates change the legs' periods (the swap's value by 1.6 bp of
# notional against its unadjusted schedule).
CALENDAR_CASE = (
    {**FRN_CASE[0], "base_currency": "EUR",
     "curves": {"EUR": {"type": "zero", "tenors": ["3M", "1Y", "5Y", "10Y", "30Y"],
                        "rates": [2.0, 2.1, 2.4, 2.8, 3.1]}}},
    [{"position_id": "SWAP", "instrument": "swap", "currency": "EUR", "notional": 1e8,
      "maturity": dt.date(2036, 3, 15), "coupon": 2.75, "frequency": 1, "day_count": "30/360",
      "side": "payer", "float_frequency": 2, "float_day_count": "ACT/360",
      "current_coupon": 2.05, "calendar": "TARGET", "sector": "govt"},
     {"position_id": "FRN", "instrument": "frn", "currency": "EUR", "notional": 1e7,
      "maturity": dt.date(2036, 5, 31), "frequency": 4, "day_count": "ACT/360",
      "margin_bp": 40.0, "current_coupon": 2.4, "spread_bp": 60.0, "calendar": "TARGET",
      "business_day_convention": "FOLLOWING", "sector": "financials"}],
    [{"name": "up", "rates": {"EUR": {"tenors": ["1Y", "10Y"], "bp": [50, 120]}},
      "spreads": {"by": "sector", "bp": {"financials": 150}}}],
)


def test_a_calendar_moves_a_swaps_value() -> None:
    """The calendar case agrees with QuantLib, and its swap's value moves by 1.6 bp of
    notional from its value on unadjusted dates: enough to matter, small enough to be the
    calendar's doing."""
    assert max(worst_errors(*CALENDAR_CASE).values()) <= RTOL
    market, rows, scenarios = CALENDAR_CASE
    plain = [{k: v for k, v in r.items() if k not in ("calendar", "business_day_convention")}
             for r in rows]
    rolled, _ = engine(market, rows[:1], scenarios)
    unadjusted, _ = engine(market, plain[:1], scenarios)
    moved = abs(rolled["pv_before"][0] - unadjusted["pv_before"][0]) / rows[0]["notional"]
    assert 1e-5 < moved < 3e-4, moved


# Random books and spread tables: a table that moves no position of the book is a case too.
@pytest.mark.filterwarnings("ignore:the scenarios' spread shifts by")
@settings(max_examples=ts.examples(EXAMPLES), deadline=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(cases())
@example(FRN_CASE)
@example(CALENDAR_CASE)
def test_instruments_match_quantlib(case: tuple[Any, Any, Any]) -> None:
    worst = worst_errors(*case)
    assert max(worst.values()) <= RTOL, worst


def test_frn_durations_rate_near_reset_spread_to_maturity() -> None:
    market, rows, _ = FRN_CASE
    table = stress.analytics(portfolios.load(ts.positions_frame(rows[:1])),
                             stress.Market.from_dict(market))
    frn = table.row(0, named=True)
    assert frn["effective_duration"] < 0.25  # next reset within a quarter
    assert 3.5 < frn["spread_duration"] < 4.2  # about its remaining life, discounted


def test_future_dv01_is_ctd_forward_dv01_over_cf() -> None:
    """The engine's DV01 of a future is the change of its value for a 1 bp parallel fall of
    the curve (QuantLib, central difference), i.e. the CTD's forward DV01 over CF."""
    market, rows, _ = FRN_CASE
    row = rows[2]
    pos, factors = engine(market, [row], [{"name": "zero"}])
    val = qdate(dt.date(2026, 1, 20))
    ql.Settings.instance().evaluationDate = val
    base = ql.YieldTermStructureHandle(base_curve(val, market["curves"]["USD"]))
    p = Priced(val, row)
    up = p.value(shifted(base, val, {"parallel_bp": 1.0}, None), 0.0)
    down = p.value(shifted(base, val, {"parallel_bp": -1.0}, None), 0.0)
    scale = row["notional"] * 100_000.0 / 100.0 / factors["TY"]
    dv01 = scale * (down - up) / 2.0
    assert pos["dv01_before"][0] == pytest.approx(dv01, rel=1e-7)
