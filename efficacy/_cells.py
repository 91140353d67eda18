"""Whether a table cell is missing, and its sort key: shared by the stages that count cells.

The report's builders and the intercurrent-event lookup count over plain lists of cell
values (``Series.tolist()``), where pandas' missing markers arrive as ``None``,
``float('nan')``, ``pd.NA`` or ``NaT``.
"""

from __future__ import annotations

from typing import Any

import pandas as pd

__all__ = ["is_missing", "missing_last"]


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


def missing_last(value: Any) -> tuple[bool, Any]:
    """Sort key of one cell value: in value order, missing values last.

    As ``sort_values(..., na_position="last")`` orders a column (with ``kind="stable"``
    when sorted with Python's stable ``sorted``).

    Examples
    --------
    >>> sorted(["S2", None, "S1", float("nan")], key=missing_last)[:2]
    ['S1', 'S2']
    """
    return (True, None) if is_missing(value) else (False, value)
