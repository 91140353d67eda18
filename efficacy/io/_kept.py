"""Keep the last few results of reading a file, keyed by the SHA-256 of its bytes.

The test suite, the CLI and a user's session read the same reference files again and
again (the CDISC pilot's XPT datasets, a bundle's FACE-Q conversion table copied into
many folders). A :class:`KeptReads` returns the result of an earlier read of the same
bytes instead of parsing them again; a changed file is read again, and a file whose
bytes change while it is being read is not kept.
"""

from __future__ import annotations

import os
import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable
from typing import Generic, TypeVar

from efficacy._digest import file_sha256

__all__ = ["KeptReads"]

T = TypeVar("T")


class KeptReads(Generic[T]):
    """The last `size` results of reading files, by file content and a caller's key.

    Parameters
    ----------
    size : int
        How many results to keep (least recently used ones are dropped).
    max_bytes : int, default 32 MiB
        Files larger than this are read every time (neither hashed nor kept): keeping is
        for the small reference files read again and again, and bounds the memory held.

    Notes
    -----
    A result is shared by every caller that reads the same bytes: keep only immutable
    results (Arrow arrays, frozen records), or hand each caller a copy.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> kept: KeptReads[str] = KeptReads(2)
    >>> with tempfile.TemporaryDirectory() as d:
    ...     p = pathlib.Path(d, "x.txt")
    ...     _ = p.write_text("abc")
    ...     first = kept.read(p, (), p.read_text)
    ...     again = kept.read(p, (), lambda: "not read")  # same bytes: kept
    ...     _ = p.write_text("abd")
    ...     changed = kept.read(p, (), p.read_text)
    >>> first, again, changed
    ('abc', 'abc', 'abd')
    """

    def __init__(self, size: int, max_bytes: int = 32 << 20) -> None:
        self._size = size
        self._max_bytes = max_bytes
        self._kept: OrderedDict[Hashable, T] = OrderedDict()
        self._lock = threading.Lock()

    def read(self, path: str | os.PathLike[str], key: Hashable, load: Callable[[], T]) -> T:
        """Return the kept result for the bytes of `path` and `key`, else ``load()``.

        Parameters
        ----------
        path : str or path-like
            The file `load` reads.
        key : hashable
            Everything else the result depends on (the file's suffix when it picks the
            parser, a registry, the path when messages name it, ...).
        load : callable
            Reads `path`. Its result is kept when it returns and the file's bytes are
            still those hashed before; its exceptions propagate and nothing is kept.

        Returns
        -------
        object
            The result of ``load()``, now or for the same bytes and `key` before. A file
            that cannot be hashed is simply loaded (``load()`` then raises with its own
            message).
        """
        try:
            if os.stat(path).st_size > self._max_bytes:
                return load()
            full = (file_sha256(path), key)
        except OSError:
            return load()
        with self._lock:
            hit = self._kept.get(full)
            if hit is not None:
                self._kept.move_to_end(full)
                return hit
        result = load()
        try:
            unchanged = file_sha256(path) == full[0]
        except OSError:
            unchanged = False
        if unchanged:
            with self._lock:
                self._kept[full] = result
                while len(self._kept) > self._size:
                    self._kept.popitem(last=False)
        return result

    def clear(self) -> None:
        """Forget every kept result."""
        with self._lock:
            self._kept.clear()
