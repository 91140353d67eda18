"""The report as a Word document (efficacy.report.docx): content, layout, reproducibility.

The document is rendered once per module from the session's sample report; values are
checked against the report JSON (the DOCX renders only that mapping) and against known
values of the sample parallel trial.
"""

from __future__ import annotations

import io
import shutil
import subprocess
import zipfile
from pathlib import Path
from typing import Any

import pytest

docx = pytest.importorskip("docx")

from docx.enum.section import WD_ORIENT  # noqa: E402
from docx.oxml.ns import qn  # noqa: E402

from efficacy.report import build_report  # noqa: E402
from efficacy.report._figcache import fresh_figure_memo  # noqa: E402
from efficacy.report._format import fixed  # noqa: E402
from efficacy.report.docx import render_docx  # noqa: E402


@pytest.fixture(scope="module")
def rendered(samples) -> tuple[dict[str, Any], bytes]:
    report = samples.report("parallel_12wk")
    return report.to_dict(), report.to_docx()


@pytest.fixture(scope="module")
def document(rendered) -> Any:
    return docx.Document(io.BytesIO(rendered[1]))


def _tables(document: Any) -> dict[str, Any]:
    """Table number ("5.1") -> python-docx Table, from the caption above each table."""
    from docx.table import Table

    out, caption = {}, None
    for child in document.element.body.iterchildren():
        if child.tag == qn("w:p"):
            style = (
                child.pPr.pStyle.val
                if child.pPr is not None and child.pPr.pStyle is not None
                else ""
            )
            text = "".join(t.text or "" for t in child.iter(qn("w:t")))
            caption = text.split(":")[0].removeprefix("Table ") if style == "Caption" else caption
        elif child.tag == qn("w:tbl") and caption:
            out[caption] = Table(child, document)
            caption = None
    return out


def _header_rows(table: Any) -> int:
    return sum(
        1
        for tr in table._tbl.tr_lst
        if tr.trPr is not None and tr.trPr.find(qn("w:tblHeader")) is not None
    )


def test_sections_are_word_headings(document, rendered) -> None:
    h1 = [p.text for p in document.paragraphs if p.style.name == "Heading 1"]
    assert h1 == [
        "Synopsis",
        "1. Title block",
        "2. Verdict against iso-efficacy-2025 1.0",
        "3. CONSORT flow diagram",
        "4. CONSORT 2025 checklist",
        "5. Baseline characteristics",
        "6. Efficacy",
        "7. Patient-reported outcomes",
        "8. Harms",
        "Claims by jurisdiction",
        "9. Appendices",
    ]
    h2 = [p.text for p in document.paragraphs if p.style.name == "Heading 2"]
    labels = [e["label"] for e in rendered[0]["efficacy"]["result"]["endpoints"]]
    assert f"6.4 {labels[0]} (primary)" in h2
    assert h2.index("6.1 Estimands (ICH E9(R1))") < h2.index("6.2 Estimates of all endpoints")
    assert h2.index("Analysis populations") < h2.index("Protocol deviations")


def test_baseline_table_cells_and_n_headers(document, rendered) -> None:
    data = rendered[0]
    table = _tables(document)["5.1"]
    assert _header_rows(table) == 1
    cols = data["baseline"]["tables"][0]["columns"]
    header = [c.text for c in table.rows[0].cells]
    assert header == ["", *[f"{c['label']}\n(N={c['N']})" for c in cols]]
    labels = [r.cells[0].text for r in table.rows]
    mean = labels.index("Age (years)") + 2  # group row, n, then Mean (SD)
    assert labels[mean] == "Mean (SD)"
    assert [c.text for c in table.rows[mean].cells[1:]] == [
        "43.1 (10.10)",
        "42.3 (9.26)",
        "42.7 (9.66)",
    ]
    json_row = data["baseline"]["tables"][0]["rows"][mean - 1]
    assert [c.text for c in table.rows[mean].cells[1:]] == [
        json_row["cells"][c["key"]]["text"] for c in cols
    ]
    # numbers flush right, the decimal points aligned by right indents
    para = table.rows[mean].cells[1].paragraphs[0]
    assert para.alignment == 2 and para.paragraph_format.right_indent is not None


def test_primary_estimate_in_summary_and_spanned_lsmeans_header(document, rendered) -> None:
    eff = rendered[0]["efficacy"]["result"]
    tables = _tables(document)
    summary = tables["6.5"]  # after the four estimand tables (6.1 Estimands)
    primary = eff["summary"][0]
    assert primary["role"] == "primary" and primary["population"] == "itt"
    row = summary.rows[2]  # header, the endpoint's group row, then ITT
    assert row.cells[0].text == "ITT" and row.cells[1].text == primary["visit"]
    assert row.cells[2].text == fixed(primary["estimate"], primary["decimals"]) == "0.0528"
    assert row.cells[4].text == "<0.001"
    lsmeans = tables["6.6"]
    assert _header_rows(lsmeans) == 2  # the arms' spanning row, then n / LS mean (SE) / CI
    assert [c.text for c in lsmeans.rows[0].cells][1:4] == ["ACTIVE"] * 3
    assert [c.text for c in lsmeans.rows[1].cells][:4] == ["Visit", "n", "LS mean (SE)", "95% CI"]


