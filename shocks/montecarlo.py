"""Monte Carlo scenarios: correlated draws of every factor from a window's covariance.

Draws are in factor units (rates in bp, FX and gold in log-percent; ``shocks.factors``) with
the covariance of N-day changes over the window (``shocks.covariance``: second moments about
zero, so draws are centred on zero), through its Cholesky factor (of the eigenvalue-clipped
repair when the pairwise estimate is not positive definite). ``dist="t"`` scales each normal
vector by sqrt((nu - 2) / chi2_nu): a multivariate Student-t with ``dof`` = nu degrees of
freedom whose covariance matches the window's (the plain sqrt(nu / chi2_nu) scaling would
inflate it by nu / (nu - 2)); nu must exceed 2. A factor with too few changes in the window is
left unshocked in every draw (named in the descriptions).

Reproducible: one ``numpy.random.default_rng(seed)`` (PCG64) draws the normals, then (Student
t) the chi-squared variates; the same seed and numpy version give the same random numbers on
any machine, and the scenarios agree to rounding (the Cholesky factor and the product go
through LAPACK/BLAS).
"""

from __future__ import annotations

import math

import numpy as np

from shocks.covariance import MIN_OBS, covariance
from shocks.errors import HistoryError
from shocks.factors import describe
from shocks.history import History, Window, check_history
from shocks.model import FloatArray, ScenarioSet
from shocks.parse import MAX_PERCENT_CHANGE, MAX_SHIFT_BP, out_of_bounds

DISTRIBUTIONS = ("normal", "t")
#: The most draws of one call: a set is scenarios x factors x the curves' knots in memory, and
#: its tail figures settle long before this many.
MAX_DRAWS = 1_000_000


def monte_carlo(
    history: History,
    n: int = 10_000,
    horizon: int = 10,
    window: Window | None = None,
    seed: int = 0,
    dist: str = "normal",
    dof: float = 5.0,
    *,
    min_obs: int = MIN_OBS,
) -> ScenarioSet:
    """``n`` scenarios ``mc_000001`` ... of correlated ``horizon``-day moves of every factor,
    from the covariance over ``window`` (start, end; default the last five years of the
    history); ``dist`` ``"normal"`` or ``"t"`` (Student-t with ``dof`` > 2, scaled to the same
    covariance).

    Raises:
        HistoryError: bad arguments, or no factor has enough changes in the window.
    """
    check_history(history)
    if isinstance(n, bool) or not isinstance(n, int | np.integer) or not 1 <= n <= MAX_DRAWS:
        raise HistoryError(f"n: got {n!r}; expected a whole number of scenarios from 1 to "
                           f"{MAX_DRAWS:,}")
    if isinstance(seed, bool) or not isinstance(seed, int | np.integer) or seed < 0:
        raise HistoryError(f"seed: got {seed!r}; expected a whole number >= 0")
    if dist not in DISTRIBUTIONS:
        raise HistoryError(f"dist: got {dist!r}; expected one of {', '.join(DISTRIBUTIONS)}")
    if dist == "t" and (isinstance(dof, bool) or not isinstance(dof, int | float | np.number)
                        or not 2 < dof < math.inf):
        raise HistoryError(f"dof: got {dof!r}; expected finite degrees of freedom above 2 "
                           "(dist='normal' is the limit)")
    cov = covariance(history, horizon, window, min_obs=min_obs)
    avail = cov.available
    if not avail.any():
        raise HistoryError(
            f"{history.source}: no factor has {min_obs} {cov.horizon}-day changes within "
            f"{cov.window[0]} .. {cov.window[1]}"
        )
    L = cov.factor()
    rng = np.random.default_rng(seed)
    z = rng.standard_normal((n, L.shape[0]))
    draws = z @ L.T
    if dist == "t":
        draws *= np.sqrt((dof - 2.0) / rng.chisquare(dof, n))[:, None]
    moves = np.full((n, len(cov.factors)), np.nan)
    moves[:, avail] = draws
    width = max(6, len(str(n)))  # of the draws' numbers in their names
    _check_bounds(history, moves, dist, dof, width)
    kind = "normal" if dist == "normal" else f"Student-t ({dof:g} degrees of freedom)"
    left = (
        f"; unshocked, fewer than {min_obs} changes in the window: "
        f"{describe(history.space, ~avail)}"
        if not avail.all()
        else ""
    )
    tail = (
        f" of {n}: {kind} {cov.horizon}-day moves with the covariance of "
        f"{cov.window[0]} .. {cov.window[1]} ({cov.n_windows} windows){left}"
    )
    return history.space.scenarios(
        moves,
        units="factor",
        names=[f"mc_{i:0{width}d}" for i in range(1, n + 1)],
        descriptions=[f"Monte Carlo draw {i}{tail}" for i in range(1, n + 1)],
        sources=(f"Monte Carlo, seed {seed}, history: {history.source}",) * n,
        origin="generator:monte_carlo",
    )


def _check_bounds(history: History, moves: FloatArray, dist: str, dof: float, width: int) -> None:
    """Refuse draws beyond what a scenario may hold (a shift of at most MAX_SHIFT_BP, an FX or
    gold rise of at most MAX_PERCENT_CHANGE): a scenario file could not hold the set, and a
    tenfold move in ten days is the distribution's tail, not a market's. Student-t draws with
    degrees of freedom near 2 reach them (GBP +1,670 % at 2.1)."""
    space = history.space
    x = space.to_scenario_units(moves)
    # NaN: a factor with too few changes in the window, unshocked.
    beyond = ~np.isnan(x) & np.where(space.relative, out_of_bounds(x, "pct"),
                                     out_of_bounds(x, "bp"))
    if not beyond.any():
        return
    i, j = (int(k) for k in np.argwhere(beyond)[0])
    move = x[i, j]
    what = (f"{move:+,.6g} % (above -100 % and at most {MAX_PERCENT_CHANGE:g} %, a tenfold "
            "rise)"
            if space.relative[j]
            else f"{move:+,.6g} bp (at most {MAX_SHIFT_BP:,g} bp either way)")
    cure = (f"Student-t draws with {dof:g} degrees of freedom have tails too heavy for "
            f"scenarios; use more degrees of freedom (5 by default)" if dist == "t"
            else "is the history in its units (percent yields, USD per unit, USD per ounce)?")
    raise HistoryError(f"{history.source}: Monte Carlo draw mc_{i + 1:0{width}d} moves "
                       f"{history.factors[j]} by {what}; {cure}")
