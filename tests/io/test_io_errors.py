"""Unusable input raises InputError: one line naming the file (and line) and the fix."""

from __future__ import annotations

import os
from pathlib import Path

import pandas as pd
import pytest

from efficacy.errors import EfficacyError, InputError
from efficacy.io import read_trial
from tests.io.bundle_factory import SUBJECTS_CSV, tree_hashes, write_bundle, write_manifest


def _error(folder: Path) -> str:
    before = tree_hashes(folder)
    with pytest.raises(InputError) as info:
        read_trial(folder)
    assert tree_hashes(folder) == before  # failing reads change nothing either
    message = str(info.value)
    assert "\n" not in message
    assert isinstance(info.value, EfficacyError)
    return message


def _bundle_with(tmp_path: Path, name: str, data: bytes | str) -> Path:
    path = tmp_path / name
    if isinstance(data, str):
        path.write_text(data, encoding="utf-8")
    else:
        path.write_bytes(data)
    write_manifest(tmp_path, {"subjects": name})
    return path


def test_ragged_csv_names_file_and_line(tmp_path: Path) -> None:
    text = SUBJECTS_CSV + "S004,ACTIVE,true,true,true,true,completed,,30,F,II,2025-01-20,01,extra\n"
    path = _bundle_with(tmp_path, "subjects.csv", text)
    message = _error(tmp_path)
    assert message.startswith(f"{path} line 5: 14 fields where the header has 13")
    assert "quote values that contain commas" in message


def test_short_row_is_ragged_too(tmp_path: Path) -> None:
    text = 'subject_id,randomized,itt,disposition\n"S1",true,true,completed\nS2,true\n'
    path = _bundle_with(tmp_path, "subjects.csv", text)
    assert _error(tmp_path).startswith(f"{path} line 3: 2 fields where the header has 4")


def test_latin1_csv_suggests_utf8(tmp_path: Path) -> None:
    text = "subject_id,randomized,itt,disposition,discontinuation_reason\n"
    text += "S1,true,true,completed,\nS2,true,true,discontinued,d\u00e9m\u00e9nagement\n"
    path = _bundle_with(tmp_path, "subjects.csv", text.encode("latin-1"))
    message = _error(tmp_path)
    assert message.startswith(f"{path} line 3: not UTF-8 text (byte 0xe9)")
    assert "re-save it as UTF-8" in message


def test_latin1_header_suggests_utf8(tmp_path: Path) -> None:
    path = _bundle_with(tmp_path, "subjects.csv", "subject_id,\u00e2ge\nS1,3\n".encode("latin-1"))
    assert _error(tmp_path).startswith(f"{path} line 1: not UTF-8 text")


def test_utf8_bom_is_accepted(tmp_path: Path) -> None:
    _bundle_with(tmp_path, "subjects.csv", b"\xef\xbb\xbf" + SUBJECTS_CSV.encode())
    trial = read_trial(tmp_path)
    assert trial.subjects["subject_id"].tolist() == ["S001", "S002", "S003"]


def test_semicolon_csv(tmp_path: Path) -> None:
    path = _bundle_with(tmp_path, "subjects.csv", "subject_id;arm\nS1;A\n")
    assert _error(tmp_path).startswith(f"{path} line 1: the header looks semicolon-separated")


def test_empty_csv(tmp_path: Path) -> None:
    path = _bundle_with(tmp_path, "subjects.csv", "")
    assert _error(tmp_path).startswith(f"{path}: the file is empty")


def test_duplicate_header(tmp_path: Path) -> None:
    path = _bundle_with(tmp_path, "subjects.csv", "subject_id,arm, arm\nS1,A,B\n")
    message = _error(tmp_path)
    assert message == f"{path}: columns 2 and 3 are both named 'arm'; rename or delete one"


def test_nameless_column_with_data(tmp_path: Path) -> None:
    path = _bundle_with(tmp_path, "subjects.csv", "subject_id,,arm\nS1,x,A\n")
    assert _error(tmp_path).startswith(f"{path}: header cell 2 is empty but its column holds data")


def test_nameless_empty_column_is_dropped(tmp_path: Path) -> None:
    _bundle_with(tmp_path, "subjects.csv", "subject_id,arm,\nS1,A,\nS2,B,\n")
    trial = read_trial(tmp_path)
    assert trial.sources["subjects"].extra_columns == ()
    assert trial.subjects["arm"].tolist() == ["A", "B"]


def test_corrupt_parquet(tmp_path: Path) -> None:
    path = _bundle_with(tmp_path, "subjects.parquet", b"PAR1 this is not parquet PAR1")
    message = _error(tmp_path)
    assert message.startswith(f"{path}: not a readable Parquet file")


