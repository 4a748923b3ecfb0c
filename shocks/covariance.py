"""Covariance of N-day factor changes over a window of history.

Changes are in factor units (``shocks.factors``): rates in bp, FX and gold in log-percent.
The covariance is **not demeaned**: it is the second moment about zero,
S_ij = mean over windows of x_i x_j. The mean of N-day changes is small and noisy beside
their spread, and taking moves as centred on zero keeps stress arithmetic linear: no move
given means no move inferred, and a regression of one factor on others has no intercept.

Missing changes (the rule in ``shocks.history``) are handled pairwise: S_ij averages over the
windows in which both factors have a change, and ``counts[i, j]`` says how many. A factor with
fewer than ``min_obs`` changes in the window is left out (NaN row and column,
``available`` false); a pair of kept factors with fewer than ``min_obs`` windows in common gets
S_ij = 0 (no evidence of co-movement). A pairwise matrix need not be positive semi-definite:
``psd`` repairs it by clipping eigenvalues, and simulation uses that repair.
"""

from __future__ import annotations

import datetime as dt
import warnings
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from shocks.errors import HistoryError, HistoryWarning
from shocks.factors import FactorSpace
from shocks.history import History, Window
from shocks.model import FloatArray

IntArray = npt.NDArray[np.int64]
BoolArray = npt.NDArray[np.bool_]

#: Fewest changes (and windows in common) a factor (pair) needs in a window.
MIN_OBS = 20
#: Fewest non-overlapping windows' worth of changes (count / horizon) a factor's overlapping
#: changes may hold without a warning: 147 ten-day windows (the bundled EUR in the default
#: window, 14.7) pass, 36 sixty-day ones (0.6) do not.
MIN_INDEPENDENT = 10
#: Eigenvalues below -PSD_TOLERANCE x the largest are a real defect, not rounding.
PSD_TOLERANCE = 1e-12


def _warn_overlap(history: History, horizon: int, counts: IntArray, ok: npt.NDArray[np.bool_],
                  window: tuple[dt.date, dt.date]) -> None:  # fmt: skip
    """Warn of kept factors whose overlapping changes hold fewer than MIN_INDEPENDENT
    non-overlapping windows' worth (count / horizon): 36 overlapping 60-day windows pass a
    count of 20 yet are about one independent observation, and a covariance resting on a few
    is mostly noise."""
    worth = counts / horizon
    thin = np.flatnonzero(ok & (worth < MIN_INDEPENDENT))
    if len(thin) == 0:
        return
    j = thin[np.argmin(worth[thin])]
    more = len(thin) - 1
    others = f"; so do {more} other factor{'s' if more > 1 else ''}" if more else ""
    warnings.warn(
        f"{history.source}: the covariance of {horizon}-day changes from {window[0]} to "
        f"{window[1]} rests on overlapping windows: {history.factors[j]} has {counts[j]:,} of "
        f"them, about {worth[j]:.1f} non-overlapping windows' worth (fewer than "
        f"{MIN_INDEPENDENT}){others}. Its figures are far less certain than the count "
        "suggests: widen the window or shorten the horizon.",
        HistoryWarning,
        stacklevel=3,
    )


