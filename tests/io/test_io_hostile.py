"""Hostile and broken input files: one InputError line naming the file, never a crash.

Each case here crashed (or misled) before issue 11: UTF-16 without a byte-order mark read
as a one-field CSV, undecodable bytes met inside the error path, spreadsheets whose
declared dimension allocated gigabytes, corrupt workbooks, deep TOML, OS errors.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from efficacy.errors import InputError
from efficacy.io import read_trial
from tests.io.bundle_factory import SUBJECTS_CSV, tree_hashes, write_manifest


def _refused(folder: Path) -> str:
    before = tree_hashes(folder)
    with pytest.raises(InputError) as info:
        read_trial(folder)
    assert tree_hashes(folder) == before
    message = str(info.value)
    assert "\n" not in message
    return message


def _bundle_with(folder: Path, name: str, data: bytes) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    path.write_bytes(data)
    write_manifest(folder, {"subjects": name})
    return path


# --- CSV encoding ----------------------------------------------------------------------

LONG_CSV = SUBJECTS_CSV + "".join(
    f"S{i:04d},ACTIVE,true,true,true,true,completed,,30,F,II,2025-01-20,01\n"
    for i in range(4, 3000)
)


@pytest.mark.parametrize(
    ("codec", "kind"),
    [("utf-16-le", "UTF-16"), ("utf-16-be", "UTF-16"), ("utf-32-le", "UTF-32")],
)
def test_utf16_without_bom_is_named(tmp_path: Path, codec: str, kind: str) -> None:
    """Was 'line 3002: 1 field where the header has 13' (LE) or read as data (BE)."""
    path = _bundle_with(tmp_path, "subjects.csv", LONG_CSV.encode(codec))
    assert _refused(tmp_path) == (
        f"{path}: the file looks like {kind} text without a byte-order mark (NUL bytes "
        "between the letters); re-save it as UTF-8 (in Excel: 'CSV UTF-8 (Comma delimited)')"
    )


def test_bad_byte_after_a_ragged_row_names_the_encoding(tmp_path: Path) -> None:
    """A ragged row early and a Latin-1 byte later: the encoding is named, by line."""
    data = SUBJECTS_CSV.encode() + b"S9,ACTIVE,true,extra\n" + LONG_CSV.encode()[-300:]
    data += "S10,ACTIVE,true,true,true,true,completed,d\u00e9m,30,F,II,2025-01-20,01\n".encode(
        "latin-1"
    )
    path = _bundle_with(tmp_path, "subjects.csv", data)
    line = data.count(b"\n")
    assert _refused(tmp_path).startswith(f"{path} line {line}: not UTF-8 text (byte 0xe9)")


def test_character_split_across_read_chunks_is_fine(tmp_path: Path) -> None:
    """A 2-byte character straddling the 1 MB read boundary is valid UTF-8."""
    from efficacy.io._files import read_text

    head = b"subject_id,note\n"
    filler = b"S1," + b"x" * ((1 << 20) - 1 - len(head) - 3)
    body = head + filler + "\u00e9\nS2,ok\n".encode()
    assert body[(1 << 20) - 1 : (1 << 20) + 1] == "\u00e9".encode()
    path = tmp_path / "t.csv"
    path.write_bytes(body)
    text, _ = read_text(path)
    assert text.columns[1].to_pylist()[0].endswith("x\u00e9")
    assert text.n_rows == 2


def test_nul_byte_in_a_text_file(tmp_path: Path) -> None:
    path = _bundle_with(tmp_path, "subjects.csv", b"subject_id,arm\nS1,A\nS2,\x00B\n")
    assert _refused(tmp_path).startswith(f"{path} line 3: contains a NUL byte (0x00)")


def test_file_ending_inside_a_character(tmp_path: Path) -> None:
    path = _bundle_with(tmp_path, "subjects.csv", b"subject_id,arm\nS1,A\nS2,\xc3")
    assert _refused(tmp_path).startswith(
        f"{path} line 3: not UTF-8 text (the file ends inside a character)"
    )
