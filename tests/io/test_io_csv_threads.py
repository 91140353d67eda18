"""A CSV is read the same whether Arrow parses it in one thread or in its pool.

Files under ``_THREADS_FROM`` (4 MB) are parsed in one thread; forcing the pool for
every file must give the same frames and issues.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from efficacy.io import _files, read_trial

BUNDLE = Path(__file__).resolve().parents[2] / "sample_data" / "flawed_integrity"


def test_threaded_and_single_threaded_reads_are_identical(monkeypatch: pytest.MonkeyPatch) -> None:
    single = read_trial(BUNDLE)
    monkeypatch.setattr(_files, "_THREADS_FROM", 0)
    pooled = read_trial(BUNDLE)
    for name in ("subjects", "measurements", "pro_responses", "adverse_events", "issues"):
        pd.testing.assert_frame_equal(getattr(single, name), getattr(pooled, name))
    assert len(single.issues) == 1  # the bundle's unreadable cell is reported either way
