"""One test of a single table cell for "missing", shared by the stages that count cells.

The report's builders and the intercurrent-event lookup count over plain lists of cell
values (``Series.tolist()``), where pandas' missing markers arrive as ``None``,
``float('nan')``, ``pd.NA`` or ``NaT``.
"""

from __future__ import annotations

from typing import Any

import pandas as pd

__all__ = ["is_missing"]


def is_missing(value: Any) -> bool:
    """Whether one cell value is missing: None, ``pd.NA``, NaN or NaT.

    The scalar counterpart of ``pd.isna`` for values taken out of a column (NaN and NaT
    are the values not equal to themselves).

    Examples
    --------
    >>> [is_missing(v) for v in (None, float("nan"), pd.NA, pd.NaT, "", 0)]
    [True, True, True, True, False, False]
    """
    return value is None or value is pd.NA or bool(value != value)
