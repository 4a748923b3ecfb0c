"""Covariance of N-day changes (second moments about zero, pairwise over missing data, PSD
repair) and Monte Carlo scenarios (seeded, the window's covariance, normal and Student-t)."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pytest

import shocks
from shocks import History, HistoryError
from shocks.covariance import PSD_TOLERANCE, clip_eigenvalues
from tests.history_samples import FACTORS, factor_changes, frame_of, synthetic

WHOLE = ("2000-01-01", "2030-01-01")


def test_covariance_is_the_second_moment_of_the_changes() -> None:
    h = synthetic(600)
    for horizon in (1, 10):
        cov = shocks.covariance(h, horizon=horizon, window=WHOLE)
        x = factor_changes(h, horizon)
        np.testing.assert_allclose(cov.matrix, x.T @ x / len(x), rtol=1e-12)  # not demeaned
        assert cov.n_windows == len(x) and (cov.counts == len(x)).all()
        assert cov.factors == FACTORS and cov.available.all()
        assert cov.window == (dt.date(2000, 1, 1), dt.date(2030, 1, 1))
    apart = shocks.covariance(h, horizon=10, window=WHOLE, overlapping=False)
    x = factor_changes(h, 10)[::-1][::10][::-1]
    np.testing.assert_allclose(apart.matrix, x.T @ x / len(x), rtol=1e-12)
    np.testing.assert_allclose(np.diag(cov.correlation()), 1.0)
    # default window: the last five years of the history
    assert shocks.covariance(h).window[1] == h.last_date


def test_overlapping_windows_worth_few_independent_ones_are_warned_of() -> None:
    """36 overlapping 60-day windows pass the count of 20 but are about one independent
    observation: warned of, naming the thinnest factor; not when the same window holds
    enough (10-day changes) or the windows do not overlap (the count is then honest)."""
    h = synthetic(96)  # 96 business days: 36 windows of 60 days
    with pytest.warns(shocks.HistoryWarning, match=r"covariance of 60-day changes .* "
                      r"overlapping windows: \S+ has 36 of them, about 0\.6 non-overlapping "
                      r"windows' worth \(fewer than 10\); so do 5 other factors\."):
        cov = shocks.covariance(h, horizon=60, window=WHOLE)
    assert cov.available.all()  # still given: a warning, not a refusal
    shocks.covariance(h, horizon=1, window=WHOLE)  # warnings are errors in the tests
    shocks.covariance(synthetic(600), horizon=10, window=WHOLE)
    shocks.covariance(synthetic(600), horizon=20, window=WHOLE, overlapping=False)


def test_missing_changes_are_left_out_pairwise() -> None:
    h = synthetic(300)
    values = h.values.copy()
    values[100:200, FACTORS.index("USD.10Y")] = np.nan  # a hole of 100 business days
    values[:290, FACTORS.index("XAU")] = np.nan  # gold starts late
    holed = History(dates=h.dates, factors=h.factors, values=values)
    cov = shocks.covariance(holed, horizon=1, window=WHOLE)
    ch = holed.changes(1)
    x = ch.moves()
    u, j = FACTORS.index("USD.10Y"), FACTORS.index("JPY.10Y")
    both = np.isfinite(x[:, u]) & np.isfinite(x[:, j])
    assert cov.counts[u, j] == both.sum() < len(x) - 99
    assert cov.matrix[u, j] == pytest.approx(np.mean(x[both, u] * x[both, j]), rel=1e-12)
    g = FACTORS.index("XAU")
    assert cov.counts[g, g] == 9 and not cov.available[g]  # fewer than min_obs = 20
    assert np.isnan(cov.matrix[g]).all() and np.isnan(cov.matrix[:, g]).all()
    assert cov.available_factors == FACTORS[:-1] and cov.psd().shape == (5, 5)
    few = shocks.covariance(holed, horizon=1, window=WHOLE, min_obs=5)
    assert few.available[g] and few.matrix[g, g] > 0
    with pytest.raises(HistoryError, match="min_obs: got 1"):
        shocks.covariance(holed, min_obs=1)


def test_pairs_with_too_few_windows_in_common_are_uncorrelated() -> None:
    n = 120
    a = np.r_[np.linspace(1.0, 2.0, 60) + 0.01 * np.sin(np.arange(60)), [np.nan] * 60]
    b = np.r_[[np.nan] * 55, np.linspace(3.0, 2.0, 65) + 0.02 * np.cos(np.arange(65))]
    h = History.load(frame_of({"EUR.2Y": a, "EUR.10Y": b}, n))
    cov = shocks.covariance(h, horizon=1, window=WHOLE)
    assert cov.counts[0, 1] == 4 and cov.available.all()
    assert cov.matrix[0, 1] == 0.0


def test_psd_repair() -> None:
    S = np.array([[1.0, 0.9, -0.9], [0.9, 1.0, 0.9], [-0.9, 0.9, 1.0]])  # not PSD
    R = clip_eigenvalues(S)
    assert np.linalg.eigvalsh(R).min() >= -1e-12
    assert np.linalg.norm(R - S) < np.linalg.norm(S - np.eye(3))  # a nearby matrix
    np.testing.assert_allclose(clip_eigenvalues(np.eye(3) * 2), np.eye(3) * 2, rtol=1e-14)
    # a PSD estimate is used as it is; a pairwise one that is not gets repaired
    h = synthetic(200)
    cov = shocks.covariance(h, horizon=1, window=WHOLE)
    assert cov.psd() is not cov.matrix and np.array_equal(cov.psd(), cov.matrix)
    bent = type(cov)(**{**cov.__dict__, "matrix": np.kron(np.eye(2), S)})
    w = np.linalg.eigvalsh(bent.psd())
    assert w.min() >= -PSD_TOLERANCE * w.max()
    L = bent.factor()
    np.testing.assert_allclose(L @ L.T, bent.psd(), atol=1e-8)


def test_monte_carlo_is_seeded_and_named() -> None:
    h = synthetic(400)
    a = shocks.monte_carlo(h, n=500, window=WHOLE, seed=3)
    b = shocks.monte_carlo(h, n=500, window=WHOLE, seed=3)
    c = shocks.monte_carlo(h, n=500, window=WHOLE, seed=4)
    for f in ("bp", "knots", "fx_pct", "gold_pct"):
        np.testing.assert_array_equal(getattr(a, f), getattr(b, f))
    assert not np.array_equal(a.bp, c.bp)
    assert a.names[:2] == ("mc_000001", "mc_000002") and a.names[-1] == "mc_000500"
    assert a.descriptions[0].startswith("Monte Carlo draw 1 of 500: normal 10-day moves with the "
                                        "covariance of 2000-01-01 .. 2030-01-01 (")
    assert set(a.origins) == {"generator:monte_carlo"}
    assert a.sources[0] == "Monte Carlo, seed 3, history: <polars DataFrame>"
    assert a.currencies == ("JPY", "USD") and a.knots.sum() == 500 * 4
    assert (a.fx_pct > -100).all() and (a.gold_pct > -100).all()
    # a known value, to catch a change of random stream or of the covariance
    first = h.space.moves(a)[0]
    again = h.space.moves(shocks.monte_carlo(h, n=1, window=WHOLE, seed=3))[0]
    np.testing.assert_allclose(again, first, rtol=1e-12)
    assert shocks.monte_carlo(h, n=1_234_567 // 1000, window=WHOLE).names[0] == "mc_000001"


@pytest.mark.parametrize(("dist", "n", "tol"), [("normal", 20_000, 0.04), ("t", 40_000, 0.06)])
def test_draws_have_the_window_covariance(dist: str, n: int, tol: float) -> None:
    h = synthetic(800)
    cov = shocks.covariance(h, horizon=10, window=WHOLE)
    s = shocks.monte_carlo(h, n=n, window=WHOLE, seed=11, dist=dist, dof=8)
    x = h.space.moves(s)
    sample = x.T @ x / n
    sd = np.sqrt(np.diag(cov.matrix))
    np.testing.assert_allclose(np.sqrt(np.diag(sample)), sd, rtol=tol)
    np.testing.assert_allclose(sample / np.outer(sd, sd), cov.correlation(), atol=tol)
    np.testing.assert_allclose(x.mean(axis=0) / sd, 0.0, atol=0.03)
    kurtosis = np.mean(x**4, axis=0) / np.diag(sample) ** 2
    if dist == "t":
        assert (kurtosis > 3.5).all()  # 3 + 6 / (8 - 4) = 4.5 for the t with 8 dof
    else:
        np.testing.assert_allclose(kurtosis, 3.0, atol=0.2)


def test_factors_without_data_are_unshocked() -> None:
    h = synthetic(300)
    values = h.values.copy()
    values[:, FACTORS.index("XAU")] = np.nan
    values[5, FACTORS.index("XAU")] = 1500.0
    s = shocks.monte_carlo(History(dates=h.dates, factors=h.factors, values=values), n=50,
                           window=WHOLE)
    np.testing.assert_array_equal(s.gold_pct, 0.0)
    assert s.descriptions[0].endswith("; unshocked, fewer than 20 changes in the window: gold")


@pytest.mark.parametrize(("kwargs", "fragment"), [
    ({"n": 0}, "n: got 0"),
    ({"dist": "cauchy"}, "dist: got 'cauchy'; expected one of normal, t"),
    ({"dist": "t", "dof": 2}, "dof: got 2; expected finite degrees of freedom above 2"),
    ({"dist": "t", "dof": float("inf")}, "dof: got inf; expected finite degrees of freedom"),
    ({"window": ("2030-01-01", "2031-01-01")}, "no factor has 20 10-day changes within"),
    ({"window": ("2020-01-01",)}, "window: got ('2020-01-01',); expected (start, end) dates"),
])
def test_monte_carlo_errors(kwargs: dict[str, object], fragment: str) -> None:
    with pytest.raises(HistoryError) as info:
        shocks.monte_carlo(synthetic(100), **kwargs)  # type: ignore[arg-type]
    assert fragment in str(info.value)


def test_draws_beyond_what_a_scenario_may_hold_are_refused() -> None:
    """Gold moving 50 % a day: its 10-day draws pass a tenfold rise in about one in seven
    normal draws, a move no scenario may hold (nor a scenario file): refused, naming the
    draw, the factor and the move; with Student-t draws the message points at the degrees of
    freedom (2.1 gave GBP +1,670 % from the bundled history)."""
    h = synthetic(300)
    values = h.values.copy()
    g = FACTORS.index("XAU")
    steps = np.random.default_rng(5).normal(0.0, 0.5, len(values))
    values[:, g] = 1500.0 * np.exp(np.cumsum(steps))
    wild = History(dates=h.dates, factors=h.factors, values=values, source="wild.csv")
    with pytest.raises(HistoryError, match=r"^wild\.csv: Monte Carlo draw mc_\d{6} moves XAU "
                       r"by \+[\d,.]+ % \(above -100 % and at most 900 %, a tenfold rise\); "
                       r"is the history in its units"):
        shocks.monte_carlo(wild, n=200, window=WHOLE)
    with pytest.raises(HistoryError, match=r"moves XAU by .* Student-t draws with 3 degrees of "
                       "freedom have tails too heavy for scenarios"):
        shocks.monte_carlo(wild, n=200, window=WHOLE, dist="t", dof=3.0)
    calm = shocks.monte_carlo(h, n=2000, window=WHOLE, dist="t", dof=2.5)
    assert len(calm) == 2000
