"""Vectorized calendar arithmetic on dates held as int64 days since 1970-01-01."""

from __future__ import annotations

import datetime as dt

import numpy as np
import numpy.typing as npt

IntArray = npt.NDArray[np.int64]

EPOCH = dt.date(1970, 1, 1)


def to_days(d: dt.date) -> int:
    """Days since 1970-01-01."""
    return (d - EPOCH).days


def from_days(n: int) -> dt.date:
    return EPOCH + dt.timedelta(days=int(n))


def month_index(days: IntArray) -> IntArray:
    """Months since 1970-01 of each date."""
    return days.astype("datetime64[D]").astype("datetime64[M]").astype(np.int64)


def split(days: IntArray) -> tuple[IntArray, IntArray, IntArray]:
    """(year, month 1-12, day of month) of each date."""
    d = days.astype("datetime64[D]")
    m = d.astype("datetime64[M]")
    months = m.astype(np.int64)
    return months // 12 + 1970, months % 12 + 1, (d - m.astype("datetime64[D]")).astype(np.int64) + 1


def month_start(months: IntArray) -> IntArray:
    """Day number of the 1st of each month index."""
    return months.astype("datetime64[M]").astype("datetime64[D]").astype(np.int64)


def days_in_month(months: IntArray) -> IntArray:
    return month_start(months + 1) - month_start(months)


def add_months(months: IntArray, day: IntArray, end_of_month: npt.NDArray[np.bool_]) -> IntArray:
    """The date in month index ``months`` on ``day`` (clamped to the month's last day), or on
    the month's last day where ``end_of_month``: QuantLib's ``Date + Period`` with the EOM rule."""
    dim = days_in_month(months)
    dom = np.where(end_of_month, dim, np.minimum(day, dim))
    return month_start(months) + dom - 1


def add_tenor(d: dt.date, months: int) -> dt.date:
    """``d`` plus a calendar period of ``months`` months (day clamped to the month end)."""
    m = np.array([d.year * 12 + d.month - 1 - 1970 * 12 + months], dtype=np.int64)
    return from_days(int(add_months(m, np.array([d.day]), np.array([False]))[0]))
