"""stress: stress-test multi-currency bond portfolios.

>>> import portfolios, stress
>>> book = portfolios.load(portfolios.sample_path("global_macro"))
>>> market = stress.Market.load(stress.default_market_path())
>>> table = stress.analytics(book, market)
"""

from importlib.metadata import PackageNotFoundError, version

from stress.analytics import analytics
from stress.data import default_market_path
from stress.engine import run
from stress.market import Market, MarketError
from stress.result import StressResult
from stress.reverse_stress import ReverseStress, reverse
from stress.session import Session, WhatIf
from stress.warnings import StressWarning

try:
    __version__ = version("stress")
except PackageNotFoundError:  # run from a source tree that was never installed
    __version__ = "0+unknown"

__all__ = [
    "Market",
    "MarketError",
    "ReverseStress",
    "Session",
    "StressResult",
    "StressWarning",
    "WhatIf",
    "analytics",
    "default_market_path",
    "reverse",
    "run",
]
