"""Estimands in the analysis: intercurrent events from the data, strategies honoured,
every estimate row naming its estimand."""

from __future__ import annotations

import dataclasses
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import efficacy
from efficacy.analysis import analyze
from efficacy.analysis.intercurrent import ICE_COLUMNS, intercurrent_events
from efficacy.errors import ProtocolError


def _expected_from_disposition(trial: efficacy.Trial) -> pd.DataFrame:
    """Written out with pandas: non-completers, at the visit after the last attended."""
    order = ["W0", "W2", "W4", "W8", "W12"]
    s = trial.subjects
    s = s.loc[s["randomized"].fillna(False).astype(bool) & (s["disposition"] != "completed")]
    seen = pd.concat(
        [trial.measurements[["subject_id", "visit"]], trial.pro_responses[["subject_id", "visit"]]]
    )
    last = seen.assign(k=seen["visit"].map(order.index)).groupby("subject_id")["k"].max()
    nxt = s["subject_id"].map(last).map(lambda k: order[k + 1] if k + 1 < len(order) else "")
    return pd.DataFrame(
        {
            "subject_id": s["subject_id"].astype(str).to_numpy(),
            "arm": s["arm"].astype(str).to_numpy(),
            "event": "discontinued_product",
            "visit": nxt.to_numpy(),
        }
    )


def test_events_derived_from_disposition(samples) -> None:
    trial = samples.trial("parallel_12wk")
    ice = intercurrent_events(trial)
    assert tuple(ice.columns) == ICE_COLUMNS
    expected = _expected_from_disposition(trial)
    got = ice[["subject_id", "arm", "event", "visit"]].astype(str)
    pd.testing.assert_frame_equal(got.reset_index(drop=True), expected.astype(str))
    assert len(ice) == 10 and ice.groupby("arm").size().to_dict() == {"ACTIVE": 8, "VEHICLE": 2}
    # the analysis carries the same events (computed once, read by the report)
    result = samples.analysis("parallel_12wk")
    pd.testing.assert_frame_equal(result.intercurrent, ice)


def test_rows_name_their_estimand(samples) -> None:
    result = samples.analysis("parallel_12wk")
    f = result.to_frame()
    final = f.loc[(f["visit"] == "W12") & (f["analysis"] == "mmrm")].set_index(
        ["endpoint", "population"]
    )["estimand"]
    assert final[("cutometer_r2", "itt")] == "primary"
    assert final[("cutometer_r2", "per_protocol")] == "primary@per_protocol"
    assert final[("corneometer", "itt")] == "key_secondary:corneometer"
    assert final[("wrinkle_ra", "itt")] == "secondary:wrinkle_ra"
    assert (f.loc[f["visit"] != "W12", "estimand"] == "").all()
    # the sensitivity analyses name the estimand they support
    sens = result.sensitivity_frame().groupby("population")["estimand"].unique()
    assert {k: list(v) for k, v in sens.items()} == {
        "itt": ["primary"],
        "per_protocol": ["primary@per_protocol"],
    }
    note = result.primary("itt")["notes"]
    assert "estimand primary: discontinued_product in 10 participant(s), hypothetical" in note
    assert [e.id for e in result.estimands][:2] == ["primary", "key_secondary:corneometer"]


_PLAN = """extends = "iso-efficacy-2025"
[analysis]
key_secondary = []
secondary = []
populations = ["itt"]
[analysis.sensitivity]
tipping_point = false
[[analysis.estimands]]
id = "E1"
variableOfInterestId = "cutometer_r2"
[[analysis.estimands.intercurrentEvents]]
name = "prohibited_product"
strategy = "{strategy}"
"""


