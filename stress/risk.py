"""Value at risk and expected shortfall over a finite set of scenarios.

The rule (stated once, used everywhere): with N scenario P&Ls and losses L = -P&L sorted from
the largest, L(1) >= L(2) >= ... >= L(N), the tail at level a holds the k = ceil((1 - a) N)
largest losses (ties broken by scenario order, earlier first);

    VaR_a = L(k)            ES_a = (L(1) + ... + L(k)) / k

both in the base currency, losses as positive numbers (a gain in every tail scenario gives a
negative VaR). The component ES of a position (or group) is minus its mean P&L over the same k
tail scenarios; the components add up to the ES because the tail set is shared.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Sequence, Sized
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]

DEFAULT_LEVELS = (0.99, 0.975)


class RiskError(ValueError):
    """A risk measure that cannot be computed as asked (a level outside (0, 1), ...)."""


#: A confidence level as users pass one: a float, or a numpy float of any width.
Level = float | np.floating[Any]
#: Levels as users pass them: one level, a sequence of them, or a numpy array.
Levels = Level | Sequence[Level] | npt.NDArray[np.floating[Any]]


def requested_levels(levels: Levels | None) -> tuple[float, ...]:
    """``check_levels``, with None or an empty sequence (nothing requested) as no levels."""
    if levels is None or (isinstance(levels, Sized) and len(levels) == 0):
        return ()
    return check_levels(levels)


def check_levels(levels: Levels) -> tuple[float, ...]:
    """The distinct levels (or one level) as floats in the order given, each strictly between
    0 and 1 (a level asked twice is one row of the figures, as a run keeps it once)."""
    # numbers.Real, not float: a numpy float32 level is one level too.
    many: Sequence[object]
    many = (levels,) if isinstance(levels, numbers.Real) else levels  # type: ignore[assignment]
    try:
        out = tuple(_level(a) for a in many)
    except (TypeError, ValueError):
        raise RiskError(f"risk levels {levels!r}: expected confidence levels such as "
                        "(0.99, 0.975)") from None
    for a in out:
        if not 0.0 < a < 1.0:
            raise RiskError(f"risk level {a!r}: expected a confidence level between 0 and 1")
    if not out:
        raise RiskError("no risk levels given; expected e.g. 0.99 0.975")
    return tuple(dict.fromkeys(out))


def _level(a: object) -> float:
    # A float32 level is the decimal its user wrote (0.99), not its binary 0.99000000953...,
    # which would not find the level a run kept.
    if isinstance(a, np.floating) and a.dtype.itemsize < 8:
        return float(str(a))
    return float(a)  # type: ignore[arg-type]


def tail_size(n: int, level: float) -> int:
    """k = ceil((1 - level) n), at least 1: how many scenarios the tail at ``level`` holds."""
    # Round (1 - level) n first: 0.01 x 100 is 1.0000000000000009 in floating point.
    return max(1, math.ceil(round((1.0 - level) * n, 9)))


def tail(pnl: FloatArray, level: float) -> IntArray:
    """Indices of the tail scenarios at ``level``: the k largest losses, worst first, ties in
    scenario order."""
    if not len(pnl):
        raise RiskError("no scenarios: VaR and ES need at least one P&L")
    order = np.argsort(pnl, kind="stable")  # largest loss = lowest P&L first
    return order[: tail_size(len(pnl), level)].astype(np.int64)


@dataclass(frozen=True)
class VaRES:
    """VaR and ES at one level (base currency, losses positive) and the tail they come from."""

    level: float
    var: float
    es: float
    tail: IntArray  # scenario indices, worst first


def var_es(pnl: FloatArray, level: float) -> VaRES:
    """VaR and ES of the P&L vector ``pnl`` (one entry per scenario) at ``level``."""
    idx = tail(pnl, level)
    losses = -pnl[idx]
    return VaRES(level, float(losses[-1]), float(losses.mean()), idx)
