"""The SHA-256 of a file's bytes: one definition for the report and the caches.

The report lists every input with it (:mod:`efficacy.report.sections`); the validation
rule cache and the kept FACE-Q tables key on it, so that a rewritten file is read again.
"""

from __future__ import annotations

import hashlib
import os

__all__ = ["file_sha256"]


def file_sha256(path: str | os.PathLike[str]) -> str:
    """Return the hex SHA-256 of the bytes of the file at `path`, read in 1 MiB blocks.

    Raises
    ------
    OSError
        The file cannot be read.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> with tempfile.TemporaryDirectory() as d:
    ...     p = pathlib.Path(d, "x.txt")
    ...     _ = p.write_bytes(b"abc")
    ...     file_sha256(p)[:16]
    'ba7816bf8f01cfea'
    """
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()
