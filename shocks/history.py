"""Market history: daily levels of risk factors, and the N-day windows of their changes.

A ``History`` holds, for T dates and F factors (see ``shocks.factors`` for the names), the
level of each factor on each date or NaN where it has no observation. Its wide layout (CSV,
Parquet, pandas or polars; see ``shocks.history_load``) is a ``date`` column plus one column
per factor: ``JPY.10Y`` (percent), ``FX.JPY`` (value of one JPY in USD), ``XAU`` (USD per troy
ounce).

Missing observations: the rule
------------------------------
Markets keep different holidays and series start and stop at different dates. One rule
decides every N-day change (``History.changes``), and through it historical scenarios,
covariances, Monte Carlo and predictions:

1. The calendar is every weekday (Monday to Friday) from the history's first date to its last,
   plus any other date with an observation (JGBs traded on Saturdays until 1989):
   t_0 < t_1 < ... An N-day horizon is N business days of this calendar, whatever holidays
   each market keeps.
2. The N-day window ending on t_i starts on t_(i-N), for every i >= N. Restricted to
   ``start``/``end``, the windows are those with t_(i-N) >= start and t_i <= end. Windows in
   which no factor has a change (a day every market was closed) are skipped; non-overlapping
   windows are then every N-th calendar date counted back from the last window.
3. In the window (t_(i-N), t_i] a factor has a change when it has an observation on t_i itself
   and one on or before t_(i-N) at most ``max_carry_days`` (default 10) calendar days before
   t_(i-N): its latest value is carried forward over its own short gaps (a holiday, the
   ten-day Golden Week of 2019), never over a long one (a series that has not started yet, has
   stopped, or has a hole).
4. A factor without a change in a window is *missing* there: historical scenarios leave it
   unshocked (no knot at that tenor, 0 % for FX and gold; the description names it) and
   covariances leave that window out for that factor (pairwise). A missing value never
   becomes a zero change passed off as data.
5. The carry is meant for holidays: a factor observed less often than every N business days
   (its median gap in the windows' span) is warned of, since its N-day changes are really
   changes over its own gap (a weekly series' one-day changes are five-day ones).

Because the end of a window must be a real observation and the start may be carried, a
factor whose own gaps are all within the carry limit has one-day changes that add up exactly to
its change from its first to its last observation: no move is lost or counted twice.
"""

from __future__ import annotations

import datetime as dt
import math
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from functools import cache, cached_property
from importlib import resources
from pathlib import Path
from typing import TypeAlias

import numpy as np
import numpy.typing as npt
import polars as pl

from portfolios.lazy_pandas import TableSource
from shocks.errors import HistoryError, HistoryWarning
from shocks.factors import Factor, FactorSpace, Units, parse_factor
from shocks.model import FloatArray
from shocks.tenors import Tenor

HistorySource: TypeAlias = TableSource

DateArray = npt.NDArray[np.datetime64]
DateLike = str | dt.date | np.datetime64
Window = tuple[DateLike, DateLike]

#: Default longest carry of a factor's last value to a window's start (calendar days).
MAX_CARRY_DAYS = 10
#: Default length of the window of history behind covariances, Monte Carlo and predictions.
DEFAULT_WINDOW_YEARS = 5


def as_date(value: object, what: str = "date") -> dt.date:
    """A date from a ``datetime.date``, an ISO ``YYYY-MM-DD`` text or a numpy datetime64.

    Raises:
        HistoryError: anything else.
    """
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    if isinstance(value, np.datetime64) and not np.isnat(value):
        return dt.date.fromisoformat(str(value.astype("datetime64[D]")))
    if isinstance(value, str):
        text = value.strip()
        if len(text) == 10:
            try:
                return dt.date.fromisoformat(text)
            except ValueError:
                pass
    raise HistoryError(f"{what}: got {value!r}; expected a date YYYY-MM-DD")


def _day(d: dt.date) -> np.datetime64:
    return np.datetime64(d.isoformat(), "D")


#: The longest horizon a history's changes are taken over, in business days (a century): more
#: has no window in any history, and a horizon of 1e20 overflowed the index arithmetic.
MAX_HORIZON = 26_100


