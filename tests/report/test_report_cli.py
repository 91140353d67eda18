"""``efficacy report``: files written, exit codes 0 / 1 / 2, one-line errors."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from efficacy.cli import main

ROOT = Path(__file__).resolve().parents[2]
SAMPLES = ROOT / "sample_data"


def test_report_writes_the_requested_formats(tmp_path: Path, capsys) -> None:
    code = main(
        [
            "report",
            str(SAMPLES / "split_face_12wk"),
            "--out",
            str(tmp_path),
            "--format",
            "json,html",
        ]
    )
    assert code == 0
    assert sorted(p.name for p in tmp_path.iterdir()) == ["report.html", "report.json"]
    data = json.loads((tmp_path / "report.json").read_text(encoding="utf-8"))
    assert data["title_block"]["trial_id"] == "SIM-SPLITFACE-12W"
    out = capsys.readouterr().out
    assert "verdict: conforms (iso-efficacy-2025 1.0)" in out


def test_findings_exit_1_unless_never(tmp_path: Path, capsys) -> None:
    # flawed_consort has error findings (sample_data/flawed_consort/README.md)
    args = ["report", str(SAMPLES / "flawed_consort"), "--out", str(tmp_path), "--format", "json"]
    assert main(args) == 1
    assert (tmp_path / "report.json").exists()  # written before the exit code
    assert main([*args, "--fail-on", "never"]) == 0


@pytest.mark.parametrize(
    ("argv", "needle"),
    [
        (["--format", "xlsx"], "give one or more of html,pdf,json,docx,rtf"),
        (["--protocol", "no-such-protocol"], "no-such-protocol"),
    ],
)
def test_usage_errors_exit_2(tmp_path: Path, capsys, argv: list[str], needle: str) -> None:
    code = main(["report", str(SAMPLES / "parallel_12wk"), "--out", str(tmp_path), *argv])
    err = capsys.readouterr().err
    assert code == 2 and needle in err and "Traceback" not in err
    assert len(err.strip().splitlines()) == 1


def test_missing_bundle_exit_2(tmp_path: Path, capsys) -> None:
    code = main(["report", str(tmp_path / "nope"), "--out", str(tmp_path / "o")])
    err = capsys.readouterr().err
    assert code == 2 and err.startswith("efficacy: error:") and len(err.splitlines()) == 1
