"""What the analysis hands on is structure: estimand ids, analysis kinds, arms, the
adjustment, the scored trial; never text to be parsed (design review 2026-12, item 1)."""

from __future__ import annotations

import dataclasses
import io
import json
import math
import warnings
from pathlib import Path

import pandas as pd
import pytest

import efficacy
from efficacy.analysis import RESULT_COLUMNS, AnalysisResult, analyze
from efficacy.analysis.result import ANALYSES, estimand_id
from efficacy.cli import main
from efficacy.instruments import score_trial
from efficacy.report import build_report

SAMPLES = Path(__file__).resolve().parents[2] / "sample_data"


def _plan(tmp_path: Path, body: str = "") -> Path:
    path = tmp_path / "short.toml"
    path.write_text(
        'extends = "iso-efficacy-2025"\n[analysis]\nkey_secondary = ["corneometer", '
        '"wrinkle_rz"]\nsecondary = ["cutometer_r5"]\n[analysis.sensitivity]\nimputations = 5\n'
        '[[analysis.responders]]\nendpoint = "corneometer"\nkind = "percent"\nthreshold = 10\n'
        "logistic = true\n" + body,
        encoding="utf-8",
    )
    return path


@pytest.fixture(scope="module")
def short(samples, tmp_path_factory) -> tuple[efficacy.Trial, Path, AnalysisResult]:
    trial = samples.trial("parallel_12wk")  # read_trial(SAMPLES / "parallel_12wk")
    path = _plan(tmp_path_factory.mktemp("plan"))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return trial, path, analyze(trial, path)


def test_new_columns_follow_the_nineteen(short) -> None:
    _, _, result = short
    frame = result.to_frame()
    assert tuple(frame.columns) == RESULT_COLUMNS
    assert RESULT_COLUMNS[:19][-1] == "notes" and len(RESULT_COLUMNS) == 24
    assert RESULT_COLUMNS[19:] == (
        "estimand",
        "analysis",
        "active_arm",
        "control_arm",
        "adjustment",
    )
    # the sample plan declares no ANCOVA nor reference-based analysis
    assert set(frame["analysis"]) == {"mmrm", "responder_difference", "logistic"}
    assert set(ANALYSES) == {
        "mmrm",
        "responder_difference",
        "logistic",
        "reference_based",
        "ancova",
    }
    assert set(frame["active_arm"]) == {"ACTIVE"} and set(frame["control_arm"]) == {"VEHICLE"}


def test_estimand_ids(short) -> None:
    _, _, result = short
    f = result.to_frame()
    ids = f.loc[f["estimand"] != "", ["estimand", "endpoint", "visit", "analysis"]]
    assert sorted(ids["estimand"]) == sorted(
        [
            "primary",
            "primary@per_protocol",
            "key_secondary:corneometer",
            "key_secondary:corneometer@per_protocol",
            "key_secondary:wrinkle_rz",
            "key_secondary:wrinkle_rz@per_protocol",
            "secondary:cutometer_r5",
            "secondary:cutometer_r5@per_protocol",
            "responder:corneometer",
            "responder:corneometer@per_protocol",
        ]
    )
    assert set(ids["visit"]) == {"W12"}  # only the final visit estimates an estimand
    assert f.loc[f["visit"] != "W12", "estimand"].eq("").all()
    assert f.loc[f["analysis"] == "logistic", "estimand"].eq("").all()  # supportive
    primary = f.loc[f["estimand"] == "primary"].iloc[0]
    assert (primary["endpoint"], primary["population"]) == ("cutometer_r2", "itt")
    assert estimand_id("key secondary", "x", "per_protocol") == "key_secondary:x@per_protocol"


def test_rows_are_found_without_reading_notes(short) -> None:
    """Rewording every note changes nothing that code selects."""
    _, _, result = short
    est = result.estimates.assign(notes="reworded", model="reworded")
    mute = dataclasses.replace(result, estimates=est)
    want = result.primary("itt").drop(["notes", "model"])
    pd.testing.assert_series_equal(mute.primary("itt").drop(["notes", "model"]), want)
    assert mute.primary("per_protocol")["estimand"] == "primary@per_protocol"
    from efficacy.report.outcomes import outcome_sections

    eff = outcome_sections(mute)["efficacy"]["result"]
    assert len(eff["responders"]) == 4  # difference + logistic, ITT and per protocol
    assert len(eff["summary"]) == 8  # 4 MMRM endpoints x 2 populations
    finals = [d["visit"] for b in eff["endpoints"] for p in b["populations"]
              for d in p["differences"] if d["final"]]  # fmt: skip
    assert finals == ["W12"] * 8


def test_adjustment_column(short) -> None:
    _, _, result = short
    f = result.to_frame()
    k = f.loc[(f["role"] == "key secondary") & (f["visit"] == "W12") & (f["analysis"] == "mmrm")]
    assert (k["adjustment"] == "holm across 2 key secondary endpoints").all()
    assert f.loc[f.index.difference(k.index), "adjustment"].eq("").all()
    assert f.loc[f["adjustment"] == "", "p_adjusted"].isna().all()


def test_primary_p_adjusted_is_empty_everywhere(short, tmp_path, capsys) -> None:
    """The primary is in no multiplicity family: no adjusted p in the frame, CLI, report."""
    trial, path, result = short
    f = result.to_frame()
    assert f.loc[f["role"] == "primary", "p_adjusted"].isna().all()
    assert not math.isnan(result.primary("itt")["p_value"])
    data = json.loads(json.dumps(result.to_dict()))
    prim = [r for r in data["estimates"] if r["role"] == "primary"]
    assert prim and all(r["p_adjusted"] is None for r in prim)
    assert main(["analyze", str(SAMPLES / "parallel_12wk"), "--protocol", str(path),
                 "--format", "csv"]) == 0  # fmt: skip
    csv = pd.read_csv(io.StringIO(capsys.readouterr().out))
    assert csv.loc[csv["role"] == "primary", "p_adjusted"].isna().all()
    assert csv.loc[csv["role"] == "key secondary", "p_adjusted"].notna().any()
    report = build_report(trial, path, analysis=result)
    block = report.data["efficacy"]["result"]["endpoints"][0]
    assert block["endpoint"] == "cutometer_r2" and block["adjusted"] is False
    for pop in block["populations"]:
        assert all(d["p_adjusted"] is None for d in pop["differences"])
    summary = report.data["efficacy"]["result"]["summary"]
    assert all(r["p_adjusted"] is None for r in summary if r["role"] == "primary")


def test_scored_trial_travels_on_the_result(short) -> None:
    trial, path, result = short
    assert result.scored is not None
    direct = score_trial(trial, protocol=efficacy.load_protocol(path))
    # the analysis adds the plan's responder rule; the values are the same
    pd.testing.assert_series_equal(result.scored.endpoints["value"], direct.endpoints["value"])
    assert result.scored.endpoints["responder"].notna().any()
    refused = AnalysisResult.not_analysed("T", "p@1", "parallel", ("why",))
    assert refused.scored is None and not refused.analysed
    assert tuple(refused.to_frame().columns) == RESULT_COLUMNS
