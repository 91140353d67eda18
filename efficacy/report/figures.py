"""The CONSORT flow diagram as SVG, drawn from the report's flow section (no library).

Layout follows the CONSORT 2010/2025 template (FACTS.md 1.3): four stages (enrolment,
allocation, follow-up, analysis) labelled on the left; assessed -> randomised with the
excluded box branching right; one column per arm below. Every text is XML-escaped here,
so the SVG can be inlined into the HTML as is. Split-face diagrams give participants and
body sites in every per-arm box (CONSORT within-person extension).
"""

from __future__ import annotations

import textwrap
from collections.abc import Mapping, Sequence
from typing import Any
from xml.sax.saxutils import escape

__all__ = ["flow_svg"]

_W = 820
_X0 = 44  # content starts right of the stage labels
_FONT = 12.0
_LINE = 15.0
_PAD = 8.0
_CHAR = 6.7  # average glyph width of the sans font at 12px (DejaVu Sans / Arial)
_GAP_Y = 30.0
_STAGE_FILL = "#cfe3f3"


class _Canvas:
    def __init__(self) -> None:
        self.parts: list[str] = []

    def box(
        self, x: float, y: float, w: float, lines: Sequence[tuple[str, bool, int]], h: float
    ) -> None:
        self.parts.append(
            f'<rect x="{x:.1f}" y="{y:.1f}" width="{w:.1f}" height="{h:.1f}" fill="#ffffff" '
            'stroke="#1a1a1a" stroke-width="1.2"/>'
        )
        ty = y + _PAD + _FONT - 1.5
        for text, bold, indent in lines:
            weight = ' font-weight="bold"' if bold else ""
            self.parts.append(
                f'<text x="{x + _PAD + indent * 12:.1f}" y="{ty:.1f}"{weight}>{escape(text)}</text>'
            )
            ty += _LINE

    def arrow(self, x1: float, y1: float, x2: float, y2: float) -> None:
        self.parts.append(
            f'<line x1="{x1:.1f}" y1="{y1:.1f}" x2="{x2:.1f}" y2="{y2:.1f}" stroke="#1a1a1a" '
            'stroke-width="1.2" marker-end="url(#arrow)"/>'
        )

    def line(self, x1: float, y1: float, x2: float, y2: float) -> None:
        self.parts.append(
            f'<line x1="{x1:.1f}" y1="{y1:.1f}" x2="{x2:.1f}" y2="{y2:.1f}" stroke="#1a1a1a" '
            'stroke-width="1.2"/>'
        )

    def stage(self, label: str, y0: float, y1: float) -> None:
        cx, cy = 20.0, (y0 + y1) / 2
        self.parts.append(
            f'<rect x="6" y="{y0:.1f}" width="28" height="{y1 - y0:.1f}" rx="6" '
            f'fill="{_STAGE_FILL}" stroke="#5b8db8"/>'
            f'<text x="{cx}" y="{cy:.1f}" transform="rotate(-90 {cx} {cy:.1f})" '
            f'text-anchor="middle" dominant-baseline="central" font-weight="bold">'
            f"{escape(label)}</text>"
        )


_NB = "\u00a0"  # no-break space: "n = 12 sites" never wraps inside (textwrap splits on ASCII)


def _eq(n: Any, noun: str = "") -> str:
    """Return ``n = 12`` (``n = 12 sites``) joined by no-break spaces."""
    return f"n{_NB}={_NB}{n}" + (f"{_NB}{noun}" if noun else "")


def _wrap(
    text: str, width: float, bold: bool = False, indent: int = 0
) -> list[tuple[str, bool, int]]:
    chars = max(12, int((width - 2 * _PAD - indent * 12) / (_CHAR * (1.08 if bold else 1.0))))
    return [(t, bold, indent) for t in textwrap.wrap(text, chars) or [""]]


def _height(lines: Sequence[Any]) -> float:
    return 2 * _PAD + len(lines) * _LINE - (_LINE - _FONT) + 2


def _n(t: Mapping[str, Any] | None, split: bool) -> str:
    if t is None:
        return "not recorded"
    if split:
        return f"{_eq(t['sites'], 'sites')}; {t['n']}{_NB}participants"
    return _eq(t["n"])


def _reason_lines(t: Mapping[str, Any] | None, width: float) -> list[tuple[str, bool, int]]:
    out: list[tuple[str, bool, int]] = []
    for r in (t or {}).get("reasons", []):
        out += _wrap(f"{r['reason']} ({_eq(r['n'])})", width, indent=1)
    return out


