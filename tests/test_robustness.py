"""Property tests: malformed bundles never crash read_trial + validate, never get modified.

Every example copies a small clean simulated bundle, breaks it (junk cells, missing /
extra / renamed columns, wrong types, empty files, random manifest keys and values,
huge / negative / NaN / inf numbers, unicode, raw byte junk), hashes the files, runs
``read_trial`` and ``validate``, and checks that

* the only exception ever raised is ``InputError`` (an unusable file), otherwise a
  ``ValidationReport`` comes back whose ``to_frame()`` has the documented columns;
* the files are byte-identical afterwards (inputs are never modified).
"""

from __future__ import annotations

import csv
import hashlib
import io
import math
import os
import shutil
import tempfile
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from efficacy.errors import InputError
from efficacy.io import read_trial
from efficacy.sim import simulate_parallel, simulate_split_face, write_bundle
from efficacy.sim._toml import dumps
from efficacy.trial import OPTIONAL_TABLES, TABLE_SCHEMAS
from efficacy.validation import validate

TABLES = tuple(t for t in TABLE_SCHEMAS if t not in OPTIONAL_TABLES)
FINDING_COLUMNS = [
    "rule_id",
    "severity",
    "category",
    "table",
    "column",
    "subject_id",
    "visit",
    "row",
    "value",
    "message",
]
# ~0.1 s per example (read + validate of a 4-subject bundle); 15 examples per property
# keep the file near 10 s on an idle 2-core machine, the same examples on every run (CI
# stability). Search harder locally: EFFICACY_ROBUST_EXAMPLES=500 python -m pytest ...
_DEEP = int(os.environ.get("EFFICACY_ROBUST_EXAMPLES", "0"))
SETTINGS = settings(
    max_examples=_DEEP or 15,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    derandomize=not _DEEP,
)