@dataclass(frozen=True, eq=False)
class History:
    """Daily levels of F factors on T dates (see the module docstring for the layout and the
    missing-observation rule). Build it with ``History.load`` or by keyword."""

    #: (T,) datetime64[D], strictly increasing: the calendar.
    dates: DateArray
    #: Factor names (``JPY.10Y``, ``FX.JPY``, ``XAU``): rates by currency and tenor, then FX,
    #: then gold.
    factors: tuple[str, ...]
    #: (T, F) level of each factor on each date (percent, USD per unit, USD per ounce); NaN
    #: where the factor has no observation that day.
    values: FloatArray
    #: Where the history came from (a path, "<polars DataFrame>", "bundled:...").
    source: str = "<history>"
    #: Longest carry of a factor's last value to a window's start, in calendar days.
    max_carry_days: int = MAX_CARRY_DAYS
    _parsed: tuple[Factor, ...] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        try:
            parsed = tuple(parse_factor(f) for f in self.factors)
        except ValueError as exc:
            raise HistoryError(f"History.factors: {exc}") from None
        canonical = tuple(f.name for f in parsed)
        if canonical != self.factors:
            raise HistoryError(
                f"History.factors: expected canonical names {list(canonical)}, got "
                f"{list(self.factors)}"
            )
        if len({f.identity for f in parsed}) != len(canonical):
            raise HistoryError(f"History.factors: a factor appears twice in {list(canonical)}")
        order = sorted(range(len(parsed)), key=lambda i: parsed[i].sort_key)
        if order != list(range(len(parsed))):
            raise HistoryError(
                "History.factors: expected rates by currency and tenor, then FX, then gold"
            )
        d, v = self.dates, self.values
        if not (isinstance(d, np.ndarray) and d.dtype == np.dtype("datetime64[D]") and d.ndim == 1):
            raise HistoryError("History.dates: expected a datetime64[D] array")
        if len(d) > 1 and not (np.diff(d) > np.timedelta64(0, "D")).all():
            raise HistoryError("History.dates: expected strictly increasing dates")
        shape = (len(d), len(parsed))
        if not (isinstance(v, np.ndarray) and v.dtype == np.float64 and v.shape == shape):
            raise HistoryError(
                f"History.values: expected a float64 array of shape {shape}"
            )
        if np.isinf(v).any():
            raise HistoryError("History.values: expected finite levels (NaN = no observation)")
        carry = self.max_carry_days
        if isinstance(carry, bool) or not isinstance(carry, int | np.integer) or carry < 0:
            raise HistoryError(f"max_carry_days: got {carry!r}; expected a whole number of "
                               "days >= 0")
        object.__setattr__(self, "_parsed", parsed)

    # ------------------------------------------------------------------ loading

    @classmethod
    def load(
        cls, source: HistorySource | History, *, max_carry_days: int = MAX_CARRY_DAYS
    ) -> History:
        """Load and validate a history (see ``shocks.history_load.load_history``)."""
        from shocks.history_load import load_history

        return load_history(source, max_carry_days=max_carry_days)

    # ------------------------------------------------------------------ views

    def __len__(self) -> int:
        return len(self.dates)

    @property
    def first_date(self) -> dt.date:
        return as_date(self.dates[0])

    @property
    def last_date(self) -> dt.date:
        return as_date(self.dates[-1])

    @cached_property
    def space(self) -> FactorSpace:
        """The history's factors as a FactorSpace (ScenarioSet <-> factor moves)."""
        return FactorSpace(self._parsed)

    @cached_property
    def curves(self) -> dict[str, tuple[Tenor, ...]]:
        """Curve currency -> its tenors, shortest first."""
        out: dict[str, list[Tenor]] = {}
        for f in self._parsed:
            if f.tenor is not None:
                out.setdefault(f.currency, []).append(f.tenor)
        return {c: tuple(ts) for c, ts in out.items()}

    def frame(self) -> pl.DataFrame:
        """The wide layout: ``date`` and one Float64 column per factor (null = no value)."""
        cols: dict[str, pl.Series] = {"date": pl.Series("date", self.dates, dtype=pl.Date)}
        for j, name in enumerate(self.factors):
            cols[name] = pl.Series(name, self.values[:, j], nan_to_null=True)
        return pl.DataFrame(cols)

    def select(self, factors: Sequence[str]) -> History:
        """The history of some factors (names ignore case, JPY.12M is JPY.1Y); the calendar
        shrinks to their dates."""
        if isinstance(factors, str) or not isinstance(factors, Sequence) or not factors:
            raise HistoryError(f"select: got {factors!r}; expected a list of factor names "
                               f"like ['JPY.10Y', 'FX.JPY'] (the history has "
                               f"{', '.join(self.factors)})")
        try:
            idx = sorted({self.space.index(f) for f in factors})
        except ValueError as exc:
            raise HistoryError(f"{self.source}: select: {exc}") from None
        v = self.values[:, idx]
        keep = np.isfinite(v).any(axis=1)
        return History(
            dates=self.dates[keep],
            factors=tuple(self.factors[i] for i in idx),
            values=np.ascontiguousarray(v[keep]),
            source=self.source,
            max_carry_days=self.max_carry_days,
        )

    def levels(self, on: DateLike | None = None) -> tuple[FloatArray, DateArray]:
        """(F,) each factor's latest level on or before ``on`` (default the last date) and
        (F,) the date of that observation; NaN / NaT for a factor with none."""
        day = _day(as_date(on, "on")) if on is not None else self.dates[-1]
        rows = int(np.searchsorted(self.dates, day, side="right"))
        out = np.full(len(self.factors), np.nan)
        when = np.full(len(self.factors), np.datetime64("NaT"), dtype="datetime64[D]")
        for j in range(len(self.factors)):
            seen = np.flatnonzero(np.isfinite(self.values[:rows, j]))
            if len(seen):
                out[j] = self.values[seen[-1], j]
                when[j] = self.dates[seen[-1]]
        return out, when

    @cached_property
    def calendar(self) -> DateArray:
        """The business-day calendar of windows (rule 1 of the module docstring)."""
        if not len(self.dates):
            return self.dates
        days = np.arange(self.dates[0], self.dates[-1] + np.timedelta64(1, "D"))
        weekday = (days.astype(np.int64) + 3) % 7  # 1970-01-01 was a Thursday; Monday = 0
        return days[(weekday < 5) | np.isin(days, self.dates)]

    def default_window(
        self, years: int = DEFAULT_WINDOW_YEARS, end: DateLike | None = None
    ) -> tuple[dt.date, dt.date]:
        """The ``years`` years ending on ``end`` (default: the history's last date): (start,
        end)."""
        end = self.last_date if end is None else as_date(end, "window end")
        try:
            start = end.replace(year=end.year - years)
        except ValueError:  # 29 February
            start = end.replace(year=end.year - years, day=28)
        return start, end

    def window(self, window: Window | None) -> tuple[dt.date, dt.date]:
        """``window`` as (start, end) dates, or ``default_window()`` when None."""
        if window is None:
            return self.default_window()
        if not isinstance(window, tuple | list) or len(window) != 2:
            raise HistoryError(f"window: got {window!r}; expected (start, end) dates")
        start, end = as_date(window[0], "window start"), as_date(window[1], "window end")
        if end <= start:
            raise HistoryError(f"window: got {start} .. {end}; expected start before end")
        return start, end

    # ------------------------------------------------------------------ changes

    def changes(
        self,
        horizon: int = 10,
        start: DateLike | None = None,
        end: DateLike | None = None,
        *,
        overlapping: bool = True,
    ) -> Changes:
        """The N-day (``horizon``) windows lying within [start, end] and each factor's levels
        at their ends, per the missing-observation rule of the module docstring."""
        if (isinstance(horizon, bool) or not isinstance(horizon, int | np.integer)
                or not 1 <= horizon <= MAX_HORIZON):
            raise HistoryError(f"horizon: got {horizon!r}; expected a whole number of days from "
                               f"1 to {MAX_HORIZON:,} (a century of business days)")
        if not isinstance(overlapping, bool | np.bool_):
            raise HistoryError(f"overlapping: got {overlapping!r}; expected True or False")
        n = int(horizon)
        d = self.calendar
        ends = np.arange(n, len(d))
        if start is not None:
            ends = ends[d[ends - n] >= _day(as_date(start, "start"))]
        if end is not None:
            ends = ends[d[ends] <= _day(as_date(end, "end"))]
        starts = ends - n
        v = np.full((len(d), len(self.factors)), np.nan)
        v[np.searchsorted(d, self.dates)] = self.values
        observed = np.isfinite(v)
        last = np.where(observed, np.arange(len(d))[:, None], -1)
        np.maximum.accumulate(last, axis=0, out=last)
        cols = np.arange(v.shape[1])
        end_levels = v[ends]
        src = last[starts]  # (W, F) row of each factor's latest observation at the start
        age = (d[starts][:, None] - d[np.maximum(src, 0)]).astype(np.int64)
        ok = (src >= 0) & (age <= self.max_carry_days) & np.isfinite(end_levels)
        start_levels = np.where(ok, v[np.maximum(src, 0), cols], np.nan)
        end_levels = np.where(ok, end_levels, np.nan)
        keep = ok.any(axis=1)
        if keep.any():
            _warn_sparse(observed[starts[keep][0] : ends[keep][-1] + 1], n, self.factors,
                         self.source)  # fmt: skip
        if not overlapping and keep.any():
            last = ends[keep][-1]
            keep &= (last - ends) % n == 0
        return Changes(
            factors=self.factors,
            space=self.space,
            horizon=n,
            starts=d[starts[keep]],
            ends=d[ends[keep]],
            start_levels=start_levels[keep],
            end_levels=end_levels[keep],
            source=self.source,
        )


