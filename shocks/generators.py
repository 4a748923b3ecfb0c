"""Scenario generators: sets built from parameters rather than files."""

from __future__ import annotations

import numpy as np

from shocks.model import ALL, ScenarioSet
from shocks.tenors import Tenor


def parallel_grid(
    lo_bp: float = -300.0, hi_bp: float = 300.0, step_bp: float = 25.0, currency: str = ALL
) -> ScenarioSet:
    """Parallel shifts of ``currency`` (default every curve) from ``lo_bp`` to ``hi_bp``."""
    if step_bp <= 0 or hi_bp < lo_bp:
        raise ValueError("parallel_grid: need step_bp > 0 and hi_bp >= lo_bp")
    shifts = np.arange(lo_bp, hi_bp + step_bp / 2, step_bp)
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
