"""The report as a Word document (python-docx), rendered from the report data only.

Every block of :func:`efficacy.report._blocks.outline` becomes Word content: section
headings in the built-in ``Heading 1`` / ``Heading 2`` styles (so Word's navigation pane
and table of contents see them), paragraphs, real Word tables (never images) and the
figures as PNG images (:mod:`efficacy.report._raster`). Tables follow submission table
shells: a rule above and below the column header and under the last row, no vertical
rules, arm columns headed by the arm's label and ``(N=xx)``, the header row repeated on
every page, rows never split across pages, numbers aligned on their decimal point
(a decimal tab stop placed so the column's numbers sit centred under the header), row
labels indented by level. A section holding a table too wide for a portrait page is set
on landscape pages.

Reproducible: the document's core properties (created, modified, last printed) are the
report's ``generated_at`` (``SOURCE_DATE_EPOCH`` when set), and every entry of the .docx
zip archive carries that time too, so the same report data gives the same bytes.
"""

from __future__ import annotations

import io
import zipfile
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

from efficacy.errors import EfficacyError
from efficacy.report._blocks import Block, Figure, Heading, Para, Table, sections
from efficacy.report.shells import TableShell, decimal_layout

__all__ = ["render_docx"]

_FONT = "Arial"
_BODY_PT, _TABLE_PT, _NOTE_PT = 10.0, 8.5, 8.0
_CHAR_PT = 0.56 * _TABLE_PT  # width of a digit of the table font (Arial/Liberation Sans)

_MARGIN_CM = 2.0
_CELL_PAD_PT = 5.4 * 2  # Word's default left + right cell margins (0.19 cm each)
_INDENT_PT = 10.0


def _docx() -> Any:
    try:
        import docx
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise EfficacyError(
            "DOCX output needs python-docx: pip install python-docx (or choose --format "
            "html,pdf,json,rtf)"
        ) from exc
    return docx


def _when(data: Mapping[str, Any]) -> datetime:
    text = str(data.get("title_block", {}).get("generated_at", "1980-01-01T00:00:00Z"))
    when = datetime.fromisoformat(text.replace("Z", "+00:00"))
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(when.astimezone(UTC), datetime(1980, 1, 1, tzinfo=UTC))


def render_docx(data: Mapping[str, Any], figures: Mapping[str, bytes] | None = None) -> bytes:
    """Return the report data as .docx bytes (see the module doc).

    Parameters
    ----------
    data : Mapping
        :attr:`efficacy.report.Report.data` (its key order is the report order).
    figures : Mapping of str to bytes, optional
        PNG images by figure key; default: :func:`efficacy.report._raster.figure_pngs`.
    """
    if figures is None:
        from efficacy.report._raster import figure_pngs

        figures = figure_pngs(data)
    docx = _docx()
    doc = docx.Document()
    w = _Writer(doc, figures)
    tb = data.get("title_block", {})
    w.title(f"{tb.get('trial_id', '')}: conformance report", str(tb.get("title", "")))
    for _key, heading, blocks in sections(data):
        w.orient(any(isinstance(b, Table) and b.shell.wide for b in blocks))
        w.heading(Heading(heading, 1))
        for block in blocks:
            w.block(block)
    w.footer(
        f"{tb.get('trial_id', '')} conformance report, efficacy {tb.get('efficacy_version', '')}"
    )
    when = _when(data)
    cp = doc.core_properties
    cp.title = f"{tb.get('trial_id', '')}: conformance report"
    cp.author = cp.last_modified_by = f"efficacy {tb.get('efficacy_version', '')}".strip()
    cp.created = cp.modified = cp.last_printed = when.replace(tzinfo=None)
    cp.revision = 1
    buf = io.BytesIO()
    doc.save(buf)
    return _fixed_zip(buf.getvalue(), when)


