"""Text columns of the simulated tables, built from a few distinct values and codes.

A simulated table repeats a handful of strings (visit ids, endpoints, units, subject
ids) over thousands of rows. ``pandas.DataFrame`` infers a text dtype from an object
array cell by cell; :func:`text_column` builds the very same column from the distinct
values once and an integer ``take``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa

__all__ = ["text_column"]


def text_column(values: Sequence[str] | np.ndarray, codes: np.ndarray) -> Any:
    """Return ``np.asarray(values, dtype=object)[codes]`` as pandas stores it in a frame.

    Parameters
    ----------
    values : sequence of str
        The distinct strings (no missing values).
    codes : numpy.ndarray
        Integer positions into `values`, one per row.

    Returns
    -------
    pandas.api.extensions.ExtensionArray or numpy.ndarray
        The column as ``pandas.DataFrame({"c": values[codes]})["c"].array`` holds it: an
        Arrow-backed ``str`` array where pandas infers one from text (pandas 3), else
        the object array itself. Equal in dtype, values and Arrow type either way.

    Examples
    --------
    >>> import numpy as np
    >>> list(text_column(["W0", "W2"], np.array([1, 0, 1])))
    ['W2', 'W0', 'W2']
    """
    uniques = np.asarray(values, dtype=object)
    dtype = _inferred_dtype() if len(codes) else None  # pandas keeps empty text as object
    if dtype is None:
        return uniques[codes]
    arrow = pa.array(list(uniques), type=pa.large_string()).take(np.asarray(codes, np.intp))
    return pd.array(arrow, dtype=dtype)


def _inferred_dtype() -> Any:
    """Return the Arrow-backed string dtype pandas infers for text, or None (object text)."""
    probe = pd.Series(np.asarray(["a"], dtype=object)).array
    dtype = probe.dtype
    arrow = getattr(probe, "_pa_array", None)
    if isinstance(dtype, pd.StringDtype) and arrow is not None and arrow.type == pa.large_string():
        return dtype
    return None
