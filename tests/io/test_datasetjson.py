"""CDISC Dataset-JSON v1.1: exact round trips on the CDISC examples, conformance problems.

Reference files: tests/reference/datasetjson (README there: origin, licence, checksums).
"""

from __future__ import annotations

import copy
import json
import zlib
from pathlib import Path

import pandas as pd
import pytest

from efficacy.errors import EfficacyError, InputError
from efficacy.io.datasetjson import (
    DATASET_JSON_RULES,
    DatasetMetadata,
    datasetjson_bytes,
    read_datasetjson,
    write_datasetjson,
)

REF = Path(__file__).resolve().parents[1] / "reference" / "datasetjson"
EXAMPLES = [
    "adsl.json",
    "adsl.ndjson",
    "adsl.dsjc",
    "adcibc.json",
    "adcibc.ndjson",
    "adcibc.dsjc",
    "adae.dsjc",
    "adadas.dsjc",
]


def _document(data: bytes, form: str) -> dict:
    """A Dataset-JSON file of any form as one JSON object (metadata plus rows)."""
    if form == "dsjc":
        data = zlib.decompressobj(47).decompress(data)
    text = data.decode("utf-8")
    if form == "json":
        return json.loads(text)
    lines = [line for line in text.split("\n") if line.strip()]
    return {**json.loads(lines[0]), "rows": [json.loads(line) for line in lines[1:]]}


def _canonical(doc: dict) -> str:
    """JSON text with sorted keys: equal text = equal JSON data, and 1 is not 1.0 or true.

    Object members are sorted because JSON gives their order no meaning (the CDISC .dsjc
    examples list the top-level attributes in another order than the specification's,
    which the writer follows).
    """
    return json.dumps(doc, sort_keys=True, ensure_ascii=False)


@pytest.mark.parametrize("name", EXAMPLES)
def test_round_trip_is_exact(name: str) -> None:
    path = REF / name
    form = path.suffix[1:]
    frame, meta, _ = read_datasetjson(path)
    original = _document(path.read_bytes(), form)
    written = _document(datasetjson_bytes(frame, meta, form), form)
    assert _canonical(written) == _canonical(original)
    # metadata carried one to one
    assert meta.to_dict() == {k: v for k, v in original.items() if k != "rows"}
    assert list(frame.columns) == [c["name"] for c in original["columns"]]
    assert len(frame) == original["records"] == len(original["rows"])


def test_json_form_is_written_byte_for_byte() -> None:
    path = REF / "adsl.json"
    frame, meta, _ = read_datasetjson(path)
    assert datasetjson_bytes(frame, meta, "json") == path.read_bytes()


def test_three_forms_read_the_same() -> None:
    frames = [read_datasetjson(REF / f"adcibc.{ext}") for ext in ("json", "ndjson", "dsjc")]
    for frame, meta, problems in frames[1:]:
        pd.testing.assert_frame_equal(frame, frames[0][0])
        assert meta.columns == frames[0][1].columns
        assert problems == ()
    # the .dsjc was made by another tool (VDE Dataset Converter 0.6.0), at another time
    assert frames[1][1] == frames[0][1]
    assert frames[2][1].source_system.name == "VDE Dataset Converter"


def test_adsl_types_values_and_metadata() -> None:
    frame, meta, problems = read_datasetjson(REF / "adsl.json")
    assert problems == ()
    assert (meta.name, meta.label, meta.records, meta.item_group_oid) == (
        "ADSL",
        "Subject-Level Analysis",
        254,
        "IG.ADSL",
    )
    assert meta.source_system is not None and meta.source_system.version == "9.0401M7"
    usubjid = meta.column("USUBJID")
    assert (usubjid.item_oid, usubjid.label, usubjid.length, usubjid.key_sequence) == (
        "IT.ADSL.USUBJID",
        "Unique Subject Identifier",
        11,
        1,
    )
    trtsdt = meta.column("TRTSDT")
    assert (trtsdt.data_type, trtsdt.target_data_type, trtsdt.display_format) == (
        "date",
        "integer",
        "DATE9.",
    )
    assert str(frame["TRTSDT"].dtype) == "datetime64[s]"
    assert frame.loc[1, "TRTSDT"] == pd.Timestamp("2014-01-02")
    assert str(frame["AGE"].dtype) == "Int64" and frame.loc[1, "AGE"] == 63
    assert str(frame["BMIBL"].dtype) == "float64" and frame.loc[1, "BMIBL"] == 25.1
    assert frame["BMIBL"].isna().sum() == 1  # a null in the file
    # datetime without targetDataType stays ISO text; "" and null stay apart
    assert isinstance(frame["RFSTDTC"].dtype, pd.StringDtype)
    assert frame.loc[1, "DCSREAS"] == "" and frame.loc[2, "DCSREAS"] == "Adverse Event"
    assert frame.index.name == "row" and frame.index[0] == 1


