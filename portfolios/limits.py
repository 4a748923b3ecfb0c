"""What a positions row may hold: its columns and the plausibility ranges of its values
(README, "What is validated")."""

from __future__ import annotations

import datetime as dt
from typing import Final

REQUIRED = ("position_id", "instrument", "currency", "notional")
KNOWN = (
    *REQUIRED,
    "coupon",
    "maturity",
    "convention",
    "frequency",
    "day_count",
    "spread_bp",
    "clean_price",
    "contract",
    "futures_price",
    "conversion_factor",
    "delivery_date",
    "margin_bp",
    "current_coupon",
    "side",
    "float_frequency",
    "float_day_count",
    "issue_date",
    "first_coupon_date",
    "settlement_days",
    "ex_dividend_days",
    "calendar",
    "business_day_convention",
)
#: Swap sides: receives fixed (receiver) or pays fixed (payer).
SIDES = ("payer", "receiver")
#: Current floating coupons (percent, margin included) and swaps' fixed rates: inclusive bounds.
RATE_PCT_RANGE: Final = (-50.0, 100.0)
#: Futures prices per 100 of the notional bond: 0 < price < MAX_FUTURES_PRICE.
MAX_FUTURES_PRICE: Final = 1_000.0
#: Conversion factors: 0 < factor < MAX_CONVERSION_FACTOR.
MAX_CONVERSION_FACTOR: Final = 10.0

#: Largest notional in absolute value (face, ounces or currency amount); zero is allowed.
MAX_ABS_NOTIONAL: Final = 1e15
#: Coupons in percent per annum: 0 <= coupon < 100.
MAX_COUPON: Final = 100.0
#: Spreads over the curve in bp: inclusive bounds.
SPREAD_BP_RANGE: Final = (-5_000.0, 10_000.0)
#: Clean prices per 100 face: 0 < price < 10,000 (the engine also refuses a price no spread
#: over the curve reproduces).
MAX_CLEAN_PRICE: Final = 10_000.0
#: Maturities: from this date to MATURITY_HORIZON_YEARS after the valuation date (or today).
EARLIEST_MATURITY: Final = dt.date(1900, 1, 1)
MATURITY_HORIZON_YEARS: Final = 100


def years_after(d: dt.date, years: int) -> dt.date:
    """The same day ``years`` later (28 February for 29 February; the last date Python has
    when beyond it)."""
    if d.year + years > dt.MAXYEAR:
        return dt.date.max
    try:
        return dt.date(d.year + years, d.month, d.day)
    except ValueError:  # 29 February
        return dt.date(d.year + years, d.month, 28)
