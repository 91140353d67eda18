from __future__ import annotations

import dataclasses
from pathlib import Path

import pandas as pd
import pytest

from efficacy.trial import Arm, Visit
from efficacy.validation import validate
from tests.validation.trial_factory import (
    clean_tables,
    failed,
    make_manifest,
    make_trial,
    of,
    one,
    row_of,
    with_cell,
)

M = "measurements"


@pytest.mark.parametrize("design", ["parallel", "split_face"])
def test_clean_trial_has_no_findings(design: str) -> None:
    report = validate(make_trial(design=design))
    assert report.findings == ()
    assert report.ok
    assert report.counts == {"error": 0, "warning": 0, "notice": 0}
    statuses = {s.status for s in report.rules.values()}
    assert statuses <= {"passed", "not_applicable"}
    na = {rid for rid, s in report.rules.items() if s.status == "not_applicable"}
    dsj = {f"DSJ-00{i}" for i in range(1, 7)}  # no Dataset-JSON input
    assert na == ({"DES-003", "DES-004"} | dsj if design == "parallel" else dsj)


def test_sch001_manifest_problems_direct() -> None:
    manifest = make_manifest(
        design="crossover",
        baseline_visit="W99",
        visits=(*make_manifest().visits, Visit("W4", 4, 28, 3)),
    )
    report = validate(make_trial(manifest=manifest))
    found = {f.column: f for f in of(report, "SCH-001")}
    assert set(found) == {"design", "baseline_visit", "visits"}
    design = found["design"]
    assert (design.severity, design.table, design.row, design.value) == (
        "error",
        "manifest",
        None,
        "crossover",
    )
    assert "not one of parallel, split_face" in design.message
    assert "'W99' is not a [[visits]] id" in found["baseline_visit"].message
    assert "visit id 'W4' is declared more than once" in found["visits"].message


def test_sch001_no_arms_and_reader_issue_dedup() -> None:
    issue = {
        "table": "manifest",
        "column": "visits[2].day",
        "row": None,
        "value": "soon",
        "problem": "visits[2].day 'soon' is not a whole number",
    }
    # the reader kept the visit with a missing day and recorded why: one finding, not two
    visits = (Visit("W0", 0, 0, 0), Visit("W4", 4, float("nan"), 3))  # type: ignore[arg-type]
    manifest = make_manifest(arms=(), visits=visits)
    report = validate(make_trial(manifest=manifest, issues=[issue]))
    found = of(report, "SCH-001")
    assert [f.column for f in found] == ["visits[2].day", "arms"]
    assert found[0].message == "trial.toml: visits[2].day 'soon' is not a whole number"
    assert found[0].value == "soon"
    assert "no [[arms]]" in found[1].message
    # rules that need arms say so instead of piling up findings
    assert report.rules["SCH-008"].status == "not_applicable"
    assert report.rules["DES-001"].status == "not_applicable"


def test_sch002_required_column_missing_with_rename_hint() -> None:
    issue = {
        "table": M,
        "column": "endpoint",
        "row": None,
        "value": "Endpoint",
        "problem": "header 'Endpoint' is not 'endpoint'; rename the column",
    }
    report = validate(make_trial(missing={M: ["endpoint"]}, issues=[issue]))
    f = one(report, "SCH-002")
    assert (f.severity, f.table, f.column, f.row) == ("error", M, "endpoint", None)
    assert f.message.endswith("header 'Endpoint' is not 'endpoint'; rename the column")
    # the header issue is reported once (SCH-002), not again as SCH-004
    assert report.rules["SCH-004"].status == "passed"
    assert report.rules["SCH-005"].status == "could_not_run"
    assert "endpoint" in report.rules["SCH-005"].reason


def test_sch002_arm_or_allocation_by_design() -> None:
    parallel = validate(make_trial(missing={"subjects": ["allocation"]}))
    assert parallel.findings == ()  # allocation is irrelevant in a parallel trial
    split = validate(make_trial(design="split_face", missing={"subjects": ["allocation"]}))
    f = one(split, "SCH-002")
    assert (f.table, f.column) == ("subjects", "allocation")
    split_arm = validate(make_trial(design="split_face", missing={"subjects": ["arm"]}))
    assert split_arm.findings == ()


