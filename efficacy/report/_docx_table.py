"""A table shell as WordprocessingML (``<w:tbl>``), written directly as XML text.

python-docx builds a table cell by cell through its object model, several times slower
than writing the same XML; the DOCX writer parses this text once per table instead.
Layout (see :mod:`efficacy.report.docx`): fixed column widths from the text they hold,
a rule above and below the column header and under the last row, header rows repeated
on each page (``w:tblHeader``), rows kept whole (``w:cantSplit``), group rows spanning
the table in bold, row labels indented by level, ``d`` columns set flush right with the
right indent that aligns their decimal points (:func:`.shells.decimal_layout`).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from xml.sax.saxutils import escape

from efficacy.report.shells import TableShell, decimal_layout

__all__ = ["CELL_PAD_PT", "TABLE_PT", "clean", "column_widths", "table_xml"]

#: Font size of table text, in points.
TABLE_PT = 8.5
#: Word's default left + right cell margins (0.19 cm each), in points.
CELL_PAD_PT = 10.8
_CHAR_PT = 0.56 * TABLE_PT  # a digit of Arial / Liberation Sans
_INDENT_TW = 200  # twips per indent level (10 pt)
_W = 'xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main"'
_BAD = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


def clean(text: str) -> str:
    """Drop characters XML 1.0 cannot hold (control characters), keep the rest."""
    return _BAD.sub("", text)


def column_widths(shell: TableShell, available: float) -> list[float]:
    """Column widths in points: proportional to the text, the table at most `available`.

    A table of little text takes at least 60% of the width, never more than it needs
    beyond that; one that needs more than 70% takes all of it. A table wider than the
    page shrinks its text columns only, while its numbers take at most 60% of it; the
    text columns shrink in proportion, but none below its longest word while the others
    can give the room (:func:`_shrink`).
    """
    weights = [_points(c) for c in shell.widths()]
    natural = sum(weights)
    total = available if natural > 0.7 * available else max(0.6 * available, natural)
    if natural > total:
        # squeezed (a wide table on a portrait page): numbers keep their width, text
        # columns wrap ("W12" and "<0.001" must not break across lines)
        numeric = [a in ("d", "r") for a in shell.alignments]
        kept = sum(w for w, n in zip(weights, numeric, strict=True) if n)
        if natural - kept > 0 and kept < 0.6 * total:
            floors = [_points(c) for c in shell.min_widths()]
            return _shrink(weights, numeric, floors, total - kept)
    return [x * total / sum(weights) for x in weights]


def _points(chars: float) -> float:
    """Return the width in points of a column `chars` characters wide, with its margins."""
    return chars * _CHAR_PT * 1.05 + CELL_PAD_PT


def _shrink(
    weights: Sequence[float], fixed: Sequence[bool], floors: Sequence[float], room: float
) -> list[float]:
    """Scale the columns not `fixed` to fill `room`, none below its floor if room allows.

    Columns that proportional scaling would take below their floor (their longest word)
    keep the floor and the others share what is left; when the floors alone do not fit,
    every free column scales in proportion (words break, as they must).
    """
    free = [j for j, f in enumerate(fixed) if not f]
    pinned: set[int] = set()
    while True:
        loose = [j for j in free if j not in pinned]
        left = room - sum(floors[j] for j in pinned)
        want = sum(weights[j] for j in loose)
        if not loose or left <= 0 or want <= 0:
            break
        scale = left / want
        below = {j for j in loose if weights[j] * scale < floors[j]}
        if not below:
            out = list(weights)
            for j in loose:
                out[j] = weights[j] * scale
            for j in pinned:
                out[j] = floors[j]
            return out
        pinned |= below
    scale = room / sum(weights[j] for j in free)
    return [w * scale if j in free else w for j, w in enumerate(weights)]


def _tw(pt: float) -> int:
    return round(pt * 20)


def _runs(text: str, bold: bool) -> str:
    rpr = "<w:rPr><w:b/></w:rPr>" if bold else ""
    lines = clean(text).split("\n")
    inner = "<w:br/>".join(f'<w:t xml:space="preserve">{escape(line)}</w:t>' for line in lines)
    return f"<w:r>{rpr}{inner}</w:r>" if text else ""


def _cell(
    width: float,
    text: str,
    style: str,
    *,
    span: int = 1,
    top: bool = False,
    bottom: bool = False,
    bottom_align: bool = False,
    bold: bool = False,
    keep: bool = False,
    left: int = 0,
    right: int = 0,
    jc: str = "",
    before: int = 0,
) -> str:
    tc = f'<w:tcW w:w="{_tw(width)}" w:type="dxa"/>'
    if span > 1:
        tc += f'<w:gridSpan w:val="{span}"/>'
    if top or bottom:
        tc += "<w:tcBorders>"
        tc += '<w:top w:val="single" w:sz="8" w:space="0" w:color="000000"/>' if top else ""
        tc += '<w:bottom w:val="single" w:sz="6" w:space="0" w:color="000000"/>' if bottom else ""
        tc += "</w:tcBorders>"
    if bottom_align:
        tc += '<w:vAlign w:val="bottom"/>'
    pp = f'<w:pStyle w:val="{style}"/>' + ("<w:keepNext/>" if keep else "")
    if before:
        pp += f'<w:spacing w:before="{before}"/>'
    if left or right:
        pp += f'<w:ind w:left="{left}" w:right="{right}"/>'
    if jc:
        pp += f'<w:jc w:val="{jc}"/>'
    return f"<w:tc><w:tcPr>{tc}</w:tcPr><w:p><w:pPr>{pp}</w:pPr>{_runs(text, bold)}</w:p></w:tc>"


def _row(cells: Sequence[str], header: bool) -> str:
    pr = "<w:cantSplit/>" + ("<w:tblHeader/>" if header else "")
    return f"<w:tr><w:trPr>{pr}</w:trPr>{''.join(cells)}</w:tr>"


def table_xml(shell: TableShell, available: float, style: str) -> str:
    """Return `shell` as a ``<w:tbl>`` element (text) at most `available` points wide."""
    widths = column_widths(shell, available)
    align = shell.alignments
    indents = {
        j: decimal_layout(shell, j, widths[j] - CELL_PAD_PT, TABLE_PT)
        for j, a in enumerate(align)
        if a == "d"
    }
    rows: list[str] = []
    if shell.spans:
        cells, j = [], 0
        for label, n in shell.spans:
            w = sum(widths[j : j + n])
            cells.append(
                _cell(
                    w,
                    label,
                    style,
                    span=n,
                    top=True,
                    bottom=bool(label and n > 1),
                    bold=True,
                    keep=True,
                    jc="center" if n > 1 else "",
                )
            )
            j += n
        rows.append(_row(cells, header=True))
    rows.append(
        _row(
            [
                _cell(
                    widths[j],
                    text,
                    style,
                    top=not shell.spans,
                    bottom=True,
                    bottom_align=True,
                    bold=True,
                    keep=True,
                    jc="" if align[j] == "l" else "center",
                )
                for j, text in enumerate(shell.header)
            ],
            header=True,
        )
    )
    last = len(shell.rows) - 1
    # rows of several lines: a little air between rows
    air = 40 if shell.wraps else 0
    for i, r in enumerate(shell.rows):
        keep = r.group or i < 2 or i >= last - 1
        if r.group:
            cell = _cell(
                sum(widths),
                r.cells[0],
                style,
                span=shell.ncol,
                bottom=i == last,
                bold=True,
                keep=keep,
                before=60,
            )
            rows.append(_row([cell], header=False))
            continue
        cells = []
        for j, text in enumerate(r.cells):
            right = _tw(indents[j][i]) if j in indents else 0
            cells.append(
                _cell(
                    widths[j],
                    text,
                    style,
                    bottom=i == last,
                    keep=keep,
                    left=_INDENT_TW * r.level if j == 0 else 0,
                    right=right,
                    before=air,
                    jc="right" if align[j] in ("r", "d") else "",
                )
            )
        rows.append(_row(cells, header=False))
    grid = "".join(f'<w:gridCol w:w="{_tw(w)}"/>' for w in widths)
    props = (
        f'<w:tblW w:w="{_tw(sum(widths))}" w:type="dxa"/><w:jc w:val="center"/>'
        "<w:tblBorders>"
        + "".join(
            f'<w:{s} w:val="nil"/>'
            for s in ("top", "left", "bottom", "right", "insideH", "insideV")
        )
        + '</w:tblBorders><w:tblLayout w:type="fixed"/>'
    )
    body = "".join(rows)
    return f"<w:tbl {_W}><w:tblPr>{props}</w:tblPr><w:tblGrid>{grid}</w:tblGrid>{body}</w:tbl>"
