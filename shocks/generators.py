"""Scenario generators: sets built from parameters rather than files."""

from __future__ import annotations

import numpy as np

from shocks.model import ALL, ScenarioSet


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
        names,
        tuple(f"parallel shift of {b:+g} bp" for b in shifts),
        ("hypothetical grid",) * n,
        ("generator:parallel_grid",) * n,
        (currency,),
        np.array([1.0]),
        shifts.reshape(n, 1, 1),
        (),
        np.zeros((n, 0)),
        np.zeros(n),
    )
