r"""The report's tables as one RTF file, laid out as submission TLFs.

One combined file holds the tables of :func:`efficacy.report._blocks.tlf_tables`: the
baseline, efficacy, PRO and harms tables, and the tables of any section that carries
table shells (e.g. subgroups), in report order. Each table starts a new page (a new
RTF section: landscape A4 when the table is wide, portrait otherwise) with:

* a running header: the trial id on the left, ``Page x of y`` on the right; a running
  footer naming the package, the report's generation time and its source (the JSON);
* the table number and title, centred and bold;
* the table as RTF rows (``\trowd`` ... ``\row``): a rule above and below the column
  header, which repeats on every page (``\trhdr``), and under the last row; no vertical
  rules; rows never split across pages (``\trkeep``); arm columns headed by the arm's
  label and ``(N=xx)``; numbers set flush right with the right indent that aligns their
  decimal points (:func:`efficacy.report.shells.decimal_layout`); row labels indented by
  level; group rows spanning the table in bold;
* the footnotes under it.

Why written directly rather than with rtflite: the shells are already formatted
strings, so what remains is about 150 lines of RTF control words; rtflite would add
polars (a large compiled dependency) to the package for it, and writing the RTF here
keeps every byte under control: the file has no creation time and depends only on the
report data, so it is byte-reproducible. The text is plain ASCII (other characters as
``\uN?`` escapes), fonts Arial (Liberation Sans where Arial is absent), 8.5 pt.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any

from efficacy.report._blocks import Table, tlf_tables
from efficacy.report._docx_table import CELL_PAD_PT, TABLE_PT, clean, column_widths
from efficacy.report.shells import TableShell, decimal_layout

__all__ = ["render_rtf"]

_A4_LONG, _A4_SHORT, _MARGIN = 16838, 11906, 1134  # twips (A4; 2 cm margins)
_FS = round(TABLE_PT * 2)  # RTF font sizes are in half points
_INDENT = 200  # twips per indent level


def escape(text: str) -> str:
    r"""Return `text` as RTF: ``\ { }`` escaped, non-ASCII as ``\uN?``, newline as ``\line``.

    Examples
    --------
    >>> escape("−1.5 {a}\nb")
    '\\u8722?1.5 \\{a\\}\\line b'
    """
    out = []
    for ch in clean(text):
        code = ord(ch)
        if ch in "\\{}":
            out.append("\\" + ch)
        elif ch == "\n":
            out.append("\\line ")
        elif ch == "\t":
            out.append("\\tab ")
        elif code < 128:
            out.append(ch)
        elif code < 0x10000:
            out.append(f"\\u{code if code < 0x8000 else code - 0x10000}?")
        else:  # outside the BMP: a UTF-16 surrogate pair
            code -= 0x10000
            for unit in (0xD800 + (code >> 10), 0xDC00 + (code & 0x3FF)):
                out.append(f"\\u{unit - 0x10000}?")
    return "".join(out)


def _tw(pt: float) -> int:
    return round(pt * 20)


def _cell_def(right: int, top: bool = False, bottom: bool = False, vbottom: bool = False) -> str:
    out = ""
    if top:
        out += "\\clbrdrt\\brdrs\\brdrw15"
    if bottom:
        out += "\\clbrdrb\\brdrs\\brdrw10"
    if vbottom:
        out += "\\clvertalb"
    return out + f"\\cellx{right}"


def _par(
    text: str, align: str = "l", bold: bool = False, li: int = 0, ri: int = 0, sb: int = 0
) -> str:
    fmt = {"l": "\\ql", "r": "\\qr", "c": "\\qc"}[align]
    if sb:
        fmt += f"\\sb{sb}"
    if li:
        fmt += f"\\li{li}"
    if ri:
        fmt += f"\\ri{ri}"
    body = escape(text)
    if bold:
        body = "\\b " + body + "\\b0"
    return f"\\pard\\plain\\intbl\\f0\\fs{_FS}{fmt} {body}\\cell"


def _edges(widths: Sequence[float]) -> list[int]:
    edges, x = [], 0.0
    for w in widths:
        x += w
        edges.append(_tw(x))
    return edges


def table_rtf(shell: TableShell, available: float) -> str:
    r"""Return the ``\trowd`` rows of `shell` at most `available` points wide."""
    widths = column_widths(shell, available)
    edges = _edges(widths)
    total = edges[-1]
    left = max(0, (_tw(available) - total) // 2)  # the table is centred on the page
    align = shell.alignments
    indents = {
        j: decimal_layout(shell, j, widths[j] - CELL_PAD_PT, TABLE_PT)
        for j, a in enumerate(align)
        if a == "d"
    }
    row_head = f"\\trowd\\trgaph108\\trleft{left - 108}\\trkeep"
    lines: list[str] = []
    if shell.spans:
        defs, cells, j = [], [], 0
        for label, n in shell.spans:
            j += n
            defs.append(_cell_def(left + edges[j - 1], top=True, bottom=bool(label and n > 1)))
            cells.append(_par(label, "c" if n > 1 else "l", bold=True))
        lines.append(row_head + "\\trhdr" + "".join(defs) + "\n" + "".join(cells) + "\\row")
    defs = [_cell_def(left + e, top=not shell.spans, bottom=True, vbottom=True) for e in edges]
    cells = [
        _par(h, "l" if align[j] == "l" else "c", bold=True) for j, h in enumerate(shell.header)
    ]
    lines.append(row_head + "\\trhdr" + "".join(defs) + "\n" + "".join(cells) + "\\row")
    last = len(shell.rows) - 1
    air = 40 if shell.wraps else 0  # rows of several lines: air between rows
    for i, r in enumerate(shell.rows):
        if r.group:
            lines.append(
                row_head
                + _cell_def(left + total, bottom=i == last)
                + "\n"
                + _par(r.cells[0], bold=True)
                + "\\row"
            )
            continue
        defs = [_cell_def(left + e, bottom=i == last) for e in edges]
        cells = []
        for j, text in enumerate(r.cells):
            ri = _tw(indents[j][i]) if j in indents else 0
            li = _INDENT * r.level if j == 0 else 0
            cells.append(_par(text, "r" if align[j] in ("r", "d") else "l", li=li, ri=ri, sb=air))
        lines.append(row_head + "".join(defs) + "\n" + "".join(cells) + "\\row")
    return "\n".join(lines)


def _section(table: Table, meta: Mapping[str, str], first: bool) -> str:
    wide = table.shell.wide
    pw, ph = (_A4_LONG, _A4_SHORT) if wide else (_A4_SHORT, _A4_LONG)
    available = (pw - 2 * _MARGIN) / 20
    sect = "" if first else "\\sect"
    sect += f"\\sectd\\sbkpage\\pgwsxn{pw}\\pghsxn{ph}" + ("\\lndscpsxn" if wide else "")
    sect += f"\\marglsxn{_MARGIN}\\margrsxn{_MARGIN}\\margtsxn{_MARGIN}\\margbsxn{_MARGIN}"
    sect += "\\headery567\\footery567"
    tab = pw - 2 * _MARGIN
    header = (
        f"{{\\header\\pard\\plain\\f0\\fs16\\tqr\\tx{tab} {escape(meta['trial'])}\\tab Page "
        "{\\field{\\*\\fldinst PAGE}{\\fldrslt 1}} of "
        "{\\field{\\*\\fldinst NUMPAGES}{\\fldrslt 1}}\\par}"
    )
    footer = f"{{\\footer\\pard\\plain\\f0\\fs14 {escape(meta['source'])}\\par}}"
    # a shell whose title carries its number ("Listing 8.6 ...") prints it on the first line
    own = re.match(r"^(Table|Listing) (\S+) (.+)$", table.shell.title)
    label, text = (
        (f"{own.group(1)} {own.group(2)}", own.group(3))
        if own and not table.number
        else (f"Table {table.number}", table.shell.title)
    )
    title = (
        f"\\pard\\plain\\qc\\keepn\\sb120\\sa60\\f0\\fs20\\b "
        f"{escape(label)}\\par\n"
        f"\\pard\\plain\\qc\\keepn\\sa120\\f0\\fs20\\b {escape(text)}\\par"
    )
    notes = "".join(
        f"\\pard\\plain\\ql\\sb{60 if k == 0 else 0}\\f0\\fs16 {escape(n)}\\par\n"
        for k, n in enumerate(table.shell.footnotes)
    )
    return (
        f"{sect}\n{header}\n{footer}\n{title}\n{table_rtf(table.shell, available)}\n"
        f"\\pard\\plain\\f0\\fs16\\par\n{notes}"
    )


def render_rtf(data: Mapping[str, Any]) -> str:
    """Return the report's TLF tables (see the module doc) as one RTF document (ASCII).

    Parameters
    ----------
    data : Mapping
        :attr:`efficacy.report.Report.data`.
    """
    tb = data.get("title_block", {})
    meta = {
        "trial": f"{tb.get('trial_id', '')} conformance report: tables",
        "source": (
            f"Source: efficacy {tb.get('efficacy_version', '')} conformance report of "
            f"{tb.get('trial_id', '')}, generated {tb.get('generated_at', '')}; every "
            "number is in the report's JSON."
        ),
    }
    tables = tlf_tables(data)
    info = (
        f"{{\\info{{\\title {escape(str(tb.get('trial_id', '')))} tables}}"
        f"{{\\author efficacy {escape(str(tb.get('efficacy_version', '')))}}}}}"
    )
    head = (
        "{\\rtf1\\ansi\\ansicpg1252\\uc1\\deff0\\deflang1033\n"
        "{\\fonttbl{\\f0\\fswiss\\fcharset0 Arial;}}\n"
        "{\\colortbl;\\red0\\green0\\blue0;}\n"
        f"{info}\n\\paperw{_A4_SHORT}\\paperh{_A4_LONG}\\widowctrl\n"
    )
    body = "".join(_section(t, meta, k == 0) for k, t in enumerate(tables))
    if not tables:
        body = "\\pard\\plain\\f0\\fs20 This report has no tables to show.\\par\n"
    return head + body + "}\n"
