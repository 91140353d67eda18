"""The example reports in reports/ match what the code produces now.

Regenerate them with ``python -m efficacy.report.examples`` (reports/README.md). The
generation time and the software versions are environment facts, not code output, so
they are left out of the comparison.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from efficacy.report.examples import EXAMPLES

ROOT = Path(__file__).resolve().parents[2]


def _comparable(data: dict) -> dict:
    data["title_block"].pop("generated_at")
    data["appendices"].pop("software")
    return data


def _close(a: object, b: object, path: str = "") -> list[str]:
    """Paths where `a` and `b` differ; floats equal to 1e-7 relative (BLAS-level noise)."""
    if isinstance(a, dict) and isinstance(b, dict):
        if a.keys() != b.keys():
            return [f"{path}: keys {sorted(set(a) ^ set(b))}"]
        return [d for k in a for d in _close(a[k], b[k], f"{path}.{k}")]
    if isinstance(a, list) and isinstance(b, list):
        if len(a) != len(b):
            return [f"{path}: length {len(a)} != {len(b)}"]
        return [
            d
            for i, (x, y) in enumerate(zip(a, b, strict=True))
            for d in _close(x, y, f"{path}[{i}]")
        ]
    if isinstance(a, float) or isinstance(b, float):
        ok = (
            isinstance(a, int | float)
            and isinstance(b, int | float)
            and a == pytest.approx(b, rel=1e-7, abs=1e-12)
        )
        return [] if ok else [f"{path}: {a!r} != {b!r}"]
    return [] if a == b else [f"{path}: {a!r} != {b!r}"]


@pytest.mark.parametrize("bundle", EXAMPLES)
def test_committed_json_is_current(bundle: str, samples) -> None:
    committed = json.loads((ROOT / "reports" / bundle / "report.json").read_text("utf-8"))
    # build_report(trial, DEFAULT_PROTOCOL, analysis=run_analysis(trial, protocol)), shared
    now = samples.report(bundle).to_dict()
    diffs = _close(_comparable(committed), _comparable(now))
    assert not diffs, (
        f"reports/{bundle}/report.json is stale ({diffs[:3]}): "
        "run python -m efficacy.report.examples"
    )


@pytest.mark.parametrize("bundle", EXAMPLES)
def test_committed_html_and_pdf_exist(bundle: str) -> None:
    folder = ROOT / "reports" / bundle
    assert (folder / "report.html").read_text("utf-8").startswith("<!DOCTYPE html>")
    assert (folder / "report.pdf").read_bytes().startswith(b"%PDF-")