def _fixed_zip(blob: bytes, when: datetime) -> bytes:
    """Rewrite the archive with every entry stamped `when` (python-docx stamps 'now')."""
    stamp = (when.year, when.month, when.day, when.hour, when.minute, when.second)
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(blob)) as src, zipfile.ZipFile(out, "w") as dst:
        for info in src.infolist():
            entry = zipfile.ZipInfo(info.filename, date_time=stamp)
            entry.compress_type = zipfile.ZIP_DEFLATED
            entry.create_system = 3
            entry.external_attr = 0o644 << 16
            dst.writestr(entry, src.read(info.filename))
    return out.getvalue()


class _Writer:
    """Adds blocks to a python-docx Document, tracking the page orientation."""

    def __init__(self, doc: Any, figures: Mapping[str, bytes]) -> None:
        from docx.enum.style import WD_STYLE_TYPE
        from docx.shared import Cm, Pt, RGBColor

        self.doc, self.figures = doc, figures
        self.landscape = False
        styles = doc.styles
        normal = styles["Normal"]
        normal.font.name, normal.font.size = _FONT, Pt(_BODY_PT)
        normal.paragraph_format.space_after = Pt(4)
        for name, size in (("Title", 18), ("Heading 1", 14), ("Heading 2", 11.5)):
            st = styles[name]
            st.font.name, st.font.size, st.font.bold = _FONT, Pt(size), True
            st.font.color.rgb = RGBColor(0, 0, 0)
            st.font.italic = False
            st.paragraph_format.space_before = Pt(12 if name != "Heading 2" else 8)
            st.paragraph_format.space_after = Pt(4)
            st.paragraph_format.keep_with_next = True
        self.cell_style = styles.add_style("Table Cell", WD_STYLE_TYPE.PARAGRAPH)
        self.cell_style.base_style = normal
        self.cell_style.font.size = Pt(_TABLE_PT)
        fmt = self.cell_style.paragraph_format
        fmt.space_after = fmt.space_before = Pt(0)
        fmt.line_spacing = 1.0
        self.note_style = styles.add_style("Table Note", WD_STYLE_TYPE.PARAGRAPH)
        self.note_style.base_style = normal
        self.note_style.font.size = Pt(_NOTE_PT)
        self.note_style.paragraph_format.space_after = Pt(1)
        caption = styles["Caption"]
        caption.font.name, caption.font.size, caption.font.bold = _FONT, Pt(9.5), True
        caption.font.italic = False
        caption.font.color.rgb = RGBColor(0, 0, 0)
        caption.paragraph_format.keep_with_next = True
        caption.paragraph_format.space_before = Pt(8)
        section = doc.sections[0]
        section.page_width, section.page_height = Cm(21.0), Cm(29.7)  # A4
        for side in ("left_margin", "right_margin", "top_margin", "bottom_margin"):
            setattr(section, side, Cm(_MARGIN_CM))

    # -- page layout ---------------------------------------------------------------

    def text_width_pt(self) -> float:
        return ((29.7 if self.landscape else 21.0) - 2 * _MARGIN_CM) / 2.54 * 72

    def orient(self, landscape: bool) -> None:
        """Start landscape (or portrait) pages when the orientation changes."""
        if landscape == self.landscape:
            return
        from docx.enum.section import WD_ORIENT, WD_SECTION
        from docx.shared import Cm

        section = self.doc.add_section(WD_SECTION.NEW_PAGE)
        section.orientation = WD_ORIENT.LANDSCAPE if landscape else WD_ORIENT.PORTRAIT
        long, short = Cm(29.7), Cm(21.0)
        section.page_width, section.page_height = (long, short) if landscape else (short, long)
        self.landscape = landscape

    def footer(self, text: str) -> None:
        from docx.enum.text import WD_ALIGN_PARAGRAPH
        from docx.oxml import OxmlElement
        from docx.oxml.ns import qn

        p = self.doc.sections[0].footer.paragraphs[0]
        p._p.style = self.note_style.style_id
        p.alignment = WD_ALIGN_PARAGRAPH.CENTER
        p.add_run(f"{text}. Page ")
        for instr in (" PAGE ", " NUMPAGES "):
            field = OxmlElement("w:fldSimple")
            field.set(qn("w:instr"), instr)
            run = OxmlElement("w:r")
            t = OxmlElement("w:t")
            t.text = "1"
            run.append(t)
            field.append(run)
            p._p.append(field)
            if instr == " PAGE ":
                p.add_run(" of ")

    # -- blocks --------------------------------------------------------------------

    def title(self, title: str, subtitle: str) -> None:
        self.doc.add_paragraph(title, style="Title")
        if subtitle:
            self.doc.add_paragraph(subtitle)

    def block(self, block: Block) -> None:
        if isinstance(block, Heading):
            self.heading(block)
        elif isinstance(block, Para):
            p = self.doc.add_paragraph(style=self.note_style if block.note else None)
            if block.lead:
                p.add_run(block.lead).bold = True
            p.add_run(block.text)
        elif isinstance(block, Table):
            self.table(block.shell, block.number)
        elif isinstance(block, Figure):
            self.figure(block)

    def heading(self, block: Heading) -> None:
        self.doc.add_heading(block.text, level=block.level)

    def figure(self, block: Figure) -> None:
        from docx.enum.text import WD_ALIGN_PARAGRAPH
        from docx.shared import Pt

        png = self.figures.get(block.key)
        if png is None:
            return
        self.doc.add_picture(io.BytesIO(png), width=Pt(self.text_width_pt()))
        pic = self.doc.paragraphs[-1]
        pic.alignment = WD_ALIGN_PARAGRAPH.CENTER
        pic.paragraph_format.keep_with_next = True
        self.doc.add_paragraph(block.caption, style=self.note_style)

    def table(self, shell: TableShell, number: str) -> None:
        from docx.enum.table import WD_TABLE_ALIGNMENT
        from docx.shared import Pt

        label = f"Table {number}: {shell.title}" if number else shell.title
        self.doc.add_paragraph(label, style="Caption")
        widths = _col_widths(shell, self.text_width_pt())
        n_head = 2 if shell.spans else 1
        table = self.doc.add_table(rows=n_head + len(shell.rows), cols=shell.ncol)
        table.alignment = WD_TABLE_ALIGNMENT.CENTER
        table.autofit = False
        _table_props(table, sum(widths))
        for j, col in enumerate(table.columns):
            col.width = Pt(widths[j])
        tabs = _decimal_tabs(shell, widths)
        rows = table.rows
        if shell.spans:
            self._span_row(rows[0], shell, widths)
        self._header_row(rows[n_head - 1], shell, widths, top=not shell.spans)
        last = len(shell.rows) - 1
        for i, (row, srow) in enumerate(zip(rows[n_head:], shell.rows, strict=True)):
            _row_props(row, header=False)
            cells = row.cells
            keep = srow.group or i < 2 or i >= last - 1
            if srow.group:
                cell = cells[0].merge(cells[-1]) if shell.ncol > 1 else cells[0]
                cell.width = Pt(sum(widths))
                p = self._para(cell, srow.cells[0], bold=True, keep=keep)
                p.paragraph_format.space_before = Pt(3)
                if i == last:
                    _borders(cell, bottom=True)
                continue
            for j, (cell, text) in enumerate(zip(cells, srow.cells, strict=True)):
                cell.width = Pt(widths[j])
                align = shell.alignments[j]
                p = self._para(cell, text, keep=keep)
                if j == 0 and srow.level:
                    p.paragraph_format.left_indent = Pt(_INDENT_PT * srow.level)
                _align(p, align, tabs[j][i] if j in tabs else None)
                if i == last:
                    _borders(cell, bottom=True)
        for note in shell.footnotes:
            self.doc.add_paragraph(note, style=self.note_style)
        spacer = self.doc.add_paragraph(style=self.note_style)
        spacer.paragraph_format.space_after = Pt(6)

    def _para(self, cell: Any, text: str, bold: bool = False, keep: bool = False) -> Any:
        p = cell.paragraphs[0]
        p._p.style = self.cell_style.style_id  # by id: python-docx's lookup by style is slow
        if keep:
            p.paragraph_format.keep_with_next = True
        lines = text.split("\n")
        for k, line in enumerate(lines):
            run = p.add_run(line)
            if bold:
                run.bold = True
            if k < len(lines) - 1:
                run.add_break()
        return p

    def _header_row(self, row: Any, shell: TableShell, widths: Sequence[float], top: bool) -> None:
        from docx.enum.table import WD_CELL_VERTICAL_ALIGNMENT
        from docx.shared import Pt

        _row_props(row, header=True)
        for j, (cell, text) in enumerate(zip(row.cells, shell.header, strict=True)):
            cell.width = Pt(widths[j])
            cell.vertical_alignment = WD_CELL_VERTICAL_ALIGNMENT.BOTTOM
            p = self._para(cell, text, bold=True, keep=True)
            _align(p, "l" if shell.alignments[j] == "l" else "c", None)
            _borders(cell, top=top, bottom=True)

    def _span_row(self, row: Any, shell: TableShell, widths: Sequence[float]) -> None:
        from docx.shared import Pt

        _row_props(row, header=True)
        cells, j = row.cells, 0
        for label, n in shell.spans:
            cell = cells[j].merge(cells[j + n - 1]) if n > 1 else cells[j]
            cell.width = Pt(sum(widths[j : j + n]))
            p = self._para(cell, label, bold=True, keep=True)
            _align(p, "c" if n > 1 else "l", None)
            _borders(cell, top=True, bottom=bool(label and n > 1))
            j += n


