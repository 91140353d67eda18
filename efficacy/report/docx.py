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
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from efficacy.errors import EfficacyError
from efficacy.report._blocks import UNNUMBERED, Block, Figure, Heading, Para, Table, sections
from efficacy.report._docx_table import TABLE_PT, clean, table_xml
from efficacy.report.shells import TableShell

__all__ = ["render_docx"]

_FONT = "Arial"
_BODY_PT, _NOTE_PT = 10.0, 8.0

_MARGIN_CM = 2.0


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
    for key, heading, blocks in sections(data):
        # the synopsis stays one portrait page (its tables wrap), as in the PDF
        wide = key not in UNNUMBERED and any(isinstance(b, Table) and b.shell.wide for b in blocks)
        w.orient(wide)
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
        self.gap = Pt(6)
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
            _no_theme_font(st)
        self.cell_style = styles.add_style("Table Cell", WD_STYLE_TYPE.PARAGRAPH)
        self.cell_style.base_style = normal
        self.cell_style.font.size = Pt(TABLE_PT)
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
        _no_theme_font(caption)
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
        p.add_run(clean(f"{text}. Page "))
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

    def para(self, text: str, style_id: str | None = None) -> Any:
        """Add a paragraph of `text` in the style of id `style_id`.

        By id: python-docx's lookup by name scans every style for each paragraph.
        """
        p = self.doc.add_paragraph(clean(text))
        if style_id:
            p._p.style = style_id
        return p

    def title(self, title: str, subtitle: str) -> None:
        self.para(title, "Title")
        if subtitle:
            self.para(subtitle)

    def block(self, block: Block) -> None:
        if isinstance(block, Heading):
            self.heading(block)
        elif isinstance(block, Para):
            p = self.para("", self.note_style.style_id if block.note else None)
            p.paragraph_format.keep_with_next = True  # notes stay with what they introduce
            if block.lead:
                p.add_run(clean(block.lead)).bold = True
            p.add_run(clean(block.text))
        elif isinstance(block, Table):
            self.table(block.shell, block.number)
        elif isinstance(block, Figure):
            self.figure(block)

    def heading(self, block: Heading) -> None:
        self.para(block.text, f"Heading{block.level}")

    def figure(self, block: Figure) -> None:
        from docx.enum.text import WD_ALIGN_PARAGRAPH
        from docx.shared import Pt

        png = self.figures.get(block.key)
        if png is None:
            return
        # Document.add_picture, keeping its paragraph (doc.paragraphs lists every one)
        pic = self.doc.add_paragraph()
        pic.add_run().add_picture(io.BytesIO(png), width=Pt(self.text_width_pt()))
        pic.alignment = WD_ALIGN_PARAGRAPH.CENTER
        pic.paragraph_format.keep_with_next = True
        self.para(block.caption, self.note_style.style_id)

    def table(self, shell: TableShell, number: str) -> None:
        from docx.oxml import parse_xml

        label = f"Table {number}: {shell.title}" if number else shell.title
        self.para(label, "Caption")
        xml = table_xml(shell, self.text_width_pt(), self.cell_style.style_id)
        body = self.doc.element.body
        body.insert(len(body) - 1, parse_xml(xml))  # before the final w:sectPr
        for note in shell.footnotes:
            self.para(note, self.note_style.style_id)
        spacer = self.para("", self.note_style.style_id)
        spacer.paragraph_format.space_after = self.gap


def _no_theme_font(style: Any) -> None:
    """Drop the theme fonts of `style` (they win over its font name in Word and LibreOffice)."""
    from docx.oxml.ns import qn

    fonts = style.element.rPr.rFonts if style.element.rPr is not None else None
    if fonts is None:
        return
    for attr in ("asciiTheme", "hAnsiTheme", "eastAsiaTheme", "cstheme"):
        fonts.attrib.pop(qn(f"w:{attr}"), None)