def _with_events(trial: efficacy.Trial) -> tuple[efficacy.Trial, dict[str, str]]:
    """8 ACTIVE participants used a prohibited product: 6 by W4, 2 on day 40 (-> W8)."""
    active = trial.subjects.loc[
        (trial.subjects["arm"] == "ACTIVE") & (trial.subjects["disposition"] == "completed"),
        "subject_id",
    ]
    ids = list(active.iloc[:8])
    table = pd.DataFrame(
        {
            "subject_id": pd.array(ids, dtype="string"),
            "visit": pd.array(["W4"] * 6 + [None, None], dtype="string"),
            "day": pd.array([None] * 6 + [40, 40], dtype="Int64"),
            "event": pd.array(["prohibited_product"] * 8, dtype="string"),
        },
        index=pd.RangeIndex(1, 9, name="row"),
    )
    first = dict(zip(ids, ["W4"] * 6 + ["W8"] * 2, strict=True))
    return dataclasses.replace(trial, intercurrent_events=table), first


def _run(tmp_path: Path, trial: efficacy.Trial, strategy: str) -> efficacy.AnalysisResult:
    path = tmp_path / f"{strategy}.toml"
    path.write_text(_PLAN.format(strategy=strategy), encoding="utf-8")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return analyze(trial, path)


def test_while_on_treatment_excludes_post_event_records(tmp_path: Path, samples) -> None:
    trial, first = _with_events(samples.trial("parallel_12wk"))
    ice = intercurrent_events(trial)
    assert dict(zip(ice["subject_id"], ice["visit"], strict=True)) == first
    result = _run(tmp_path, trial, "while_on_treatment")
    row = result.primary("itt")
    assert row["estimand"] == "E1"
    # the same fit, directly, on the data without the post-event records
    e = result.scored.endpoints
    subj = trial.subjects.loc[trial.subjects["randomized"].fillna(False).astype(bool)]
    d = e.loc[(e["endpoint"] == "cutometer_r2") & (e["phase"] == "post_baseline")]
    d = d.merge(subj[["subject_id", "arm"]], on="subject_id")
    order = ["W2", "W4", "W8", "W12"]
    start = d["subject_id"].map(first).map(lambda v: order.index(v) if isinstance(v, str) else 9)
    d = d.loc[d["visit"].map(order.index) < start].reset_index(drop=True)
    assert (
        len(e.loc[(e["endpoint"] == "cutometer_r2") & (e["phase"] == "post_baseline")]) - len(d)
        == 6 * 3 + 2 * 2
    )
    d["arm"] = pd.Categorical(d["arm"].astype(str), categories=["VEHICLE", "ACTIVE"])
    d["visit"] = pd.Categorical(d["visit"].astype(str), categories=order)
    fit = efficacy.fit_mmrm(
        d,
        "change ~ baseline + arm * visit",
        subject="subject_id",
        visit="visit",
        covariance="us",
        df="kenward-roger",
    )
    ref = fit.contrast("arm", by="visit", method="reference").set_index("visit").loc["W12"]
    for col in ("estimate", "std_error", "df", "conf_low", "conf_high", "p_value"):
        assert row[col] == pytest.approx(ref[col], rel=1e-10), col
    # and it differs from the analysis that uses every record
    default = samples.analysis("parallel_12wk").primary("itt")
    assert abs(row["estimate"] - default["estimate"]) > 1e-4
    assert "22 post-event values not used (estimand E1's strategy)" in row["notes"]


def test_treatment_policy_uses_post_event_records(tmp_path: Path, samples) -> None:
    trial, _ = _with_events(samples.trial("parallel_12wk"))
    row = _run(tmp_path, trial, "treatment_policy").primary("itt")
    default = samples.analysis("parallel_12wk").primary("itt")
    assert row["estimate"] == pytest.approx(default["estimate"], rel=1e-10)
    assert row["std_error"] == pytest.approx(default["std_error"], rel=1e-10)
    assert "treatment policy strategy (values after the event are used as observed" in row["notes"]
    assert "MMRM under missing at random (MAR), as is conventional" in row["notes"]


