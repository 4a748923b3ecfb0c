"""Synthetic market histories for the tests: seeded correlated random walks on business days."""

from __future__ import annotations

import numpy as np
import polars as pl

from shocks import History

FACTORS = ("JPY.2Y", "JPY.10Y", "JPY.30Y", "USD.10Y", "FX.JPY", "XAU")
#: Daily volatility (bp for rates, log-percent for FX and gold) and correlations.
VOL = np.array([1.5, 3.0, 4.0, 6.0, 0.6, 1.0])
CORR = np.array([
    [1.0, 0.7, 0.5, 0.3, -0.1, 0.0],
    [0.7, 1.0, 0.9, 0.5, -0.2, 0.1],
    [0.5, 0.9, 1.0, 0.5, -0.2, 0.1],
    [0.3, 0.5, 0.5, 1.0, -0.4, 0.0],
    [-0.1, -0.2, -0.2, -0.4, 1.0, 0.3],
    [0.0, 0.1, 0.1, 0.0, 0.3, 1.0],
])
START = np.array([0.1, 0.8, 2.0, 4.0, 0.0068, 2000.0])


def business_days(n: int, first: str = "2015-01-05") -> np.ndarray:
    days = np.arange(np.datetime64(first), np.datetime64(first) + 2 * n)
    weekday = (days.astype(np.int64) + 3) % 7
    return days[weekday < 5][:n]


def synthetic(n: int = 1500, seed: int = 1, corr: np.ndarray = CORR) -> History:
    """``n`` business days of FACTORS, with no gaps."""
    rng = np.random.default_rng(seed)
    cov = np.outer(VOL, VOL) * corr
    steps = rng.multivariate_normal(np.zeros(len(VOL)), cov, size=n - 1, method="cholesky")
    levels = np.empty((n, len(VOL)))
    levels[0] = START
    rel = np.array([f.startswith(("FX", "XAU")) for f in FACTORS])
    walk = np.vstack([np.zeros(len(VOL)), np.cumsum(steps, axis=0)])
    levels[:, ~rel] = START[~rel] + walk[:, ~rel] / 100.0  # bp -> percent
    levels[:, rel] = START[rel] * np.exp(walk[:, rel] / 100.0)
    frame = pl.DataFrame({"date": business_days(n), **{f: levels[:, j] for j, f in
                                                        enumerate(FACTORS)}})
    return History.load(frame)


def frame_of(columns: dict[str, np.ndarray], n: int) -> pl.DataFrame:
    """A wide frame on ``n`` business days, NaN as null (no observation)."""
    return pl.DataFrame([pl.Series("date", business_days(n)),
                         *(pl.Series(k, v, nan_to_null=True) for k, v in columns.items())])


def factor_changes(h: History, horizon: int) -> np.ndarray:
    """(W, F) overlapping N-day changes in factor units, computed directly from the levels of
    a gap-free history (bp; log-percent for FX and gold)."""
    v = h.values
    out = (v[horizon:] - v[:-horizon]) * 100.0
    rel = h.space.relative
    out[:, rel] = 100.0 * np.log(v[horizon:, rel] / v[:-horizon, rel])
    return out
