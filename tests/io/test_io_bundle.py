"""read_trial on small bundles: values, dtypes, row numbers, issues, formats."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import numpy as np
import openpyxl
import pandas as pd
import pytest

from efficacy.io import read_trial
from efficacy.trial import OPTIONAL_TABLES, TABLE_SCHEMAS
from tests.io.bundle_factory import (
    MEASUREMENTS_CSV,
    SUBJECTS_CSV,
    TABLE_TEXTS,
    tree_hashes,
    write_bundle,
    write_manifest,
)

DTYPES = {
    "str": "string",
    "float": "float64",
    "int": "Int64",
    "bool": "boolean",
    "date": "datetime64[us]",
    "fitzpatrick": "string",
}


def _issues(trial, table=None):
    out = trial.issues
    return out if table is None else out[out["table"] == table]


def test_reads_values_and_dtypes_of_every_table(tmp_path: Path) -> None:
    trial = read_trial(write_bundle(tmp_path))
    for table, schema in TABLE_SCHEMAS.items():
        frame = trial.table(table)
        assert list(frame.columns) == [c.name for c in schema]
        assert {c.name: str(frame[c.name].dtype) for c in schema} == {
            c.name: DTYPES[c.kind] for c in schema
        }
        assert frame.index.name == "row"
        assert frame.index.tolist() == list(range(1, len(frame) + 1))
    s = trial.subjects
    assert s["subject_id"].tolist() == ["S001", "S002", "S003"]
    assert s["arm"].tolist() == ["ACTIVE", "VEHICLE", pd.NA]
    assert s["randomized"].tolist() == [True, True, False]
    assert s["per_protocol"].tolist() == [True, False, False]
    assert s["age"].tolist() == [34.0, 41.5, 29.0]
    assert s["fitzpatrick"].tolist() == ["II", "IV", "VI"]
    assert s["site_id"].tolist() == ["01", "01", "02"]  # text: leading zero kept
    assert s.loc[1, "randomization_date"] == pd.Timestamp("2025-01-15")
    assert pd.isna(s.loc[3, "randomization_date"])
    m = trial.measurements
    assert m["day"].tolist() == [0, 85, 0, 83]
    assert m.loc[4, "value"] != m.loc[4, "value"]  # empty -> NaN, no issue
    assert m.loc[3, "value"] == 45.25
    assert m["temperature_c"].isna().tolist() == [False, False, True, False]
    assert trial.pro_responses["response"].tolist()[0] == 3.0
    assert trial.adverse_events["serious"].tolist() == [False]
    assert trial.issues.empty
    assert trial.sources["measurements"].n_rows == 4
    assert trial.sources["measurements"].format == "csv"
    assert trial.sources["measurements"].path == tmp_path / "measurements.csv"


def test_manifest_fields(tmp_path: Path) -> None:
    m = read_trial(write_bundle(tmp_path) / "trial.toml").manifest
    assert (m.id, m.title, m.design, m.baseline_visit) == (
        "EFF-T-001",
        "Test trial",
        "parallel",
        "W0",
    )
    assert [(a.id, a.control) for a in m.arms] == [("ACTIVE", False), ("VEHICLE", True)]
    assert [(v.id, v.week, v.day, v.window_days) for v in m.visits] == [
        ("W0", 0.0, 0, 0),
        ("W12", 12.0, 84, 7),
    ]
    assert m.planned_weeks == 12.0
    assert m.consort["registration_id"] == "NCT01234567"
    assert m.tables["subjects"] == "subjects.csv"
    assert m.path == tmp_path / "trial.toml"


@pytest.mark.parametrize("fmt", ["parquet", "xlsx"])
def test_formats_give_identical_trials(tmp_path: Path, fmt: str) -> None:
    csv = read_trial(write_bundle(tmp_path / "csv", "csv"))
    other = read_trial(write_bundle(tmp_path / fmt, fmt))
    for table in TABLE_SCHEMAS:
        pd.testing.assert_frame_equal(csv.table(table), other.table(table))
        written = table not in OPTIONAL_TABLES
        assert other.sources[table].format == (fmt if written else None)
    pd.testing.assert_frame_equal(csv.issues, other.issues)


def test_typed_parquet_and_excel_match_csv(tmp_path: Path) -> None:
    """Native types (float, int, bool, date, NaN) read the same as their CSV text."""
    csv = read_trial(write_bundle(tmp_path / "csv", "csv"))
    subjects = pd.DataFrame(
        {
            "subject_id": ["S001", "S002", "S003"],
            "arm": ["ACTIVE", "VEHICLE", None],
            "randomized": [True, True, False],
            "itt": [1, 1, 0],
            "per_protocol": ["true", "N", "0"],
            "safety": [True, True, False],
            "disposition": ["completed", "discontinued", "screen_failure"],
            "discontinuation_reason": [None, "moved away", "inclusion criteria not met"],
            "age": [34, 41.5, 29],
            "sex": ["F", "F", "M"],
            "fitzpatrick": [2, 4, 6],
            "randomization_date": [dt.date(2025, 1, 15), dt.date(2025, 1, 16), None],
            "site_id": ["01", "01", "02"],
        }
    )
    measurements = pd.read_csv(pd.io.common.StringIO(MEASUREMENTS_CSV))  # typed, NaN
    folder = tmp_path / "typed"
    folder.mkdir()
    subjects.to_parquet(folder / "subjects.parquet", index=False)
    measurements.to_parquet(folder / "measurements.parquet", index=False)
    write_manifest(folder, {"subjects": "subjects.parquet", "measurements": "measurements.parquet"})
    typed = read_trial(folder)
    pd.testing.assert_frame_equal(csv.subjects, typed.subjects)
    pd.testing.assert_frame_equal(csv.measurements, typed.measurements)

    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append(list(subjects.columns))
    for record in subjects.itertuples(index=False):
        sheet.append([None if pd.isna(v) else v for v in record])
    book.save(folder / "subjects.xlsx")
    write_manifest(folder, {"subjects": "subjects.xlsx"})
    pd.testing.assert_frame_equal(csv.subjects, read_trial(folder).subjects)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("true", True), ("TRUE", True), ("True", True), ("t", True), ("T", True),
        ("yes", True), ("Yes", True), ("y", True), ("Y", True), ("1", True),
        ("false", False), ("FALSE", False), ("f", False), ("no", False), ("NO", False),
        ("n", False), ("N", False), ("0", False), (" y ", True),
    ],
)  # fmt: skip
def test_flag_spellings(tmp_path: Path, text: str, expected: bool) -> None:
    subjects = f"subject_id,randomized,itt,disposition\nS1,{text},true,completed\n"
    write_bundle(tmp_path, texts={"subjects": subjects})
    trial = read_trial(tmp_path)
    value = trial.subjects.loc[1, "randomized"]
    assert value is not pd.NA and bool(value) is expected
    assert trial.issues.empty


def test_bad_cells_recorded_at_their_rows(tmp_path: Path) -> None:
    measurements = (
        "subject_id,visit,day,endpoint,value,unit,body_site\n"
        "S1,W0,0,corneometer,40,a.u.,cheek\n"  # row 1
        "S1,W2,14.5,corneometer,4O,a.u.,cheek\n"  # row 2: day fractional, value letter O
        "S1,W4,28,corneometer,  ,a.u.,cheek\n"  # row 3: whitespace-only value: missing
        "S1,W8,x,corneometer,NA,a.u.,cheek\n"  # row 4: day text, value NA
        'S1,W12,84,corneometer,"1,5",a.u.,cheek\n'  # row 5: decimal comma
        "S1,W12,84,corneometer,inf,a.u.,cheek\n"  # row 6: not finite
    )
    subjects = (
        "subject_id,randomized,itt,disposition,fitzpatrick,randomization_date\n"
        "S1,maybe,true,completed,VII,2025-02-30\n"
        "S2,true,true,completed,iii,15/01/2025\n"
    )
    write_bundle(tmp_path, texts={"subjects": subjects, "measurements": measurements})
    trial = read_trial(tmp_path)
    got = trial.issues[["table", "column", "row", "value"]].apply(tuple, axis=1).tolist()
    assert got == [
        ("subjects", "randomized", 1, "maybe"),
        ("subjects", "fitzpatrick", 1, "VII"),
        ("subjects", "randomization_date", 1, "2025-02-30"),
        ("subjects", "randomization_date", 2, "15/01/2025"),
        ("measurements", "day", 2, "14.5"),
        ("measurements", "day", 4, "x"),
        ("measurements", "value", 2, "4O"),
        ("measurements", "value", 4, "NA"),
        ("measurements", "value", 5, "1,5"),
        ("measurements", "value", 6, "inf"),
    ]
    problems = dict(zip(trial.issues["column"], trial.issues["problem"], strict=False))
    assert problems["randomized"].startswith("not a flag")
    assert problems["value"].startswith("not a number")
    assert problems["day"].startswith("not a whole number")
    assert problems["randomization_date"].startswith("not an ISO 8601 date")
    assert problems["fitzpatrick"].startswith("not a Fitzpatrick phototype")
    m = trial.measurements
    assert m["value"].isna().tolist() == [False, True, True, True, True, True]
    assert m["day"].isna().tolist() == [False, True, False, True, False, False]
    assert trial.subjects["fitzpatrick"].tolist() == [pd.NA, "III"]
    assert list(trial.issues.columns) == ["table", "column", "row", "value", "problem", "kind"]
    assert set(trial.issues["kind"]) == {"problem"}


def test_whitespace_stripped_and_extra_columns_kept(tmp_path: Path) -> None:
    measurements = (
        " subject_id , visit ,day,endpoint,value,unit,body_site,replicate,Operator\n"
        "  S1 , W0 ,0,corneometer, 40.5 ,a.u.,cheek,1, Ann \n"
        "S1,W0,0,corneometer,41,a.u.,cheek,2,\n"
    )
    write_bundle(tmp_path, texts={"measurements": measurements})
    trial = read_trial(tmp_path)
    m = trial.measurements
    assert m["subject_id"].tolist() == ["S1", "S1"]
    assert m["visit"].tolist() == ["W0", "W0"]
    assert m["value"].tolist() == [40.5, 41.0]
    assert list(m.columns[-2:]) == ["replicate", "Operator"]
    assert m["replicate"].tolist() == ["1", "2"]
    assert m["Operator"].tolist() == ["Ann", pd.NA]
    assert str(m["Operator"].dtype) == "string"
    source = trial.sources["measurements"]
    assert source.extra_columns == ("replicate", "Operator")
    assert source.missing_columns == ("device", "device_settings", "temperature_c", "humidity_pct")
    assert m["device"].isna().all() and str(m["device"].dtype) == "string"
    assert m["temperature_c"].isna().all() and m["temperature_c"].dtype == np.float64
    assert trial.issues.empty


def test_near_miss_headers_suggested_not_renamed(tmp_path: Path) -> None:
    subjects = "Subject ID,Arm,randomised,ITT,disposition\nS1,ACTIVE,true,true,completed\n"
    write_bundle(tmp_path, texts={"subjects": subjects})
    trial = read_trial(tmp_path)
    source = trial.sources["subjects"]
    assert {"subject_id", "arm", "randomized", "itt"} <= set(source.missing_columns)
    assert source.extra_columns == ("Subject ID", "Arm", "randomised", "ITT")
    assert trial.subjects["subject_id"].isna().all()
    assert trial.subjects["Subject ID"].tolist() == ["S1"]
    issues = trial.issues
    assert issues["problem"].tolist() == [
        "column 'Subject ID' looks like 'subject_id': rename it",
        "column 'Arm' looks like 'arm': rename it",
        "column 'randomised' looks like 'randomized': rename it",
        "column 'ITT' looks like 'itt': rename it",
    ]
    assert issues["row"].isna().all()
    assert set(issues["column"]) == {"subject_id", "arm", "randomized", "itt"}


def test_absent_table_is_empty_with_schema(tmp_path: Path) -> None:
    write_bundle(tmp_path, texts={"subjects": SUBJECTS_CSV})
    trial = read_trial(tmp_path)
    ae = trial.adverse_events
    assert ae.empty and list(ae.columns) == [c.name for c in TABLE_SCHEMAS["adverse_events"]]
    assert str(ae["serious"].dtype) == "boolean" and ae.index.name == "row"
    assert trial.sources["adverse_events"].path is None


def test_excel_sheet_selection_and_row_numbers(tmp_path: Path) -> None:
    book = openpyxl.Workbook()
    book.active.title = "Notes"
    book.active.append(["this sheet is not data"])
    sheet = book.create_sheet("Measurements")
    sheet.append([])  # a blank first row: the header is the first non-empty row
    sheet.append(["subject_id", "visit", "day", "endpoint", "value", "unit", "body_site"])
    sheet.append(["S1", "W0", 0, "corneometer", 40.5, "a.u.", "cheek"])  # data row 1
    sheet.append([None] * 7)  # blank data row 2 (skipped, still counted)
    sheet.append(["S1", "W12", 84, "corneometer", "high", "a.u.", "cheek"])  # data row 3
    book.save(tmp_path / "data.xlsx")
    write_manifest(tmp_path, {"measurements": "data.xlsx#Measurements"})
    trial = read_trial(tmp_path)
    m = trial.measurements
    assert m.index.tolist() == [1, 3]
    assert m["day"].tolist() == [0, 84]
    assert trial.issues[["column", "row", "value"]].values.tolist() == [["value", 3, "high"]]


def test_inputs_unchanged(tmp_path: Path) -> None:
    for fmt in ("csv", "parquet", "xlsx"):
        folder = write_bundle(tmp_path / fmt, fmt)
        before = tree_hashes(folder)
        read_trial(folder)
        assert tree_hashes(folder) == before
        assert sorted(before) == sorted(["trial.toml", *(f"{t}.{fmt}" for t in TABLE_TEXTS)])


def test_subfolder_paths_and_dotdot_inside_bundle(tmp_path: Path) -> None:
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "subjects.csv").write_text(SUBJECTS_CSV)
    write_manifest(tmp_path, {"subjects": "data/../data/subjects.csv"})
    assert len(read_trial(tmp_path).subjects) == 3


def test_header_only_and_multiline_header(tmp_path: Path) -> None:
    write_bundle(tmp_path, texts={"subjects": "subject_id,randomized\n"})
    trial = read_trial(tmp_path)
    assert trial.subjects.empty and trial.sources["subjects"].n_rows == 0
    assert str(trial.subjects["randomized"].dtype) == "boolean"
    # a quoted header cell spanning two lines: the data start after it
    write_bundle(tmp_path, texts={"subjects": '"subject_id\n",randomized\nS1,true\nS2,n\n'})
    trial = read_trial(tmp_path)
    assert trial.subjects["subject_id"].tolist() == ["S1", "S2"]
    assert trial.subjects["randomized"].tolist() == [True, False]
    assert trial.subjects.index.tolist() == [1, 2]


def test_quoted_cells_with_commas_and_newlines(tmp_path: Path) -> None:
    subjects = (
        "subject_id,randomized,itt,disposition,discontinuation_reason\n"
        'S1,true,true,discontinued,"moved, abroad"\n'
        'S2,true,true,discontinued,"line one\nline two"\n'
        "S3,true,maybe,completed,\n"
    )
    write_bundle(tmp_path, texts={"subjects": subjects})
    trial = read_trial(tmp_path)
    reasons = trial.subjects["discontinuation_reason"].tolist()
    assert reasons == ["moved, abroad", "line one\nline two", pd.NA]
    # row numbers count records, not physical lines
    assert trial.issues[["column", "row", "value"]].values.tolist() == [["itt", 3, "maybe"]]