def test_figures_are_images_and_wide_tables_landscape(document) -> None:
    # flow diagram, forest plot, two change plots, the subgroup forest plot
    assert len(document.inline_shapes) == 5
    orientations = [s.orientation for s in document.sections]
    assert WD_ORIENT.LANDSCAPE in orientations and orientations[0] == WD_ORIENT.PORTRAIT
    landscape = next(s for s in document.sections if s.orientation == WD_ORIENT.LANDSCAPE)
    assert landscape.page_width > landscape.page_height


def test_docx_is_byte_reproducible(samples, rendered, monkeypatch) -> None:
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1700000000")
    trial, protocol = samples.trial("flawed_design"), samples.protocol
    first = build_report(trial, protocol).to_docx()
    with fresh_figure_memo():  # the second document draws and rasterises its figures anew
        second = build_report(trial, protocol).to_docx()
    assert first == second
    with zipfile.ZipFile(io.BytesIO(first)) as z:
        assert {i.date_time for i in z.infolist()} == {(2023, 11, 14, 22, 13, 20)}
        core = z.read("docProps/core.xml").decode()
    assert "<dcterms:created" in core and "2023-11-14T22:13:20Z" in core


def test_generic_tables_section_and_hostile_text(samples) -> None:
    data: dict[str, Any] = {}
    for key, value in samples.report("parallel_12wk").data.items():  # in report order
        if key == "harms":
            data["extra"] = {
                "title": "Extra analyses",
                "tables": [
                    {
                        "id": "extra.primary",
                        "title": "By skin type",
                        "header": ["Phototype", "ACTIVE\n(N=60)"],
                        "rows": [["I-II \x07<&>", "0.051 (0.006)"]],
                        "footnotes": ["Interaction p: 0.41."],
                    }
                ],
            }
        data[key] = value
    document = docx.Document(io.BytesIO(render_docx(data, figures={})))
    h1 = [p.text for p in document.paragraphs if p.style.name == "Heading 1"]
    # the synopsis first, unnumbered: "8. ..." is the ninth level-1 heading
    assert h1[8:12] == ["8. Extra analyses", "9. Harms", "Claims by jurisdiction", "10. Appendices"]
    table = _tables(document)["8.1"]
    assert [c.text for c in table.rows[1].cells] == ["I-II <&>", "0.051 (0.006)"]


@pytest.mark.skipif(shutil.which("soffice") is None, reason="LibreOffice (soffice) not installed")
def test_docx_and_rtf_open_in_libreoffice(samples, rendered, tmp_path: Path) -> None:
    report = samples.report("parallel_12wk")
    (tmp_path / "doc.docx").write_bytes(rendered[1])
    (tmp_path / "tlf.rtf").write_text(report.to_rtf(), encoding="ascii")
    profile = (tmp_path / "profile").as_uri()  # a private profile: no clash with a running soffice
    subprocess.run(
        ["soffice", f"-env:UserInstallation={profile}", "--headless", "--convert-to", "pdf",
         "--outdir", str(tmp_path / "pdf"), str(tmp_path / "doc.docx"), str(tmp_path / "tlf.rtf")],
        check=True, capture_output=True, timeout=300,
    )  # fmt: skip
    for name in ("doc.pdf", "tlf.pdf"):
        pdf = tmp_path / "pdf" / name
        assert pdf.read_bytes().startswith(b"%PDF"), name
        if shutil.which("pdftotext"):
            text = subprocess.run(
                ["pdftotext", "-layout", str(pdf), "-"], check=True, capture_output=True, text=True
            ).stdout
            assert "43.1 (10.10)" in text and "Table 5.1" in text, name


def test_cli_writes_docx_and_rtf(tmp_path: Path, capsys) -> None:
    from efficacy.cli import main

    bundle = Path(__file__).resolve().parents[2] / "sample_data" / "flawed_design"
    code = main(["report", str(bundle), "--out", str(tmp_path), "--format", "docx,rtf"])
    assert code == 1  # written; the bundle has error findings
    out = capsys.readouterr().out.splitlines()
    assert out[:2] == [f"docx: {tmp_path / 'report.docx'}", f"rtf: {tmp_path / 'report.rtf'}"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["report.docx", "report.rtf"]
    document = docx.Document(str(tmp_path / "report.docx"))
    title = document.paragraphs[0]
    assert (title.text, title.style.name) == ("SIM-FLAWED-DESIGN: conformance report", "Title")
    assert (tmp_path / "report.rtf").read_bytes().startswith(b"{\\rtf1\\ansi")
