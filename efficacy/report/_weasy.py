"""How the report's HTML becomes a PDF: weasyprint, minus two costs that show nothing.

:func:`render_pdf` is what :meth:`Report.to_pdf <efficacy.report.Report.to_pdf>` and
``efficacy report`` call. It renders with weasyprint as ``HTML(string=html).write_pdf()``
does, and the PDF is byte for byte the same (``benchmarks/bench_pdf.py`` checks it on
every run), but about a third faster (CPU 6.3 -> 4.1 s), for two reasons measured on
the 32-page report of ``sample_data/parallel_12wk`` (weasyprint 70):

- Python's cyclic garbage collector ran about 1,250 times during one render (9 full
  collections), tracing the hundreds of thousands of boxes, styles and glyph runs
  weasyprint builds, which are all alive until the PDF is written: 1.7-3 s of a 6-7 s
  render, more in a process that holds more objects (the test suite, a notebook).
  :func:`gc_paused` switches the collector off for the render; the garbage of the render
  is collected once afterwards, at the next allocation (peak memory +5 MB).
- weasyprint's HTML user-agent stylesheet gives *every* element the five pseudo-elements
  of its footnotes and notes (``::footnote-call``, ``::footnote-marker``,
  ``::note-call``, ``::note-marker``, ``::note-callback``), and computes their style,
  about 31,500 styles for the 6,300 elements of that report: two thirds of the CSS
  cascade. Those styles are only read for an element that is a footnote
  (``float: footnote``) or a note (``position: note()``), and the report has none;
  without them the render takes ~0.3 s less (with the collector paused).
  :func:`html_class` returns weasyprint's HTML class with a user-agent stylesheet that
  lacks those five rules (everything else as weasyprint ships it); a document that
  mentions footnotes or notes at all is rendered with weasyprint's own stylesheet.
"""

from __future__ import annotations

import re
from functools import cache
from typing import Any

from efficacy._gc import gc_paused

#: The rules of weasyprint's ``html5_ua.css`` that style footnote and note pseudo-elements.
_NOTE_RULES = re.compile(r"^::(?:footnote|note)-[a-z]+ \{[^}]*\}\n", re.MULTILINE)
#: What a document needs the footnote and note styles for (found in its CSS or text).
_USES_NOTES = re.compile(r"footnote|note\(", re.IGNORECASE)


@cache
def html_class() -> Any:
    """Return weasyprint's ``HTML`` class, without its footnote and note pseudo-elements.

    A subclass whose user-agent stylesheet is weasyprint's own minus the rules
    :data:`_NOTE_RULES` matches (five in weasyprint 70); weasyprint's ``HTML`` itself when
    that stylesheet is not found as expected (another weasyprint version). Raises
    ImportError without weasyprint.
    """
    import weasyprint

    html: Any = weasyprint.HTML
    ua_module: Any = getattr(weasyprint, "html", None)
    ua_text = getattr(ua_module, "UA", None)
    ua_sheet = getattr(ua_module, "UA_STYLESHEET", None)
    if not isinstance(ua_text, str) or ua_sheet is None or not hasattr(html, "_ua_stylesheets"):
        return html
    trimmed_text, found = _NOTE_RULES.subn("", ua_text)
    if not found:
        return html
    trimmed = weasyprint.CSS(string=trimmed_text, counter_style=ua_module.UA_COUNTER_STYLE)

    class ReportHTML(html):  # type: ignore[misc]
        """weasyprint's HTML, styled without footnote and note pseudo-elements."""

        def _ua_stylesheets(self, *args: Any, **kwargs: Any) -> list[Any]:
            sheets = super()._ua_stylesheets(*args, **kwargs)
            return [trimmed if sheet is ua_sheet else sheet for sheet in sheets]

    return ReportHTML


def factory_for(html: str) -> Any:
    """Return the HTML class :func:`render_pdf` renders `html` with.

    :func:`html_class`, or weasyprint's ``HTML`` when `html` mentions footnotes or notes.
    """
    import weasyprint

    return weasyprint.HTML if _USES_NOTES.search(html) else html_class()


def render_pdf(html: str) -> bytes:
    """Render `html` to PDF bytes with weasyprint (A4, per the stylesheet's @page rule).

    Parameters
    ----------
    html : str
        The whole HTML document (stylesheet inline), rendered by :func:`factory_for`.

    Returns
    -------
    bytes
        The PDF, the same bytes as ``weasyprint.HTML(string=html).write_pdf()``.
    """
    factory = factory_for(html)
    with gc_paused():
        pdf: bytes = factory(string=html).write_pdf()
    return pdf