def test_adae_null_integer_column_and_empty_text() -> None:
    frame, _, problems = read_datasetjson(REF / "adae.dsjc")
    assert problems == ()
    assert str(frame["AELLTCD"].dtype) == "Int64" and frame["AELLTCD"].isna().all()
    assert frame["AENDT"].isna().sum() > 0  # null dates are NaT, not text
    assert frame.loc[1, "AETERM"] == "APPLICATION SITE ERYTHEMA"


def test_cdisc_adadas_integer_columns_with_fractions_are_warnings() -> None:
    frame, _, problems = read_datasetjson(REF / "adadas.dsjc")
    assert {p.rule_id for p in problems} == {"DSJ-004"}
    assert {p.severity for p in problems} == {"warning"}
    counts = pd.Series([p.column for p in problems]).value_counts().to_dict()
    assert counts == {"PCHG": 2069, "AVAL": 36, "CHG": 36, "BASE": 17}
    first = next(p for p in problems if p.column == "AVAL")
    assert (first.pointer, first.row, first.value) == ("/rows/374/26", 375, "56.724137931")
    assert frame.loc[375, "AVAL"] == 56.724137931 and str(frame["AVAL"].dtype) == "float64"
    assert str(frame["AVISITN"].dtype) == "Int64"
    finding = first.to_finding("measurements")
    assert (finding.rule_id, finding.category, finding.row, finding.column) == (
        "DSJ-004",
        "schema",
        375,
        "AVAL",
    )
    assert "/rows/374/26" in finding.message