def test_sch003_optional_column_missing_is_notice() -> None:
    report = validate(make_trial(missing={"subjects": ["age"]}))
    assert failed(report) == {"SCH-003"}
    f = one(report, "SCH-003")
    assert (f.severity, f.table, f.column) == ("notice", "subjects", "age")
    assert "add a column headed 'age'" in f.message
    assert report.ok


def test_sch004_unreadable_cell_located_and_not_double_counted() -> None:
    tables = clean_tables()
    row = row_of(tables[M], subject_id="S02", visit="W4", endpoint="tewl")
    tables[M] = with_cell(tables[M], row, "value", float("nan"))
    issue = {
        "table": M,
        "column": "value",
        "row": row,
        "value": "12,5",
        "problem": "not a number (use '.' as decimal separator)",
    }
    report = validate(make_trial(tables, issues=[issue]))
    assert failed(report) == {"SCH-004"}
    f = one(report, "SCH-004")
    assert (f.severity, f.table, f.column, f.row) == ("error", M, "value", row)
    assert (f.subject_id, f.visit, f.value) == ("S02", "W4", "12,5")
    assert "not a number" in f.message


def test_sch005_unknown_endpoint_with_suggestion() -> None:
    tables = clean_tables()
    row = row_of(tables[M], subject_id="S03", visit="W12", endpoint="cutometer_r2")
    tables[M] = with_cell(tables[M], row, "endpoint", "cutometer_r3")
    report = validate(make_trial(tables))
    assert "SCH-005" in failed(report)
    f = one(report, "SCH-005")
    assert (f.row, f.subject_id, f.visit, f.column, f.value) == (
        row,
        "S03",
        "W12",
        "endpoint",
        "cutometer_r3",
    )
    assert "did you mean" in f.message


def test_sch006_unknown_and_unconvertible_units() -> None:
    tables = clean_tables()
    r1 = row_of(tables[M], subject_id="S01", visit="W0", endpoint="corneometer")
    r2 = row_of(tables[M], subject_id="S02", visit="W0", endpoint="corneometer")
    m = with_cell(tables[M], r1, "unit", "furlong")
    tables[M] = with_cell(m, r2, "unit", "mm")
    report = validate(make_trial(tables))
    assert failed(report) == {"SCH-006"}
    found = {f.row: f for f in of(report, "SCH-006")}
    assert set(found) == {r1, r2}
    assert found[r1].message.startswith("unit 'furlong' is not known")
    assert "cannot be converted to corneometer's unit 'a.u.'" in found[r2].message
    assert found[r2].severity == "error" and found[r2].subject_id == "S02"


def test_convertible_unit_is_converted_before_range_checks() -> None:
    tables = clean_tables()
    r_ok = row_of(tables[M], subject_id="S01", visit="W4", endpoint="wrinkle_ra")
    r_bad = row_of(tables[M], subject_id="S02", visit="W4", endpoint="wrinkle_ra")
    m = tables[M].copy()
    m.loc[r_ok, ["value", "unit"]] = [0.04, "mm"]  # = 40 um: fine
    m.loc[r_bad, ["value", "unit"]] = [40.0, "mm"]  # = 40000 um: beyond 5000 um
    tables[M] = m
    report = validate(make_trial(tables))
    assert failed(report) == {"INT-006"}
    f = one(report, "INT-006")
    assert f.row == r_bad
    assert f.message.startswith("wrinkle_ra 40 mm (= 40000 um) is outside the physical limits")


def test_sch007_unknown_visit() -> None:
    tables = clean_tables()
    row = row_of(tables[M], subject_id="S01", visit="W4", endpoint="corneometer")
    tables[M] = with_cell(tables[M], row, "visit", "W6")
    report = validate(make_trial(tables))
    assert failed(report) == {"SCH-007"}
    f = one(report, "SCH-007")
    assert (f.row, f.visit, f.column, f.severity) == (row, "W6", "visit", "error")
    assert "scheduled visits (W0, W4, W12)" in f.message