def _col_widths(shell: TableShell, available: float) -> list[float]:
    """Column widths in points: proportional to the text, the table at most `available`."""
    chars = shell.widths()
    natural = sum(c * _CHAR_PT * 1.1 + _CELL_PAD_PT for c in chars)
    total = min(available, max(0.6 * available, natural))
    weights = [c * _CHAR_PT * 1.1 + _CELL_PAD_PT for c in chars]
    scale = total / sum(weights)
    return [x * scale for x in weights]


def _decimal_tabs(shell: TableShell, widths: Sequence[float]) -> dict[int, list[float]]:
    """Right indents of the cells of each ``d`` column (:func:`.shells.decimal_layout`)."""
    return {
        j: decimal_layout(shell, j, widths[j] - _CELL_PAD_PT, _TABLE_PT)
        for j, align in enumerate(shell.alignments)
        if align == "d"
    }


def _align(p: Any, align: str, right_indent: float | None) -> None:
    from docx.enum.text import WD_ALIGN_PARAGRAPH
    from docx.shared import Pt

    if align in ("r", "d"):
        p.alignment = WD_ALIGN_PARAGRAPH.RIGHT
        if right_indent:
            p.paragraph_format.right_indent = Pt(right_indent)
    elif align == "c":
        p.alignment = WD_ALIGN_PARAGRAPH.CENTER


