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

M, P = "measurements", "pro_responses"


def test_des001_control_arm_without_randomised_subjects() -> None:
    tables = clean_tables()
    s = tables["subjects"]
    tables["subjects"] = s.assign(arm=s["arm"].replace("VEHICLE", "ACTIVE"))
    report = validate(make_trial(tables))
    assert failed(report) == {"DES-001", "ISO-RCT"}
    f = one(report, "DES-001")
    assert (f.table, f.column, f.value, f.row, f.severity) == (
        "subjects",
        "arm",
        "VEHICLE",
        None,
        "error",
    )
    assert "no randomised subject is allocated to the control arm (VEHICLE)" in f.message


def test_des002_missing_baseline() -> None:
    tables = clean_tables()
    m = tables[M]
    drop = (m["subject_id"] == "S02") & (m["visit"] == "W0") & (m["endpoint"] == "tewl")
    tables[M] = canonical(M, m[~drop.to_numpy(dtype=bool)])
    report = validate(make_trial(tables))
    assert failed(report) == {"DES-002"}
    f = one(report, "DES-002")
    assert (f.severity, f.table, f.subject_id, f.visit, f.row, f.value) == (
        "warning",
        M,
        "S02",
        "W0",
        None,
        "tewl",
    )
    assert f.message.startswith("randomised subject has no baseline (W0) tewl reading")


def test_des003_split_face_allocation() -> None:
    tables = clean_tables("split_face")
    s = with_cell(tables["subjects"], 1, "allocation", "left_cheek=ACTIVE")
    tables["subjects"] = with_cell(s, 2, "allocation", "left_cheek VEHICLE;right_cheek=ACTIVE")
    report = validate(make_trial(tables, design="split_face"))
    found = [(f.row, f.subject_id, f.column, f.message) for f in of(report, "DES-003")]
    lacks = "allocation lacks arm(s) VEHICLE; give every arm its own body site"
    assert found == [
        (
            2,
            "S02",
            "allocation",
            "allocation part 'left_cheek VEHICLE' is not of the form site=ARM",
        ),
        (1, "S01", "allocation", lacks),
        (2, "S02", "allocation", lacks),
    ]
    # S01 right_cheek and S02 left_cheek readings have no allocated arm (DES-004)
    sites = {(f.subject_id, f.value) for f in of(report, "DES-004")}
    assert sites == {("S01", "right_cheek"), ("S02", "left_cheek")}


def test_des004_measured_site_not_allocated() -> None:
    tables = clean_tables("split_face")
    row = row_of(tables[M], subject_id="S03", visit="W4", endpoint="tewl", body_site="left_cheek")
    tables[M] = with_cell(tables[M], row, "body_site", "forehead")
    report = validate(make_trial(tables, design="split_face"))
    f = one(report, "DES-004")
    assert (f.row, f.subject_id, f.visit, f.column, f.value, f.severity) == (
        row,
        "S03",
        "W4",
        "body_site",
        "forehead",
        "error",
    )
    assert "body site 'forehead' is not in this subject's allocation" in f.message


def test_pro001_skindex_out_of_range_and_fractional() -> None:
    tables = clean_tables()
    p = tables[P]
    r7 = row_of(p, subject_id="S01", visit="W4", instrument="skindex16", item=3)
    rh = row_of(p, subject_id="S02", visit="W4", instrument="skindex16", item=5)
    tables[P] = with_cell(with_cell(p, r7, "response", 7.0), rh, "response", 2.5)
    report = validate(make_trial(tables))
    assert failed(report) == {"PRO-001"}
    found = {f.row: f for f in of(report, "PRO-001")}
    assert set(found) == {r7, rh}
    f = found[r7]
    assert (f.subject_id, f.visit, f.column, f.value, f.severity) == (
        "S01",
        "W4",
        "response",
        "7",
        "error",
    )
    assert f.message.startswith("Skindex-16 response 7 is not a whole number from 0 to 6")


def test_pro002_item_range_duplicates_and_missing_items() -> None:
    tables = clean_tables()
    p = tables[P]
    r17 = row_of(p, subject_id="S01", visit="W0", instrument="skindex16", item=16)
    p = with_cell(p, r17, "item", 17)
    r9 = row_of(p, subject_id="S02", visit="W0", instrument="skindex16", item=9)
    p = canonical(P, pd.concat([p, p.loc[[r9]]], ignore_index=True))
    tables[P] = p
    report = validate(make_trial(tables))
    assert failed(report) == {"PRO-002"}
    found = of(report, "PRO-002")
    assert [(f.row, f.value) for f in found if f.row is not None] == [(r17, "17"), (len(p), "9")]
    assert "item 17 is not a Skindex-16 item (1-16)" in found[0].message
    assert "skindex16 item 9 is entered more than once" in found[1].message
    # item 16 of S01 at W0 is now absent
    group = [f for f in found if f.row is None]
    assert len(group) == 1
    assert (group[0].subject_id, group[0].visit, group[0].value) == ("S01", "W0", "16")
    assert "only 15 of the 16 Skindex-16 items are present" in group[0].message


