"""What the benchmarks share: a median of CPU times, and a peer commit's tree.

Imported as ``from _timing import ...``: a benchmark run as ``python benchmarks/x.py``
has this folder first on ``sys.path``; a child process started by a benchmark puts it
there itself.
"""

from __future__ import annotations

import io
import statistics
import subprocess
import tarfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

__all__ = ["BENCHMARKS", "ROOT", "cpu_median", "extract_commit"]

#: This folder, and the repository it belongs to.
BENCHMARKS = Path(__file__).resolve().parent
ROOT = BENCHMARKS.parent


def cpu_median(
    fn: Callable[[], Any], repeat: int, before: Callable[[], Any] = lambda: None
) -> float:
    """Median CPU seconds (``time.process_time``) of `repeat` calls of `fn`.

    `before` runs before each call, untimed (e.g. to empty a memo for a cold run).
    """
    times = []
    for _ in range(repeat):
        before()
        t0 = time.process_time()
        fn()
        times.append(time.process_time() - t0)
    return statistics.median(times)


def extract_commit(commit: str, into: Path) -> Path:
    """Unpack ``git archive <commit>`` of this repository into `into` and return `into`."""
    archive = subprocess.run(
        ["git", "-C", str(ROOT), "archive", commit], check=True, capture_output=True
    ).stdout
    with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
        tar.extractall(into, filter="data")
    return into
