"""Plain-data conversion of result tables (for ``to_dict()`` and JSON)."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd

__all__ = ["plain", "records"]


def plain(x: Any) -> Any:
    """Return `x` as a plain Python value: numpy scalars unboxed, NaN / inf / <NA> -> None."""
    if x is None or x is pd.NA:
        return None
    if isinstance(x, np.generic):
        x = x.item()
    if isinstance(x, float) and not math.isfinite(x):
        return None
    return x


def records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    """Rows as dicts of plain Python values (see :func:`plain`), full float precision."""
    cols = {c: [plain(v) for v in frame[c].to_numpy(dtype=object)] for c in frame.columns}
    return [dict(zip(cols, vals, strict=True)) for vals in zip(*cols.values(), strict=True)]
