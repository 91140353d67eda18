"""Property-based tests: malformed tables and manifests never crash the reader.

read_trial either returns a Trial (problems in ``issues``) or raises InputError; the
input files are never changed.
"""

from __future__ import annotations

import datetime as dt
import math
import tempfile
from pathlib import Path

import pandas as pd
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from efficacy.errors import InputError
from efficacy.io import read_trial
from efficacy.io._manifest import parse_manifest
from efficacy.trial import ISSUE_COLUMNS, TABLE_SCHEMAS, Manifest
from tests.io.bundle_factory import tree_hashes, write_manifest

NAMES = [c.name for c in TABLE_SCHEMAS["measurements"]] + ["Value", "subject id", "", "x"]
CELLS = st.one_of(
    st.sampled_from(["", " ", "1", "-2.5", "1e3", "nan", "NA", "true", "Y", "IV", "2025-01-15"]),
    st.text(max_size=8),
)
SETTINGS = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def _check(folder: Path) -> None:
    before = tree_hashes(folder)
    try:
        trial = read_trial(folder)
    except InputError as exc:
        assert "\n" not in str(exc)
    else:
        assert list(trial.issues.columns) == list(ISSUE_COLUMNS)
        for table, schema in TABLE_SCHEMAS.items():
            frame = trial.table(table)
            assert [c.name for c in schema] == list(frame.columns[: len(schema)])
            assert frame.index.name == "row"
        rows = trial.issues["row"].dropna()
        assert all(isinstance(r, int) and r >= 1 for r in rows)
    assert tree_hashes(folder) == before


@st.composite
def csv_tables(draw: st.DrawFn) -> list[list[str]]:
    """Mostly rectangular tables (unique header) with some ragged rows and duplicates."""
    header = draw(st.lists(st.sampled_from(NAMES), min_size=1, max_size=8, unique=True))
    if draw(st.integers(0, 9)) == 0:
        header.append(header[0])  # duplicate name
    width = len(header)
    row = st.lists(CELLS, min_size=width, max_size=width)
    ragged = st.lists(CELLS, min_size=0, max_size=width + 2)
    body = draw(st.lists(st.one_of(row, row, row, row, ragged), max_size=6))
    return [header, *body]


@SETTINGS
@given(table=csv_tables())
def test_random_csv_tables(table: list[list[str]]) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        text = "\n".join(",".join(_quote(c) for c in row) for row in table)
        (folder / "measurements.csv").write_text(text + "\n", encoding="utf-8")
        write_manifest(folder, {"measurements": "measurements.csv"})
        _check(folder)


@SETTINGS
@given(data=st.binary(max_size=200))
def test_random_bytes_as_any_format(data: bytes) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        for ext in ("csv", "parquet", "xlsx"):
            (folder / f"s.{ext}").write_bytes(data)
            write_manifest(folder, {"subjects": f"s.{ext}"})
            _check(folder)


@SETTINGS
@given(
    columns=st.dictionaries(
        st.sampled_from([c.name for c in TABLE_SCHEMAS["subjects"]] + ["note"]),
        st.one_of(
            st.lists(st.one_of(st.none(), st.floats(), st.integers(-5, 5)), min_size=3, max_size=3),
            st.lists(st.one_of(st.none(), st.booleans()), min_size=3, max_size=3),
            st.lists(st.one_of(st.none(), st.text(max_size=5)), min_size=3, max_size=3),
        ),
        min_size=1,
    )
)
def test_random_typed_parquet(columns: dict[str, list[object]]) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        pd.DataFrame(columns).to_parquet(folder / "s.parquet", index=False)
        write_manifest(folder, {"subjects": "s.parquet"})
        _check(folder)


TOML_SCALARS = st.one_of(
    st.text(max_size=6),
    st.integers(-3, 100),
    st.floats(allow_nan=True),
    st.booleans(),
    st.dates(min_value=dt.date(2000, 1, 1), max_value=dt.date(2030, 1, 1)),
)
TOML_VALUES = st.recursive(
    TOML_SCALARS,
    lambda inner: st.one_of(
        st.lists(inner, max_size=3),
        st.dictionaries(
            st.sampled_from(["id", "label", "control", "week", "day", "window_days", "flow"]),
            inner,
            max_size=4,
        ),
    ),
    max_leaves=12,
)
SECTIONS = st.dictionaries(
    st.sampled_from(["trial", "arms", "visits", "tables", "consort", "other"]),
    TOML_VALUES,
    max_size=6,
)


@SETTINGS
@given(raw=SECTIONS)
def test_random_manifest_structures_never_raise(raw: dict[str, object]) -> None:
    manifest, issues = parse_manifest(raw, None)
    assert isinstance(manifest, Manifest)
    assert list(issues.columns) == list(ISSUE_COLUMNS)
    assert (issues["table"] == "manifest").all()
    for visit in manifest.visits:
        assert isinstance(visit.window_days, int) and visit.window_days >= 0
        assert isinstance(visit.day, int) or math.isnan(visit.day)
    assert all(isinstance(a.control, bool) for a in manifest.arms)


def _quote(cell: str) -> str:
    if any(ch in cell for ch in ',"\n\r'):
        return '"' + cell.replace('"', '""') + '"'
    return cell
