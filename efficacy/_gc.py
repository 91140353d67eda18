"""Pausing Python's cyclic garbage collector around allocation-heavy work.

Rendering a report allocates hundreds of thousands of small, long-lived objects
(weasyprint's boxes and styles, matplotlib's artists). Each allocation threshold crossed
starts a collection that walks them all, though none is garbage until the work ends:
1.7-3 s of a 6-7 s PDF render, a quarter of drawing the figures
(``benchmarks/bench_pdf.py``, ``benchmarks/bench_report_render.py``). Reference counting
still frees every acyclic object at once; only cycles wait for the next collection after
the block.
"""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager

__all__ = ["gc_paused"]


@contextmanager
def gc_paused() -> Iterator[None]:
    """Switch the cyclic garbage collector off inside the block (back on after).

    A collector the caller had switched off stays off; the state is restored on error too.

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
