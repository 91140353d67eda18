"""The one CLI: version, output folders refused before any work, where files went."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
import time
import tomllib
from pathlib import Path

import pytest

import efficacy
from efficacy import _atomic
from efficacy.cli import COMMANDS, main

ROOT = Path(__file__).resolve().parents[2]
SAMPLES = ROOT / "sample_data"


@pytest.mark.parametrize("flag", ["--version", "-V"])
def test_version_flags(flag: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main([flag]) == 0
    assert capsys.readouterr().out == f"efficacy {efficacy.__version__}\n"


def test_one_version_source() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    assert "version" not in project["project"] and project["project"]["dynamic"] == ["version"]
    assert project["tool"]["hatch"]["version"]["path"] == "efficacy/__init__.py"
    proc = subprocess.run(
        [sys.executable, "-m", "efficacy", "-V"],
        cwd=ROOT,  # this checkout's package
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert (proc.returncode, proc.stdout) == (0, f"efficacy {efficacy.__version__}\n")


def test_stage_packages_hold_no_command_line_code() -> None:
    developer_tools = {ROOT / "efficacy" / "sim" / "__main__.py"}  # regenerates sample_data
    for path in (ROOT / "efficacy").rglob("*.py"):
        if "cli" in path.relative_to(ROOT / "efficacy").parts or path in developer_tools:
            continue
        text = path.read_text(encoding="utf-8")
        assert "import argparse" not in text, path
    assert set(COMMANDS) == {
        "validate",
        "protocols",
        "score",
        "report",
        "analyze",
        "export",
        "classify",
        "plan",
        "claims",
    }
    for name, command in COMMANDS.items():
        assert command.run.__module__ == f"efficacy.cli.{name}"


def _unwritable_cases(tmp_path: Path) -> list[tuple[Path, str]]:
    afile = tmp_path / "afile"
    afile.write_text("x")
    return [
        (afile, f"--out {afile}: is a file, not a folder; give a folder path (or move the file)"),
        (
            afile / "out",
            f"--out {afile / 'out'}: {afile} is a file, so the folder cannot be created there; "
            "give a path under a folder",
        ),
    ]


@pytest.mark.parametrize(
    "argv",
    [
        ["report", str(SAMPLES / "parallel_12wk")],
        ["analyze", str(SAMPLES / "parallel_12wk"), "--format", "csv"],
        ["analyze", str(SAMPLES / "parallel_12wk"), "--format", "json"],
        ["score", str(SAMPLES / "parallel_12wk")],
    ],
    ids=["report", "analyze-csv", "analyze-json", "score"],
)
def test_unwritable_out_is_refused_before_any_work(
    argv: list[str],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import efficacy.io

    def no_work(*args: object, **kwargs: object) -> None:
        raise AssertionError("the bundle was read before the output folder was checked")

    monkeypatch.setattr(efficacy.io, "read_trial", no_work)
    for out, message in _unwritable_cases(tmp_path):
        start = time.perf_counter()
        code = main([*argv, "--out", str(out)])
        elapsed = time.perf_counter() - start
        err = capsys.readouterr().err
        assert (code, err) == (2, f"efficacy: error: {message}\n")
        assert elapsed < 1.0

    # a folder that exists but refuses new files (chmod does not stop root: simulated)
    def denied(*args: object, **kwargs: object) -> None:
        raise PermissionError(13, "Permission denied")

    ro = tmp_path / "ro"
    ro.mkdir()
    monkeypatch.setattr(_atomic.tempfile, "mkstemp", denied)
    assert main([*argv, "--out", str(ro)]) == 2
    assert capsys.readouterr().err == (
        f"efficacy: error: --out {ro}: cannot write there: Permission denied; choose a folder "
        "you can write to, or fix its permissions\n"
    )


@pytest.mark.skipif(not Path("/proc/self").is_dir(), reason="needs Linux /proc")
def test_report_into_a_folder_no_one_can_write(capsys: pytest.CaptureFixture[str]) -> None:
    start = time.perf_counter()
    code = main(["report", str(SAMPLES / "parallel_12wk"), "--out", "/proc/efficacy-out"])
    assert code == 2 and time.perf_counter() - start < 1.0
    err = capsys.readouterr().err
    assert err.startswith("efficacy: error: --out /proc/efficacy-out: cannot write there")
    assert err.count("\n") == 1


def test_analyze_out_with_text_format_is_a_usage_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["analyze", str(SAMPLES / "parallel_12wk"), "--out", str(tmp_path / "o")]) == 2
    assert "add --format csv or --format json" in capsys.readouterr().err
    assert not (tmp_path / "o").exists()


def _short_plan(tmp_path: Path) -> Path:
    path = tmp_path / "short.toml"
    path.write_text(
        'extends = "iso-efficacy-2025"\n[analysis]\nkey_secondary = []\nsecondary = []\n'
        'populations = ["itt"]\n[analysis.sensitivity]\nimputations = 2\n',
        encoding="utf-8",
    )
    return path


def test_analyze_says_where_it_wrote_and_modes_are_0644(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    old = os.umask(0o022)
    try:
        out = tmp_path / "a"
        argv = ["analyze", str(SAMPLES / "parallel_12wk"), "--protocol", str(_short_plan(tmp_path))]
        assert main([*argv, "--format", "csv", "--out", str(out)]) == 0
        names = ["estimates", "lsmeans", "effect_sizes", "models", "sensitivity"]
        names += ["reference_based", "skipped"]
        assert capsys.readouterr().out == "".join(f"wrote {out / n}.csv\n" for n in names)
        assert main([*argv, "--format", "json", "--out", str(out)]) == 0
        assert capsys.readouterr().out == f"wrote {out / 'analysis.json'}\n"
    finally:
        os.umask(old)
    files = sorted(out.iterdir())
    assert len(files) == 8  # 7 csv tables and analysis.json
    assert {stat.S_IMODE(p.stat().st_mode) for p in files} == {0o644}


def test_score_interrupted_between_renames_keeps_the_previous_set(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from tests.instruments.test_score_command import _bundle

    out = tmp_path / "scores"
    assert main(["score", str(_bundle(tmp_path)), "--out", str(out)]) == 0
    before = {p.name: p.read_bytes() for p in out.iterdir()}
    other = tmp_path / "other"
    other.mkdir()
    bundle = _bundle(other)
    (bundle / "subjects.csv").write_text(
        (bundle / "subjects.csv").read_text().replace("S2,V", "S3,V")
    )
    for name in ("measurements.csv",):
        (bundle / name).write_text((bundle / name).read_text().replace("S2,", "S3,"))
    real_replace = os.replace
    calls = {"n": 0}

    def replace(src: object, dst: object) -> None:
        calls["n"] += 1
        if calls["n"] == 2:
            raise KeyboardInterrupt  # Ctrl-C after pro_scores.csv, before endpoints.csv
        real_replace(src, dst)

    monkeypatch.setattr(_atomic.os, "replace", replace)
    capsys.readouterr()
    assert main(["score", str(bundle), "--out", str(out)]) == 130
    assert capsys.readouterr().err.endswith("efficacy: interrupted\n")
    assert {p.name: p.read_bytes() for p in out.iterdir()} == before
    monkeypatch.setattr(_atomic.os, "replace", real_replace)
    assert main(["score", str(bundle), "--out", str(out)]) == 0
    after = {p.name: p.read_bytes() for p in out.iterdir()}
    assert sorted(after) == sorted(before) and after != before and b"S3," in after["endpoints.csv"]


def test_sigterm_while_rendering_cleans_up(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    import signal

    from efficacy.cli import score
    from tests.instruments.test_score_command import _bundle

    out = tmp_path / "scores"
    bundle = _bundle(tmp_path)
    assert main(["score", str(bundle), "--out", str(out)]) == 0
    before = {p.name: p.read_bytes() for p in out.iterdir()}
    real = score.to_csv_bytes
    calls = {"n": 0}

    def render(frame: object) -> bytes:
        calls["n"] += 1
        if calls["n"] == 2:  # the first file is already a temporary file
            os.kill(os.getpid(), signal.SIGTERM)
        return real(frame)

    monkeypatch.setattr(score, "to_csv_bytes", render)
    capsys.readouterr()
    handler = signal.getsignal(signal.SIGTERM)
    assert main(["score", str(bundle), "--out", str(out), "--skindex-overall"]) == 143
    assert capsys.readouterr().err.endswith("efficacy: terminated\n")
    assert {p.name: p.read_bytes() for p in out.iterdir()} == before  # no *.tmp either
    assert signal.getsignal(signal.SIGTERM) == handler  # put back
