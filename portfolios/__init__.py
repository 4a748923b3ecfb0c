"""Positions: the portfolio model, loaders, validation and sample books.

>>> import portfolios
>>> book = portfolios.load(portfolios.sample_path("global_macro"))
"""

from portfolios.conventions import DAY_COUNTS, PRESETS, Convention
from portfolios.loader import load
from portfolios.model import Portfolio
from portfolios.problems import PortfolioError, PortfolioValidationError, Problem
from portfolios.samples import sample_names, sample_path
from portfolios.synthetic import synthetic_book

__all__ = [
    "DAY_COUNTS",
    "PRESETS",
    "Convention",
    "Portfolio",
    "PortfolioError",
    "PortfolioValidationError",
    "Problem",
    "load",
    "sample_names",
    "sample_path",
    "synthetic_book",
]
