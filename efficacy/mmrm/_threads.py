"""Temporarily limit BLAS threads during engine work.

The engine's matrices are small (m x m, p x p), and multi-threaded BLAS on them costs
more in thread hand-offs than it gains (bcva benchmark: 0.15 s with one thread, 0.8 s
with two on a loaded 2-core machine).

Uses ``threadpoolctl`` (a dependency) when importable; otherwise the BLAS setting is
left alone. The previous limits are restored on exit; results do not depend on the
number of threads.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator
from typing import Protocol


class _Controller(Protocol):
    """The part of ``threadpoolctl.ThreadpoolController`` used here (it ships no types)."""

    def limit(self, *, limits: int, user_api: str) -> contextlib.AbstractContextManager[object]: ...


# None: not looked up yet; False: threadpoolctl is not importable.
_CONTROLLER: _Controller | bool | None = None


def _controller() -> _Controller | None:
    global _CONTROLLER
    if _CONTROLLER is None:
        try:
            from threadpoolctl import ThreadpoolController
        except ImportError:  # pragma: no cover - threadpoolctl ships with scikit-learn
            _CONTROLLER = False
        else:
            _CONTROLLER = ThreadpoolController()
    return None if isinstance(_CONTROLLER, bool) else _CONTROLLER


# The limit set by the innermost enclosing `blas_threads` block of this thread, if any.
_ACTIVE = threading.local()


@contextlib.contextmanager
def blas_threads(n: int | None) -> Iterator[None]:
    """Limit BLAS to ``n`` threads inside the block (``None``: leave unchanged).

    Inside a block of this thread that already set ``n``, nothing is switched (a fit
    nested in another's limit does not pay for setting and restoring it again).
    """
    ctl = _controller() if n is not None else None
    outer: int | None = getattr(_ACTIVE, "limit", None)
    if ctl is None or n is None or n == outer:
        yield
        return
    with ctl.limit(limits=n, user_api="blas"):
        _ACTIVE.limit = n
        try:
            yield
        finally:
            _ACTIVE.limit = outer
