"""The example reports in reports/ match what the code produces now.

Regenerate them with ``python -m efficacy.report.examples`` (reports/README.md). The
generation time and the software versions are environment facts, not code output, so
they are left out of the comparison.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from efficacy.io import read_trial
from efficacy.report import build_report
from efficacy.report.examples import EXAMPLES

ROOT = Path(__file__).resolve().parents[2]


def _comparable(data: dict) -> dict:
    data["title_block"].pop("generated_at")
    data["appendices"].pop("software")
    return data


@pytest.mark.parametrize("bundle", EXAMPLES)
def test_committed_json_is_current(bundle: str) -> None:
    committed = json.loads((ROOT / "reports" / bundle / "report.json").read_text("utf-8"))
    now = build_report(read_trial(ROOT / "sample_data" / bundle)).to_dict()
    assert _comparable(committed) == _comparable(now), (
        f"reports/{bundle}/report.json is stale: run python -m efficacy.report.examples"
    )


@pytest.mark.parametrize("bundle", EXAMPLES)
def test_committed_html_and_pdf_exist(bundle: str) -> None:
    folder = ROOT / "reports" / bundle
    assert (folder / "report.html").read_text("utf-8").startswith("<!DOCTYPE html>")
    assert (folder / "report.pdf").read_bytes().startswith(b"%PDF-")
