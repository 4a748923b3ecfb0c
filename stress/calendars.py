"""Holiday calendars as a table of day flags the schedule kernels read.

The holidays come from the maintained ``holidays`` package (no hand-written tables):

- ``US``: SIFMA's recommended full closes of the US bond market (``financial_holidays("XSIF")``,
  1996-2100);
- ``JP``: Japan's national holidays and bank holidays, 31 December to 3 January
  (``Japan(categories=("bank", "public"))``, 1949-2099): the days the BOJ-NET JGB book-entry
  system is closed;
- ``UK``: bank holidays of England and Wales (``UnitedKingdom(subdiv="ENG")``), CREST's
  business days for gilts;
- ``TARGET``: TARGET2 closing days (``financial_holidays("XECB")``, 1999-2100).

Outside a library's years only weekends are holidays. ``NONE`` has no holidays (every day is a
business day, QuantLib's ``NullCalendar``); ``WEEKENDS`` has Saturdays and Sundays.

``holiday_table()`` is a (calendars, days) uint8 array, 1 on a holiday, from ``TABLE_START``
(days since 1970-01-01) for ``TABLE_DAYS`` days; the kernels treat days outside it as
weekends-only (every day a business day for ``NONE``). Built once per process (about 0.1 s).
"""

from __future__ import annotations

import datetime as dt
from functools import cache

import numpy as np
import numpy.typing as npt

from portfolios.conventions import BUSINESS_DAY_CONVENTIONS, CALENDARS
from stress.dates import to_days

#: First and last year the table covers (dates outside: weekends only).
FIRST_YEAR = 1899
LAST_YEAR = 2400
TABLE_START = to_days(dt.date(FIRST_YEAR, 1, 1))
TABLE_DAYS = to_days(dt.date(LAST_YEAR + 1, 1, 1)) - TABLE_START

#: Years the holiday library is asked about (it covers less; outside, it returns nothing).
_LIBRARY_YEARS = range(FIRST_YEAR, 2201)


def _library_holidays(name: str) -> list[dt.date]:
    import holidays  # imported on first use: only books with a calendar need it

    years = _LIBRARY_YEARS
    if name == "US":
        return list(holidays.financial_holidays("XSIF", years=years))
    if name == "JP":
        return list(holidays.country_holidays("JP", years=years, categories=("bank", "public")))
    if name == "UK":
        return list(holidays.country_holidays("GB", subdiv="ENG", years=years))
    if name == "TARGET":
        return list(holidays.financial_holidays("XECB", years=years))
    raise ValueError(f"no holiday source for calendar {name!r}")


def holidays_of(name: str) -> list[dt.date]:
    """The weekday holidays of calendar ``name`` in the table's years, sorted (weekend
    holidays add nothing)."""
    if name in ("NONE", "WEEKENDS"):
        return []
    return sorted(d for d in _library_holidays(name) if d.weekday() < 5)


@cache
def holiday_table() -> npt.NDArray[np.uint8]:
    """Every calendar's holiday flags (rows in ``CALENDARS`` code order)."""
    days = np.arange(TABLE_START, TABLE_START + TABLE_DAYS, dtype=np.int64)
    weekday = (days + 3) % 7  # 1970-01-01 was a Thursday: 0 = Monday ... 6 = Sunday
    weekend = (weekday >= 5).astype(np.uint8)
    table = np.zeros((len(CALENDARS), TABLE_DAYS), dtype=np.uint8)
    for name, code in CALENDARS.items():
        if name == "NONE":
            continue
        table[code] = weekend
        idx = np.array([to_days(d) for d in holidays_of(name)], dtype=np.int64) - TABLE_START
        table[code, idx[(idx >= 0) & (idx < TABLE_DAYS)]] = 1
    table.setflags(write=False)
    return table


def is_business_day(calendar: str, d: dt.date) -> bool:
    """Whether ``d`` is a business day of ``calendar`` (as the kernels see it)."""
    code = CALENDARS[calendar]
    if code == 0:
        return True
    i = to_days(d) - TABLE_START
    if 0 <= i < TABLE_DAYS:
        return not holiday_table()[code, i]
    return d.weekday() < 5


def roll(d: dt.date, calendar: str, convention: str) -> dt.date:
    """``d`` rolled on ``calendar`` by the business-day ``convention`` (names as the loader
    gives them), as the schedule kernels roll payment dates."""
    from stress.dates import from_days
    from stress.kernels.schedules import adjust

    table = holiday_table()
    return from_days(adjust(to_days(d), BUSINESS_DAY_CONVENTIONS[convention],
                            CALENDARS[calendar], table, TABLE_START))  # fmt: skip
