from __future__ import annotations

import pandas as pd

from efficacy.validation import validate
from tests.validation.trial_factory import (
    canonical,
    clean_tables,
    failed,
    make_trial,
    of,
    one,
    row_of,
    with_cell,
)

M = "measurements"


def appended(frame: pd.DataFrame, name: str, row: int, **changes: object) -> pd.DataFrame:
    """`frame` with a copy of `row` (changed by `changes`) added at the end."""
    extra = frame.loc[[row]].assign(**changes)
    return canonical(name, pd.concat([frame, extra], ignore_index=True))


def test_int001_duplicate_subject() -> None:
    tables = clean_tables()
    tables["subjects"] = appended(tables["subjects"], "subjects", 2)
    report = validate(make_trial(tables))
    assert failed(report) == {"INT-001"}
    f = one(report, "INT-001")
    assert (f.table, f.row, f.subject_id, f.column, f.severity) == (
        "subjects",
        6,
        "S02",
        "subject_id",
        "error",
    )
    assert "appears again (first at row 2)" in f.message


def test_int002_duplicate_measurement_and_replicates() -> None:
    tables = clean_tables()
    row = row_of(tables[M], subject_id="S01", visit="W4", endpoint="corneometer")
    tables[M] = appended(tables[M], M, row)
    report = validate(make_trial(tables))
    assert failed(report) == {"INT-002"}
    f = one(report, "INT-002")
    assert (f.row, f.subject_id, f.visit, f.column) == (len(tables[M]), "S01", "W4", None)
    assert f"repeats row {row}" in f.message
    # a replicate column makes repeated readings legitimate
    m = tables[M].assign(replicate=1)
    m.loc[len(m), "replicate"] = 2
    tables[M] = m
    assert validate(make_trial(tables)).findings == ()


def test_int003_subject_in_two_arms() -> None:
    tables = clean_tables()
    tables["subjects"] = appended(tables["subjects"], "subjects", 1, arm="VEHICLE")
    report = validate(make_trial(tables))
    assert failed(report) == {"INT-001", "INT-003"}
    f = one(report, "INT-003")
    assert (f.row, f.subject_id, f.column, f.value) == (6, "S01", "arm", "VEHICLE")
    assert "in arm VEHICLE here but in ACTIVE on an earlier row" in f.message


def test_int003_split_face_site_allocated_twice() -> None:
    tables = clean_tables("split_face")
    tables["subjects"] = with_cell(
        tables["subjects"], 1, "allocation", "left_cheek=ACTIVE;left_cheek=VEHICLE"
    )
    report = validate(make_trial(tables, design="split_face"))
    f = one(report, "INT-003")
    assert (f.row, f.subject_id, f.column) == (1, "S01", "allocation")
    assert "body site 'left_cheek' is allocated more than once" in f.message
    # right_cheek readings of S01 now belong to no arm
    assert {x.subject_id for x in of(report, "DES-004")} == {"S01"}


def test_int004_day_outside_window() -> None:
    tables = clean_tables()
    row = row_of(tables[M], subject_id="S02", visit="W4", endpoint="tewl")
    tables[M] = with_cell(tables[M], row, "day", 40)
    report = validate(make_trial(tables))
    assert failed(report) == {"INT-004"}
    f = one(report, "INT-004")
    assert (f.severity, f.row, f.subject_id, f.visit, f.column, f.value) == (
        "warning",
        row,
        "S02",
        "W4",
        "day",
        "40",
    )
    assert f.message == "day 40 is outside the W4 window 28 ± 3; check the day or the visit"


def test_int005_day_order_and_pro_days() -> None:
    tables = clean_tables()
    row = row_of(tables[M], subject_id="S03", visit="W12", endpoint="corneometer")
    tables[M] = with_cell(tables[M], row, "day", 20)
    p = tables["pro_responses"]
    prow = row_of(p, subject_id="S01", visit="W12", instrument="faceq", item=4)
    tables["pro_responses"] = with_cell(p, prow, "day", 85)  # inside the window: fine
    report = validate(make_trial(tables))
    assert failed(report) == {"INT-004", "INT-005"}
    f = one(report, "INT-005")
    assert (f.row, f.subject_id, f.visit, f.severity) == (row, "S03", "W12", "error")
    assert "day 20 of visit W12 is before day 28 recorded at an earlier visit" in f.message
    assert one(report, "INT-004").row == row


