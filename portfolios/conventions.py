"""Bond conventions: day counts, coupon frequencies, calendars, rolling and market presets.

Day counts follow QuantLib's definitions so that prices agree with it to rounding:

- ``ACT/ACT-ICMA``: actual days over actual days of the reference (coupon) period, times the
  period's length in years; a regular coupon accrues exactly ``rate / frequency``. Irregular
  (odd first) periods and dates outside the reference period follow QuantLib's
  ``ActualActual.ISMA`` without a schedule (notional periods counted back or forward).
- ``ACT/365F`` and ``ACT/360``: actual days over 365 or 360.
- ``30/360 US`` (also written ``30/360``): the US (SIFMA bond basis) rule, QuantLib's
  ``Thirty360.USA``: day 31 becomes 30 (the end date's only when the start is the 30th or
  31st), the end of February counts as day 30 when the period starts on it.
- ``30E/360``: the Eurobond basis, QuantLib's ``Thirty360.European`` (ISDA 2006 4.16(g)):
  day 31 becomes 30 at either end.
- ``30/360 ISDA``: the bond basis of ISDA 2006 4.16(f), QuantLib's ``Thirty360.BondBasis``:
  a start on the 31st becomes the 30th; an end on the 31st becomes the 30th when the start is
  (then) the 30th. No February rule.
- ``30E/360 ISDA``: ISDA 2006 4.16(h), QuantLib's ``Thirty360.ISDA`` with the bond's maturity
  as termination date: the 31st and the last day of February count as the 30th, except the
  last day of February when it is the maturity date.
- ``ACT/ACT ISDA``: days in leap years over 366 plus days in other years over 365, QuantLib's
  ``ActualActual.ISDA``.
- ``NL/365``: actual days not counting 29 February, over 365, QuantLib's
  ``Actual365Fixed.NoLeap``.

Calendars (business days for settlement, payment rolling and ex-dividend dates) come from the
maintained ``holidays`` package (see ``stress.calendars``); ``NONE`` has no holidays at all,
not even weekends (QuantLib's ``NullCalendar``), ``WEEKENDS`` only Saturdays and Sundays.
"""

from __future__ import annotations

from dataclasses import MISSING, dataclass, fields
from typing import Final

#: Integer codes used in the flat arrays handed to the kernels. ``30/360`` is the same day
#: count as ``30/360 US`` (the name it had first).
DAY_COUNTS: Final[dict[str, int]] = {
    "ACT/ACT-ICMA": 0,
    "ACT/365F": 1,
    "ACT/360": 2,
    "30/360 US": 3,
    "30/360": 3,
    "30E/360": 4,
    "30/360 ISDA": 5,
    "30E/360 ISDA": 6,
    "ACT/ACT ISDA": 7,
    "NL/365": 8,
}
#: One name per day count (aliases left out), in code order.
DAY_COUNT_NAMES: Final[tuple[str, ...]] = tuple(
    next(k for k, v in DAY_COUNTS.items() if v == code) for code in sorted(set(DAY_COUNTS.values()))
)
#: Names accepted in a positions file, as listed in messages.
DAY_COUNT_CHOICES: Final[str] = ", ".join(
    f"{n} (or 30/360)" if n == "30/360 US" else n for n in DAY_COUNT_NAMES
)

FREQUENCIES: Final[tuple[int, ...]] = (1, 2, 4, 12)

#: Holiday calendars by name and kernel code (``stress.calendars`` builds their holidays).
CALENDARS: Final[dict[str, int]] = {
    "NONE": 0,
    "WEEKENDS": 1,
    "US": 2,
    "JP": 3,
    "UK": 4,
    "TARGET": 5,
}
CALENDAR_DESCRIPTIONS: Final[dict[str, str]] = {
    "NONE": "no holidays, not even weekends (every day is a business day)",
    "WEEKENDS": "Saturdays and Sundays only",
    "US": "US bond market: SIFMA's recommended full closes (holidays' XSIF calendar)",
    "JP": "Japan: national holidays and the bank holidays of 31 December to 3 January",
    "UK": "UK: bank holidays of England and Wales",
    "TARGET": "euro area: TARGET2 closing days (holidays' XECB calendar)",
}

