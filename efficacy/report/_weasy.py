"""How the report's HTML becomes a PDF: weasyprint, minus costs that show nothing.

:func:`render_pdf` is what :meth:`Report.to_pdf <efficacy.report.Report.to_pdf>` and
``efficacy report`` call. It renders with weasyprint as ``HTML(string=html).write_pdf()``
does, and the PDF is byte for byte the same (``benchmarks/bench_pdf.py`` checks it on
every run), but about a third faster (CPU 6.3 -> 4.1 s), for these reasons measured on
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
- Without HarfBuzz's subsetter, weasyprint subsets each embedded font face with
  fontTools, asking it to drop the GSUB and GPOS tables; fontTools (4.69) nonetheless
  decompiles both first (``fontTools.ttLib.beyond64k._compact_layout_tables``), about
  30 ms a face for DejaVu Sans' kerning, only to delete them. :func:`lean_font_subsetting`
  lets weasyprint's subsetter delete the tables it drops before that (and the legacy
  ``kern`` table, which fontTools drops whenever a GPOS table is present): the subset
  font is the same, byte for byte (see :class:`_LeanSubsetter`).
- weasyprint parses the HTML with tinyhtml5, whose tokenizer reads each run of text up to
  the next special character with a regular expression it means to build once per set of
  characters and keep in ``tinyhtml5.inputstream.characters_until_regex``. tinyhtml5
  (2.1) stores it under the wrong key (``characters = cache[(characters, opposite)] =
  regex`` rebinds ``characters`` first), so the cache never answers: about 21,000
  expressions are rebuilt character by character to parse that report, half of the
  parse (0.31 -> 0.15 s). :func:`fast_html_parsing` gives the tokenizer a cache that
  answers: :class:`_CharsUntil` builds the very expression tinyhtml5 builds, once per key.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from functools import cache
from importlib import import_module
from types import SimpleNamespace
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


@cache
def _lean_subset_module() -> Any:
    """Return a stand-in for ``fontTools.subset`` whose Subsetter is :class:`_LeanSubsetter`.

    None when fontTools' subsetter does not decompile the layout tables it drops (no
    ``_compact_layout_tables``: an older fontTools, nothing to gain).
    """
    subset: Any = import_module("fontTools.subset")  # untyped: imported by name
    if not hasattr(subset, "_compact_layout_tables"):
        return None

    class _LeanSubsetter(subset.Subsetter):  # type: ignore[misc]
        """fontTools' Subsetter, deleting the GSUB / GPOS tables it drops before it starts.

        ``Subsetter.subset`` decompiles GSUB and GPOS (to convert their formats), then
        ``_prune_pre_subset`` deletes every table of ``options.drop_tables`` before
        anything reads them: the glyph closure and every pruning run after, and no other
        table's pruning looks at GSUB or GPOS, except ``kern``, dropped (before GPOS, in
        fontTools' table order) when GPOS is present and ``legacy_kern`` is off. So the
        tables are deleted here first, with ``kern`` under the same condition.
        """

        def subset(self, font: Any) -> None:
            drop = self.options.drop_tables
            kern = "kern" in font and not self.options.legacy_kern
            if kern and "GPOS" in drop and "GPOS" in font:
                del font["kern"]
            for tag in ("GSUB", "GPOS"):
                if tag in drop and tag in font:
                    del font[tag]
            super().subset(font)

    return SimpleNamespace(Options=subset.Options, Subsetter=_LeanSubsetter)


_PATCH_LOCK = threading.Lock()
#: (module, attribute) -> [blocks using the replacement, the module's own value]
_PATCHED: dict[tuple[str, str], list[Any]] = {}


@contextmanager
def _patched(module: Any, name: str, value: Any) -> Iterator[None]:
    """Set ``module.name`` to `value` inside the block, in any thread.

    The module's own value is put back when the last of the blocks running in any thread
    ends (a block entered while another runs shares its replacement).
    """
    key = (module.__name__, name)
    with _PATCH_LOCK:
        entry = _PATCHED.get(key)
        if entry is None:
            entry = _PATCHED[key] = [0, getattr(module, name)]
            setattr(module, name, value)
        entry[0] += 1
    try:
        yield
    finally:
        with _PATCH_LOCK:
            entry[0] -= 1
            if entry[0] == 0:
                setattr(module, name, entry[1])
                del _PATCHED[key]


@contextmanager
def lean_font_subsetting() -> Iterator[None]:
    """Let weasyprint subset fonts with :class:`_LeanSubsetter` inside the block.

    weasyprint's font module reads fontTools' subset module from its global ``subset``;
    the block points it at :func:`_lean_subset_module` (the same fonts come out) and puts
    the module back when the last of the blocks running in any thread ends. No change
    when weasyprint has no such global or fontTools gains nothing.
    """
    fonts: Any = import_module("weasyprint.pdf.fonts")  # untyped: imported by name
    lean = _lean_subset_module()
    if lean is None or not hasattr(fonts, "subset"):
        yield
        return
    with _patched(fonts, "subset", lean):
        yield


class _CharsUntil(dict[tuple[Any, bool], "re.Pattern[str]"]):
    """tinyhtml5's ``characters_until_regex``, filled on first look-up of each key.

    The key is ``(characters, opposite)`` as ``HTMLUnicodeInputStream.chars_until``
    looks it up; the value is the expression it builds for them, with its code: a run
    of any characters but these (of these when `opposite`).
    """

    def __missing__(self, key: tuple[Any, bool]) -> re.Pattern[str]:
        characters, opposite = key
        regex = "".join([f"\\x{ord(character):02x}" for character in characters])
        if not opposite:
            regex = f"^{regex}"
        pattern = re.compile(f"[{regex}]+")
        self[key] = pattern  # under the key looked up (tinyhtml5 rebinds it first)
        return pattern


@cache
def _chars_until_cache() -> _CharsUntil | None:
    """Return the process's :class:`_CharsUntil`; None when tinyhtml5 keeps no such cache."""
    stream: Any = import_module("tinyhtml5.inputstream")  # untyped: imported by name
    own = getattr(stream, "characters_until_regex", None)
    return _CharsUntil() if type(own) is dict else None


@contextmanager
def fast_html_parsing() -> Iterator[None]:
    """Let tinyhtml5 find its ``chars_until`` expressions in :func:`_chars_until_cache`.

    Inside the block only, like :func:`lean_font_subsetting`; no change when tinyhtml5
    keeps no such cache.
    """
    regexes = _chars_until_cache()
    if regexes is None:
        yield
        return
    stream: Any = import_module("tinyhtml5.inputstream")
    with _patched(stream, "characters_until_regex", regexes):
        yield


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
    with gc_paused(), lean_font_subsetting(), fast_html_parsing():
        pdf: bytes = factory(string=html).write_pdf()
    return pdf