def test_int006_and_int007_ranges() -> None:
    tables = clean_tables()
    r_phys = row_of(tables[M], subject_id="S01", visit="W4", endpoint="corneometer")
    r_plaus = row_of(tables[M], subject_id="S02", visit="W4", endpoint="corneometer")
    m = with_cell(tables[M], r_phys, "value", 142.0)
    tables[M] = with_cell(m, r_plaus, "value", 115.0)
    report = validate(make_trial(tables))
    assert failed(report) == {"INT-006", "INT-007"}
    phys, plaus = one(report, "INT-006"), one(report, "INT-007")
    assert (phys.row, phys.severity, phys.value, phys.column) == (r_phys, "error", "142", "value")
    assert phys.message == (
        "corneometer 142 a.u. is outside the physical limits 0-130 a.u.; "
        "check the value and its unit"
    )
    assert (plaus.row, plaus.severity, plaus.subject_id) == (r_plaus, "warning", "S02")
    assert "outside the plausible range 10-110 a.u." in plaus.message


def test_int008_cutometer_consistency() -> None:
    tables = clean_tables()
    r2 = row_of(tables[M], subject_id="S02", visit="W4", endpoint="cutometer_r2")
    tables[M] = with_cell(tables[M], r2, "value", 0.60)
    report = validate(make_trial(tables))
    assert failed(report) == {"INT-008"}
    f = one(report, "INT-008")
    assert (f.row, f.subject_id, f.visit, f.value, f.severity) == (r2, "S02", "W4", "0.6", "error")
    assert "breaks R2 = Ua/Uf (expected 0.7, relative tolerance 0.01)" in f.message
    # within tolerance (relative 1e-2): fine
    tables[M] = with_cell(tables[M], r2, "value", 0.705)
    assert validate(make_trial(tables)).findings == ()


def test_int008_retraction_beyond_deformation() -> None:
    tables = clean_tables()
    ua = row_of(tables[M], subject_id="S01", visit="W0", endpoint="cutometer_ua")
    tables[M] = with_cell(tables[M], ua, "value", 0.35)
    report = validate(make_trial(tables))
    found = {f.message.split(" breaks ")[1].split(" (")[0]: f.row for f in of(report, "INT-008")}
    r2 = row_of(tables[M], subject_id="S01", visit="W0", endpoint="cutometer_r2")
    r8 = row_of(tables[M], subject_id="S01", visit="W0", endpoint="cutometer_r8")
    assert found == {"Ua must not exceed Uf": ua, "R8 = Ua": r8, "R2 = Ua/Uf": r2}


def test_int008_not_applicable_without_cutometer() -> None:
    tables = clean_tables()
    m = tables[M]
    tables[M] = canonical(M, m[~m["endpoint"].str.startswith("cutometer")])
    report = validate(make_trial(tables))
    assert report.rules["INT-008"].status == "not_applicable"
    assert report.rules["INT-008"].reason == "no Cutometer readings"


def test_int009_missing_value() -> None:
    tables = clean_tables()
    row = row_of(tables[M], subject_id="S04", visit="W4", endpoint="tewl")
    tables[M] = with_cell(tables[M], row, "value", float("nan"))
    report = validate(make_trial(tables))
    assert failed(report) == {"INT-009"}
    f = one(report, "INT-009")
    assert (f.row, f.subject_id, f.visit, f.column, f.value, f.severity) == (
        row,
        "S04",
        "W4",
        "value",
        None,
        "warning",
    )
    assert f.message.startswith("value is empty")


def test_int010_data_for_screen_failure() -> None:
    tables = clean_tables()
    row = row_of(tables[M], subject_id="S01", visit="W0", endpoint="corneometer")
    tables[M] = appended(tables[M], M, row, subject_id="S05")
    tables["adverse_events"] = appended(
        tables["adverse_events"], "adverse_events", 1, subject_id="S05"
    )
    report = validate(make_trial(tables))
    assert failed(report) == {"INT-010"}
    found = {f.table: f for f in of(report, "INT-010")}
    assert set(found) == {M, "adverse_events"}
    f = found[M]
    assert (f.row, f.subject_id, f.visit, f.column, f.severity) == (
        len(tables[M]),
        "S05",
        "W0",
        None,
        "error",
    )
    assert "not randomised" in f.message
    assert found["adverse_events"].row == 2


def test_int011_environment_and_not_applicable() -> None:
    tables = clean_tables()
    row = row_of(tables[M], subject_id="S01", visit="W12", endpoint="corneometer")
    tables[M] = with_cell(tables[M], row, "temperature_c", 27.5)
    report = validate(make_trial(tables))
    assert failed(report) == {"INT-011"}
    f = one(report, "INT-011")
    assert (f.severity, f.row, f.column, f.value) == ("notice", row, "temperature_c", "27.5")
    assert "temperature_c 27.5 °C is outside 18-26 °C" in f.message
    assert report.ok  # notices do not fail a trial
    report = validate(make_trial(missing={M: ["temperature_c", "humidity_pct"]}))
    assert report.rules["INT-011"].status == "not_applicable"
