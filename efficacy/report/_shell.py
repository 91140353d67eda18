"""Table shells of the report sections (the convention of ``notes/SHELLS.md``).

A shell is a dict ``{"id", "title", "header", "rows", "indent", "footnotes"}`` whose
cells are already-formatted strings; the HTML template, and the DOCX and RTF renderers,
print any section's ``tables`` generically. The numbers come from the section's other
keys (built first), never recomputed here.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from efficacy.errors import EfficacyError
from efficacy.report._format import fixed, pval
from efficacy.report.shells import TableShell

__all__ = ["ci_text", "n_pct", "p_text", "shell"]


def shell(
    table_id: str,
    title: str,
    header: Sequence[str],
    rows: Sequence[Sequence[str]],
    indent: Sequence[int] | None = None,
    footnotes: Sequence[str] = (),
) -> dict[str, Any]:
    """Return one table shell; every cell must be a string and every row full width.

    Raises
    ------
    EfficacyError
        A cell is not a string or a row's width differs from the header's (a bug).
    """
    if not all(isinstance(c, str) for row in rows for c in row):
        raise EfficacyError(f"table {table_id}: every cell must be formatted text")
    levels = list(indent) if indent is not None else [0] * len(rows)
    out = {
        "id": table_id,
        "title": title,
        "header": [str(h) for h in header],
        "rows": [list(r) for r in rows],
        "indent": levels,
        "footnotes": [str(f) for f in footnotes],
    }
    TableShell.from_dict(out)  # the one shell definition checks ids, widths and indents
    return out


def n_pct(n: int, denominator: int, events: int | None = None) -> str:
    """``n (pct)`` with one decimal (``n`` alone when the denominator is 0); ``[events]``."""
    text = f"{n} ({100.0 * n / denominator:.1f})" if denominator else f"{n}"
    return text + (f" [{events}]" if events is not None else "")


def ci_text(estimate: float | None, low: float | None, high: float | None, d: int) -> str:
    """``estimate (low, high)`` at `d` decimals, true minus signs."""
    return f"{fixed(estimate, d)} ({fixed(low, d)}, {fixed(high, d)})"


def p_text(value: float | None) -> str:
    """Return a p-value as the report prints it (``<0.001``; ``-`` when missing)."""
    return pval(value)