def _arm_boxes(arm: Mapping[str, Any], split: bool, w: float) -> list[list[tuple[str, bool, int]]]:
    head = f"Allocated to {arm['label']} [{arm['arm']}] ({_n(arm['allocated'], split)})"
    alloc = _wrap(head, w, bold=True)
    alloc += _wrap(f"Received allocated intervention ({_n(arm['received'], split)})", w)
    alloc += _wrap(f"Did not receive allocated intervention ({_n(arm['not_received'], split)})", w)
    alloc += _reason_lines(arm["not_received"], w)
    follow = _wrap(f"Lost to follow-up ({_n(arm['lost_to_follow_up'], split)})", w, bold=True)
    follow += _reason_lines(arm["lost_to_follow_up"], w)
    follow += _wrap(f"Discontinued intervention ({_n(arm['discontinued'], split)})", w, bold=True)
    follow += _reason_lines(arm["discontinued"], w)
    analysis = _wrap(f"Analysed ({_n(arm['analysed'], split)})", w, bold=True)
    analysis += _wrap(
        f"Excluded from analysis ({_n(arm['excluded_from_analysis'], split)})", w, bold=True
    )
    analysis += _reason_lines(arm["excluded_from_analysis"], w)
    return [alloc, follow, analysis]


def _enrolment(c: _Canvas, flow: Mapping[str, Any], cx: float, content: float) -> float:
    """Draw assessed -> excluded / randomised; return the bottom of the randomised box."""
    split = flow["design"] == "split_face"
    y = 8.0
    bw = min(300.0, content * 0.42)
    assessed = _wrap(f"Assessed for eligibility ({_eq(flow['assessed']['n'])})", bw, bold=True)
    ex_w = _W - 8 - (cx + 30)
    excluded = _wrap(f"Excluded ({_eq(flow['excluded']['n'])})", ex_w, bold=True)
    for cat in flow["excluded_categories"]:
        excluded += _wrap(f"{cat['category']} ({_eq(cat['n'])})", ex_w, indent=1)
    h_a, h_ex = _height(assessed), _height(excluded)
    c.box(cx - bw / 2, y, bw, assessed, h_a)
    y_ex = y + h_a + 14
    c.box(cx + 30, y_ex, ex_w, excluded, h_ex)
    y_r = y_ex + h_ex + 14
    c.line(cx, y + h_a, cx, y_ex + h_ex / 2)
    c.arrow(cx, y_ex + h_ex / 2, cx + 30, y_ex + h_ex / 2)
    rand_text = f"Randomised ({_eq(flow['randomised']['n'])}"
    rand_text += (
        f"{_NB}participants; {flow['randomised']['sites']}{_NB}body sites)" if split else ")"
    )
    rand = _wrap(rand_text, bw, bold=True)
    h_r = _height(rand)
    c.arrow(cx, y_ex + h_ex / 2, cx, y_r)
    c.box(cx - bw / 2, y_r, bw, rand, h_r)
    c.stage("Enrolment", y, y_r + h_r)
    return y_r + h_r


def _arm_stages(c: _Canvas, flow: Mapping[str, Any], cx: float, content: float, y: float) -> float:
    """Draw allocation, follow-up and analysis per arm below `y`; return the bottom."""
    arms = flow["arms"] or []
    k = max(1, len(arms))
    col_w = (content - (k - 1) * 16) / k
    boxes = [_arm_boxes(a, flow["design"] == "split_face", col_w) for a in arms]
    xs = [_X0 + i * (col_w + 16) for i in range(len(arms))]
    branch = y + 14
    if arms:
        c.line(cx, y, cx, branch)
        c.line(xs[0] + col_w / 2, branch, xs[-1] + col_w / 2, branch)
    y = branch + 16
    for stage, label in enumerate(("Allocation", "Follow-up", "Analysis")):
        h = max((_height(b[stage]) for b in boxes), default=_height([("", False, 0)]))
        for x, b in zip(xs, boxes, strict=True):
            mid = x + col_w / 2
            c.arrow(mid, y - (16 if stage == 0 else _GAP_Y), mid, y)
            c.box(x, y, col_w, b[stage], h)
        c.stage(label, y - (12 if stage == 0 else _GAP_Y - 8), y + h)
        y += h + _GAP_Y
    return y - _GAP_Y


def flow_svg(flow: Mapping[str, Any]) -> str:
    """Return the flow diagram of a report's flow section (``Flow.to_dict()``) as SVG.

    The SVG scales to its container (``viewBox``, ``width="100%"``); every count shown is
    a value of `flow`.
    """
    content = _W - _X0 - 8
    cx = _X0 + content / 2
    c = _Canvas()
    bottom = _arm_stages(c, flow, cx, content, _enrolment(c, flow, cx, content))
    height = bottom + 10
    defs = (
        '<defs><marker id="arrow" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" '
        'markerHeight="7" orient="auto-start-reverse"><path d="M0,0 L10,5 L0,10 z" '
        'fill="#1a1a1a"/></marker></defs>'
    )
    title = escape(f"CONSORT flow diagram of trial {flow['trial_id']}")
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {_W} {height:.0f}" width="100%" '
        f'role="img" aria-label="{title}" font-family="DejaVu Sans, Arial, Helvetica, '
        f'sans-serif" font-size="{_FONT:g}" fill="#1a1a1a"><title>{title}</title>{defs}'
        + "".join(c.parts)
        + "</svg>"
    )
