"""The subgroup forest plot of section 6 as SVG, drawn from the report JSON (no library).

One row per subgroup level (and the overall estimate, a diamond): the difference at the
estimand's visit with its confidence interval on a shared axis, a zero line, and the
interaction p of each variable beside its heading. Not-estimable subgroups get a row
with the words instead of a marker. Every text is XML-escaped here, so the SVG can be
inlined into the HTML as is; output is deterministic.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any
from xml.sax.saxutils import escape

from efficacy.report._format import fixed, pval

__all__ = ["subgroup_forest_svg"]

_W = 700.0
_ROW = 17.0
_LABEL_W = 190.0
_N_W = 70.0
_RIGHT_W = 150.0
_TOP = 28.0
_BOTTOM = 40.0
_INK = "#1a1a1a"
_BLUE = "#0072B2"


def _text(x: float, y: float, s: str, anchor: str = "start", bold: bool = False) -> str:
    weight = ' font-weight="bold"' if bold else ""
    return f'<text x="{x:.1f}" y="{y:.1f}" text-anchor="{anchor}"{weight}>{escape(s)}</text>'


def _ticks(lo: float, hi: float) -> list[float]:
    span = hi - lo
    raw = span / 5 if span > 0 else 1.0
    mag = 10 ** math.floor(math.log10(raw))
    step = next(m * mag for m in (1, 2, 2.5, 5, 10) if m * mag >= raw)
    start = math.ceil(lo / step) * step
    return [start + i * step for i in range(int((hi - start) / step + 1e-9) + 1)]


def _rows(comp: Mapping[str, Any]) -> list[dict[str, Any]]:
    o = comp["overall"]
    rows = [{"kind": "overall", "label": "All participants", **o}]
    for v in comp["variables"]:
        p = v["interaction_p"]
        right = f"interaction p {pval(p)}" if p is not None else "interaction not estimable"
        rows.append({"kind": "head", "label": v["label"], "right": right})
        rows += [{"kind": "level", **lev} for lev in v["levels"]]
    return rows


def subgroup_forest_svg(section: Mapping[str, Any], index: int = 0) -> str:
    """Return the forest plot of comparison `index` of the subgroup section as SVG.

    Parameters
    ----------
    section : mapping
        The report's ``subgroups`` data (:func:`efficacy.report.subgroups.subgroup_section`).
    index : int
        Which comparison (several active arms: one figure each).
    """
    comp = section["comparisons"][index]
    d = int(section["decimals"])
    rows = _rows(comp)
    vals = [
        x
        for r in rows
        if r["kind"] != "head"
        for x in (r.get("conf_low"), r.get("conf_high"))
        if x is not None
    ]
    lo, hi = (min([*vals, 0.0]), max([*vals, 0.0])) if vals else (-1.0, 1.0)
    pad = 0.05 * (hi - lo or 1.0)
    lo, hi = lo - pad, hi + pad
    x0, x1 = _LABEL_W + _N_W, _W - _RIGHT_W

    def sx(v: float) -> float:
        return x0 + (v - lo) / (hi - lo) * (x1 - x0)

    height = _TOP + _ROW * len(rows) + _BOTTOM
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {_W:.0f} {height:.0f}" '
        f'width="100%" font-family="DejaVu Sans, Arial, sans-serif" font-size="10" '
        f'role="img" aria-label="{escape(section["label"])}: subgroup forest plot">',
        _text(4, 14, "Subgroup", bold=True),
        _text(_LABEL_W + _N_W - 8, 14, "n", anchor="end", bold=True),
        _text(_W - 4, 14, f"Difference ({section['confidence_pct']}% CI)", "end", True),
    ]
    y_end = _TOP + _ROW * len(rows)
    parts.append(
        f'<line x1="{sx(0):.1f}" y1="{_TOP - 6:.1f}" x2="{sx(0):.1f}" y2="{y_end:.1f}" '
        f'stroke="{_INK}" stroke-dasharray="3,2" stroke-width="0.8"/>'
    )
    for i, r in enumerate(rows):
        y = _TOP + _ROW * i + _ROW / 2
        if r["kind"] == "head":
            parts.append(_text(4, y + 3.5, r["label"], bold=True))
            parts.append(_text(_W - 4, y + 3.5, r["right"], "end"))
            continue
        indent = 4 if r["kind"] == "overall" else 16
        parts.append(_text(indent, y + 3.5, r["label"], bold=r["kind"] == "overall"))
        n = r.get("n_active")
        if n is not None:
            shown = f"{n}" if section["split"] else f"{n}, {r['n_control']}"
            parts.append(_text(_LABEL_W + _N_W - 8, y + 3.5, shown, "end"))
        est, low, high = r.get("estimate"), r.get("conf_low"), r.get("conf_high")
        if est is None or low is None or high is None:
            parts.append(_text(_W - 4, y + 3.5, "not estimable", "end"))
            continue
        parts.append(
            f'<line x1="{sx(low):.1f}" y1="{y:.1f}" x2="{sx(high):.1f}" y2="{y:.1f}" '
            f'stroke="{_BLUE}" stroke-width="1.4"/>'
        )
        if r["kind"] == "overall":
            c, h = sx(est), 5.0
            parts.append(
                f'<polygon points="{sx(low):.1f},{y:.1f} {c:.1f},{y - h:.1f} {sx(high):.1f},'
                f'{y:.1f} {c:.1f},{y + h:.1f}" fill="{_BLUE}"/>'
            )
        else:
            parts.append(
                f'<rect x="{sx(est) - 3.5:.1f}" y="{y - 3.5:.1f}" width="7" height="7" '
                f'fill="{_BLUE}"/>'
            )
        text = f"{fixed(est, d)} ({fixed(low, d)}, {fixed(high, d)})"
        parts.append(_text(_W - 4, y + 3.5, text, "end"))
    axis_y = y_end + 4
    parts.append(
        f'<line x1="{x0:.1f}" y1="{axis_y:.1f}" x2="{x1:.1f}" y2="{axis_y:.1f}" '
        f'stroke="{_INK}" stroke-width="0.8"/>'
    )
    for t in _ticks(lo, hi):
        parts.append(
            f'<line x1="{sx(t):.1f}" y1="{axis_y:.1f}" x2="{sx(t):.1f}" y2="{axis_y + 3:.1f}" '
            f'stroke="{_INK}" stroke-width="0.8"/>'
        )
        parts.append(_text(sx(t), axis_y + 13, fixed(t, d), "middle"))
    unit = f" ({section['unit']})" if section["unit"] else ""
    what = "treated minus control site" if section["split"] else "active minus control"
    parts.append(
        _text(
            (x0 + x1) / 2, axis_y + 27, f"Difference at {section['visit']}, {what}{unit}", "middle"
        )
    )
    parts.append("</svg>")
    return "".join(parts)
