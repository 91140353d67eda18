"""read_dataset (any format) and the XPT v5 writer with its limit checks."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from efficacy.errors import EfficacyError, InputError
from efficacy.io import read_dataset
from efficacy.io.datasets import dataset_bytes, metadata_for, xpt_problems

REF = Path(__file__).resolve().parents[1] / "reference" / "datasetjson"


def _values(series: pd.Series) -> list[object]:
    return series.astype(object).where(series.notna(), None).tolist()


@pytest.fixture(scope="module")
def adsl_json() -> tuple:
    return read_dataset(REF / "adsl.json")


def test_xpt_and_dataset_json_of_the_cdisc_adsl_agree(adsl_json: tuple) -> None:
    xpt, xmeta, problems = read_dataset(REF / "adsl.xpt")
    dsj, jmeta, _ = adsl_json
    assert problems == ()
    assert list(xpt.columns) == list(dsj.columns)
    for name in xpt.columns:  # every value of all 254 x 49 cells
        assert _values(xpt[name]) == _values(dsj[name]), name
    assert (xmeta.name, xmeta.label) == ("ADSL", "Subject-Level Analysis Dataset")
    # labels, character lengths and date formats come from the XPT file and match CDISC's
    for c in xmeta.columns:
        j = jmeta.column(c.name)
        assert c.label == j.label, c.name
        assert (c.data_type == "string") == (j.data_type in ("string", "datetime")), c.name
        if j.data_type == "string":
            assert c.length == j.length, c.name
    assert xmeta.column("TRTSDT").display_format == "DATE9."
    assert str(xpt["TRTSDT"].dtype) == "datetime64[s]" and str(xpt["AGE"].dtype) == "Int64"


def test_xpt_written_from_dataset_json_reads_back_equal(tmp_path: Path, adsl_json: tuple) -> None:
    frame, meta, _ = adsl_json
    path = tmp_path / "adsl.xpt"
    path.write_bytes(dataset_bytes(frame, meta, "xpt"))
    back, bmeta, _ = read_dataset(path)
    for name in frame.columns:
        assert _values(back[name]) == _values(frame[name]), name
    assert [c.label for c in bmeta.columns] == [c.label for c in meta.columns]
    assert (bmeta.name, bmeta.label) == ("ADSL", "Subject-Level Analysis")


def test_csv_and_parquet_are_typed(tmp_path: Path) -> None:
    frame = pd.DataFrame(
        {
            "USUBJID": ["01", "02", "03"],
            "AVAL": ["1.5", "", "3"],
            "AGE": ["40", "41", "42"],
            "VISIT": ["2", "WEEK 4", "8"],  # one cell is not a number: the column stays text
        }
    )
    (tmp_path / "adx.csv").write_text(frame.to_csv(index=False), encoding="utf-8")
    frame.to_parquet(tmp_path / "adx.parquet", index=False)
    for name in ("adx.csv", "adx.parquet"):
        data, meta, problems = read_dataset(tmp_path / name)
        assert problems == () and meta.name == "ADX"
        assert [c.data_type for c in meta.columns] == ["string", "float", "integer", "string"]
        assert _values(data["VISIT"]) == ["2", "WEEK 4", "8"]
        assert _values(data["USUBJID"]) == ["01", "02", "03"]  # leading zeros kept
        assert _values(data["AVAL"]) == [1.5, None, 3.0]
        assert _values(data["AGE"]) == [40, 41, 42]


def test_unsupported_or_missing_file(tmp_path: Path) -> None:
    with pytest.raises(InputError, match=r"unsupported dataset type '\.sas7bdat'"):
        read_dataset(tmp_path / "adsl.sas7bdat")
    with pytest.raises(InputError, match="no such file"):
        read_dataset(tmp_path / "adsl.xpt")


def test_xpt_limits_are_checked_before_writing() -> None:
    frame = pd.DataFrame(
        {
            "USUBJID": pd.array(["S1", "S2"], dtype="string"),
            "DCSREAS": pd.array(["moved", "déménagé"], dtype="string"),
            "LONGNAME9": pd.array(["a", "b" * 201], dtype="string"),
        }
    )
    meta = metadata_for(frame, "ADVERYLONG", "x" * 41, {"USUBJID": "Unique Subject Identifier"})
    problems = xpt_problems(frame, meta)
    assert problems == [
        "dataset name 'ADVERYLONG' is not 1-8 letters, digits or _; rename the dataset",
        f"ADVERYLONG: dataset label {'x' * 41!r} is longer than 40 characters or not ASCII; "
        "shorten it to 40 ASCII characters",
        "ADVERYLONG.DCSREAS: value 'déménagé' is not ASCII (XPT v5 holds ASCII text); "
        "transliterate it",
        "ADVERYLONG.LONGNAME9: variable name is not 1-8 letters, digits or _ (XPT v5); rename it",
        "ADVERYLONG.LONGNAME9: a value is 201 bytes (XPT v5 holds at most 200); shorten the "
        "values or split the variable",
    ]
    with pytest.raises(EfficacyError, match=r"cannot write XPT v5: dataset name .*\(and 4 more\)"):
        dataset_bytes(frame, meta, "xpt")
    # Dataset-JSON has none of these limits
    assert dataset_bytes(frame, meta, "json").startswith(b'{"datasetJSONCreationDateTime"')


def test_text_frame_is_what_the_adam_mapping_reads_today() -> None:
    """as_text_frame(read_dataset(x)) equals efficacy.io.adam.read_dataset(x) on the pilot,
    and the Dataset-JSON ADSL gives the same text as its XPT."""
    from efficacy.io import adam
    from efficacy.io.datasets import as_text_frame

    pilot = REF.parent / "adam" / "cdiscpilot01_adqscibc.xpt"
    old, _, _ = adam.read_dataset(pilot)
    new = as_text_frame(*read_dataset(pilot)[:2])
    pd.testing.assert_frame_equal(new, old, check_dtype=True)
    xpt = as_text_frame(*read_dataset(REF / "adsl.xpt")[:2])
    dsj = as_text_frame(*read_dataset(REF / "adsl.dsjc")[:2])
    assert xpt.loc[1, "TRTSDT"] == "2014-01-02" and xpt.loc[1, "AGE"] == "63"
    for name in xpt.columns:
        assert _values(xpt[name]) == _values(dsj[name]), name
