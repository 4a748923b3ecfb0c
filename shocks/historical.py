"""Historical simulation: one scenario per N-day window of a market history.

Each window (``History.changes``; the missing-observation rule is in ``shocks.history``)
becomes a scenario named by its end date and horizon, ``hist_2019-06-28_10d``:

- a yield's change becomes a zero-rate shift in bp at the history's tenor (a knot at that
  ``Tenor`` label, linear between knots and flat beyond as for any scenario). The history holds
  quoted yields (par or benchmark yields), so applying their change as a zero-rate shift is an
  approximation: close for parallel moves, less so for sharp twists of steep curves;
- FX and gold move by their relative change in percent, 100 (end / start - 1), exactly the
  move the engine applies to the market's level;
- a factor without a change in the window (no observation on its end date, none recent enough
  at its start) is left unshocked: no knot at that tenor (the curve's shift there follows from
  its other knots; a curve with none is unshocked), 0 % for FX and gold; the description names
  these factors.

``rates="relative"`` scales each yield change by the ratio of today's level to the level at
the window's start, *displaced*: change x (L_today + d) / (L_start + d), with d =
``displacement`` percentage points (default 2). A plain ratio L_today / L_start breaks down
for the zero and negative JGB yields of 2016-2021 (division by ~0, sign flips); a displaced
(shifted-lognormal) ratio stays finite and positive as long as every level used is above -d,
and for levels far above d it approaches the plain ratio. A level at or below -d is an error
naming it (raise ``displacement``).
"""

from __future__ import annotations

import datetime as dt
import math

import numpy as np

from shocks.errors import HistoryError
from shocks.factors import describe
from shocks.history import DateLike, History, as_date, check_history
from shocks.model import ScenarioSet, row_patterns

RATES_MODES = ("absolute", "relative")
DEFAULT_DISPLACEMENT = 2.0


def historical(
    history: History,
    start: DateLike | None = None,
    end: DateLike | None = None,
    horizon: int = 10,
    overlapping: bool = True,
    rates: str = "absolute",
    today: DateLike | None = None,
    displacement: float = DEFAULT_DISPLACEMENT,
) -> ScenarioSet:
    """One scenario per ``horizon``-day window of ``history`` lying within [start, end]
    (default: all of it); ``overlapping=False`` keeps every ``horizon``-th window counted back
    from the last. ``rates`` is ``"absolute"`` (bp changes as they happened) or
    ``"relative"`` (scaled to ``today``'s levels, default the history's last date, with a
    ``displacement`` in percentage points; see the module docstring).

    Raises:
        HistoryError: bad arguments, no window in the range, or (relative) a level at or below
            -displacement or a factor with no level on or before ``today``.
    """
    check_history(history)
    if rates not in RATES_MODES:
        raise HistoryError(f"rates: got {rates!r}; expected one of {', '.join(RATES_MODES)}")
    if rates != "relative" and today is not None:
        raise HistoryError(f"today: got {today!r}; only rates='relative' reads it")
    if (isinstance(displacement, bool) or not isinstance(displacement, int | float | np.number)
            or not 0 <= displacement < math.inf):
        raise HistoryError(f"displacement: got {displacement!r}; expected percentage points "
                           ">= 0 (a shift of the levels' zero)")
    ch = history.changes(horizon, start, end, overlapping=overlapping)
    if not len(ch):
        span = f"{start or history.first_date} .. {end or history.last_date}"
        raise HistoryError(
            f"{history.source}: no {ch.horizon}-day window with a change lies within {span}"
        )
    moves = ch.moves("scenario")
    rate_cols = np.flatnonzero(~history.space.relative)
    note = "rate changes as they happened"
    if rates == "relative":
        day = as_date(today, "today") if today is not None else history.last_date
        moves[:, rate_cols] *= _scale(history, ch.start_levels[:, rate_cols], rate_cols, day,
                                      displacement, ch.starts)
        note = f"rate changes scaled to the levels of {day}, displaced by {displacement:g} %"
    ends = np.datetime_as_string(ch.ends, unit="D")
    starts = np.datetime_as_string(ch.starts, unit="D")
    n = ch.horizon
    head = f"Historical {n}-day change"
    suffix = _missing_notes(history, ~ch.present)
    descriptions = tuple(
        f"{head} {s} to {e}; {note}{x}"
        for s, e, x in zip(starts.tolist(), ends.tolist(), suffix, strict=True)
    )
    return history.space.scenarios(
        moves,
        units="scenario",
        names=[f"hist_{e}_{n}d" for e in ends.tolist()],
        descriptions=descriptions,
        sources=(f"history: {history.source}",) * len(ch),
        origin="generator:historical",
    )


def _scale(
    history: History,
    start_levels: np.ndarray,
    cols: np.ndarray,
    day: dt.date,
    d: float,
    starts: np.ndarray,
) -> np.ndarray:
    if not np.isfinite(d):
        raise HistoryError(f"displacement: got {d!r}; expected a number of percentage points")
    today, _ = history.levels(day)
    today = today[cols]
    used = np.isfinite(start_levels).any(axis=0)
    for j in np.flatnonzero(used & ~np.isfinite(today)):
        raise HistoryError(
            f"{history.source}: {history.factors[cols[j]]} has no level on or before {day} "
            "to scale its changes to"
        )
    for j in np.flatnonzero(used & (today + d <= 0)):
        raise HistoryError(
            f"{history.source}: {history.factors[cols[j]]} is at {today[j]:g} % on or before "
            f"{day}, at or below -displacement ({-d:g} %); raise displacement"
        )
    with np.errstate(invalid="ignore"):
        low = np.isfinite(start_levels) & (start_levels + d <= 0)
    if low.any():
        w, c = map(int, np.argwhere(low)[0])
        raise HistoryError(
            f"{history.source}: {history.factors[cols[c]]} is at {start_levels[w, c]:g} % on the "
            f"window start {starts[w]}, at or below -displacement ({-d:g} %); raise displacement"
        )
    return np.asarray((today + d) / (start_levels + d))


def _missing_notes(history: History, missing: np.ndarray) -> list[str]:
    """Per window, the text naming the factors it leaves unshocked (one text per pattern)."""
    patterns, which = row_patterns(missing)
    texts = [
        f"; unshocked, no change in this window: {describe(history.space, p)}" if p.any() else ""
        for p in patterns
    ]
    return [texts[i] for i in which.tolist()]
