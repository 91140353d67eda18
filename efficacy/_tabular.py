"""Safe tables: every CSV or XLSX the package writes goes through :func:`safe_frame`.

A spreadsheet opens a cell that starts with ``=``, ``+``, ``-``, ``@``, a tab or a
carriage return as a formula (CSV injection), so a subject id such as
``=HYPERLINK("http://x","y")`` would become a live link in the sponsor's Excel. Following
the OWASP guidance, such text cells are written with a leading single quote, which
spreadsheets show as text. Numbers are left alone: ``-1.5`` stays the number -1.5, in a
numeric column and as text alike.
"""

from __future__ import annotations

import io
import re
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # pragma: no cover - pandas is imported when a table is written
    import pandas as pd

__all__ = ["FORMULA_TRIGGERS", "neutralise", "safe_frame", "to_csv_bytes"]

#: First characters that make a spreadsheet read a cell as a formula.
FORMULA_TRIGGERS: tuple[str, ...] = ("=", "+", "-", "@", "\t", "\r")

_NUMBER = re.compile(r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?|[+-]?(?:inf|nan)", re.I)


def neutralise(value: Any) -> Any:
    r"""Return `value` safe for a spreadsheet cell.

    Text starting with one of :data:`FORMULA_TRIGGERS` gets a leading ``'``, unless it is
    a number (``-1.5``, ``+2e3``); anything else is returned unchanged.

    Examples
    --------
    >>> neutralise('=HYPERLINK("http://x","y")')
    '\'=HYPERLINK("http://x","y")'
    >>> neutralise("-1.5"), neutralise(-1.5), neutralise("S-01")
    ('-1.5', -1.5, 'S-01')
    >>> neutralise("-x"), neutralise("@SUM(A1)"), neutralise("\tcmd")
    ("'-x", "'@SUM(A1)", "'\tcmd")
    """
    if not isinstance(value, str) or not value.startswith(FORMULA_TRIGGERS):
        return value
    if value[0] in "+-" and _NUMBER.fullmatch(value):
        return value
    return "'" + value


def safe_frame(frame: pd.DataFrame) -> pd.DataFrame:
    """Return a copy of `frame` with every text cell and column name neutralised.

    Numeric, boolean and date columns are kept as they are (a negative number is a
    number); text, object and categorical columns go through :func:`neutralise`.
    """
    import pandas as pd

    out = frame.copy()
    for i, (_, series) in enumerate(frame.items()):
        if isinstance(series.dtype, pd.StringDtype):
            out.isetitem(i, _neutralise_strings(series))
        elif _may_hold_text(series):
            out.isetitem(i, series.astype(object).map(neutralise).to_numpy(dtype=object))
    out.columns = [neutralise(c) if isinstance(c, str) else c for c in out.columns]
    return out


def _neutralise_strings(series: pd.Series) -> Any:
    """``series.astype(object).map(neutralise).to_numpy(dtype=object)`` of a string column.

    Only the cells whose first character is a trigger (found on the column's Arrow
    form by two kernels) go through :func:`neutralise`; it returns every other cell
    unchanged. Missing cells come out as ``map`` leaves them: NaN, or ``pd.NA`` in an
    all-missing ``string`` (``pd.NA``-valued) column, where ``map`` infers no text dtype.
    """
    import numpy as np
    import pandas as pd
    import pyarrow as pa
    import pyarrow.compute as pc

    text = pa.array(series.array)
    nan_valued = getattr(series.dtype, "na_value", None) is not pd.NA
    missing: Any = np.nan if nan_valued or text.null_count < len(text) else pd.NA
    values = series.to_numpy(dtype=object, na_value=missing, copy=True)
    first = pc.utf8_slice_codeunits(text, 0, 1)
    hit = pc.is_in(first, value_set=pa.array(FORMULA_TRIGGERS)).to_numpy(zero_copy_only=False)
    for k in np.flatnonzero(hit):
        values[k] = neutralise(values[k])
    return values


def _may_hold_text(series: pd.Series) -> bool:
    import pandas as pd

    dtype = series.dtype
    if isinstance(dtype, pd.CategoricalDtype):
        return True
    return pd.api.types.is_object_dtype(dtype) or pd.api.types.is_string_dtype(dtype)


def to_csv_bytes(frame: pd.DataFrame, **kwargs: Any) -> bytes:
    r"""Return `frame` as safe CSV (UTF-8, no index); keyword arguments go to ``to_csv``.

    Examples
    --------
    >>> import pandas as pd
    >>> to_csv_bytes(pd.DataFrame({"id": ["=1+1", "S1"], "x": [-1.5, 2.0]}))
    b"id,x\n'=1+1,-1.5\nS1,2.0\n"
    """
    buf = io.StringIO()
    safe_frame(frame).to_csv(buf, index=False, **kwargs)
    return buf.getvalue().encode("utf-8")
