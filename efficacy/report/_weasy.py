"""How the report's HTML becomes a PDF: weasyprint, without the garbage collector.

:func:`render_pdf` is what :meth:`Report.to_pdf <efficacy.report.Report.to_pdf>` and
``efficacy report`` call. It renders as ``weasyprint.HTML(string=html).write_pdf()``
does, and the PDF is byte for byte the same (``benchmarks/bench_pdf.py`` checks it on
every run), with Python's cyclic garbage collector switched off during the render.

Measured on the 32-page report of ``sample_data/parallel_12wk`` (weasyprint 70): the
collector ran about 1,250 times during one render (9 full collections), tracing the
hundreds of thousands of boxes, styles and glyph runs weasyprint builds, all of which
stay alive until the PDF is written. That was 1.7-3 s of a 6-7 s render (CSS cascade
1.4 -> 0.4 s, font subsetting 1.0 -> 0.4 s, drawing 2.1 -> 1.3 s), and more in a process
that holds more objects (the test suite, a notebook). The garbage of the render is
collected once afterwards, at the next allocation; peak memory grows by about 5 MB.
"""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def gc_paused() -> Iterator[None]:
    """Switch Python's cyclic garbage collector off inside the block (back on after).

    A collector the caller had switched off stays off.

    Examples
    --------
    >>> import gc
    >>> with gc_paused():
    ...     gc.isenabled()
    False
    >>> gc.isenabled()
    True
    """
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def render_pdf(html: str) -> bytes:
    """Render `html` to PDF bytes with weasyprint (A4, per the stylesheet's @page rule).

    Parameters
    ----------
    html : str
        The whole HTML document (stylesheet inline).

    Returns
    -------
    bytes
        The PDF: the bytes of ``weasyprint.HTML(string=html).write_pdf()``, rendered
        with the garbage collector paused (:func:`gc_paused`).
    """
    from weasyprint import HTML

    with gc_paused():
        pdf: bytes = HTML(string=html).write_pdf()
    return pdf
