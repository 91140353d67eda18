"""What the benchmarks share: a median of CPU times, a peer commit's tree, a worker run on it.

Imported as ``from _timing import ...``: a benchmark run as ``python benchmarks/x.py``
has this folder first on ``sys.path``; a child process started by a benchmark puts it
there itself.
"""

from __future__ import annotations

import io
import json
import statistics
import subprocess
import sys
import tarfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

__all__ = ["BENCHMARKS", "ROOT", "cpu_median", "extract_commit", "run_in_checkout"]

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


def run_in_checkout(root: Path, module: str, call: str) -> Any:
    """Run ``<module>.<call>`` in a subprocess on the efficacy of the checkout `root`.

    `module` is a benchmark of this folder; `call` (e.g. ``"_worker('x', 5)"``) must
    print its result as JSON on its last line, which is returned parsed.
    """
    code = (
        f"import sys; sys.path.insert(0, {str(root)!r}); sys.path.insert(1, {str(BENCHMARKS)!r}); "
        f"import {module}; {module}.{call}"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=root, check=True, capture_output=True, text=True
    ).stdout
    return json.loads(out.strip().splitlines()[-1])
