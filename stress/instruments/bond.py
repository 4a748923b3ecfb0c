"""Fixed-coupon bullet bonds: schedules rolled back from maturity (an odd first coupon from the
issue date), coupons from the day count, payments rolled on the market's calendar, quotes on the
settlement date, a zero spread over the currency curve given or solved from a quoted clean
price."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
import polars as pl

from stress.cashflows import build_cashflows
from stress.instruments.base import (
    CALENDAR_CODES,
    DAY_COUNT_CODES,
    ROLLING_CODES,
    CashflowRows,
    Instrument,
)
from stress.kernels.scenarios import CASHFLOWS
from stress.kernels.schedules import NO_DATE
from stress.market import Market


def build(rows: pl.DataFrame, market: Market) -> CashflowRows:
    """The bonds ``rows`` (validated positions) as cashflows per 100 face."""
    cols = rows.select(
        maturity=pl.col("maturity").cast(pl.Int64),
        coupon=pl.col("coupon").cast(pl.Float64),
        frequency=pl.col("frequency").cast(pl.Int64),
        day_count=DAY_COUNT_CODES.expr("day_count"),
        spread_bp=pl.col("spread_bp").cast(pl.Float64).fill_null(0.0),
        clean_price=pl.col("clean_price").cast(pl.Float64).fill_null(np.nan),
        issue=pl.col("issue_date").cast(pl.Int64).fill_null(NO_DATE),
        first=pl.col("first_coupon_date").cast(pl.Int64).fill_null(NO_DATE),
        calendar=CALENDAR_CODES.expr("calendar"),
        rolling=ROLLING_CODES.expr("business_day_convention"),
        settlement_days=pl.col("settlement_days").cast(pl.Int64),
        ex_dividend_days=pl.col("ex_dividend_days").cast(pl.Int64),
    )

    def ints(name: str) -> npt.NDArray[np.int64]:
        return cols[name].to_numpy().astype(np.int64)

    frequency = cols["frequency"].to_numpy().astype(np.int64)
    return CashflowRows(
        cashflows=build_cashflows(
            market.valuation_date,
            cols["maturity"].to_numpy().astype(np.int64),
            cols["coupon"].to_numpy().astype(np.float64),
            frequency,
            DAY_COUNT_CODES.of(cols["day_count"]),
            issue_day=ints("issue"),
            first_coupon_day=ints("first"),
            calendar=CALENDAR_CODES.of(cols["calendar"]),
            business_day_convention=ROLLING_CODES.of(cols["rolling"]),
            settlement_days=ints("settlement_days"),
            ex_dividend_days=ints("ex_dividend_days"),
        ),
        currency=tuple(rows["currency"].to_list()),
        # Divided here: polars may multiply by the reciprocal, which differs in the last bit.
        spread=cols["spread_bp"].to_numpy().astype(np.float64) / 1e4,
        clean_price=cols["clean_price"].to_numpy().astype(np.float64),
        frequency=frequency,
    )


BOND = Instrument(name="bond", form=CASHFLOWS, build=build)
