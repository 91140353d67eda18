"""Small helpers for the intermediate and result frames of the scoring code.

The ``*_array`` helpers work on numpy arrays and return pandas arrays, so that a result
frame is assembled in one ``DataFrame`` call instead of one assignment per column.
"""

from __future__ import annotations

from typing import cast

import numpy as np
import pandas as pd
from pandas.api.extensions import ExtensionArray
from pandas.arrays import IntegerArray

__all__ = ["as_int", "as_str", "int64_array", "str_array", "str_column"]


def as_str(values: pd.Series) -> pd.Series:
    """Return `values` with the ``str`` dtype (missing stays missing)."""
    if values.dtype == "str":
        return values
    return pd.Series(str_column(values), index=values.index, name=values.name)


def str_column(values: pd.Series) -> ExtensionArray:
    """Return the ``str`` array of :func:`as_str` (the column's own when already ``str``)."""
    if values.dtype == "str":
        return cast(ExtensionArray, values.array)
    text = values.to_numpy(dtype=object, copy=True)
    text[np.asarray(pd.isna(text), dtype=bool)] = None
    return str_array(text)


def as_int(values: pd.Series) -> pd.Series:
    """Return `values` rounded to the nullable ``Int64`` dtype (NaN -> <NA>)."""
    x = pd.to_numeric(values, errors="coerce").to_numpy(float, na_value=np.nan)
    return pd.Series(int64_array(np.round(x)), index=values.index)


def int64_array(values: np.ndarray) -> ExtensionArray:
    """Whole floats (NaN = missing) as an ``Int64`` array.

    The same array as ``pd.array(values, dtype="Float64").astype("Int64")``, built
    directly when every value is a whole number in int64's range (else by that call).

    Examples
    --------
    >>> int64_array(np.array([1.0, np.nan, -3.0])).tolist()
    [1, <NA>, -3]
    """
    x = np.asarray(values, dtype=float)
    missing = np.isnan(x)
    whole = np.where(missing, 0.0, x)
    if not np.all((np.floor(whole) == whole) & (np.abs(whole) < 2.0**63)):
        return cast(ExtensionArray, pd.array(x, dtype="Float64").astype("Int64"))
    return IntegerArray(whole.astype(np.int64), missing)


def str_array(values: object) -> ExtensionArray:
    """Return `values` as a ``str`` array (missing stays missing, the rest becomes text).

    The array ``pd.Series(values, dtype=object).astype("str")`` holds, built directly.

    Examples
    --------
    >>> str_array(np.array(["a", None, 1], dtype=object)).tolist()
    ['a', nan, '1']
    """
    # the dtype "str" names, built directly: parsing the name costs more than the array
    return pd.array(np.asarray(values, dtype=object), dtype=pd.StringDtype(na_value=np.nan))
