"""The report's claims section: the matrix as data and as a table shell, rendered escaped."""

from __future__ import annotations

from types import MappingProxyType

from efficacy.regulatory import DISCLAIMER
from efficacy.report import Report
from efficacy.report.shells import TableShell


def test_claims_section_carries_the_matrix(samples) -> None:
    section = samples.report("parallel_12wk").data["claims"]
    assert section["status"] == "run" and section["notes"] == []
    assert list(section["jurisdictions"]) == ["cn", "kr", "eu", "us", "iso"]
    (table,) = section["tables"]
    shell = TableShell.from_dict(table)
    assert shell.header[0] == "Claim" and len(shell.rows) == 5
    by_cell = {(c["claim"], c["jurisdiction"]): c["status"] for c in section["cells"]}
    first = shell.rows[0].cells
    assert first[0].startswith("Visibly reduces wrinkle depth in 12 weeks (anti_wrinkle;")
    text = "Visibly reduces wrinkle depth in 12 weeks"
    assert list(first[1:]) == [
        by_cell[(text, j)].replace("_", " ") for j in ("cn", "kr", "eu", "us", "iso")
    ]
    assert table["footnotes"][-1] == DISCLAIMER
    html = samples.html("parallel_12wk")
    assert html.count(DISCLAIMER.replace("'", "&#39;")) == 1
    assert "Source: Xiao et al. 2025" in html and "[stated]" in html


def test_claims_section_text_is_escaped(samples) -> None:
    data = samples.report("parallel_12wk").to_dict()
    data["claims"]["cells"][0]["claim"] = "<script>alert(1)</script>"
    data["claims"]["tables"][0]["rows"][0][0] = "<b>bold</b>"
    html = Report(MappingProxyType(data)).to_html()
    assert "<script>alert(1)</script>" not in html and "&lt;script&gt;" in html
    assert "<b>bold</b>" not in html and "&lt;b&gt;bold&lt;/b&gt;" in html