def test_sch008_unknown_arm_parallel_and_split_face() -> None:
    tables = clean_tables()
    tables["subjects"] = with_cell(tables["subjects"], 3, "arm", "PLACEBO")
    report = validate(make_trial(tables))
    f = one(report, "SCH-008")
    assert (f.table, f.row, f.subject_id, f.value) == ("subjects", 3, "S03", "PLACEBO")
    split = clean_tables("split_face")
    split["subjects"] = with_cell(
        split["subjects"], 2, "allocation", "left_cheek=VEHICLE;right_cheek=PLACEBO"
    )
    report = validate(make_trial(split, design="split_face"))
    f = one(report, "SCH-008")
    assert (f.row, f.column, f.value) == (2, "allocation", "right_cheek=PLACEBO")
    assert "arm 'PLACEBO'" in f.message
    # ACTIVE is then missing from S02's allocation
    assert one(report, "DES-003").subject_id == "S02"


def test_sch009_record_for_unknown_subject() -> None:
    tables = clean_tables()
    extra = tables[M].iloc[[0]].assign(subject_id="S99")
    tables[M] = pd.concat([tables[M], extra], ignore_index=True)
    tables[M].index = pd.RangeIndex(1, len(tables[M]) + 1, name="row")
    report = validate(make_trial(tables))
    assert failed(report) == {"SCH-009"}
    f = one(report, "SCH-009")
    assert (f.row, f.subject_id, f.visit) == (len(tables[M]), "S99", "W0")
    assert "'S99' is not in the subjects table" in f.message


def test_sch010_absent_tables() -> None:
    report = validate(make_trial(absent=["pro_responses"]))
    f = one(report, "SCH-010")
    assert (f.severity, f.table, f.row) == ("warning", "pro_responses", None)
    assert report.rules["PRO-001"].status == "not_applicable"
    # the standard's PRO requirements fail: the trial has no PRO data at all
    assert "no pro_responses table" in one(report, "ISO-FACEQ").message
    report = validate(make_trial(absent=["subjects"]))
    assert one(report, "SCH-010").severity == "error"
    assert report.rules["SCH-009"].status == "could_not_run"


def test_sch011_required_cell_empty() -> None:
    tables = clean_tables()
    tables["subjects"] = with_cell(tables["subjects"], 2, "disposition", None)
    report = validate(make_trial(tables))
    f = one(report, "SCH-011")
    assert (f.table, f.row, f.column, f.subject_id, f.severity) == (
        "subjects",
        2,
        "disposition",
        "S02",
        "error",
    )
    assert "required disposition is empty" in f.message


def test_sch012_coded_values() -> None:
    tables = clean_tables()
    tables["subjects"] = with_cell(tables["subjects"], 1, "disposition", "Completed")
    tables["adverse_events"] = with_cell(tables["adverse_events"], 1, "severity", "grade 1")
    report = validate(make_trial(tables))
    found = {f.table: f for f in of(report, "SCH-012")}
    assert set(found) == {"subjects", "adverse_events"}
    assert "(did you mean 'completed'?)" in found["subjects"].message
    assert found["adverse_events"].value == "grade 1"


def test_manifest_arm_without_control_keeps_other_rules_running() -> None:
    manifest = make_manifest(arms=(Arm("ACTIVE", "a", False), Arm("VEHICLE", "v", False)))
    report = validate(make_trial(manifest=manifest))
    assert failed(report) == {"DES-001", "ISO-RCT"}
    assert dataclasses.asdict(report.rules["DES-001"])["n_error"] == 1


def test_reader_exclusions_are_a_notice_not_a_cell_error() -> None:
    """Records a reader left out on purpose (imputed ADaM rows) -> SCH-013 notice only."""
    from efficacy.io import read_adam

    adam = Path(__file__).resolve().parents[1] / "reference" / "adam"
    trial = read_adam(adam / "cdiscpilot01_adsl.xpt", adam / "cdiscpilot01_adqscibc.xpt")
    frame = validate(trial).to_frame()
    sch013 = frame[frame["rule_id"] == "SCH-013"]
    assert sch013["severity"].tolist() == ["notice", "notice"]
    assert sch013["message"].iloc[0] == (
        "cdiscpilot01_adqscibc.xpt: 193 of 730 records left out (25 with ANL01FL not 'Y'; "
        "168 with DTYPE LOCF (derived, not observed))"
    )
    assert (
        sch013["message"]
        .iloc[1]
        .startswith("cdiscpilot01_adqscibc.xpt: CIBICVAL (CIBIC Score) has no baseline record")
    )
    assert not (frame["rule_id"] == "SCH-004").any()
