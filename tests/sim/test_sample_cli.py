"""`efficacy validate` on the sample bundles: exit codes and JSON findings."""

from __future__ import annotations

import json
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest

from efficacy.cli import main
from efficacy.sim.samples import CLEAN_BUNDLES, flawed_bundles

SAMPLE_DATA = Path(__file__).resolve().parents[2] / "sample_data"
FLAWED = {fb.name: fb for fb in flawed_bundles()}


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


@pytest.mark.parametrize("name", sorted(n for n, fb in FLAWED.items() if not fb.raises))
def test_flawed_bundle_exits_1_with_the_planted_findings(name, capsys):
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
        for f in FLAWED[name].expected
        if f.severity in ("error", "warning")
    )
    assert got == want


def test_flawed_manifest_exits_2_in_process(capsys):
    code, out, err = _run(capsys, str(SAMPLE_DATA / "flawed_manifest"), "--format", "json")
    assert code == 2 and out == ""
    assert err.count("\n") == 1 and "leaves the bundle folder" in err


@pytest.mark.parametrize(("name", "expected"), [("flawed_manifest", 2), ("parallel_12wk", 0)])
def test_console_exit_codes(name, expected):
    # one real process each: the exit code crosses the process boundary unchanged
    proc = subprocess.run(
        [sys.executable, "-m", "efficacy.cli", "validate", str(SAMPLE_DATA / name)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert proc.returncode == expected, proc.stderr
    if expected == 2:
        assert "Traceback" not in proc.stderr and proc.stderr.count("\n") == 1
