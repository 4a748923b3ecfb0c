"""Scenarios placed on a market: the arrays the kernels price with.

A ScenarioSet's tenors are calendar periods and its FX moves are per currency; here they become
curve shifts on the market's valuation calendar for the book's curves, and multipliers of each
position currency's base-currency FX rate and of the gold price. Every view of a scenario (the
engine, ``stress scenarios``, reports) uses these same arrays.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace

import numpy as np
import numpy.typing as npt

from shocks.model import ALL, ScenarioSet
from shocks.parse import ScenarioError
from stress.market import Market

FloatArray = npt.NDArray[np.float64]


@dataclass(frozen=True)
class ResolvedShocks:
    """S scenarios on a market, for ``curves`` and ``currencies``.

    ``times`` (K,) ACT/365F years of the key tenors on the valuation calendar; ``shift_bp``
    (S, len(curves), K) the zero-rate shift of each curve there (linear between, flat beyond);
    ``fx_multiplier`` (S, len(currencies)) the factor on each currency's base-currency FX
    rate; ``gold_multiplier`` (S,) the factor on the gold price; ``spreads`` the scenarios'
    credit-spread shifts by position attribute (a ScenarioSet's spread fields, placed on the
    positions by ``spread_shift``).
    """

    curves: tuple[str, ...]
    currencies: tuple[str, ...]
    times: FloatArray
    shift_bp: FloatArray
    fx_multiplier: FloatArray
    gold_multiplier: FloatArray
    spreads: ScenarioSet | None = None

    @property
    def spread_attributes(self) -> tuple[str, ...]:
        return self.spreads.spread_attributes if self.spreads is not None else ()

    def spread_shift(self, attributes: Sequence[str],
                     labels: Sequence[Sequence[str]]) -> FloatArray:  # fmt: skip
        """(S, len(labels)) parallel spread shift in bp of positions whose values of
        ``attributes`` are ``labels[g]`` (``ScenarioSet.spread_shift``)."""
        if self.spreads is None or not attributes:
            return np.zeros((len(self.gold_multiplier), len(labels)))
        return self.spreads.spread_shift(attributes, labels)

    def select(self, index: npt.ArrayLike) -> ResolvedShocks:
        """The scenarios at the given positions."""
        idx = np.atleast_1d(np.asarray(index, dtype=np.int64))
        return replace(
            self,
            shift_bp=self.shift_bp[idx],
            fx_multiplier=self.fx_multiplier[idx],
            gold_multiplier=self.gold_multiplier[idx],
            spreads=self.spreads.select(idx) if self.spreads is not None else None,
        )

    def shift_at(self, curve: str, t: npt.ArrayLike) -> FloatArray:
        """(S, len(t)) shift in bp of ``curve`` at times ``t`` (years), as the kernels
        interpolate it."""
        row = self.shift_bp[:, self.curves.index(curve)]
        tt = np.asarray(t, dtype=np.float64)
        return np.stack([np.interp(tt, self.times, r) for r in row]) if len(row) else row


def resolve(
    scen: ScenarioSet,
    market: Market,
    curves: Sequence[str],
    currencies: Sequence[str],
) -> ResolvedShocks:
    """Place ``scen`` on ``market`` for the given curve and position currencies.

    Raises:
        ScenarioError: a scenario shifts a curve, targets a level or moves an FX rate the
            market does not have (naming the first scenario that does), or its tenors fall
            out of order on the valuation calendar.
    """
    _check_market(scen, market)

    def zero(currency: str, t: FloatArray) -> FloatArray:
        return market.curves[currency].zero(t)

    try:
        times, shift = scen.curve_shifts(market.valuation_date, tuple(curves), zero)
    except ValueError as exc:
        raise ScenarioError(str(exc)) from None
    fx_mul, gold_mul = _fx_gold(scen, market, tuple(currencies))
    return ResolvedShocks(tuple(curves), tuple(currencies), times, shift, fx_mul, gold_mul,
                          _spread_part(scen))  # fmt: skip


def _spread_part(scen: ScenarioSet) -> ScenarioSet | None:
    """The set's spread shifts alone (names and spread fields), or None without any."""
    if not scen.spread_set.any():
        return None
    n = len(scen)
    return ScenarioSet(
        names=scen.names, descriptions=("",) * n, sources=("",) * n, origins=scen.origins,
        currencies=(), tenors=(), bp=np.zeros((n, 0, 0)),
        knots=np.zeros((n, 0, 0), dtype=np.bool_), fx_currencies=(), fx_pct=np.zeros((n, 0)),
        gold_pct=np.zeros(n), spread_keys=scen.spread_keys, spread_bp=scen.spread_bp,
        spread_set=scen.spread_set,
    )  # fmt: skip


def _check_market(scen: ScenarioSet, market: Market) -> None:
    """Every curve a scenario shifts or targets and every FX rate it moves must be in the
    market (a currency the set only carries on its axes, unused, is no problem)."""
    for c in scen.currencies:
        if c == ALL or c in market.curves:
            continue
        targets = {lv.scenario for lv in scen.levels if lv.currency == c}
        k = scen.currencies.index(c)
        users = [i for i in range(len(scen)) if i in targets or scen.knots[i, k].any()]
        if users:
            i = users[0]
            fld = f"rates.{c}.to_pct" if i in targets else f"rates.{c}"
            raise ScenarioError(
                f"{scen.origins[i]}: scenario {scen.names[i]!r}: {fld}: the market "
                f"({market.source}) has no {c} curve"
            )
    for lv in scen.levels:
        if lv.currency not in market.curves:
            raise ScenarioError(
                f"{scen.origins[lv.scenario]}: scenario "
                f"{scen.names[lv.scenario]!r}: rates.{lv.currency}.to_pct: the "
                f"market ({market.source}) has no {lv.currency} curve"
            )
    for k, c in enumerate(scen.fx_currencies):
        moved = np.flatnonzero(scen.fx_pct[:, k] != 0)
        if c not in market.usd_value and len(moved):
            i = int(moved[0])
            raise ScenarioError(
                f"{scen.origins[i]}: scenario {scen.names[i]!r}: fx.{c}: the "
                f"market ({market.source}) has no FX rate for {c}"
            )


def _fx_gold(
    scen: ScenarioSet, market: Market, currencies: tuple[str, ...]
) -> tuple[FloatArray, FloatArray]:
    def growth(c: str) -> FloatArray:
        if c in scen.fx_currencies:
            return 1.0 + scen.fx_pct[:, scen.fx_currencies.index(c)] / 100.0
        return np.ones(len(scen))

    base = growth(market.base_currency)
    fx_mul = (
        np.stack([growth(c) / base for c in currencies], axis=1)
        if currencies
        else np.ones((len(scen), 0))
    )
    return fx_mul, 1.0 + scen.gold_pct / 100.0
