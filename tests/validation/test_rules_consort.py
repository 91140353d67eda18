from __future__ import annotations

from pathlib import Path

from efficacy.validation import validate
from tests.validation.trial_factory import (
    CONSORT,
    canonical,
    clean_tables,
    failed,
    make_manifest,
    make_trial,
    of,
    one,
    with_cell,
)

S = "subjects"


def with_flow(**flow: object) -> dict:
    return {**CONSORT, "flow": flow}


def test_con001_excluded_mismatch_gives_one_finding() -> None:
    consort = with_flow(assessed_for_eligibility=5, excluded=3, randomised=4)
    report = validate(make_trial(manifest=make_manifest(consort=consort)))
    assert failed(report) == {"CON-001"}
    f = one(report, "CON-001")
    assert (f.severity, f.table, f.column, f.value, f.row) == (
        "error",
        "manifest",
        "excluded",
        "3",
        None,
    )
    assert f.message.startswith("[consort.flow] excluded = 3 but the data have 1 excluded")
    assert "assessed 5 != excluded 3 + randomised 4" in f.message


def test_con001_arithmetic_alone_and_per_arm_counts() -> None:
    consort = with_flow(
        assessed_for_eligibility=5,
        randomised=4,
        allocated={"ACTIVE": 2, "VEHICLE": 1},
        lost_to_follow_up={"ACTIVE": 0, "VEHICLE": 0},
        discontinued={"VEHICLE": 1},
        analysed={"ACTIVE": 2, "VEHICLE": 2},
        screened_today=9,
    )
    report = validate(make_trial(manifest=make_manifest(consort=consort)))
    found = [(f.column, f.value, f.severity) for f in of(report, "CON-001")]
    assert found == [("allocated", "1", "error")]
    allocated = one(report, "CON-001")
    assert allocated.message.startswith("[consort.flow.allocated] VEHICLE is 1 but the data have 2")
    # the unknown key and the per-arm table lacking an arm are manifest problems
    schema = {f.column: f.message for f in of(report, "SCH-001")}
    assert set(schema) == {"consort.flow.screened_today", "consort.flow.discontinued"}
    assert "not a [consort.flow] count" in schema["consort.flow.screened_today"]
    assert "no count for arm(s) ACTIVE" in schema["consort.flow.discontinued"]


def test_con001_not_applicable_without_flow() -> None:
    consort = {k: v for k, v in CONSORT.items() if k != "flow"}
    report = validate(make_trial(manifest=make_manifest(consort=consort)))
    assert report.rules["CON-001"].status == "not_applicable"
    assert "no [consort.flow]" in report.rules["CON-001"].reason


def test_con002_randomisation_and_disposition() -> None:
    tables = clean_tables()
    s = with_cell(tables[S], 5, "discontinuation_reason", None)  # screen failure, no reason
    s = with_cell(s, 3, "arm", None)  # randomised, no arm
    tables[S] = with_cell(s, 1, "disposition", "screen_failure")  # randomised screen failure
    report = validate(make_trial(tables))
    found = {(f.row, f.column): f for f in of(report, "CON-002")}
    assert set(found) == {(5, "discontinuation_reason"), (1, "disposition"), (3, "arm")}
    assert found[(5, "discontinuation_reason")].subject_id == "S05"
    assert found[(5, "discontinuation_reason")].message.startswith("not randomised but no reason")
    assert (
        found[(1, "disposition")].message == "randomised, so disposition cannot be screen_failure"
    )
    assert found[(3, "arm")].message == "randomised but arm is empty; record the allocation"
    # S01 has no final-visit data problem, but S03 has no arm: DES/ISO rules still fine
    assert "CON-006" not in failed(report)


def test_con002_split_face_needs_allocation() -> None:
    tables = clean_tables("split_face")
    tables[S] = with_cell(tables[S], 4, "allocation", None)
    report = validate(make_trial(tables, design="split_face"))
    f = one(report, "CON-002")
    assert (f.row, f.column, f.subject_id) == (4, "allocation", "S04")


def test_con003_population_flags() -> None:
    tables = clean_tables()
    s = with_cell(tables[S], 5, "itt", True)
    tables[S] = with_cell(s, 2, "itt", False)  # S02 stays per_protocol
    report = validate(make_trial(tables))
    found = {f.row: f for f in of(report, "CON-003")}
    assert set(found) == {2, 5}
    assert (found[5].column, found[5].message) == (
        "itt",
        "itt = true for a person not randomised; set it false",
    )
    assert found[2].column == "itt" and "per_protocol = true but itt = false" in found[2].message


def test_con004_discontinued_without_reason() -> None:
    tables = clean_tables()
    tables[S] = with_cell(tables[S], 4, "discontinuation_reason", None)
    report = validate(make_trial(tables))
    assert failed(report) == {"CON-004"}
    f = one(report, "CON-004")
    assert (f.severity, f.row, f.subject_id, f.column) == (
        "warning",
        4,
        "S04",
        "discontinuation_reason",
    )
    assert f.message.startswith("discontinued without a reason")


def test_con005_attested_items(tmp_path: Path) -> None:
    consort = {k: v for k, v in CONSORT.items() if k != "registration_date"}
    consort["funding"] = "  "
    report = validate(make_trial(manifest=make_manifest(consort=consort)))
    assert failed(report) == {"CON-005"}
    found = [(f.column, f.severity, f.table) for f in of(report, "CON-005")]
    assert found == [
        ("registration_date", "warning", "manifest"),
        ("funding", "warning", "manifest"),
    ]
    # a protocol can ask for more items
    path = tmp_path / "coi.toml"
    path.write_text(
        'extends = "iso-efficacy-2025"\n[validation]\nconsort_items = ["conflicts_of_interest"]\n'
    )
    report = validate(make_trial(), protocol=path)
    assert one(report, "CON-005").column == "conflicts_of_interest"


def test_con006_completer_without_final_visit() -> None:
    tables = clean_tables()
    m = tables["measurements"]
    drop = (m["subject_id"] == "S01") & (m["visit"] == "W12")
    tables["measurements"] = canonical("measurements", m[~drop.to_numpy(dtype=bool)])
    report = validate(make_trial(tables))
    assert failed(report) == {"CON-006"}
    f = one(report, "CON-006")
    assert (f.severity, f.table, f.row, f.subject_id, f.column) == (
        "warning",
        S,
        1,
        "S01",
        "disposition",
    )
    assert "completed but no measurement at the final visit W12" in f.message