#: Business-day conventions for payment dates, by name and kernel code (QuantLib's rules).
BUSINESS_DAY_CONVENTIONS: Final[dict[str, int]] = {
    "UNADJUSTED": 0,
    "FOLLOWING": 1,
    "MODIFIED FOLLOWING": 2,
    "PRECEDING": 3,
    "MODIFIED PRECEDING": 4,
}

#: Limits of the business-day counts (inclusive).
MAX_SETTLEMENT_DAYS: Final = 10
MAX_EX_DIVIDEND_DAYS: Final = 10


@dataclass(frozen=True)
class Convention:
    """A market's bond convention.

    Coupons per year and day count; ``settlement_days`` business days from the valuation
    (trade) date to settlement; payment dates rolled with ``business_day_convention`` on
    ``calendar`` (accrual on the unadjusted dates); a coupon goes ex-dividend
    ``ex_dividend_days`` business days before its payment date (0: never).
    """

    name: str
    frequency: int
    day_count: str
    description: str
    settlement_days: int = 0
    calendar: str = "NONE"
    business_day_convention: str = "UNADJUSTED"
    ex_dividend_days: int = 0


#: A bond's market conventions when neither a preset nor its own columns give them (T+0, no
#: calendar, unadjusted, no ex-dividend period): ``Convention``'s defaults.
MARKET_DEFAULTS: Final[dict[str, object]] = {
    f.name: f.default for f in fields(Convention) if f.default is not MISSING
}


#: Market presets. Sources (README, Conventions):
#: - UST: T+1 (SIFMA/TreasuryDirect: regular settlement of Treasury securities is the next
#:   business day); coupons falling on a non-business day are paid the next business day
#:   without extra interest (31 CFR 356: Following, accrual unadjusted); SIFMA calendar.
#: - JGB: T+1 for outright trades since 1 May 2018 (JSDA; JSCC "Shortening of JGB Settlement
#:   Cycle to T+1"; cross-border trades often settle T+2: override with settlement_days);
#:   interest on a bank holiday is paid the next business day (Following); Japanese bank
#:   holidays.
#: - BUND: T+2 (EU CSDR standard cycle for trades on trading venues, Clearstream Banking
#:   Frankfurt); Following, unadjusted (Bund terms, ICMA rule 251); TARGET calendar.
#: - GILT: T+1 (DMO: standard gilt settlement is the next business day); a coupon on a
#:   non-business day is paid the next business day (Following); ex-dividend seven business
#:   days before the coupon (DMO, "Formulae for calculating gilt prices from yields");
#:   England and Wales bank holidays.
#: - USD_CORP: T+1 since 28 May 2024 (SEC Rule 15c6-1 as amended); Following, unadjusted;
#:   SIFMA calendar.
PRESETS: Final[dict[str, Convention]] = {
    c.name: c
    for c in (
        Convention("UST", 2, "ACT/ACT-ICMA", "US Treasury notes and bonds", 1, "US", "FOLLOWING"),
        Convention("JGB", 2, "ACT/365F", "Japanese government bonds", 1, "JP", "FOLLOWING"),
        Convention("BUND", 1, "ACT/ACT-ICMA", "German Bunds", 2, "TARGET", "FOLLOWING"),
        Convention("GILT", 2, "ACT/ACT-ICMA", "UK gilts", 1, "UK", "FOLLOWING", 7),
        Convention("USD_CORP", 2, "30/360", "US dollar corporate bonds", 1, "US", "FOLLOWING"),
    )
}

#: The convention used to bootstrap a par-yield curve of each currency.
CURRENCY_BOND_CONVENTION: Final[dict[str, str]] = {
    "USD": "UST",
    "JPY": "JGB",
    "EUR": "BUND",
    "GBP": "GILT",
}
