"""Small helpers for the intermediate and result frames of the scoring code."""

from __future__ import annotations

import numpy as np
import pandas as pd

__all__ = ["as_int", "as_str"]


def as_str(values: pd.Series) -> pd.Series:
    """Return `values` with the ``str`` dtype (missing stays missing)."""
    if values.dtype == "str":
        return values
    return values.astype(object).where(values.notna(), None).astype("str")


def as_int(values: pd.Series) -> pd.Series:
    """Return `values` rounded to the nullable ``Int64`` dtype (NaN -> <NA>)."""
    x = pd.to_numeric(values, errors="coerce").to_numpy(float, na_value=np.nan)
    return pd.Series(pd.array(np.round(x), dtype="Float64").astype("Int64"), index=values.index)