@dataclass(frozen=True, eq=False)
class Covariance:
    """The covariance of N-day changes of a history's factors over a window."""

    factors: tuple[str, ...]
    space: FactorSpace
    #: (F, F) second moments about zero (bp^2, bp x log-percent, log-percent^2); NaN rows and
    #: columns for factors that are not ``available``.
    matrix: FloatArray
    #: (F, F) windows in which both factors have a change.
    counts: IntArray
    horizon: int
    #: The (start, end) dates the windows lie within.
    window: tuple[dt.date, dt.date]
    #: Windows with at least one change.
    n_windows: int
    overlapping: bool
    min_obs: int
    source: str

    @property
    def available(self) -> BoolArray:
        """(F,) factors with at least ``min_obs`` changes in the window."""
        return np.asarray(self.counts.diagonal() >= self.min_obs)

    @property
    def available_factors(self) -> tuple[str, ...]:
        """The factors ``psd()`` and ``factor()`` are over, in order."""
        return tuple(f for f, a in zip(self.factors, self.available, strict=True) if a)

    @property
    def stdev(self) -> FloatArray:
        """(F,) root mean square N-day change (NaN where not available)."""
        return np.sqrt(self.matrix.diagonal())

    def correlation(self) -> FloatArray:
        """(F, F) correlations implied by ``matrix`` (NaN where not available)."""
        s = self.stdev
        with np.errstate(invalid="ignore", divide="ignore"):
            return np.asarray(self.matrix / np.outer(s, s))

    def psd(self) -> FloatArray:
        """(A, A) the matrix over the available factors (in order), positive semi-definite:
        itself when its eigenvalues are non-negative up to rounding, else with negative
        eigenvalues clipped to zero."""
        idx = np.flatnonzero(self.available)
        S = self.matrix[np.ix_(idx, idx)]
        if not len(idx):
            return S
        w = np.linalg.eigvalsh(S)
        if w.min() >= -PSD_TOLERANCE * max(w.max(), 0.0):
            return S
        return clip_eigenvalues(S, 0.0)

    def factor(self) -> FloatArray:
        """(A, A) lower-triangular L with L L' = the matrix over the available factors, for
        simulation: the Cholesky factor of the matrix itself when it is positive definite,
        else of its eigenvalue-clipped repair with a floor of 1e-10 x the largest eigenvalue
        (a negligible regularisation that keeps the factor unique and the draws reproducible).
        """
        idx = np.flatnonzero(self.available)
        S = self.matrix[np.ix_(idx, idx)]
        if not len(idx):
            return S
        try:
            return np.asarray(np.linalg.cholesky(S))
        except np.linalg.LinAlgError:
            return np.asarray(np.linalg.cholesky(clip_eigenvalues(S, 1e-10)))


def clip_eigenvalues(S: FloatArray, floor: float = 0.0) -> FloatArray:
    """The symmetric matrix with the eigenvectors of ``S`` and its eigenvalues raised to at
    least ``floor`` x its largest eigenvalue (0: the nearest PSD matrix in Frobenius norm)."""
    w, V = np.linalg.eigh((S + S.T) / 2)
    w = np.maximum(w, floor * max(float(w.max()), 0.0))
    R = (V * w) @ V.T
    return np.asarray((R + R.T) / 2)


def covariance(
    history: History,
    horizon: int = 10,
    window: Window | None = None,
    *,
    overlapping: bool = True,
    min_obs: int = MIN_OBS,
) -> Covariance:
    """The covariance of ``horizon``-day changes over ``window`` (start, end), default the
    last five years of the history; overlapping windows by default (more, but autocorrelated,
    samples: the estimate is sound, its precision lower than the count suggests).

    Raises:
        HistoryError: bad arguments.
    """
    if isinstance(min_obs, bool) or not isinstance(min_obs, int) or min_obs < 2:
        raise HistoryError(f"min_obs: got {min_obs!r}; expected a whole number >= 2")
    start, end = history.window(window)
    ch = history.changes(horizon, start, end, overlapping=overlapping)
    x = ch.moves("factor")
    present = np.isfinite(x)
    x0 = np.where(present, x, 0.0)
    m = present.astype(np.int64)
    counts = m.T @ m
    with np.errstate(invalid="ignore", divide="ignore"):
        S = (x0.T @ x0) / counts
    ok = counts.diagonal() >= min_obs
    if overlapping and ch.horizon > 1:
        _warn_overlap(history, ch.horizon, counts.diagonal(), ok, (start, end))
    S[counts < min_obs] = 0.0
    S[~ok, :] = np.nan
    S[:, ~ok] = np.nan
    return Covariance(
        factors=history.factors,
        space=history.space,
        matrix=np.asarray(S, dtype=np.float64),
        counts=counts,
        horizon=ch.horizon,
        window=(start, end),
        n_windows=len(ch),
        overlapping=overlapping,
        min_obs=min_obs,
        source=history.source,
    )
