"""One error hierarchy in efficacy.errors; every message is one line."""

from __future__ import annotations

import ast
import pickle
import re
import shutil
import warnings
from pathlib import Path

import pytest

import efficacy
from efficacy import errors
from efficacy.errors import (
    ConversionTableError,
    EfficacyError,
    EfficacyWarning,
    InputError,
    ProtocolError,
    UsageError,
)

ROOT = Path(__file__).resolve().parents[1]


def test_every_exception_class_is_defined_in_errors_py() -> None:
    # control flow, not errors: validation rule outcomes, and SIGTERM in the CLI
    control_flow = {"NotApplicable", "CouldNotRun", "_Terminated"}
    found = []
    for path in (ROOT / "efficacy").rglob("*.py"):
        if path.name == "errors.py" and path.parent.name == "efficacy":
            continue
        text = path.read_text(encoding="utf-8")
        # Parse only files with a class statement naming an exception-like base in its
        # parentheses (every class the AST check below can find has one); parsing all
        # ~200 modules took most of this test's 0.9 s.
        if not re.search(r"\bclass\s+\w+\s*\([^)]*(Exception|Error|Warning)", text):
            continue
        for node in ast.walk(ast.parse(text)):
            if isinstance(node, ast.ClassDef):
                bases = {ast.unparse(b).rsplit(".", 1)[-1] for b in node.bases}
                if bases & {"Exception", "BaseException", "ValueError", "UserWarning"} or any(
                    b.endswith(("Error", "Warning")) for b in bases
                ):
                    found.append(f"{path.relative_to(ROOT)}:{node.name}")
    assert [f for f in found if f.rsplit(":", 1)[1] not in control_flow] == []


def test_hierarchy() -> None:
    for name in errors.__all__:
        cls = getattr(errors, name)
        assert issubclass(cls, EfficacyError | EfficacyWarning), name
    assert issubclass(UsageError, EfficacyError) and issubclass(ConversionTableError, InputError)
    # one ProtocolError (the former InvalidProtocolError is the same class)
    from efficacy.protocol import InvalidProtocolError

    assert InvalidProtocolError is ProtocolError
    # names users catch stay importable where they were
    import efficacy.instruments
    from efficacy.validation import ValidationFailedError

    assert efficacy.instruments.ConversionTableError is ConversionTableError
    assert ValidationFailedError is errors.ValidationFailedError
    assert efficacy.EfficacyError is EfficacyError


def test_messages_are_one_line() -> None:
    assert str(EfficacyError("a\nb\r\n  c\td")) == "a b c d"
    assert str(InputError("file x\ny.csv not found")) == "file x y.csv not found"
    err = ProtocolError("protocol 'p'", ["id 'a\nb' is bad", "title\nmissing"])
    assert str(err) == "protocol 'p': 2 problems: id 'a b' is bad; title missing"
    assert err.problems == ("id 'a b' is bad", "title missing")
    assert str(ProtocolError("no such\nprotocol")) == "no such protocol"
    assert ProtocolError("x").problems == ()
    table = ConversionTableError("t\n.csv", ["row 3:\nraw sum missing"])
    assert (
        str(table) == "t .csv: invalid FACE-Q conversion table, 1 problem: row 3: raw sum missing"
    )
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        warnings.warn(errors.ConvergenceWarning("did not\nconverge"), stacklevel=1)
    assert str(caught[0].message) == "did not converge"


def test_errors_survive_pickling() -> None:
    err = ProtocolError("protocol 'p'", ["a", "b"])
    back = pickle.loads(pickle.dumps(err))
    assert (type(back), str(back), back.problems) == (ProtocolError, str(err), ("a", "b"))
    table = pickle.loads(pickle.dumps(ConversionTableError("t.csv", ["x"])))
    assert (table.source, table.problems, str(table)) == (
        "t.csv",
        ("x",),
        "t.csv: invalid FACE-Q conversion table, 1 problem: x",
    )


def test_a_newline_in_a_toml_value_stays_out_of_the_api_message(tmp_path: Path) -> None:
    bundle = tmp_path / "b"
    shutil.copytree(ROOT / "sample_data" / "parallel_12wk", bundle)
    toml = bundle / "trial.toml"
    toml.write_text(
        toml.read_text().replace('subjects = "subjects.csv"', 'subjects = """sub\njects.csv"""')
    )
    with pytest.raises(InputError) as info:
        efficacy.read_trial(bundle)
    message = str(info.value)
    assert "\n" not in message and "\r" not in message
    assert message.endswith(
        f"file {bundle}/sub jects.csv not found; fix the name or remove the entry"
    )
