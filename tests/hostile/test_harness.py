"""The hostile harness itself: every mutation changes the bundle, every broken promise is caught.

A property test whose mutations are no-ops, or whose checks cannot see a crash, passes
without proving anything; these tests pin both sides.
"""

from __future__ import annotations

import json
import shutil
import tomllib
import zipfile
from pathlib import Path

import pytest

import efficacy
import efficacy.cli
from tests.hostile import harness
from tests.hostile.mutations import (
    ColumnOp,
    CorruptXlsx,
    Encode,
    FileGone,
    RowOp,
    SetCell,
    SwapFormat,
    TomlDeep,
    TomlEdit,
    TomlJunk,
    Truncate,
    read_csv,
    tree_hashes,
)

BASE = "parallel_12wk@12"


@pytest.fixture
def bundle(bases, tmp_path: Path) -> Path:
    return Path(shutil.copytree(bases[BASE], tmp_path / "bundle"))


MUTATIONS = [
    SetCell("measurements", 0.5, 0.4, '=HYPERLINK("http://x","y")'),
    ColumnOp("subjects", "drop", 0.0),
    ColumnOp("subjects", "duplicate", 0.3),
    ColumnOp("measurements", "rename", 0.4, "valeur"),
    ColumnOp("measurements", "empty_name", 0.4),
    ColumnOp("measurements", "upper", 0.0),
    ColumnOp("measurements", "swap", 0.0),
    RowOp("measurements", "drop", 0.2, 5),
    RowOp("measurements", "duplicate", 0.2, 5),
    RowOp("subjects", "drop_header", 0.0),
    RowOp("subjects", "drop_all", 0.0),
    TomlEdit(("trial", "design"), 3),
    TomlEdit(("arms", 1, "id"), "ACTIVE"),
    TomlEdit(("consort", "flow"), delete=True),
    TomlDeep(50),
    TomlDeep(50, table=True),
    TomlJunk("[trial]\nid = 'again'"),
    Encode("measurements", "utf-16"),
    Encode("measurements", "utf-16-le"),
    Encode("subjects", "latin-1"),
    Encode("trial.toml", "latin-1"),
    Encode("subjects", "utf8-bom-semicolon"),
    SwapFormat("subjects", "xlsx"),
    SwapFormat("measurements", "parquet"),
    Truncate("pro_responses", 0.5),
    CorruptXlsx("subjects", "xml"),
    CorruptXlsx("subjects", "deflate"),
    FileGone("adverse_events", "delete"),
    FileGone("subjects", "long_name"),
]


@pytest.mark.parametrize("mutation", MUTATIONS, ids=str)
def test_every_mutation_changes_the_bundle(bundle, mutation) -> None:
    before = tree_hashes(bundle)
    mutation.apply(bundle)
    assert tree_hashes(bundle) != before


def test_mutations_do_what_they_say(bundle) -> None:
    SetCell("measurements", 0.0, 0.4, "=1+1").apply(bundle)
    rows = read_csv(bundle / "measurements.csv")
    assert rows[1][4] == "=1+1" and rows[0][4] == "value"
    RowOp("subjects", "drop", 0.0, 3).apply(bundle)
    assert len(read_csv(bundle / "subjects.csv")) == 1 + 12 - 3
    SwapFormat("subjects", "xlsx").apply(bundle)
    assert not (bundle / "subjects.csv").exists()
    manifest = tomllib.loads((bundle / "trial.toml").read_text(encoding="utf-8"))
    assert manifest["tables"]["subjects"] == "subjects.xlsx"
    assert zipfile.is_zipfile(bundle / "subjects.xlsx")
    Encode("measurements", "utf-16-le").apply(bundle)
    assert (bundle / "measurements.csv").read_bytes()[:4] == "su".encode("utf-16-le")
    TomlDeep(7).apply(bundle)
    text = (bundle / "trial.toml").read_text(encoding="utf-8")
    assert text.startswith("deep = [[[[[[[1]]]]]]]\n")


def test_clean_bundle_has_no_problem(bundle) -> None:
    assert harness.read_validate(bundle, [], BASE, 30) == []


