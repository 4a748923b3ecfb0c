"""Scenarios as dense arrays: curve shifts on a shared key-tenor grid, FX and gold moves.

A ScenarioSet holds S scenarios over C curve currencies and K key tenors:
``bp[s, c, k]`` is the zero-rate shift in basis points at ``grid[k]`` years, linear between
grid points and flat beyond them. The grid is the union of every tenor any scenario names, so
each scenario's own piecewise-linear shape is represented exactly. The currency ``"ALL"``
applies to every curve of the market (added to any currency-specific shift).
Level targets ("move the 40Y JPY zero rate *to* 4 %") depend on the market and are kept
aside in ``levels`` for the engine to resolve.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt
import polars as pl

FloatArray = npt.NDArray[np.float64]

ALL = "ALL"

#: BCBS d368 time-bucket midpoints (years), extended to 50Y for long bonds: the nodes on which
#: the exponential IRRBB shapes are sampled (linear between, as the standard's buckets).
BASEL_GRID: tuple[float, ...] = (
    0.0028,
    0.0417,
    0.1667,
    0.375,
    0.625,
    0.875,
    1.25,
    1.75,
    2.5,
    3.5,
    4.5,
    5.5,
    6.5,
    7.5,
    8.5,
    9.5,
    12.5,
    17.5,
    25.0,
    30.0,
    40.0,
    50.0,
)


@dataclass(frozen=True)
class Level:
    """Move the zero rate of ``currency`` at ``tenors`` (years) *to* ``pct`` percent."""

    scenario: int
    currency: str
    tenors: tuple[float, ...]
    pct: tuple[float, ...]


@dataclass(frozen=True)
class ScenarioSet:
    """S scenarios as dense arrays (see the module docstring)."""

    names: tuple[str, ...]
    descriptions: tuple[str, ...]
    sources: tuple[str, ...]
    origins: tuple[str, ...]  # file (or "library:<file>") each scenario came from
    currencies: tuple[str, ...]  # curve currencies, possibly including ALL
    grid: FloatArray  # (K,) key tenors in years, increasing
    bp: FloatArray  # (S, C, K)
    fx_currencies: tuple[str, ...]
    fx_pct: FloatArray  # (S, F) percent change of each currency's value in USD
    gold_pct: FloatArray  # (S,) percent change of XAU in USD
    levels: tuple[Level, ...] = field(default=())

    def __len__(self) -> int:
        return len(self.names)

    def frame(self) -> pl.DataFrame:
        """One row per scenario: name, description, source, origin."""
        return pl.DataFrame(
            {
                "scenario": list(self.names),
                "description": list(self.descriptions),
                "source": list(self.sources),
                "origin": list(self.origins),
            }
        )

    def shift_bp(self, scenario: int, currency: str, t: npt.ArrayLike) -> FloatArray:
        """The scenario's shift in bp at times ``t`` (years) for ``currency`` (level targets
        excluded: they need a market)."""
        tt = np.asarray(t, dtype=np.float64)
        out = np.zeros(tt.shape)
        for c in (currency, ALL):
            if c in self.currencies:
                out += np.interp(tt, self.grid, self.bp[scenario, self.currencies.index(c)])
        return out

    def select(self, index: npt.ArrayLike) -> ScenarioSet:
        """The scenarios at the given positions, in that order."""
        idx = np.atleast_1d(np.asarray(index, dtype=np.int64))
        remap = {int(old): new for new, old in enumerate(idx)}

        def pick(seq: tuple[str, ...]) -> tuple[str, ...]:
            return tuple(seq[i] for i in idx)

        return ScenarioSet(
            pick(self.names),
            pick(self.descriptions),
            pick(self.sources),
            pick(self.origins),
            self.currencies,
            self.grid,
            self.bp[idx],
            self.fx_currencies,
            self.fx_pct[idx],
            self.gold_pct[idx],
            tuple(
                Level(remap[lv.scenario], lv.currency, lv.tenors, lv.pct)
                for lv in self.levels
                if lv.scenario in remap
            ),
        )


def concat(sets: list[ScenarioSet]) -> ScenarioSet:
    """One set holding all scenarios of ``sets`` (names must stay unique)."""
    names = [n for s in sets for n in s.names]
    seen: dict[str, str] = {}
    for s in sets:
        for name, origin in zip(s.names, s.origins, strict=True):
            if name in seen:
                raise ValueError(
                    f"scenario name {name!r} appears twice ({seen[name]} and {origin})"
                )
            seen[name] = origin
    currencies = tuple(sorted({c for s in sets for c in s.currencies}))
    fx_ccy = tuple(sorted({c for s in sets for c in s.fx_currencies}))
    grid = np.unique(np.concatenate([s.grid for s in sets])) if sets else np.zeros(0)
    S = len(names)
    bp = np.zeros((S, len(currencies), len(grid)))
    fx = np.zeros((S, len(fx_ccy)))
    gold = np.zeros(S)
    levels: list[Level] = []
    row = 0
    for s in sets:
        n = len(s)
        for ci, ccy in enumerate(s.currencies):
            # Re-sampling a piecewise-linear shape on a finer grid that contains its nodes is
            # exact, so sets with different grids merge without loss.
            for i in range(n):
                bp[row + i, currencies.index(ccy)] = np.interp(grid, s.grid, s.bp[i, ci])
        for fi, ccy in enumerate(s.fx_currencies):
            fx[row : row + n, fx_ccy.index(ccy)] = s.fx_pct[:, fi]
        gold[row : row + n] = s.gold_pct
        levels += [Level(lv.scenario + row, lv.currency, lv.tenors, lv.pct) for lv in s.levels]
        row += n
    return ScenarioSet(
        tuple(names),
        tuple(d for s in sets for d in s.descriptions),
        tuple(d for s in sets for d in s.sources),
        tuple(d for s in sets for d in s.origins),
        currencies,
        grid,
        bp,
        fx_ccy,
        fx,
        gold,
        tuple(levels),
    )
