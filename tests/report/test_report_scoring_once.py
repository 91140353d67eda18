"""The report reads the analysis's scored trial; it never scores again (design review
2026-12, item 2): section 5 shows the very baseline values the analysis used."""

from __future__ import annotations

import shutil
import warnings
from pathlib import Path

import pandas as pd
import pytest

import efficacy
from efficacy.analysis import AnalysisResult, analyze
from efficacy.instruments import prepare_measurements
from efficacy.io import read_trial
from efficacy.protocol import Protocol, load_protocol
from efficacy.report import build_report

SAMPLES = Path(__file__).resolve().parents[2] / "sample_data"
#: Mean baseline Cutometer R2 of the 120 randomised participants of parallel_12wk
#: (mean of the W0 column of its measurements.csv): the value of curves 2 and 3 below.
R2_MEAN = 0.7396575
_CURVES = """extends = "iso-efficacy-2025"
[protocol]
id = "curves-test"
version = "0.1"
title = "Cutometer curves 2 and 3"
[scoring]
cutometer_curves = [2, 3]
[analysis]
key_secondary = []
secondary = []
populations = ["itt"]
[analysis.sensitivity]
tipping_point = false
"""


def _bundle(path: Path) -> Path:
    """parallel_12wk with three Cutometer curves per reading; curve 1 has Ua 10% lower.

    Curves 2 and 3 are the sample's readings, so ``cutometer_curves = [2, 3]`` gives
    the sample's values; averaging all three curves gives lower R2 (and Ua, R8).
    """
    shutil.copytree(SAMPLES / "parallel_12wk", path)
    m = pd.read_csv(path / "measurements.csv", dtype=str, keep_default_na=False)
    cut = m["endpoint"].str.startswith("cutometer")
    curves = []
    for k in (1, 2, 3):
        r = m.loc[cut].assign(replicate=str(k))
        if k == 1:
            low = r["endpoint"].isin(["cutometer_ua", "cutometer_r8", "cutometer_r2"])
            r.loc[low, "value"] = (r.loc[low, "value"].astype(float) * 0.9).round(6).astype(str)
        curves.append(r)
    out = pd.concat([*curves, m.loc[~cut].assign(replicate="")]).sort_index(kind="stable")
    out.to_csv(path / "measurements.csv", index=False)
    return path


@pytest.fixture(scope="module")
def curves(tmp_path_factory) -> tuple[efficacy.Trial, Protocol, AnalysisResult]:
    root = tmp_path_factory.mktemp("curves")
    (root / "curves.toml").write_text(_CURVES, encoding="utf-8")
    protocol = load_protocol(root / "curves.toml")
    trial = read_trial(_bundle(root / "bundle"))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return trial, protocol, analyze(trial, protocol)


def _baseline_r2(report_data: dict) -> float:
    table = report_data["baseline"]["tables"][1]
    rows = table["rows"]
    i = next(i for i, r in enumerate(rows) if r["label"].startswith("Cutometer R2"))
    assert rows[i]["label"].endswith("(primary)")
    mean = next(r for r in rows[i:] if r["label"] == "Mean (SD)")
    return float(mean["cells"]["TOTAL"]["mean"])


def test_baseline_table_uses_the_analysis_values(curves, monkeypatch) -> None:
    trial, protocol, result = curves
    assert result.status == "analysed" and result.scored is not None
    assert result.scored.options.cutometer_curves == (2, 3)
    e = result.scored.endpoints
    used = e.loc[(e["endpoint"] == "cutometer_r2") & (e["visit"] == "W0")]
    assert used.groupby("subject_id")["value"].mean().mean() == pytest.approx(R2_MEAN, abs=1e-12)
    # what section 5 showed before: every curve averaged (the protocol's option ignored)
    m = trial.measurements
    old = prepare_measurements(m.loc[(m["visit"] == "W0").fillna(False).to_numpy(bool)])
    old_r2 = old.loc[old["endpoint"] == "cutometer_r2"].groupby("subject_id")["value"].mean()
    assert old_r2.mean() == pytest.approx(R2_MEAN * 2.9 / 3, abs=1e-6)  # 0.7150
    # the report must not score again when it has the analysis
    import efficacy.instruments as instruments

    def refuse(*_a: object, **_k: object) -> None:
        raise AssertionError("the report scored the trial again")

    monkeypatch.setattr(instruments, "score_trial", refuse)
    monkeypatch.setattr(instruments, "prepare_measurements", refuse)
    report = build_report(trial, protocol, analysis=result)
    assert _baseline_r2(report.data) == pytest.approx(R2_MEAN, abs=1e-12)


def test_without_analysis_the_report_scores_with_the_protocol_options(curves) -> None:
    trial, protocol, _ = curves
    report = build_report(trial, protocol)
    assert report.data["efficacy"]["status"] == "not_run"
    assert _baseline_r2(report.data) == pytest.approx(R2_MEAN, abs=1e-12)