def test_escaped_exception_is_a_problem_with_its_site(bundle, monkeypatch) -> None:
    def broken(folder):
        return {}["no such key"]

    monkeypatch.setattr(efficacy, "read_trial", broken)
    [problem] = harness.read_validate(bundle, [RowOp("subjects", "drop", 0.0)], BASE, 30)
    assert (problem.kind, problem.stage, problem.type) == ("exception", "read", "KeyError")
    assert problem.site.startswith("tests/hostile/test_harness.py:")
    assert problem.mutations == "rows drop(subjects, row~0.00, n=1)"
    assert problem.signature.startswith("exception: KeyError at tests/hostile/test_harness.py:")


def test_efficacy_error_is_not_a_problem(bundle, monkeypatch) -> None:
    def refuses(folder):
        raise efficacy.EfficacyError("bundle: unusable; fix it")

    monkeypatch.setattr(efficacy, "read_trial", refuses)
    assert harness.read_validate(bundle, [], BASE, 30) == []


def test_modified_input_is_a_problem(bundle, monkeypatch) -> None:
    real = efficacy.read_trial

    def writes(folder):
        (Path(folder) / "subjects.csv").write_text("x\n", encoding="utf-8")
        return real(folder)

    monkeypatch.setattr(efficacy, "read_trial", writes)
    problems = harness.read_validate(bundle, [], BASE, 30)
    assert [(p.kind, p.message) for p in problems] == [("modified", "subjects.csv")]


def test_hang_is_a_timeout_problem(bundle, monkeypatch) -> None:
    def hangs(folder):
        while True:  # busy: the limit is CPU time
            sum(range(1000))

    monkeypatch.setattr(efficacy, "read_trial", hangs)
    [problem] = harness.read_validate(bundle, [], BASE, 0.2)
    assert (problem.kind, problem.type) == ("timeout", "Timeout")


@pytest.mark.parametrize(
    ("behaviour", "expected"),
    [
        ("raise", [("exception", "ZeroDivisionError")]),
        ("exit3", [("exit", "exit 3")]),
        ("traceback", [("traceback", "stderr"), ("exit", "not one line")]),
        ("clean2", []),
    ],
)
def test_cli_problems(bundle, monkeypatch, behaviour, expected) -> None:
    import sys

    def fake_main(argv):
        if behaviour == "raise":
            return 1 / 0
        if behaviour == "exit3":
            return 3
        if behaviour == "traceback":
            sys.stderr.write("Traceback (most recent call last):\n  boom\n")
            return 2
        sys.stderr.write("efficacy: error: bundle: unusable\n")
        return 2

    monkeypatch.setattr(efficacy.cli, "main", fake_main)
    problems = harness.run_cli(["validate", str(bundle)], bundle, [], BASE, 30)
    assert [(p.kind, p.type) for p in problems] == expected
    assert all(p.stage == "cli validate" for p in problems)


def _problem(message: str) -> harness.Problem:
    return harness.Problem("exception", "read", "KeyError", message, "x.py:1", "", "m", "b")


def test_settle_fails_on_unknown_tolerates_known_and_records_census(monkeypatch, tmp_path) -> None:
    monkeypatch.delenv("EFFICACY_HOSTILE_CENSUS", raising=False)
    monkeypatch.delenv("EFFICACY_HOSTILE_STRICT", raising=False)
    monkeypatch.setattr(harness, "_TOLERATED", [])
    harness.settle([], "read")
    with pytest.raises(AssertionError, match=r"KeyError at x\.py:1 .*mutations: m"):
        harness.settle([_problem("boom")], "read")
    monkeypatch.setattr(harness, "KNOWN", [("known boom", r"KeyError at x\.py:1 \| .*boom")])
    harness.settle([_problem("boom")], "read")
    assert harness.tolerated() == [("known boom", _problem("boom"))]
    monkeypatch.setenv("EFFICACY_HOSTILE_STRICT", "1")
    with pytest.raises(AssertionError):
        harness.settle([_problem("boom")], "read")
    record = tmp_path / "census.jsonl"
    monkeypatch.setenv("EFFICACY_HOSTILE_CENSUS", str(record))
    harness.settle([_problem("boom")], "cli")
    lines = [json.loads(line) for line in record.read_text(encoding="utf-8").splitlines()]
    assert lines[0] == {"case": "cli", "problems": 1}
    assert lines[1]["type"] == "KeyError" and lines[1]["message"] == "boom"
