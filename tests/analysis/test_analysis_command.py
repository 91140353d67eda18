"""`efficacy analyze`: registration, formats, atomic output, exit codes."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from efficacy.analysis.result import MODEL_COLUMNS, RESULT_COLUMNS
from efficacy.cli import COMMANDS, main

SAMPLES = Path(__file__).resolve().parents[2] / "sample_data"


def _plan(tmp_path: Path) -> Path:
    # a short plan keeps the test fast: primary endpoint only, ITT, 5 imputations
    path = tmp_path / "short.toml"
    path.write_text(
        'extends = "iso-efficacy-2025"\n[analysis]\nkey_secondary = ["corneometer"]\n'
        'secondary = []\npopulations = ["itt"]\n[analysis.sensitivity]\nimputations = 5\n',
        encoding="utf-8",
    )
    return path


def test_registered() -> None:
    from efficacy.cli.analyze import run_analyze

    assert COMMANDS["analyze"].run is run_analyze


def test_csv_folder(tmp_path, capsys) -> None:
    out = tmp_path / "out"
    code = main(
        [
            "analyze",
            str(SAMPLES / "parallel_12wk"),
            "--protocol",
            str(_plan(tmp_path)),
            "--format",
            "csv",
            "--out",
            str(out),
        ]
    )
    assert code == 0
    names = sorted(p.name for p in out.iterdir())
    assert names == sorted(
        [
            "estimates.csv",
            "lsmeans.csv",
            "effect_sizes.csv",
            "models.csv",
            "sensitivity.csv",
            "reference_based.csv",
            "skipped.csv",
        ]
    )
    models = pd.read_csv(out / "models.csv")
    assert tuple(models.columns) == MODEL_COLUMNS
    # the short plan: primary + one key secondary, ITT; both fit the planned covariance
    assert list(models["endpoint"]) == ["cutometer_r2", "corneometer"]
    assert models["converged"].all() and set(models["covariance"]) == {"us"}
    assert set(models["n_obs"]) == {460}  # 120 subjects, 4 post-baseline visits, dropouts
    est = pd.read_csv(out / "estimates.csv")
    assert tuple(est.columns) == RESULT_COLUMNS
    primary = est.loc[(est["role"] == "primary") & (est["visit"] == "W12")].iloc[0]
    assert primary["estimate"] == pytest.approx(0.05275357683195418, rel=1e-12)
    sens = pd.read_csv(out / "sensitivity.csv")
    assert len(sens) == 21 and sens["tipping_delta"].notna().all()


def test_json_stdout_and_not_analysed_exit_1(tmp_path, capsys) -> None:
    code = main(["analyze", str(SAMPLES / "flawed_pro"), "--format", "json"])
    cap = capsys.readouterr()
    assert code == 1
    doc = json.loads(cap.out)
    assert doc["status"] == "not analysed" and doc["estimates"] == []
    assert "not analysed: validation found 4 errors" in cap.err


def test_unusable_input_exit_2(tmp_path, capsys) -> None:
    assert main(["analyze", str(tmp_path / "missing")]) == 2
    err = capsys.readouterr().err
    assert err.startswith("efficacy: error:") and err.count("\n") == 1
    bad = tmp_path / "bad.toml"
    bad.write_text('extends = "iso-efficacy-2025"\n[analysis]\nalpha = 7\n', encoding="utf-8")
    assert main(["analyze", str(SAMPLES / "parallel_12wk"), "--protocol", str(bad)]) == 2
    assert "alpha" in capsys.readouterr().err
