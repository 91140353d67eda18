"""Summary statistics and their display text, submission style.

Every cell of a report table carries its numbers **and** the text shown, so the HTML and
PDF print only what the JSON holds (tests compare them).

Conventions (as in regulatory summary tables): ``n (%)`` with one decimal; mean and
median one decimal more than the data, SD two more, min and max as recorded; the data's
decimals are the fewest (at most 4) that represent every value exactly.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np

__all__ = ["Cell", "column", "count_cell", "decimals", "numeric_cells", "text_cell"]

Cell = dict[str, Any]


def _r(x: float) -> float:
    """Round a stored statistic to 10 significant digits (stable JSON across BLAS)."""
    return float(f"{x:.10g}")


def decimals(values: np.ndarray, cap: int = 4) -> int:
    """Fewest decimals (<= `cap`) that represent every finite value in `values`."""
    v = values[np.isfinite(values)]
    for d in range(cap + 1):
        scaled = v * 10**d
        if np.all(np.abs(scaled - np.round(scaled)) < 1e-6 * np.maximum(1, np.abs(scaled))):
            return d
    return cap


def text_cell(text: str) -> Cell:
    """Return a cell with text only."""
    return {"text": text}


def count_cell(n: int, denominator: int | None, events: int | None = None) -> Cell:
    """``n (pct%)`` (and ``[events]`` when given); pct omitted when denominator is 0."""
    cell: Cell = {"n": int(n), "denominator": denominator}
    if denominator:
        pct = 100.0 * n / denominator
        cell["pct"] = _r(pct)
        text = f"{n} ({pct:.1f})"
    else:
        cell["pct"] = None
        text = f"{n}"
    if events is not None:
        cell["events"] = int(events)
        text += f" [{events}]"
    cell["text"] = text
    return cell


def numeric_cells(values: Sequence[float] | np.ndarray, d: int) -> dict[str, Cell]:
    """Return n, Mean (SD), Median, Min-Max cells of `values` (NaN ignored), `d` decimals."""
    v = np.asarray(values, dtype=float)
    v = v[np.isfinite(v)]
    if v.size == 0:
        empty = {"text": "-"}
        return {"n": count_cell(0, None), "mean_sd": empty, "median": empty, "min_max": empty}
    mean, median = float(v.mean()), float(np.median(v))
    sd = float(v.std(ddof=1)) if v.size > 1 else math.nan
    lo, hi = float(v.min()), float(v.max())
    sd_text = f"{sd:.{d + 2}f}" if math.isfinite(sd) else "-"
    return {
        "n": count_cell(int(v.size), None),
        "mean_sd": {
            "mean": _r(mean),
            "sd": _r(sd) if math.isfinite(sd) else None,
            "text": f"{mean:.{d + 1}f} ({sd_text})",
        },
        "median": {"median": _r(median), "text": f"{median:.{d + 1}f}"},
        "min_max": {"min": _r(lo), "max": _r(hi), "text": f"{lo:.{d}f}, {hi:.{d}f}"},
    }


#: Row labels of :func:`numeric_cells`, in display order.
NUMERIC_ROWS: tuple[tuple[str, str], ...] = (
    ("n", "n"),
    ("mean_sd", "Mean (SD)"),
    ("median", "Median"),
    ("min_max", "Min, Max"),
)


def column(key: str, label: str, n: int, unit: str = "") -> dict[str, Any]:
    """Return a column head: key, label and ``(N=n)`` (``unit`` e.g. 'sites')."""
    noun = f" {unit}" if unit else ""
    return {"key": key, "label": label, "N": int(n), "head": f"(N={n}{noun})"}
