"""Scenarios: the scenario model, the TOML scenario library and generators.

>>> import shocks
>>> s = shocks.load(["jgb_meltdown_2026", "irrbb"])
"""

from shocks.generators import parallel_grid
from shocks.library import library, load
from shocks.model import ALL, Level, ScenarioSet, concat
from shocks.parse import ScenarioError, from_dict, read_toml
from shocks.tenors import Tenor, parse_tenor

__all__ = [
    "ALL",
    "Level",
    "ScenarioError",
    "ScenarioSet",
    "Tenor",
    "concat",
    "from_dict",
    "library",
    "load",
    "parallel_grid",
    "parse_tenor",
    "read_toml",
]
