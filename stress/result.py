"""StressResult: the engine's output as polars frames (summary, positions, groupings)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import numpy.typing as npt
import pandas as pd
import polars as pl

from shocks.model import ScenarioSet
from stress.kernels.scenarios import N_DETAIL, N_METRICS

if TYPE_CHECKING:
    from stress.engine import Prepared

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]

#: Names of the per-(scenario, group) metrics summed by ``kernels.scenarios.stress_positions``,
#: in its order, all in the base currency: P&L and its parts, PV before/after (all positions,
#: then bonds only), dollar duration and dollar convexity before/after (sums of t*PV and
#: t^2*PV), and the two Taylor terms.
METRICS = (
    "pnl",
    "pnl_rates",
    "pnl_fx",
    "pnl_gold",
    "pnl_cross",
    "pv_before",
    "pv_after",
    "bond_pv_before",
    "bond_pv_after",
    "dollar_duration_before",
    "dollar_duration_after",
    "dollar_convexity_before",
    "dollar_convexity_after",
    "taylor_duration",
    "taylor_convexity",
)
assert len(METRICS) == N_METRICS
_M = {name: i for i, name in enumerate(METRICS)}

#: Per-position columns of ``positions`` (order of ``kernels.scenarios.stress_positions``).
DETAIL_COLUMNS = (
    "pnl",
    "pnl_rates",
    "pnl_fx",
    "pnl_gold",
    "pnl_cross",
    "pv_before",
    "pv_after",
    "duration_before",
    "duration_after",
    "convexity_before",
    "convexity_after",
    "dv01_before",
    "dv01_after",
    "taylor_pnl",
    "taylor_residual",
)
assert len(DETAIL_COLUMNS) == N_DETAIL

#: Maturity buckets for ``by("maturity_bucket")``: (label, upper bound in years).
MATURITY_BUCKETS = (
    ("0-2y", 2.0),
    ("2-5y", 5.0),
    ("5-10y", 10.0),
    ("10-20y", 20.0),
    ("20-30y", 30.0),
    ("30y+", np.inf),
)


def derived_columns(m: FloatArray) -> dict[str, FloatArray]:
    """Report columns from raw metrics ``m[metric, ...]`` (any trailing shape), base currency.

    ``pnl`` is the sum of its four parts, so they add up to it exactly. Durations and
    convexities are bond-PV weighted (years, years^2); DV01 is the base-currency loss for a
    1 bp parallel rise of every curve; the Taylor estimate of the rates P&L is
    -sum(t*PV*shift) + 1/2*sum(t^2*PV*shift^2) and the residual is exact minus estimate.
    """
    g = {k: m[i] for k, i in _M.items()}
    with np.errstate(invalid="ignore", divide="ignore"):
        taylor = g["taylor_duration"] + g["taylor_convexity"]
        return {
            "pnl": g["pnl_rates"] + g["pnl_fx"] + g["pnl_gold"] + g["pnl_cross"],
            "pnl_rates": g["pnl_rates"],
            "pnl_fx": g["pnl_fx"],
            "pnl_gold": g["pnl_gold"],
            "pnl_cross": g["pnl_cross"],
            "pv_before": g["pv_before"],
            "pv_after": g["pv_after"],
            "duration_before": g["dollar_duration_before"] / g["bond_pv_before"],
            "duration_after": g["dollar_duration_after"] / g["bond_pv_after"],
            "convexity_before": g["dollar_convexity_before"] / g["bond_pv_before"],
            "convexity_after": g["dollar_convexity_after"] / g["bond_pv_after"],
            "dv01_before": g["dollar_duration_before"] * 1e-4,
            "dv01_after": g["dollar_duration_after"] * 1e-4,
            "taylor_duration": g["taylor_duration"],
            "taylor_convexity": g["taylor_convexity"],
            "taylor_pnl": taylor,
            "taylor_residual": g["pnl_rates"] - taylor,
        }


def _enum_of(values: pl.Series) -> pl.Series:
    """``values`` (unique strings) as an Enum whose categories are those values, in order."""
    return values.cast(pl.Enum(values))


def _enum(codes: IntArray, categories: pl.Series) -> pl.Series:
    """Categorical column from codes into the Enum series ``categories``; code -1 is null."""
    out = categories.gather(np.maximum(codes, 0))
    missing = codes < 0
    return out.scatter(np.flatnonzero(missing), None) if missing.any() else out


class StressResult:
    """What a stress run found.

    ``summary``: one row per scenario (P&L and its parts, risk before/after, Taylor estimate,
    the three worst positions). ``positions``: one row per (scenario, position), only with
    ``detail="positions"``. ``by(column)``: the summary per value of a position attribute.
    All amounts are in the base currency ``base_currency``.
    """

    def __init__(
        self,
        prepared: Prepared,
        scenarios: ScenarioSet,
        sums: FloatArray,
        worst: IntArray,
        worst_pnl: FloatArray,
        detail: FloatArray | None,
    ) -> None:
        self._prepared = prepared
        self._group_sums = sums
        self.scenarios = scenarios
        self.base_currency = prepared.book.market.base_currency
        # Built once: an Enum over a million ids is costly, and every column shares it.
        self._ids = _enum_of(prepared.book.portfolio.frame["position_id"])
        self._names = _enum_of(pl.Series(list(scenarios.names), dtype=pl.String))
        self.summary = self._summary(sums[:, 0, :].T, worst, worst_pnl)
        self._positions = None if detail is None else self._positions_frame(detail)

    def _scenario_column(self, codes: IntArray) -> pl.Series:
        return _enum(codes, self._names).alias("scenario")

    def _summary(self, m: FloatArray, worst: IntArray, worst_pnl: FloatArray) -> pl.DataFrame:
        S = len(self.scenarios)
        cols: dict[str, pl.Series | FloatArray] = {
            "scenario": self._scenario_column(np.arange(S)),
            **derived_columns(m),
        }
        for k in range(min(worst.shape[1], len(self._ids))):
            cols[f"worst_{k + 1}"] = _enum(worst[:, k], self._ids)
            cols[f"worst_{k + 1}_pnl"] = worst_pnl[:, k]
        return pl.DataFrame(cols)

    def _positions_frame(self, detail: FloatArray) -> pl.DataFrame:
        """Rows position-major: all scenarios of the first position, then the next."""
        S, P = len(self.scenarios), len(self._ids)
        return pl.DataFrame(
            {
                "scenario": self._scenario_column(np.tile(np.arange(S), P)),
                "position_id": _enum(np.repeat(np.arange(P), S), self._ids),
                **{name: detail[k] for k, name in enumerate(DETAIL_COLUMNS)},
            }
        )

    @property
    def positions(self) -> pl.DataFrame:
        if self._positions is None:
            raise ValueError("per-position results were not kept; run with detail='positions'")
        return self._positions

    def by(self, column: str) -> pl.DataFrame:
        """P&L and risk per scenario and value of ``column`` (any position attribute, e.g.
        ``currency``, ``instrument``, ``book``, ``issuer``, or ``maturity_bucket``)."""
        from stress.engine import evaluate

        frame = self._prepared.book.portfolio.frame
        if column == "maturity_bucket":
            years = (
                frame["maturity"].cast(pl.Int64).to_numpy(allow_copy=True).astype(float)
                - self._prepared.book.cashflows.valuation_day
            ) / 365.0
            labels = np.array([b[0] for b in MATURITY_BUCKETS] + ["n/a"])
            idx = np.searchsorted([b[1] for b in MATURITY_BUCKETS], years, side="left")
            idx[np.isnan(years)] = len(MATURITY_BUCKETS)
            values = pl.Series(column, labels[idx])
        elif column in frame.columns:
            values = frame[column].cast(pl.String).fill_null("n/a")
        else:
            raise KeyError(
                f"no column {column!r} to group by; positions have "
                f"{', '.join(frame.columns)} and maturity_bucket"
            )
        present = set(values.to_list())
        order = [b[0] for b in MATURITY_BUCKETS] + ["n/a"] if column == "maturity_bucket" else []
        categories = [c for c in order if c in present] + sorted(present - set(order))
        codes = values.replace_strict(
            {c: i for i, c in enumerate(categories)}, return_dtype=pl.Int64
        ).to_numpy()
        res = evaluate(self._prepared, self.scenarios, codes, len(categories))
        sums = res._group_sums
        S, G = sums.shape[0], sums.shape[1]
        m = sums.transpose(2, 0, 1).reshape(N_METRICS, S * G)
        return pl.DataFrame(
            {
                "scenario": self._scenario_column(np.repeat(np.arange(S), G)),
                column: pl.Series(np.tile(np.array(categories, dtype=object), S), dtype=pl.String),
                **derived_columns(m),
            }
        )

    def contributors(self, scenario: str, n: int = 10) -> pl.DataFrame:
        """The ``n`` positions that lose most in ``scenario``, worst first, with every
        per-position column (works in summary mode: the scenario is revalued again)."""
        from stress.engine import evaluate

        if scenario not in self.scenarios.names:
            raise KeyError(f"no scenario {scenario!r} in this result")
        one = self.scenarios.select([self.scenarios.names.index(scenario)])
        groups = np.zeros(self._prepared.book.n_positions, dtype=np.int64)
        res = evaluate(self._prepared, one, groups, 1, detail=True)
        return res.positions.sort("pnl").head(n).with_columns(pl.lit(scenario).alias("scenario"))

    def to_pandas(self) -> pd.DataFrame:
        """The summary as a pandas DataFrame (``positions.to_pandas()`` for the detail)."""
        return self.summary.to_pandas()
