"""Bundled market data."""

from __future__ import annotations

from importlib import resources
from pathlib import Path

DEFAULT_MARKET = "market_2026-01-20.toml"


def default_market_path() -> Path:
    """The bundled market near the January 2026 JGB sell-off peak (2026-01-20)."""
    return Path(str(resources.files(__name__) / DEFAULT_MARKET))