def test_composite_counts_events_as_non_response(tmp_path: Path, samples) -> None:
    trial, first = _with_events(samples.trial("parallel_12wk"))
    path = tmp_path / "composite.toml"
    plan = _PLAN.format(strategy="composite") + (
        '[[analysis.responders]]\nendpoint = "cutometer_r2"\nkind = "absolute"\nthreshold = 0.05\n'
    )
    path.write_text(plan, encoding="utf-8")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        result = analyze(trial, path)
    f = result.to_frame()
    row = f.loc[f["analysis"] == "responder_difference"].iloc[0]
    assert row["estimand"] == "E1"
    assert result.primary("itt")["analysis"] == "responder_difference"
    # the MMRM of the endpoint supports the responder estimand: it estimates none itself
    mmrm = f.loc[(f["analysis"] == "mmrm") & (f["visit"] == "W12"), "estimand"]
    assert mmrm.tolist() == [""]
    e = result.scored.endpoints
    w12 = e.loc[(e["endpoint"] == "cutometer_r2") & (e["visit"] == "W12")]
    w12 = w12.loc[w12["responder"].notna()].set_index("subject_id")["responder"].astype(bool)
    w12[w12.index.isin(list(first))] = False  # the event is non-response
    arm = trial.subjects.set_index("subject_id")["arm"]
    p = w12.groupby(arm.reindex(w12.index)).mean()
    assert row["estimate"] == pytest.approx(p["ACTIVE"] - p["VEHICLE"], rel=1e-12)
    assert "8 participant(s) with a composite event count as non-responders" in row["notes"]


def test_estimand_visit_and_arms_are_checked_against_the_trial(tmp_path: Path, samples) -> None:
    path = tmp_path / "bad.toml"
    path.write_text(
        _PLAN.format(strategy="hypothetical").replace(
            'variableOfInterestId = "cutometer_r2"',
            'variableOfInterestId = "cutometer_r2"\nvisit = "W8"\ninterventionIds = ["PLACEBO"]',
        ),
        encoding="utf-8",
    )
    with pytest.raises(ProtocolError) as info:
        analyze(samples.trial("parallel_12wk"), path, force=True)
    assert info.value.problems == (
        "[analysis.estimands] 'E1' visit = 'W8': estimands are estimated at the plan's final "
        "visit W12; set visit = \"final\" (or [analysis] final_visit = 'W8')",
        "[analysis.estimands] 'E1' interventionIds ['PLACEBO'] are not active arms of this "
        "trial (ACTIVE)",
    )


def test_validation_rules_for_the_events_table(samples) -> None:
    trial = samples.trial("parallel_12wk")
    table = pd.DataFrame(
        {
            "subject_id": pd.array(["S0001", "S9999", "S0002", "S0003"], dtype="string"),
            "visit": pd.array(["W4", "W4", "W5", None], dtype="string"),
            "day": pd.array([None, None, None, None], dtype="Int64"),
            "event": pd.array(["rescue_treatment"] * 4, dtype="string"),
        },
        index=pd.RangeIndex(1, 5, name="row"),
    )
    bad = dataclasses.replace(trial, intercurrent_events=table)
    report = efficacy.validate(bad)
    f = report.to_frame()
    f = f.loc[f["rule_id"].str.startswith("ICE-")]
    got = [(r.rule_id, int(r.row), r.message) for r in f.itertuples()]
    assert got == [
        (
            "ICE-001",
            2,
            "subject_id 'S9999' is not in the subjects table; add the subject or correct the id",
        ),
        (
            "ICE-002",
            3,
            "visit 'W5' is not a scheduled visit (W0, W2, W4, W8, W12); use one of them or "
            "give the day",
        ),
        (
            "ICE-003",
            4,
            "the event has neither a visit nor a day; give the first visit it affects (visit) "
            "or its study day (day)",
        ),
    ]
    # only the valid row reaches the analysis
    ice = intercurrent_events(bad)
    assert ice[["subject_id", "visit", "event"]].values.tolist() == [
        ["S0001", "W4", "rescue_treatment"]
    ]
    assert np.array_equal(ice["source"].unique(), ["intercurrent_events table"])
