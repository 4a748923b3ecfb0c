"""pandas DataFrames recognised without importing pandas.

pandas takes 0.3 s to import, a tenth of a CLI run's start, and the engine itself never needs
it: only a caller who made a pandas frame has a use for it, and that caller has imported it.
"""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING, TypeGuard

if TYPE_CHECKING:
    import pandas as pd


def is_pandas_frame(obj: object) -> TypeGuard[pd.DataFrame]:
    """Whether ``obj`` is a pandas DataFrame (pandas not loaded: it cannot be one)."""
    pandas = sys.modules.get("pandas")
    return pandas is not None and isinstance(obj, pandas.DataFrame)
