"""Fixed-coupon bullet bonds: schedules rolled back from maturity (an odd first coupon from the
issue date), coupons from the day count, payments rolled on the market's calendar, quotes on the
settlement date, a zero spread over the currency curve given or solved from a quoted clean
price."""

from __future__ import annotations

import numpy as np
import polars as pl

from stress.cashflows import build_cashflows
from stress.instruments.base import (
    CALENDAR_COLUMNS,
    DAY_COUNT_CODES,
    CashflowRows,
    Instrument,
    Read,
    read,
)
from stress.kernels.scenarios import CASHFLOWS
from stress.kernels.schedules import NO_DATE
from stress.market import Market

#: What a bond's layout reads of its position row.
COLUMNS = {
    "maturity": Read("maturity", "day"),
    "coupon": Read("coupon", "float"),
    "frequency": Read("frequency", "int"),
    "day_count": Read("day_count", "code", codes=DAY_COUNT_CODES),
    "spread_bp": Read("spread_bp", "float", fill=0.0),
    "clean_price": Read("clean_price", "float", fill=np.nan),
    "issue": Read("issue_date", "day", fill=NO_DATE),
    "first": Read("first_coupon_date", "day", fill=NO_DATE),
    **CALENDAR_COLUMNS,
    "settlement_days": Read("settlement_days", "int"),
    "ex_dividend_days": Read("ex_dividend_days", "int"),
}


def build(rows: pl.DataFrame, market: Market) -> CashflowRows:
    """The bonds ``rows`` (validated positions) as cashflows per 100 face."""
    c = read(rows, **COLUMNS)
    return CashflowRows(
        cashflows=build_cashflows(
            market.valuation_date,
            c["maturity"],
            c["coupon"],
            c["frequency"],
            c["day_count"],
            issue_day=c["issue"],
            first_coupon_day=c["first"],
            calendar=c["calendar"],
            business_day_convention=c["rolling"],
            settlement_days=c["settlement_days"],
            ex_dividend_days=c["ex_dividend_days"],
        ),
        currency=tuple(rows["currency"].to_list()),
        # Divided here: polars may multiply by the reciprocal, which differs in the last bit.
        spread=c["spread_bp"] / 1e4,
        clean_price=c["clean_price"],
        frequency=c["frequency"],
    )


BOND = Instrument(name="bond", form=CASHFLOWS, build=build)
