"""Files read once by content (efficacy.io._kept): XPT datasets and FACE-Q tables.

The XPT reader takes pyreadstat's ``dict`` output; the first test pins that its text
columns equal those of pyreadstat's DataFrame (the reader's input until session 5) for
every XPT file of the test references, so nothing a user sees changed.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pyarrow as pa
import pyreadstat
import pytest

from efficacy.instruments import faceq_tables
from efficacy.instruments.faceq_tables import load_faceq_conversion
from efficacy.io import _adam_files
from efficacy.io._adam_files import read_adam_file
from efficacy.io._convert import clean_text
from efficacy.io._files import as_text
from efficacy.io._kept import KeptReads

REFERENCE = Path(__file__).resolve().parents[1] / "reference"
FACEQ = REFERENCE / "faceq" / "synthetic_linear_conversion.csv"


def _from_frame(path: Path) -> tuple[dict[str, pa.ChunkedArray], str]:
    """The text columns as read from pyreadstat's DataFrame output."""
    frame, meta = pyreadstat.read_xport(str(path))
    table = pa.Table.from_pandas(frame, preserve_index=False)
    text = {
        name.strip().upper(): clean_text(as_text(path, name, table.column(i)))
        for i, name in enumerate(table.column_names)
    }
    return text, meta.table_name or ""


def _record_first_arguments(
    monkeypatch: pytest.MonkeyPatch, module: object, name: str, kept_name: str
) -> list[object]:
    """Return the list that records the first argument of each real ``module.name`` call.

    `module` gets a fresh ``KeptReads`` as `kept_name`, so a call recorded is a read that
    was not kept.
    """
    monkeypatch.setattr(module, kept_name, KeptReads(4))
    calls: list[object] = []
    real = getattr(module, name)

    def recording(first: object, *rest: object) -> object:
        calls.append(first)
        return real(first, *rest)

    monkeypatch.setattr(module, name, recording)
    return calls


@pytest.mark.parametrize(
    "name",
    [
        "adam/pilot/adsl.xpt",  # dates, flags, numbers, blank text
        "adam/cdiscpilot01_adqscibc.xpt",
        "adam/pharmaverseadam_adsl_derived.xpt",  # variables with no value at all
        "datasetjson/adsl.xpt",
    ],
)
def test_xpt_text_equals_the_dataframe_route(name: str) -> None:
    path = REFERENCE / name
    columns, member = _adam_files._read_xport(path)
    expected, expected_member = _from_frame(path)
    assert member == expected_member
    assert [n for n, _ in columns] == list(expected)
    for n, col in columns:
        assert col.type == expected[n].type, n
        assert col.equals(expected[n]), n


def test_same_xpt_bytes_are_read_once(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    calls = _record_first_arguments(monkeypatch, _adam_files, "_read_xport", "_XPT_KEPT")
    source = REFERENCE / "adam" / "pilot" / "adsl.xpt"
    copy = tmp_path / "adsl_copy.xpt"
    shutil.copy(source, copy)
    first, second = read_adam_file(source), read_adam_file(copy)
    assert calls == [source]
    assert (first.path, second.path, first.name, second.name) == (source, copy, "ADSL", "ADSL")
    assert first.frame.equals(second.frame) and first.frame is not second.frame
    first.frame.iloc[0, 0] = "changed"  # a caller's frame is its own
    assert read_adam_file(source).frame.iloc[0, 0] == second.frame.iloc[0, 0] != "changed"
    shutil.copy(REFERENCE / "adam" / "pilot" / "adcibc.xpt", copy)  # other bytes: read again
    assert read_adam_file(copy).name == "ADCIBC"
    assert calls == [source, copy]


def test_faceq_table_copies_are_loaded_once_and_name_their_path(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    loads = _record_first_arguments(monkeypatch, faceq_tables, "_load", "_KEPT")
    a, b = tmp_path / "a" / "conv.csv", tmp_path / "b" / "conv.csv"
    for p in (a, b):
        p.parent.mkdir()
        shutil.copy(FACEQ, p)
    first, second = load_faceq_conversion(a), load_faceq_conversion(b)
    assert loads == [a]
    assert (first.source, second.source) == (str(a), str(b))
    assert first.table.equals(second.table) and first.table is not second.table
    renamed = tmp_path / "b" / "conv.txt"  # another suffix picks another reader
    shutil.copy(FACEQ, renamed)
    with pytest.raises(faceq_tables.InputError, match="unsupported file type"):
        load_faceq_conversion(renamed)
    assert loads == [a, renamed]


def test_dataset_json_is_read_once_per_path_and_bytes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    reads = _record_first_arguments(monkeypatch, _adam_files, "_json_form", "_JSON_KEPT")
    source = REFERENCE / "adam" / "pilot" / "adae.dsjc"
    copy = tmp_path / "adae.dsjc"
    shutil.copy(source, copy)
    first, again, other = read_adam_file(source), read_adam_file(source), read_adam_file(copy)
    assert reads == [source, copy]  # the problems name the file: another path is read
    assert other.path == copy and other.frame.equals(first.frame)
    assert (again.path, again.fmt, again.name, again.problems) == (
        first.path,
        first.fmt,
        first.name,
        first.problems,
    )
    assert first.frame.equals(again.frame) and first.frame is not again.frame
    first.frame.iloc[0, 0] = "changed"
    assert again.frame.iloc[0, 0] != "changed"
    assert read_adam_file(source).frame.iloc[0, 0] == again.frame.iloc[0, 0]


def test_files_beyond_the_size_bound_are_read_every_time(tmp_path: Path) -> None:
    path = tmp_path / "x.txt"
    path.write_text("0123456789")
    loads: list[int] = []
    small: KeptReads[int] = KeptReads(4, max_bytes=9)
    assert [small.read(path, (), lambda: loads.append(1) or len(loads)) for _ in range(2)] == [1, 2]
    big: KeptReads[int] = KeptReads(4, max_bytes=10)
    assert [big.read(path, (), lambda: loads.append(1) or len(loads)) for _ in range(2)] == [3, 3]
