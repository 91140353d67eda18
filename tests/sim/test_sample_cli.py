"""`efficacy validate` on the sample bundles: exit codes and JSON findings."""

from __future__ import annotations

import json
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest

from efficacy.cli import main
from efficacy.sim.samples import CLEAN_BUNDLES
from tests.sim.flawed import ANALYSABLE

SAMPLE_DATA = Path(__file__).resolve().parents[2] / "sample_data"


def _run(capsys, *args: str) -> tuple[int, str, str]:
    code = main(["validate", *args])
    out, err = capsys.readouterr()
    return code, out, err


@pytest.mark.parametrize("name", sorted(CLEAN_BUNDLES))
def test_clean_bundle_exits_0_even_on_warnings(name, capsys):
    code, out, _ = _run(capsys, str(SAMPLE_DATA / name), "--format", "json", "--fail-on", "warning")
    doc = json.loads(out)
    assert code == 0
    assert doc["ok"] is True and doc["findings"] == []
    assert doc["counts"] == {"error": 0, "warning": 0, "notice": 0}
    assert all(doc["rules"][r]["status"] == "passed" for r in doc["rules"] if r.startswith("ISO-"))


@pytest.mark.parametrize("name", ANALYSABLE)
def test_flawed_bundle_exits_1_with_the_planted_findings(name, capsys, flawed):
    code, out, _ = _run(capsys, str(SAMPLE_DATA / name), "--format", "json")
    doc = json.loads(out)
    assert code == 1 and doc["ok"] is False
    got = Counter(
        (f["rule_id"], f["severity"], f["row"], f["subject_id"])
        for f in doc["findings"]
        if f["severity"] in ("error", "warning")
    )
    want = Counter(
        (f.rule_id, f.severity, f.row, f.subject_id)
        for f in flawed[name].expected
        if f.severity in ("error", "warning")
    )
    assert got == want


def test_flawed_manifest_exits_2_in_process(capsys):
    code, out, err = _run(capsys, str(SAMPLE_DATA / "flawed_manifest"), "--format", "json")
    assert code == 2 and out == ""
    assert err.count("\n") == 1 and "leaves the bundle folder" in err


def test_console_exit_code_and_one_line_error():
    # one real process: the exit code and the one-line stderr cross the process boundary
    # unchanged (`python -m efficacy.cli`, no traceback)
    proc = subprocess.run(
        [sys.executable, "-m", "efficacy.cli", "validate", str(SAMPLE_DATA / "flawed_manifest")],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert proc.returncode == 2, proc.stderr
    assert "Traceback" not in proc.stderr and proc.stderr.count("\n") == 1


def test_clean_sample_exits_0(cli):
    # the same `sys.exit(main())` with exit code 0, in-process (the `cli` fixture)
    clean = cli("validate", str(SAMPLE_DATA / "parallel_12wk"))
    assert clean.returncode == 0, clean.stderr
