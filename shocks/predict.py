"""Predictive (conditional) stress: fill the factors a scenario leaves open from the ones it
moves, with the covariance of N-day changes over a window of history.

Given moves x of some factors X, every other factor Y gets its conditional mean under a joint
normal model with the window's covariance S (``shocks.covariance``: second moments about zero,
pairwise over missing data, made positive semi-definite when needed):

    E[Y | X = x] = S_YX S_XX^+ x        Cov[Y | X] = S_YY - S_YX S_XX^+ S_XY

in factor units (rates in bp, FX and gold in log-percent). S_XX^+ x is solved by least squares
(``numpy.linalg.lstsq``, a pseudo-inverse), never an explicit inverse: S_XX is near-singular
whenever X holds neighbouring tenors of one curve (JGB 20Y, 30Y and 40Y move almost together),
and the condition number of S_XX is reported (``Prediction.condition``; named in descriptions
above ``ILL_CONDITIONED``). The conditional standard deviation of each inferred factor says how
uncertain its fill is (rounding below zero is clipped to 0). Given factors keep their given
values exactly. A factor with too few changes in the window can neither be inferred (it stays
unshocked) nor inform the fill (a given one keeps its value but is left out of X); both are
named.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, replace

import numpy as np
import numpy.typing as npt
import polars as pl

from shocks.covariance import MIN_OBS, Covariance, covariance
from shocks.errors import HistoryError
from shocks.factors import FactorSpace, describe
from shocks.history import History, Window, check_history
from shocks.model import ALL, FloatArray, ScenarioSet, row_patterns

BoolArray = npt.NDArray[np.bool_]

#: Condition numbers of S_XX above this are named in descriptions.
ILL_CONDITIONED = 1e6


@dataclass(frozen=True, eq=False)
class Prediction:
    """Moves of every factor of a history given moves of some (``predict``)."""

    factors: tuple[str, ...]
    space: FactorSpace
    #: (F,) scenario units (rates bp, FX and gold percent change): the given value of a given
    #: factor, the conditional mean of an inferred one, NaN for one that is neither.
    moves: FloatArray
    #: (F,) conditional standard deviation in factor units (bp, log-percent ~ percent): 0 for
    #: a given factor, NaN for one that is neither given nor inferred.
    stdev: FloatArray
    given: tuple[str, ...]
    inferred: tuple[str, ...]
    #: Factors with too few changes in the window to be inferred (left unshocked).
    not_inferred: tuple[str, ...]
    #: Given factors with too few changes in the window to inform the fill.
    unused: tuple[str, ...]
    #: 2-norm condition number of S_XX (1 for one factor; NaN when nothing informs the fill).
    condition: float
    #: (len(inferred), len(inferred)) conditional covariance of the inferred factors.
    conditional_covariance: FloatArray
    horizon: int
    window: tuple[dt.date, dt.date]
    n_windows: int
    source: str

    def move(self, factor: str) -> float:
        """The move of one factor (scenario units)."""
        return float(self.moves[self.space.index(factor)])

    def frame(self) -> pl.DataFrame:
        """One row per factor: factor, role (given, inferred, not inferred), move (scenario
        units), stdev (factor units)."""
        role = {n: "given" for n in self.given} | {n: "inferred" for n in self.inferred}
        return pl.DataFrame(
            {
                "factor": list(self.factors),
                "role": [role.get(n, "not inferred") for n in self.factors],
                "move": self.moves,
                "stdev": self.stdev,
            },
            nan_to_null=True,
        )

    def summary(self) -> str:
        """What was given, what was inferred, from what."""

        def mask(names: tuple[str, ...]) -> BoolArray:
            return np.array([n in set(names) for n in self.factors], dtype=np.bool_)

        return _summary(
            self.space, mask(self.given), mask(self.inferred), mask(self.not_inferred),
            mask(self.unused), self.condition, self.horizon, self.window, self.n_windows,
            self.source,
        )

    def fill(self) -> FloatArray:
        """(F,) the inferred moves (scenario units), NaN elsewhere."""
        inferred = np.array([n in set(self.inferred) for n in self.factors])
        return np.where(inferred, self.moves, np.nan)

    def scenario(
        self,
        name: str = "predicted",
        description: str = "",
        source: str = "",
        origin: str = "generator:predict",
    ) -> ScenarioSet:
        """A one-scenario set with the given and the inferred moves (knots at the history's
        tenors); the description says which factors were given and which inferred."""
        text = f"{description} [{self.summary()}]" if description else self.summary()
        return self.space.scenarios(
            self.moves[None, :],
            units="scenario",
            names=[name],
            descriptions=[text],
            sources=[source or f"predictive fill from history: {self.source}"],
            origin=origin,
        )

    def overlay(self, base: ScenarioSet) -> ScenarioSet:
        """``base`` (one scenario holding the given moves) with the inferred moves written in
        and the summary added to its description."""
        out = self.space.overlay(base, self.fill()[None, :], units="scenario")
        d = base.descriptions[0]
        return replace(out, descriptions=(f"{d} [{self.summary()}]" if d else self.summary(),))


def predict(
    history: History,
    given: Mapping[str, float],
    window: Window | None = None,
    horizon: int = 10,
    *,
    min_obs: int = MIN_OBS,
) -> Prediction:
    """Moves of every factor of ``history`` given the moves of some: ``given`` maps factor
    names (``"JPY.40Y"``, ``"FX.JPY"``, ``"XAU"``; case ignored) to moves in scenario units (bp,
    percent change). The covariance is of ``horizon``-day changes over ``window`` (start,
    end), default the last five years of the history.

    Raises:
        HistoryError: an unknown factor name or a bad move, or bad arguments.
    """
    check_history(history)
    if not isinstance(given, Mapping):
        raise HistoryError(f"given: got a {type(given).__name__}; expected a mapping of factor "
                           "names to moves, e.g. {'JPY.40Y': 60}")
    space = history.space
    x = np.full(len(space), np.nan)
    for name, value in given.items():
        try:
            j = space.index(name)
        except ValueError as exc:
            raise HistoryError(f"given: {exc}") from None
        if isinstance(value, bool) or not isinstance(value, int | float | np.number) \
                or not np.isfinite(value):
            raise HistoryError(f"given: {name}: got {value!r}; expected a number")
        if space.relative[j] and value <= -100:
            raise HistoryError(
                f"given: {name}: got {value!r}; expected a percent change above -100"
            )
        if np.isfinite(x[j]):
            raise HistoryError(f"given: {space.names[j]} is given twice (names ignore case)")
        x[j] = float(value)
    cov = covariance(history, horizon, window, min_obs=min_obs)
    mask = np.isfinite(x)
    if mask.any() and not (mask & cov.available).any():
        counts = ", ".join(
            f"{space.names[j]} {cov.counts[j, j]}" for j in np.flatnonzero(mask).tolist()
        )
        raise HistoryError(
            f"{history.source}: no given factor has {cov.min_obs} {cov.horizon}-day changes "
            f"within {cov.window[0]} .. {cov.window[1]} to infer from ({counts}); choose a "
            "window where they have data"
        )
    at = space.to_factor_units(np.nan_to_num(x))[None, :]
    means, var, cond, ccov = _conditional(cov, mask, ~mask, at)
    avail = cov.available
    inferred = ~mask & avail
    moves = np.where(mask, x, np.nan)
    moves[inferred] = space.to_scenario_units(means[0])[inferred]
    stdev = np.where(mask, 0.0, np.nan)
    stdev[inferred] = np.sqrt(var[inferred])
    names = space.names
    return Prediction(
        factors=names,
        space=space,
        moves=moves,
        stdev=stdev,
        given=tuple(n for n, m in zip(names, mask, strict=True) if m),
        inferred=tuple(n for n, m in zip(names, inferred, strict=True) if m),
        not_inferred=tuple(n for n, m in zip(names, ~mask & ~avail, strict=True) if m),
        unused=tuple(n for n, m in zip(names, mask & ~avail, strict=True) if m),
        condition=cond,
        conditional_covariance=ccov,
        horizon=cov.horizon,
        window=cov.window,
        n_windows=cov.n_windows,
        source=history.source,
    )


def _conditional(
    cov: Covariance, given: BoolArray, candidates: BoolArray, x: FloatArray
) -> tuple[FloatArray, FloatArray, float, FloatArray]:
    """Conditional means (n, F) of the available ``candidates`` given the available ``given``
    factors at ``x`` (n, F, factor units), their conditional variances (F,) (clipped at 0),
    the condition number of S_XX and the conditional covariance of the inferred factors."""
    avail = cov.available
    S = np.full(cov.matrix.shape, np.nan)
    a_idx = np.flatnonzero(avail)
    S[np.ix_(a_idx, a_idx)] = cov.psd()
    ix = np.flatnonzero(given & avail)
    iy = np.flatnonzero(candidates & avail)
    means = np.full(x.shape, np.nan)
    var = np.full(len(avail), np.nan)
    Syy = S[np.ix_(iy, iy)]
    if len(ix):
        Sxx, Syx = S[np.ix_(ix, ix)], S[np.ix_(iy, ix)]
        coef = np.linalg.lstsq(Sxx, x[:, ix].T, rcond=None)[0]  # S_XX^+ x, (|X|, n)
        means[:, iy] = (Syx @ coef).T
        B = np.linalg.lstsq(Sxx, Syx.T, rcond=None)[0]  # S_XX^+ S_XY
        C = Syy - Syx @ B
        cond = float(np.linalg.cond(Sxx)) if np.any(Sxx) else float("inf")
    else:
        means[:, iy] = 0.0
        C = Syy
        cond = float("nan")
    C = (C + C.T) / 2
    var[iy] = np.maximum(C.diagonal(), 0.0)
    return means, var, cond, C


def fill_unshocked(
    scen: ScenarioSet,
    history: History,
    window: Window | None = None,
    horizon: int = 10,
    *,
    min_obs: int = MIN_OBS,
) -> ScenarioSet:
    """Each scenario with the history's factors it leaves at zero filled from those it moves.

    Per scenario, a history curve it shocks (any knot on that curve or on ALL) gives every
    history tenor of that curve, at the scenario's shift there (its knots interpolated,
    ``FactorSpace.moves``); an FX rate or gold is given when its move is not 0. Curves without
    knots, and FX and gold at 0, are inferred (``predict``) and written in: knots at the
    history's tenors, FX and gold moves. A curve with a level target is neither given nor
    inferred (it needs a market). Descriptions get the summary of the fill; a scenario that
    moves no history factor is returned as it is, and one whose moved factors all lack data in
    the window is returned unfilled with a note saying so.
    """
    check_history(history)
    if not isinstance(scen, ScenarioSet):
        raise HistoryError(f"scenarios: got a {type(scen).__name__}; expected a ScenarioSet "
                           "(shocks.load gives one from names or files)")
    space = history.space
    plain = replace(scen, levels=())
    x = space.moves(plain, units="factor")
    given = np.zeros(x.shape, dtype=np.bool_)
    blocked = np.zeros(x.shape, dtype=np.bool_)
    shocked_all = (
        scen.knots[:, scen.currencies.index(ALL)].any(axis=1)
        if ALL in scen.currencies
        else np.zeros(len(scen), dtype=np.bool_)
    )
    for ccy, cols in space.curves.items():
        own = np.asarray(
            scen.knots[:, scen.currencies.index(ccy)].any(axis=1)
            if ccy in scen.currencies
            else np.zeros(len(scen), dtype=np.bool_)
        )
        given[:, cols] = (own | shocked_all)[:, None]
    for lv in scen.levels:
        if lv.currency in space.curves:
            blocked[lv.scenario, list(space.curves[lv.currency])] = True
    given &= ~blocked
    rel = space.relative
    given[:, rel] = x[:, rel] != 0.0
    cov = covariance(history, horizon, window, min_obs=min_obs)
    fill = np.full(x.shape, np.nan)
    descriptions = list(scen.descriptions)
    patterns, which = row_patterns(np.hstack([given, blocked]))
    F = len(space)
    for p, pattern in enumerate(patterns):
        g, b = pattern[:F], pattern[F:]
        rows = np.flatnonzero(which == p)
        if g.any() and not (g & cov.available).any():
            note = (
                f"Predictive fill: not done, no factor it moves ({describe(space, g)}) has "
                f"{cov.min_obs} {cov.horizon}-day changes within {cov.window[0]} .. "
                f"{cov.window[1]}"
            )
            for r in rows.tolist():
                descriptions[r] = f"{descriptions[r]} [{note}]" if descriptions[r] else note
            continue
        if not g.any():
            continue
        means, _, cond, _ = _conditional(cov, g, ~g & ~b, np.where(g, x[rows], 0.0))
        inferred = ~g & ~b & cov.available
        if not inferred.any():
            continue
        fill[np.ix_(rows, np.flatnonzero(inferred))] = means[:, inferred]
        note = _summary(
            space, g, inferred, ~g & ~b & ~cov.available, g & ~cov.available, cond,
            cov.horizon, cov.window, cov.n_windows, history.source,
        )
        for r in rows.tolist():
            d = descriptions[r]
            descriptions[r] = f"{d} [{note}]" if d else note
    out = space.overlay(scen, fill, units="factor")
    return replace(out, descriptions=tuple(descriptions))


def _summary(
    space: FactorSpace,
    given: BoolArray,
    inferred: BoolArray,
    not_inferred: BoolArray,
    unused: BoolArray,
    condition: float,
    horizon: int,
    window: tuple[dt.date, dt.date],
    n_windows: int,
    source: str,
) -> str:
    text = f"Predictive fill: given {describe(space, given) or 'nothing'}"
    if inferred.any():
        text += (
            f"; inferred {describe(space, inferred)} as their conditional mean under the "
            f"covariance of {horizon}-day changes over {window[0]} .. {window[1]} "
            f"({n_windows} windows of {source})"
        )
    if unused.any():
        text += (
            "; given but with too few changes in the window to inform the fill: "
            + describe(space, unused)
        )
    if not_inferred.any():
        text += "; left unshocked, too few changes in the window: " + describe(space, not_inferred)
    if condition > ILL_CONDITIONED:
        text += (
            f"; condition number of the given factors' covariance {condition:.1e}: they move "
            "almost together, so the fill is sensitive to their exact values"
        )
    return text