def test_pro003_faceq_out_of_range() -> None:
    tables = clean_tables()
    row = row_of(tables[P], subject_id="S03", visit="W12", instrument="faceq", item=2)
    tables[P] = with_cell(tables[P], row, "response", 0.0)
    report = validate(make_trial(tables))
    assert failed(report) == {"PRO-003"}
    f = one(report, "PRO-003")
    assert (f.row, f.subject_id, f.visit, f.value) == (row, "S03", "W12", "0")
    assert "FACE-Q response 0 is not a whole number from 1 to 4" in f.message


def test_pro004_share_missing_with_boundary() -> None:
    tables = clean_tables()
    p = tables[P].copy()
    emotions = (p["subject_id"] == "S01") & (p["visit"] == "W12") & p["item"].isin([5, 6, 7, 8])
    symptoms = (p["subject_id"] == "S02") & (p["visit"] == "W12") & p["item"].isin([1, 2])
    sk = p["instrument"] == "skindex16"
    p.loc[(emotions & sk).to_numpy(dtype=bool), "response"] = float("nan")
    p.loc[(symptoms & sk).to_numpy(dtype=bool), "response"] = float("nan")  # 2 of 4: scorable
    tables[P] = p
    report = validate(make_trial(tables))
    assert failed(report) == {"PRO-004"}
    f = one(report, "PRO-004")
    assert (f.severity, f.table, f.row, f.subject_id, f.visit, f.column, f.value) == (
        "warning",
        P,
        None,
        "S01",
        "W12",
        "response",
        "emotions",
    )
    assert f.message.startswith("4 of 7 skindex16 emotions items unanswered (57% missing")


def test_pro004_faceq_exactly_half_missing_is_flagged() -> None:
    # FACE-Q: the mean is imputed only when fewer than half the items are missing
    # (FACTS.md 3), so 5 of 10 missing warns; 4 of 10 does not (the scorer's rule).
    tables = clean_tables()
    p = tables[P].copy()
    fq = (p["instrument"] == "faceq") & (p["scale"] == "satisfaction_facial_appearance")
    half = fq & (p["subject_id"] == "S01") & (p["visit"] == "W12") & (p["item"] <= 5)
    four = fq & (p["subject_id"] == "S02") & (p["visit"] == "W12") & (p["item"] <= 4)
    p.loc[(half | four).to_numpy(dtype=bool), "response"] = float("nan")
    tables[P] = p
    report = validate(make_trial(tables))
    assert failed(report) == {"PRO-004"}
    f = one(report, "PRO-004")
    assert (f.subject_id, f.visit, f.value) == ("S01", "W12", "satisfaction_facial_appearance")
    assert f.message == (
        "5 of 10 faceq satisfaction_facial_appearance items unanswered (50% missing; "
        "fewer than 50% may be missing): the scale cannot be scored at this visit"
    )


def test_pro004_threshold_from_protocol(tmp_path) -> None:
    tables = clean_tables()
    p = tables[P].copy()
    sel = (p["subject_id"] == "S02") & (p["visit"] == "W12") & p["item"].isin([1, 2])
    p.loc[(sel & (p["instrument"] == "skindex16")).to_numpy(dtype=bool), "response"] = None
    tables[P] = p
    strict = tmp_path / "strict.toml"
    strict.write_text(
        'extends = "iso-efficacy-2025"\n[validation]\npro_min_answered_fraction = 0.75\n'
    )
    report = validate(make_trial(tables), protocol=strict)
    assert one(report, "PRO-004").value == "symptoms"


def test_pro005_unknown_instrument() -> None:
    tables = clean_tables()
    row = row_of(tables[P], subject_id="S04", visit="W0", instrument="faceq", item=10)
    tables[P] = with_cell(tables[P], row, "instrument", "dlqi")
    report = validate(make_trial(tables))
    # the FACE-Q scale of S04 at W0 now lacks item 10 (nothing checks FACE-Q item counts)
    assert failed(report) == {"PRO-005"}
    f = one(report, "PRO-005")
    assert (f.row, f.subject_id, f.visit, f.column, f.value) == (
        row,
        "S04",
        "W0",
        "instrument",
        "dlqi",
    )
    assert "instrument 'dlqi' is not one of skindex16, faceq" in f.message