def _write(tmp_path: Path, doc: dict, name: str = "bad.json") -> Path:
    path = tmp_path / name
    path.write_text(json.dumps(doc), encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def adcibc() -> dict:
    return json.loads((REF / "adcibc.json").read_text(encoding="utf-8"))


def _problems(tmp_path: Path, doc: dict) -> list[tuple[str, str]]:
    _, _, problems = read_datasetjson(_write(tmp_path, doc))
    return [(p.rule_id, p.pointer) for p in problems]


def test_schema_problems_name_the_json_path(tmp_path: Path, adcibc: dict) -> None:
    doc = copy.deepcopy(adcibc)
    del doc["columns"][3]["label"]
    doc["columns"][2]["dataType"] = "text"
    doc["datasetJSONVersion"] = "1.0.0"
    doc["sourceSystem"] = {"name": "SAS"}
    doc["sponsor"] = "X"
    _, _, problems = read_datasetjson(_write(tmp_path, doc))
    found = {(p.rule_id, p.pointer, p.column) for p in problems}
    assert found == {
        ("DSJ-001", "/columns/3", "USUBJID"),
        ("DSJ-001", "/columns/2/dataType", "SITEGR1"),
        ("DSJ-001", "/datasetJSONVersion", None),
        ("DSJ-001", "/sourceSystem", None),
        ("DSJ-001", "", None),
    }
    by_pointer = {p.pointer: p for p in problems}
    assert "'label' is a required property" in by_pointer["/columns/3"].message
    assert "'sponsor' was unexpected" in by_pointer[""].message
    assert by_pointer["/datasetJSONVersion"].value == '"1.0.0"'
    assert all(p.severity == "error" for p in problems)
    assert DATASET_JSON_RULES["DSJ-001"].title.startswith("Conforms")


def test_record_problems(tmp_path: Path, adcibc: dict) -> None:
    doc = copy.deepcopy(adcibc)
    doc["records"] = 731
    doc["rows"][5] = doc["rows"][5][:-1]  # one value short
    doc["rows"][0][7] = "0"  # TRTPN (integer) as text
    doc["rows"][1][4] = "2014-01"  # TRTSDT: date with targetDataType integer, incomplete
    doc["rows"][2][17] = "Week 8 (scheduled analysis visit)"  # AVISIT, length 16
    doc["rows"][3] = {"USUBJID": "x"}  # an object in .json
    assert sorted(_problems(tmp_path, doc)) == [
        ("DSJ-001", "/rows/3"),
        ("DSJ-002", "/records"),
        ("DSJ-003", "/rows/5"),
        ("DSJ-004", "/rows/0/7"),
        ("DSJ-004", "/rows/1/4"),
        ("DSJ-005", "/rows/2/17"),
    ]
    frame, _, problems = read_datasetjson(tmp_path / "bad.json")
    assert frame.loc[1, "TRTPN"] == "0"  # kept as given (object column), not lost
    assert frame.loc[2, "TRTSDT"] == "2014-01"  # the date column stays text
    assert frame.loc[6].iloc[-1] is None or pd.isna(frame.loc[6].iloc[-1])
    length = next(p for p in problems if p.rule_id == "DSJ-005")
    assert (
        length.row == 3
        and length.column == "AVISIT"
        and "longer than its length 16" in (length.message)
    )


def test_column_definition_problems(tmp_path: Path, adcibc: dict) -> None:
    doc = copy.deepcopy(adcibc)
    doc["columns"][1]["name"] = "STUDYID"
    doc["columns"][7]["targetDataType"] = "decimal"  # TRTPN is integer
    doc["columns"][0]["keySequence"] = 1  # USUBJID has keySequence 1
    assert sorted(_problems(tmp_path, doc)) == [
        ("DSJ-006", "/columns/1/name"),
        ("DSJ-006", "/columns/3/keySequence"),
        ("DSJ-006", "/columns/7/targetDataType"),
    ]


def test_ndjson_and_dsjc_written_by_us_read_back(tmp_path: Path) -> None:
    frame, meta, _ = read_datasetjson(REF / "adcibc.json")
    for ext in ("ndjson", "dsjc"):
        target = write_datasetjson(tmp_path / f"out.{ext}", frame, meta)
        again, meta2, problems = read_datasetjson(target)
        pd.testing.assert_frame_equal(again, frame)
        assert meta2 == meta and problems == ()
    assert zlib.decompress((tmp_path / "out.dsjc").read_bytes()).startswith(b'{"dataset')


@pytest.mark.parametrize(
    ("name", "data", "expected"),
    [
        ("a.json", b'{"name": "ADSL",\n "records": }', "a.json line 2 column 13: not valid JSON"),
        ("a.json", b"[1, 2]", "the JSON is a list, not a Dataset-JSON object"),
        (
            "a.ndjson",
            b'{"name": "X"}\n[1]\n[2]]\n',
            "a.ndjson line 3 column 4: not one JSON record",
        ),
        ("a.dsjc", b"not compressed", "not a zLib-compressed Dataset-NDJSON file"),
        ("a.json", b'{"label": "caf\xe9"}', "a.json line 1: not UTF-8 text (byte 0xe9)"),
        ("a.txt", b"{}", "not a Dataset-JSON file name"),
        ("a.json", b"[" * 100_000, "JSON nested too deeply to be a dataset"),
    ],
)
def test_unusable_files_raise_one_line(
    tmp_path: Path, name: str, data: bytes, expected: str
) -> None:
    path = tmp_path / name
    path.write_bytes(data)
    with pytest.raises(InputError, match=expected.replace("(", r"\(").replace(")", r"\)")) as err:
        read_datasetjson(path)
    assert "\n" not in str(err.value)


def test_writer_refuses_mismatched_columns_and_infinity() -> None:
    frame, meta, _ = read_datasetjson(REF / "adcibc.dsjc")
    with pytest.raises(EfficacyError, match="differ from the metadata"):
        datasetjson_bytes(frame.iloc[:, 1:], meta)
    bad = frame.copy()
    bad["AVAL"] = bad["AVAL"].astype(float)
    bad.loc[3, "AVAL"] = float("inf")
    with pytest.raises(EfficacyError, match="column AVAL: record 3 is inf"):
        datasetjson_bytes(bad, meta)


def test_metadata_keeps_unknown_and_mistyped_attributes() -> None:
    raw = {
        "datasetJSONCreationDateTime": "2024-01-01T00:00:00",
        "datasetJSONVersion": "1.1.0",
        "itemGroupOID": "IG.X",
        "records": "3",
        "name": "X",
        "label": "x",
        "columns": [
            {"itemOID": "IT.A", "name": "A", "label": "a", "dataType": "string", "note": 1}
        ],
        "extraAttribute": [1],
    }
    meta = DatasetMetadata.from_dict(raw)
    assert meta.records == -1 and meta.extra["records"] == "3"
    assert meta.to_dict() == raw


def test_typed_columns_without_records_round_trip(tmp_path: Path) -> None:
    kinds = [("string", None), ("integer", None), ("boolean", None), ("decimal", "decimal")]
    kinds += [("time", "integer"), ("date", "integer"), ("datetime", "integer")]
    columns = [
        {"itemOID": f"IT.{i}", "name": f"V{i}", "label": "", "dataType": d}
        | ({"targetDataType": t} if t else {})
        for i, (d, t) in enumerate(kinds)
    ]
    doc = {
        "datasetJSONCreationDateTime": "2024-01-01T00:00:00",
        "datasetJSONVersion": "1.1.0",
        "itemGroupOID": "IG.X",
        "records": 2,
        "name": "X",
        "label": "",
        "columns": columns,
        "rows": [
            ["a", 1, True, "162.90", "10:20:30", "2020-02-29", "2020-01-01T10:00:00"],
            [None, None, False, None, None, None, None],
        ],
    }
    for rows in (doc["rows"], []):
        path = _write(tmp_path, {**doc, "rows": rows, "records": len(rows)})
        frame, meta, problems = read_datasetjson(path)
        assert problems == ()
        assert [str(t) for t in frame.dtypes] == [
            "string",
            "Int64",
            "boolean",
            "object",
            "timedelta64[s]",
            "datetime64[s]",
            "datetime64[s]",
        ]
        assert json.loads(datasetjson_bytes(frame, meta))["rows"] == rows
