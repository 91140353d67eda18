"""Findings of one rule with one cause are grouped (issue 16): text, rich, report, xlsx.

A small simulated bundle (8 subjects) with planted defects of three causes:

* SCH-005: every ``wrinkle_ra`` row gets the endpoint ``sebumeter`` (identical messages);
* SCH-006: every ``tewl`` row gets an unknown unit, ``%`` on most and ``gm2h`` on the
  rest (one cause, messages that quote their unit: grouped by the rule's pattern);
* SCH-009: three ``corneometer`` W4 rows get subject ids not in the subjects table, one
  of them a spreadsheet formula (``=1+1``).
"""

from __future__ import annotations

import json
from pathlib import Path

import openpyxl
import pandas as pd
import pytest

from efficacy import read_trial, validate
from efficacy.cli import main
from efficacy.report import build_report
from efficacy.sim import simulate_parallel, write_bundle
from efficacy.validation.xlsx import DETAIL_COLUMNS, RULE_COLUMNS, SUMMARY_COLUMNS

UNITS = "mm, um, mm3, ratio, a.u., g/m2/h, percentile, score, count"


@pytest.fixture(scope="module")
def planted(tmp_path_factory: pytest.TempPathFactory) -> dict[str, object]:
    root = tmp_path_factory.mktemp("grouped")
    bundle = write_bundle(simulate_parallel(11, 8), root / "b")
    m = pd.read_csv(bundle / "measurements.csv", dtype=str, keep_default_na=False)
    ra = m.index[m["endpoint"] == "wrinkle_ra"]
    m.loc[ra, "endpoint"] = "sebumeter"
    tewl = m.index[m["endpoint"] == "tewl"]
    m.loc[tewl, "unit"] = "%"
    m.loc[tewl[-5:], "unit"] = "gm2h"
    ids = m.index[(m["endpoint"] == "corneometer") & (m["visit"] == "W4")][:3]
    for row, sid in zip(ids, ["S9998", "=1+1", "S9999"], strict=True):
        m.loc[row, "subject_id"] = sid
    m.to_csv(bundle / "measurements.csv", index=False)
    # 1-based data rows of the file (header not counted)
    rows = {"ra": [int(i) + 1 for i in ra], "tewl": [int(i) + 1 for i in tewl]}
    rows["ids"] = [int(i) + 1 for i in ids]
    report = validate(read_trial(bundle))
    return {"bundle": bundle, "rows": rows, "report": report}


def _first5(rows: list[int]) -> str:
    return ", ".join(map(str, rows[:5])) + (" …" if len(rows) > 5 else "")


def _expected(rows: dict[str, list[int]]) -> list[str]:
    ra, tewl, ids = rows["ra"], rows["tewl"], rows["ids"]
    return [
        f"  ERROR   SCH-005     measurements.endpoint: {len(ra)} rows, e.g. rows {_first5(ra)} — "
        "endpoint 'sebumeter' is not a catalogue endpoint id; use one of efficacy's "
        "endpoint ids (did you mean 'corneometer'?)",
        f"  ERROR   SCH-006     measurements.unit: {len(tewl)} rows, e.g. rows {_first5(tewl)}"
        f" (values %, gm2h) — unit is not known; use one of {UNITS}",
        f"  ERROR   SCH-009     measurements.subject_id: 3 rows, e.g. rows "
        f"{', '.join(map(str, ids))} (values S9998, =1+1, S9999) — subject_id is not in "
        "the subjects table; add the subject or correct the id",
    ]


def test_text_output_has_one_line_per_cause(planted, capsys) -> None:
    code = main(["validate", str(planted["bundle"])])
    out = capsys.readouterr().out
    assert code == 1
    rows = planted["rows"]
    assert (len(rows["ra"]), len(rows["tewl"])) == (40, 40)
    lines = out.split("Findings (grouped by cause):\n", 1)[1].splitlines()
    assert lines == _expected(rows)
    assert out.splitlines()[0].endswith("FAILED (83 errors, 0 warnings, 0 notices)")


def test_groups_keep_counts_and_json_keeps_every_row(planted, capsys) -> None:
    report = planted["report"]
    groups = report.groups()
    assert [(g.rule_id, g.column, g.count) for g in groups] == [
        ("SCH-005", "endpoint", 40),
        ("SCH-006", "unit", 40),
        ("SCH-009", "subject_id", 3),
    ]
    assert groups[1].values == ("%", "gm2h") and groups[0].values == ()
    assert list(report.to_frame().columns)[-1] == "message"  # the pattern stays internal
    main(["validate", str(planted["bundle"]), "--format", "json"])
    data = json.loads(capsys.readouterr().out)
    assert len(data["findings"]) == 83
    assert [(g["rule_id"], g["count"], g["first"]) for g in data["groups"]] == [
        ("SCH-005", 40, 0),
        ("SCH-006", 40, 40),
        ("SCH-009", 3, 80),
    ]
    sch006 = [f for f in data["findings"] if f["rule_id"] == "SCH-006"]
    assert [f["row"] for f in sch006] == planted["rows"]["tewl"]
    assert {f["message"] for f in sch006} == {
        f"unit '%' is not known; use one of {UNITS}",
        f"unit 'gm2h' is not known; use one of {UNITS}",
    }


