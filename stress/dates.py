"""Dates as int64 days since 1970-01-01, and calendar periods added to a date."""

from __future__ import annotations

import datetime as dt

from stress.kernels.schedules import roll_back

EPOCH = dt.date(1970, 1, 1)


def to_days(d: dt.date) -> int:
    """Days since 1970-01-01."""
    return (d - EPOCH).days


def from_days(n: int) -> dt.date:
    return EPOCH + dt.timedelta(days=int(n))


def add_tenor(d: dt.date, months: int) -> dt.date:
    """``d`` plus a calendar period of ``months`` months, the day clamped to the month's end
    (QuantLib's ``Date + Period`` without the end-of-month rule)."""
    base = d.year * 12 + d.month - 1
    return from_days(int(roll_back(base, d.day, False, -months, 1)))
