"""Scenarios: the scenario model, the TOML scenario library and generators, and scenarios from
market history (historical simulation, Monte Carlo, predictive stress).

>>> import shocks
>>> s = shocks.load(["jgb_meltdown_2026", "irrbb"])
>>> h = shocks.default_history()
>>> hs = shocks.historical(h, start="2019-01-01", end="2024-06-30", horizon=10)
"""

from shocks.covariance import Covariance, covariance
from shocks.errors import HistoryError, HistoryWarning, ScenarioError
from shocks.factors import Factor, FactorSpace, parse_factor
from shocks.generators import parallel_grid
from shocks.historical import historical
from shocks.history import Changes, History, default_history
from shocks.history_load import load_history
from shocks.library import library, load
from shocks.model import ALL, Level, ScenarioSet, concat
from shocks.montecarlo import monte_carlo
from shocks.parquet import read_parquet, write_parquet
from shocks.parse import from_dict, read_toml
from shocks.predict import Prediction, fill_unshocked, predict
from shocks.tenors import Tenor, parse_tenor

__all__ = [
    "ALL",
    "Changes",
    "Covariance",
    "Factor",
    "FactorSpace",
    "History",
    "HistoryError",
    "HistoryWarning",
    "Level",
    "Prediction",
    "ScenarioError",
    "ScenarioSet",
    "Tenor",
    "concat",
    "covariance",
    "default_history",
    "fill_unshocked",
    "from_dict",
    "historical",
    "library",
    "load",
    "load_history",
    "monte_carlo",
    "parallel_grid",
    "parse_factor",
    "parse_tenor",
    "predict",
    "read_parquet",
    "read_toml",
    "write_parquet",
]