def _warn_sparse(observed: npt.NDArray[np.bool_], horizon: int, factors: Sequence[str],
                 source: str) -> None:  # fmt: skip
    """Warn of factors observed less often than every ``horizon`` business days in the span
    of the windows (``observed``: the history's calendar days, business days and any other
    day with an observation, x factors): the carry rule, meant for holidays, would carry a
    weekly series' last value to every window's start, so that its one-day changes are really
    five-day ones, passed off as one-day moves."""
    sparse = []
    for j, name in enumerate(factors):
        seen = np.flatnonzero(observed[:, j])
        if len(seen) >= 3:
            gap = float(np.median(np.diff(seen)))
            if gap > horizon:
                sparse.append((name, gap))
    if sparse:
        shown = ", ".join(f"{name} every {gap:g}" for name, gap in sparse[:5])
        more = f" and {len(sparse) - 5} more" if len(sparse) > 5 else ""
        longest = math.ceil(max(gap for _, gap in sparse))
        warnings.warn(
            f"{source}: observed less often than every {horizon} business day"
            f"{'s' if horizon > 1 else ''} (median gap between observations in the windows "
            f"used): {shown}{more}; their {horizon}-day changes span that gap and overstate "
            f"{horizon}-day moves. Use a horizon of {longest} days or more, or daily data "
            "for these factors.",
            HistoryWarning,
            stacklevel=3,
        )