def test_rich_table_is_grouped(planted) -> None:
    from rich.console import Console

    from efficacy.validation.render import print_rich

    console = Console(record=True, width=400, color_system=None)
    print_rich(planted["report"], console=console)
    text = console.export_text()
    assert "40 rows, e.g. rows " + _first5(planted["rows"]["ra"]) in text
    assert "Findings (grouped by cause)" in text and "SCH-009" in text


def test_report_appendix_groups_and_json_lists_all(planted) -> None:
    trial = read_trial(planted["bundle"])
    report = build_report(trial, validation=planted["report"])
    v = report.data["appendices"]["validation"]
    assert len(v["findings"]) == 83
    assert [(g["rule_id"], g["ids"], g["count"]) for g in v["groups"]] == [
        ("SCH-005", "F-0001 to F-0040", 40),
        ("SCH-006", "F-0041 to F-0080", 40),
        ("SCH-009", "F-0081 to F-0083", 3),
    ]
    html = report.to_html()
    appendix = html[html.index("9.2 Validation findings") : html.index("9.3 Model")]
    assert appendix.count("<tr>") == 1 + 3  # header and one row per cause
    assert f"<b>40 rows, e.g. rows {_first5(planted['rows']['ra'])}</b>" in appendix


def test_xlsx_workbook_sheets(planted, tmp_path: Path, capsys) -> None:
    out = tmp_path / "sub" / "findings.xlsx"
    code = main(["validate", str(planted["bundle"]), "--format", "xlsx", "--out", str(out)])
    printed = capsys.readouterr().out.splitlines()
    assert code == 1 and printed[0] == f"wrote {out} (findings workbook)"
    wb = openpyxl.load_workbook(out)
    assert wb.sheetnames == ["Issue Summary", "Details", "Rules"]
    summary = list(wb["Issue Summary"].iter_rows(values_only=True))
    assert summary[0] == SUMMARY_COLUMNS
    assert [r[:4] + r[5:] for r in summary[1:]] == [
        ("SCH-005", "error", "measurements", "endpoint", 40),
        ("SCH-006", "error", "measurements", "unit", 40),
        ("SCH-009", "error", "measurements", "subject_id", 3),
    ]
    assert summary[2][4] == f"unit is not known; use one of {UNITS}"
    details = list(wb["Details"].iter_rows(values_only=True))
    assert details[0] == DETAIL_COLUMNS and len(details) == 1 + 83
    r0, c0 = planted["rows"]["ids"][1], "=1+1"
    assert details[-2] == (
        "SCH-009",
        "error",
        "measurements",
        "measurements.csv",
        r0,
        "subject_id",
        "'" + c0,  # a formula is written as text
        "W4",
        "'" + c0,
        f"subject_id '{c0}' is not in the subjects table; add the subject or correct the id",
    )
    assert all(cell.data_type != "f" for row in wb["Details"].iter_rows() for cell in row)
    rules = list(wb["Rules"].iter_rows(values_only=True))
    assert rules[0] == RULE_COLUMNS
    statuses = {r[0]: r[4] for r in rules[1:]}
    assert statuses == {
        rid: s.status.replace("_", " ") for rid, s in planted["report"].rules.items()
    }
    assert statuses["SCH-005"] == "failed" and statuses["DES-003"] == "not applicable"
    assert next(r for r in rules if r[0] == "DES-003")[5] == "not a split-face design"


def test_xlsx_needs_out_file(planted, tmp_path: Path, capsys) -> None:
    bundle = str(planted["bundle"])
    assert main(["validate", bundle, "--format", "xlsx"]) == 2
    assert capsys.readouterr().err.strip() == (
        "efficacy: error: --format xlsx writes a workbook: give its path with --out FILE.xlsx"
    )
    assert main(["validate", bundle, "--out", str(tmp_path / "x.xlsx")]) == 2
    assert "only --format xlsx writes a file" in capsys.readouterr().err
    assert not (tmp_path / "x.xlsx").exists()


def test_progress_shows_steps_only_on_a_terminal(monkeypatch) -> None:
    import io
    import sys

    from efficacy.cli._common import Progress

    class Terminal(io.StringIO):
        def isatty(self) -> bool:
            return True

    monkeypatch.setattr(sys, "stderr", io.StringIO())
    with Progress("Reporting b") as quiet:
        quiet("fitting cutometer_r2 (itt), model 1 of 26")  # no terminal: a no-op
    assert quiet._status is None and sys.stderr.getvalue() == ""
    monkeypatch.setattr(sys, "stderr", Terminal())
    with Progress("Reporting b") as shown:
        shown("fitting cutometer_r2 (itt), model 1 of 26")
        assert shown._status is not None
        assert shown._status.status == "Reporting b: fitting cutometer_r2 (itt), model 1 of 26"