@pytest.fixture(scope="module")
def bases(tmp_path_factory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("robust")
    par = simulate_parallel(3, 4, n_screen_failures=2, dropout_rate=0.3)
    split = simulate_split_face(4, 4, n_screen_failures=1, dropout_rate=0.3)
    return {
        "parallel": write_bundle(par, root / "parallel"),
        "split_face": write_bundle(split, root / "split_face"),
    }


@pytest.fixture(scope="module")
def base(bases) -> Path:
    return bases["parallel"]


def _hashes(folder: Path) -> dict[str, str]:
    return {
        str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


def _check(folder: Path) -> None:
    """read_trial + validate: InputError or a report; files unchanged."""
    before = _hashes(folder)
    try:
        trial = read_trial(folder)
    except InputError as exc:
        assert str(exc).strip() and "\n" not in str(exc).strip()
    else:
        report = validate(trial)
        frame = report.to_frame()
        assert list(frame.columns)[: len(FINDING_COLUMNS)] == FINDING_COLUMNS
        assert isinstance(report.ok, bool)
        assert set(frame["severity"]) <= {"error", "warning", "notice"}
        if not report.ok:
            assert (frame["severity"] == "error").any()
    assert _hashes(folder) == before


def _copy(base: Path) -> Path:
    work = Path(tempfile.mkdtemp(prefix="robust-"))
    return Path(shutil.copytree(base, work / "b"))


def _read(path: Path) -> list[list[str]]:
    with path.open(encoding="utf-8", newline="") as handle:
        return list(csv.reader(handle))


def _write(path: Path, rows: list[list[str]]) -> None:
    buf = io.StringIO()
    csv.writer(buf, lineterminator="\n").writerows(rows)
    path.write_text(buf.getvalue(), encoding="utf-8", newline="")


# -- strategies --------------------------------------------------------------------------
_numbers = st.one_of(
    st.floats(allow_nan=True, allow_infinity=True).map(repr),
    st.integers(min_value=-(10**30), max_value=10**30).map(str),
    st.sampled_from(["1e309", "-1e309", "NaN", "inf", "-inf", "-0", "9" * 400, "0x1F", "1_000"]),
)
_junk = st.one_of(
    st.text(max_size=40),
    _numbers,
    st.sampled_from(["", " ", "true", "N", "VI", "2025-13-45", "W99", "µm", '"', ",", "\n"]),
)


@SETTINGS
@given(
    data=st.data(),
    n_cells=st.integers(min_value=1, max_value=12),
)
def test_junk_cells(bases, data, n_cells):
    folder = _copy(bases[data.draw(st.sampled_from(sorted(bases)), label="design")])
    table = data.draw(st.sampled_from(TABLES), label="table")
    path = folder / f"{table}.csv"
    rows = _read(path)
    for _ in range(n_cells):
        if len(rows) < 2:
            break
        r = data.draw(st.integers(1, len(rows) - 1), label="row")
        c = data.draw(st.integers(0, len(rows[0]) - 1), label="col")
        rows[r][c] = data.draw(_junk, label="value")
    _write(path, rows)
    _check(folder)
    shutil.rmtree(folder.parent)


_column_op = st.sampled_from(["drop", "extra", "rename", "upper", "duplicate", "empty_name"])


@SETTINGS
@given(data=st.data(), ops=st.lists(_column_op, min_size=1, max_size=3))
def test_missing_extra_renamed_columns(base, data, ops):
    folder = _copy(base)
    table = data.draw(st.sampled_from(TABLES), label="table")
    path = folder / f"{table}.csv"
    rows = _read(path)  # header + data rows, as lists of cells
    for op in ops:
        if not rows[0]:
            break
        j = data.draw(st.integers(0, len(rows[0]) - 1), label="column")
        if op == "drop":
            rows = [r[:j] + r[j + 1 :] for r in rows]
        elif op == "extra":
            name = data.draw(st.text(min_size=1, max_size=12), label="new")
            rows = [[*rows[0], name]] + [[*r, "x"] for r in rows[1:]]
        elif op == "rename":
            rows[0][j] = data.draw(st.text(max_size=12), label="name")
        elif op == "upper":
            rows[0][j] = rows[0][j].upper()
        elif op == "duplicate":
            rows = [[*r, r[j]] for r in rows]
        else:
            rows[0][j] = ""
    _write(path, rows)
    _check(folder)
    shutil.rmtree(folder.parent)


@SETTINGS
@given(
    table=st.sampled_from(TABLES),
    content=st.one_of(
        st.just(""),
        st.just("\n\n"),
        st.sampled_from(["subject_id\n", "a;b;c\n1;2;3\n", "\ufeff", "x,y\n1,2,3\n"]),
        st.binary(max_size=200).map(lambda b: b.decode("latin-1")),
        st.text(max_size=200),
    ),
    raw_bytes=st.booleans(),
)
def test_empty_and_garbage_files(base, table, content, raw_bytes):
    folder = _copy(base)
    path = folder / f"{table}.csv"
    if raw_bytes:
        path.write_bytes(content.encode("latin-1", errors="replace") + b"\xff\xfe\x00")
    else:
        path.write_text(content, encoding="utf-8")
    _check(folder)
    shutil.rmtree(folder.parent)


_toml_scalar = st.one_of(
    st.text(max_size=20),
    st.integers(min_value=-(2**63), max_value=2**63 - 1),
    st.floats(allow_nan=True, allow_infinity=True),
    st.booleans(),
)
_toml_value = st.recursive(
    _toml_scalar,
    lambda inner: st.one_of(
        st.lists(_toml_scalar, max_size=3),
        st.dictionaries(st.text(min_size=1, max_size=8), inner, max_size=3),
        st.lists(
            st.dictionaries(st.text(min_size=1, max_size=8), inner, max_size=2),
            min_size=1,
            max_size=2,
        ),
    ),
    max_leaves=6,
)
_KEY_PATHS = [
    ("trial",),
    ("trial", "id"),
    ("trial", "design"),
    ("trial", "baseline_visit"),
    ("trial", "baseline_day"),
    ("arms",),
    ("arms", 0, "id"),
    ("arms", 1, "control"),
    ("visits",),
    ("visits", 0, "week"),
    ("visits", 2, "day"),
    ("visits", 4, "window_days"),
    ("visits", 1, "id"),
    ("tables",),
    ("tables", "subjects"),
    ("tables", "pro_responses"),
    ("consort",),
    ("consort", "flow"),
    ("consort", "flow", "randomised"),
    ("consort", "registration_date"),
    ("unknown_section",),
]


def _set_path(doc, path, value, delete):
    target = doc
    for key in path[:-1]:
        if isinstance(target, list):
            if not isinstance(key, int) or key >= len(target):
                return
            target = target[key]
        elif isinstance(target, dict):
            target = target.setdefault(key, {})
        else:
            return
    last = path[-1]
    if isinstance(target, dict):
        if delete:
            target.pop(last, None)
        else:
            target[last] = value
    elif isinstance(target, list) and isinstance(last, int) and last < len(target):
        if delete:
            del target[last]
        else:
            target[last] = value


@SETTINGS
@given(
    edits=st.lists(
        st.tuples(st.sampled_from(_KEY_PATHS), _toml_value, st.booleans()),
        min_size=1,
        max_size=4,
    ),
    design=st.sampled_from(["parallel", "split_face"]),
)
def test_random_manifest_keys_and_values(bases, design, edits):
    import tomllib

    folder = _copy(bases[design])
    doc = tomllib.loads((folder / "trial.toml").read_text(encoding="utf-8"))
    for path, value, delete in edits:
        _set_path(doc, path, value, delete)
    (folder / "trial.toml").write_text(dumps(doc), encoding="utf-8")
    _check(folder)
    shutil.rmtree(folder.parent)


@SETTINGS
@given(text=st.text(max_size=300))
def test_manifest_junk_text(base, text):
    folder = _copy(base)
    (folder / "trial.toml").write_text(text, encoding="utf-8")
    _check(folder)
    shutil.rmtree(folder.parent)


_arrow_junk = st.sampled_from(
    [
        pa.array([math.nan, math.inf, -math.inf, 1e308]),
        pa.array([-1, 2**62, 0, 7], type=pa.int64()),
        pa.array([True, False, None, True]),
        pa.array(["ü", "", None, "💥"]),
        pa.array([b"\x00", b"\xff", None, b"x"], type=pa.binary()),
        pa.array([None, None, None, None], type=pa.null()),
        pa.array([1.5, None, -0.0, 3.25], type=pa.float32()),
    ]
)


@SETTINGS
@given(data=st.data(), junk=_arrow_junk)
def test_parquet_wrong_types(base, data, junk):
    folder = _copy(base)
    table = data.draw(st.sampled_from(TABLES), label="table")
    frame = pd.read_csv(folder / f"{table}.csv", dtype=str, keep_default_na=False).head(4)
    arrow = pa.Table.from_pandas(frame, preserve_index=False)
    while arrow.num_rows < 4:
        arrow = pa.concat_tables([arrow, arrow.slice(0, 1)]) if arrow.num_rows else arrow
        if arrow.num_rows == 0:
            break
    if arrow.num_rows == 4:
        col = data.draw(st.integers(0, arrow.num_columns - 1), label="col")
        arrow = arrow.set_column(col, arrow.column_names[col], junk)
    pq.write_table(arrow, folder / f"{table}.parquet")
    (folder / f"{table}.csv").unlink()
    text = (folder / "trial.toml").read_text(encoding="utf-8")
    text = text.replace(f'"{table}.csv"', f'"{table}.parquet"')
    (folder / "trial.toml").write_text(text, encoding="utf-8")
    _check(folder)
    shutil.rmtree(folder.parent)