@dataclass(frozen=True, eq=False)
class Changes:
    """W windows of N-day changes of F factors (``History.changes``): the level of each
    factor at each window's start and end, NaN (both) where the factor has no change."""

    factors: tuple[str, ...]
    space: FactorSpace
    horizon: int
    #: (W,) the calendar dates each window starts and ends on.
    starts: DateArray
    ends: DateArray
    start_levels: FloatArray
    end_levels: FloatArray
    source: str

    def __len__(self) -> int:
        return len(self.ends)

    @property
    def present(self) -> npt.NDArray[np.bool_]:
        """(W, F) which factors have a change in which window."""
        return np.isfinite(self.start_levels)

    def moves(self, units: Units = "factor") -> FloatArray:
        """(W, F) the changes, NaN where missing: rates in bp (end - start) x 100; FX and
        gold in log-percent 100 ln(end / start) (``"factor"``) or percent 100 (end / start - 1)
        (``"scenario"``)."""
        rel = self.space.relative
        out = (self.end_levels - self.start_levels) * 100.0
        ratio = self.end_levels[:, rel] / self.start_levels[:, rel]
        out[:, rel] = 100.0 * (np.log(ratio) if units == "factor" else ratio - 1.0)
        return out


# ---------------------------------------------------------------------- bundled history

BUNDLED = "bundled:shocks/data/history.parquet"


#: A history, or a function that gives one (called only when a history is needed).
HistoryLike = History | Callable[[], History]


def check_history(history: object, *, optional: bool = False) -> None:
    """Refuse a ``history`` that is not a History (nor None, where ``optional``: the bundled
    one is meant), saying how to get one."""
    if not isinstance(history, History) and not (optional and history is None):
        shown = repr(history)
        shown = shown if len(shown) <= 60 else f"a {type(history).__name__}"
        raise HistoryError(f"history: got {shown}; expected a shocks.History "
                           "(shocks.load_history reads one from a file)")


def resolve_history(history: HistoryLike | None) -> History:
    """The history ``history`` stands for (None: the bundled one)."""
    if history is None:
        return default_history()
    return history() if callable(history) else history


@cache
def default_history() -> History:
    """The bundled public history (MoF JGB yields, H.15 UST yields, H.10 FX, LBMA gold; see
    ``shocks/data/README.md``), loaded once."""
    from shocks.history_load import load_history

    path = Path(str(resources.files("shocks") / "data" / "history.parquet"))
    h = load_history(path)
    for a in (h.dates, h.values):
        a.setflags(write=False)  # shared by every caller
    return History(
        dates=h.dates, factors=h.factors, values=h.values, source=BUNDLED,
        max_carry_days=h.max_carry_days,
    )