def _el(tag: str, **attrs: str) -> Any:
    from docx.oxml import OxmlElement
    from docx.oxml.ns import qn

    el = OxmlElement(tag)
    for k, v in attrs.items():
        el.set(qn(f"w:{k}"), v)
    return el


def _table_props(table: Any, width_pt: float) -> None:
    """Set a fixed layout `width_pt` wide, with no borders but those cells set."""
    tbl_pr = table._tbl.tblPr
    tbl_pr.append(_el("w:tblW", w=str(round(width_pt * 20)), type="dxa"))
    tbl_pr.append(_el("w:tblLayout", type="fixed"))
    borders = _el("w:tblBorders")
    for side in ("top", "left", "bottom", "right", "insideH", "insideV"):
        borders.append(_el(f"w:{side}", val="nil"))
    tbl_pr.append(borders)


def _row_props(row: Any, header: bool) -> None:
    tr_pr = row._tr.get_or_add_trPr()
    tr_pr.append(_el("w:cantSplit"))
    if header:
        tr_pr.append(_el("w:tblHeader"))


def _borders(cell: Any, top: bool = False, bottom: bool = False) -> None:
    tc_pr = cell._tc.get_or_add_tcPr()
    borders = _el("w:tcBorders")
    if top:
        borders.append(_el("w:top", val="single", sz="8", space="0", color="000000"))
    if bottom:
        borders.append(_el("w:bottom", val="single", sz="6", space="0", color="000000"))
    tc_pr.append(borders)
