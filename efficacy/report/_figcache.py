"""Memo of the report's drawn figures: the same figure is drawn once per process.

Drawing a report's matplotlib figures (:mod:`efficacy.report.outcome_figures`) and
rasterising its SVGs for Word (:mod:`efficacy.report._raster`) take most of the time of
:meth:`~efficacy.report.Report.to_html` and :meth:`~efficacy.report.Report.to_docx`;
a report rendered twice (HTML, then PDF or DOCX; a notebook re-displaying it; a second
report of the same trial) draws the very same figures again. :func:`memo_figure`
remembers a drawing function's output keyed on everything it depends on:

* the call's arguments, as their exact JSON text (insertion order kept, floats by their
  shortest round-trip repr, so two inputs share a key only when they are equal value
  for value; arguments JSON cannot express are never memoised, they are drawn);
* for matplotlib figures, every global ``matplotlib.rcParams`` value but the backend
  (the figures apply their own settings over them, so a changed global setting is a
  different key).

The outputs are immutable (``str`` SVG text, ``bytes`` PNG), so a caller can never change
what another caller receives. While a figure is drawn, Python's cyclic garbage collector
is paused (:func:`gc_paused`): matplotlib allocates tens of thousands of small objects
per figure, and in a process that holds a few analyses (a notebook, the test suite)
each collection they trigger walks the whole heap (a quarter of the drawing time of the
sample reports). The figure's cycles are collected after it is drawn, as before.

At most :data:`MAX_ENTRIES` outputs per function are kept
(least recently used dropped first). :func:`clear_figure_memo` empties every memo (the
benchmark's cold runs); inside :func:`fresh_figure_memo` every figure is drawn anew and
the memo of before is back after it (a test that must see a figure drawn, without
making the tests after it draw again what the memo held).
"""

from __future__ import annotations

import functools
import hashlib
import json
import threading
from collections import OrderedDict
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import ParamSpec, TypeVar

from efficacy._gc import gc_paused

__all__ = ["MAX_ENTRIES", "clear_figure_memo", "fresh_figure_memo", "memo_figure"]

#: Outputs kept per memoised function (the figures of a few reports).
MAX_ENTRIES = 32

_P = ParamSpec("_P")
_R = TypeVar("_R", str, bytes)
#: Every memoised function's memo, with the lock that guards it.
_MEMOS: list[tuple[threading.Lock, OrderedDict[str, str | bytes]]] = []


#: rcParams a figure's drawing does not read: the figures select the Agg backend
#: themselves (``matplotlib.use``, which changes ``backend`` on the first call) and
#: savefig writes SVG whatever the interactive backend.
_NOT_DRAWN = frozenset({"backend", "backend_fallback", "interactive"})


def _rc_state() -> str:
    """Every global matplotlib setting a figure reads, as text (part of its key)."""
    import matplotlib

    items = dict.items(matplotlib.rcParams)
    return repr(sorted((k, repr(v)) for k, v in items if k not in _NOT_DRAWN))


def _key(name: str, args: tuple[object, ...], kwargs: dict[str, object], rc: bool) -> str:
    """SHA-256 of the call: function, arguments as JSON, and (`rc`) matplotlib settings.

    Raises
    ------
    TypeError, ValueError
        An argument JSON cannot express exactly (then the call is not memoised).
    """
    text = json.dumps([name, args, kwargs], ensure_ascii=False, allow_nan=True)
    if rc:
        text += "\n" + _rc_state()
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()


def memo_figure(
    matplotlib_rc: bool,
) -> Callable[[Callable[_P, _R]], Callable[_P, _R]]:
    """Decorate a pure drawing function so equal calls draw once (see the module text).

    Parameters
    ----------
    matplotlib_rc : bool
        The function draws with matplotlib: its key includes the global rcParams.
    """

    def decorate(fn: Callable[_P, _R]) -> Callable[_P, _R]:
        memo: OrderedDict[str, _R] = OrderedDict()
        lock = threading.Lock()
        name = f"{fn.__module__}.{fn.__qualname__}"

        @functools.wraps(fn)
        def drawn(*args: _P.args, **kwargs: _P.kwargs) -> _R:
            try:
                key = _key(name, args, kwargs, matplotlib_rc)
            except (TypeError, ValueError):  # not JSON: draw, remember nothing
                with gc_paused():
                    return fn(*args, **kwargs)
            with lock:
                hit = memo.get(key)
                if hit is not None:
                    memo.move_to_end(key)
                    return hit
            with gc_paused():
                out = fn(*args, **kwargs)
            with lock:
                memo[key] = out
                while len(memo) > MAX_ENTRIES:
                    memo.popitem(last=False)
            return out

        _MEMOS.append((lock, memo))  # type: ignore[arg-type]  # str or bytes values
        return drawn

    return decorate


def clear_figure_memo() -> None:
    """Forget every memoised figure (the next render draws them again)."""
    for lock, memo in _MEMOS:
        with lock:
            memo.clear()


@contextmanager
def fresh_figure_memo() -> Iterator[None]:
    """Draw every figure anew inside the block; after it, the memo holds what it held.

    What was drawn inside the block is forgotten (memos of functions decorated inside the
    block excepted).
    """
    saved: list[OrderedDict[str, str | bytes]] = []
    for lock, memo in list(_MEMOS):
        with lock:
            saved.append(memo.copy())
            memo.clear()
    try:
        yield
    finally:
        for (lock, memo), before in zip(_MEMOS, saved, strict=False):
            with lock:
                memo.clear()
                memo.update(before)
