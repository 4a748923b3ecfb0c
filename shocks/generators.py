"""Scenario generators: sets built from parameters rather than files."""

from __future__ import annotations

import math

import numpy as np

from shocks.model import ALL, ScenarioSet
from shocks.tenors import Tenor

#: The most scenarios a grid holds.
MAX_GRID = 100_000


def parallel_grid(
    lo_bp: float = -300.0, hi_bp: float = 300.0, step_bp: float = 25.0, currency: str = ALL
) -> ScenarioSet:
    """Parallel shifts of ``currency`` (default every curve) from ``lo_bp`` to ``hi_bp``."""
    values = (lo_bp, hi_bp, step_bp)
    if not all(isinstance(v, int | float | np.number) and not isinstance(v, bool)
               and math.isfinite(v) for v in values):  # fmt: skip
        raise ValueError(f"parallel_grid: got lo_bp, hi_bp, step_bp = {values!r}; expected "
                         "finite numbers of bp")
    if step_bp <= 0 or hi_bp < lo_bp:
        raise ValueError("parallel_grid: need step_bp > 0 and hi_bp >= lo_bp")
    count = math.floor((hi_bp - lo_bp) / step_bp + 0.5) + 1
    if count > MAX_GRID:
        raise ValueError(f"parallel_grid: {count:,} shifts; expected at most {MAX_GRID:,} "
                         "(a larger step)")
    if not isinstance(currency, str):
        raise ValueError(f"parallel_grid: currency: got {currency!r}; expected a code or ALL")
    # Multiples of the step from lo, rounded: -0.3 + 3 x 0.1 is 5.6e-17, not 0. The last is at
    # most half a step past hi, as numpy's arange to hi + step / 2 would have it.
    shifts = np.round(lo_bp + step_bp * np.arange(count), 9)
    names = tuple(f"parallel_{'p' if b >= 0 else 'm'}{abs(b):g}" for b in shifts)
    n = len(shifts)
    return ScenarioSet(
        names=names,
        descriptions=tuple(f"parallel shift of {b:+g} bp" for b in shifts),
        sources=("hypothetical grid",) * n,
        origins=("generator:parallel_grid",) * n,
        currencies=(currency,),
        tenors=(Tenor(1.0, ""),),
        bp=shifts.reshape(n, 1, 1).astype(np.float64),
        knots=np.ones((n, 1, 1), dtype=np.bool_),
        fx_currencies=(),
        fx_pct=np.zeros((n, 0)),
        gold_pct=np.zeros(n),
    )
