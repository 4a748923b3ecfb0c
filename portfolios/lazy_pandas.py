"""pandas DataFrames recognised without importing pandas.

pandas takes 0.3 s to import, a tenth of a CLI run's start, and the engine itself never needs
it: only a caller who made a pandas frame has a use for it, and that caller has imported it.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeAlias, TypeGuard

import polars as pl

if TYPE_CHECKING:
    import pandas as pd

    #: A table to read: a CSV or Parquet path, or a pandas or polars DataFrame.
    TableSource: TypeAlias = str | Path | pd.DataFrame | pl.DataFrame
else:  # the same for typing.get_type_hints, without loading pandas (Any: a pandas DataFrame)
    TableSource = str | Path | pl.DataFrame | Any


def is_pandas_frame(obj: object) -> TypeGuard[pd.DataFrame]:
    """Whether ``obj`` is a pandas DataFrame (pandas not loaded: it cannot be one)."""
    pandas = sys.modules.get("pandas")
    return pandas is not None and isinstance(obj, pandas.DataFrame)