def test_corrupt_xlsx(tmp_path: Path) -> None:
    path = _bundle_with(tmp_path, "subjects.xlsx", b"PK\x03\x04 broken zip")
    assert _error(tmp_path).startswith(f"{path}: not a readable .xlsx workbook")


def test_missing_sheet(tmp_path: Path) -> None:
    pd.DataFrame({"subject_id": ["S1"]}).to_excel(tmp_path / "s.xlsx", index=False)
    write_manifest(tmp_path, {"subjects": "s.xlsx#Subjects"})
    message = _error(tmp_path)
    assert (
        message == f"{tmp_path / 's.xlsx'}: no sheet named 'Subjects'; the workbook has ['Sheet1']"
    )


def test_missing_table_file(tmp_path: Path) -> None:
    write_manifest(tmp_path, {"subjects": "subjects.csv"})
    message = _error(tmp_path)
    assert (
        f"[tables] subjects = 'subjects.csv': file {tmp_path / 'subjects.csv'} not found" in message
    )
    assert message.startswith(str(tmp_path / "trial.toml"))


def test_unsupported_extension(tmp_path: Path) -> None:
    path = _bundle_with(tmp_path, "subjects.txt", SUBJECTS_CSV)
    message = _error(tmp_path)
    assert message == (
        f"{path}: unsupported file type '.txt'; save the table as .csv, .parquet or .xlsx"
    )


def test_sheet_on_csv(tmp_path: Path) -> None:
    (tmp_path / "s.csv").write_text(SUBJECTS_CSV)
    write_manifest(tmp_path, {"subjects": "s.csv#Sheet1"})
    # '#' is a sheet marker only after .xlsx: here it is part of the file name
    assert "file " + str(tmp_path / "s.csv#Sheet1") + " not found" in _error(tmp_path)


@pytest.mark.parametrize("spec", ["../outside.csv", "data/../../outside.csv"])
def test_path_leaving_bundle_refused(tmp_path: Path, spec: str) -> None:
    (tmp_path / "outside.csv").write_text(SUBJECTS_CSV)
    bundle = tmp_path / "bundle"
    write_manifest(bundle, {"subjects": spec})
    (bundle / "data").mkdir()
    message = _error(bundle)
    assert f"[tables] subjects = {spec!r} leaves the bundle folder (with '..')" in message


def test_absolute_path_refused(tmp_path: Path) -> None:
    (tmp_path / "outside.csv").write_text(SUBJECTS_CSV)
    bundle = tmp_path / "bundle"
    write_manifest(bundle, {"subjects": str(tmp_path / "outside.csv")})
    assert "is an absolute path; give a path relative to the bundle folder" in _error(bundle)


@pytest.mark.skipif(not hasattr(os, "symlink"), reason="needs symbolic links")
def test_symlink_escaping_bundle_refused(tmp_path: Path) -> None:
    (tmp_path / "secret").mkdir()
    (tmp_path / "secret" / "subjects.csv").write_text(SUBJECTS_CSV)
    bundle = tmp_path / "bundle"
    write_manifest(bundle, {"subjects": "linked/subjects.csv"})
    (bundle / "linked").symlink_to(tmp_path / "secret", target_is_directory=True)
    message = _error(bundle)
    assert "leaves the bundle folder (through a symbolic link)" in message
    # a file symlink escaping is refused the same way
    (bundle / "s.csv").symlink_to(tmp_path / "secret" / "subjects.csv")
    write_manifest(bundle, {"subjects": "s.csv"})
    assert "leaves the bundle folder (through a symbolic link)" in _error(bundle)


@pytest.mark.skipif(not hasattr(os, "symlink"), reason="needs symbolic links")
def test_symlink_inside_bundle_allowed(tmp_path: Path) -> None:
    write_bundle(tmp_path, texts={"subjects": SUBJECTS_CSV})
    (tmp_path / "alias.csv").symlink_to(tmp_path / "subjects.csv")
    write_manifest(tmp_path, {"subjects": "alias.csv"})
    assert len(read_trial(tmp_path).subjects) == 3


def test_no_manifest(tmp_path: Path) -> None:
    message = _error(tmp_path)
    assert message.startswith(f"{tmp_path}: no trial.toml in this folder")


def test_nonexistent_path(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="no such file or folder"):
        read_trial(tmp_path / "nope")


def test_invalid_toml_names_line(tmp_path: Path) -> None:
    write_manifest(tmp_path, {}, text='[trial]\nid = "X"\ntitle = unquoted\n')
    message = _error(tmp_path)
    assert message.startswith(f"{tmp_path / 'trial.toml'}: not valid TOML: ")
    assert "line 3" in message
