"""Number formatting at render time (the JSON keeps every number unrounded).

Conventions: a true minus sign (U+2212) for negative numbers; ``-`` (a dash) for a
missing value; p-values to three decimals, ``<0.001`` below that (ICH E3 / journal
style), never ``0.000``.
"""

from __future__ import annotations

import math
from typing import SupportsFloat

from efficacy._units import unit_text  # re-exported: the report typesets units

__all__ = ["MINUS", "fixed", "pval", "unit_text"]

MINUS = "\u2212"
#: Magnitude from which :func:`fixed` switches to scientific notation.
HUGE = 1e9


def fixed(value: SupportsFloat | None, decimals: int = 2) -> str:
    """Return `value` with `decimals` decimals and a true minus sign; "-" when missing.

    ``-0.0004`` at 3 decimals prints ``0.000`` (no signed zero). A magnitude of
    :data:`HUGE` or more (e.g. the interval of a near-zero-df estimate from a tiny
    trial) prints in scientific notation with 2 significant digits, so it fits its cell.
    """
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return "-"
    v = float(value)
    text = f"{v:.1e}" if abs(v) >= HUGE else f"{v:.{max(0, int(decimals))}f}"
    if text.startswith("-"):
        text = text[1:] if float(text[1:]) == 0 else MINUS + text[1:]
    return text


def pval(value: SupportsFloat | None) -> str:
    """Return a p-value as ``0.047`` / ``<0.001`` / ``>0.999``; "-" when missing."""
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return "-"
    p = float(value)
    if p < 0.001:
        return "<0.001"
    if p > 0.999:
        return ">0.999"
    text = f"{p:.3f}"
    if text == "0.050" and p != 0.05:
        text = f"{p:.4f}"  # 0.0496 and 0.0504 must not both print as 0.050
    return text
