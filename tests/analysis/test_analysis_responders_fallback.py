"""Declared responder analyses and the covariance fallback order."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest

import efficacy
from efficacy.analysis import analyze
from efficacy.analysis.data import ModelData
from efficacy.analysis.models import fit_endpoint
from efficacy.analysis.stats import newcombe_difference
from efficacy.instruments import ResponderRule, ScoringOptions, score_trial


def test_declared_responders(tmp_path, samples) -> None:
    path = tmp_path / "resp.toml"
    path.write_text(
        'extends = "iso-efficacy-2025"\n[analysis]\nkey_secondary = []\nsecondary = []\n'
        'populations = ["itt"]\n[analysis.sensitivity]\ntipping_point = false\n'
        '[[analysis.responders]]\nendpoint = "corneometer"\nkind = "percent"\n'
        "threshold = 10\nlogistic = true\n",
        encoding="utf-8",
    )
    trial = samples.trial("parallel_12wk")  # read_trial(sample_data/parallel_12wk)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        res = analyze(trial, path)
        rule = ResponderRule("corneometer", "percent", 10.0)
        derived = score_trial(trial, options=ScoringOptions(responders=(rule,))).endpoints
    f = res.to_frame()
    rows = f.loc[f["endpoint"].str.startswith("corneometer responder")]
    assert list(rows["model"].str.split(" ").str[0]) == ["difference", "logistic"]
    d = derived.loc[(derived["endpoint"] == "corneometer") & (derived["visit"] == "W12")]
    d = d.merge(trial.subjects[["subject_id", "arm"]], on="subject_id")
    act = d.loc[d["arm"] == "ACTIVE", "responder"].astype(bool)
    ctl = d.loc[d["arm"] == "VEHICLE", "responder"].astype(bool)
    ref = newcombe_difference(int(act.sum()), act.size, int(ctl.sum()), ctl.size)
    new = rows.iloc[0]
    assert (new["estimate"], new["conf_low"], new["conf_high"], new["p_value"]) == pytest.approx(
        ref, rel=1e-12
    )
    assert (new["n_active"], new["n_control"]) == (act.size, ctl.size)
    assert new["role"] == "secondary" and new["visit"] == "W12"
    import statsmodels.api as sm

    X = sm.add_constant(
        np.column_stack([d["baseline"], (d["arm"] == "ACTIVE").astype(float)]),
        has_constant="add",
    )
    glm = sm.GLM(d["responder"].astype(float).to_numpy(), X, sm.families.Binomial()).fit()
    assert rows.iloc[1]["estimate"] == pytest.approx(glm.params[2], rel=1e-5)


def test_fallback_along_the_declared_order() -> None:
    rng = np.random.default_rng(2)
    rows = []
    for i in range(30):
        arm = "CTL" if i % 2 else "TRT"
        base = rng.normal(10, 1)
        visits = ["V1", "V2", "V3"] if i == 0 else ["V1", "V2"]  # V3: one subject only
        rows += [(f"S{i}", arm, v, base, rng.normal()) for v in visits]
    frame = pd.DataFrame(rows, columns=["subject_id", "arm", "visit", "baseline", "change"])
    frame["arm"] = pd.Categorical(frame["arm"], categories=["CTL", "TRT"])
    frame["visit"] = pd.Categorical(frame["visit"], categories=["V1", "V2", "V3"])
    data = ModelData(frame=frame, baseline=frame.drop_duplicates("subject_id"), notes=())
    from efficacy.analysis.plan import TrialPlan

    settings = efficacy.load_protocol("iso-efficacy-2025").analysis
    assert settings is not None
    plan = TrialPlan(
        "parallel", (("corneometer", "primary"),), "CTL", ("TRT",), ("V1", "V2"), "V2",
        12.0, ("itt",), settings.parallel, settings, (),
    )  # fmt: skip
    fit = fit_endpoint(data, plan)
    assert fit.covariance == "cs"
    notes = " | ".join(fit.notes)
    for tried in ("us", "toeph", "ar1h"):
        assert f"{tried} covariance could not be fitted" in notes
    assert "fell back to cs covariance (declared order us -> toeph -> ar1h -> cs)" in notes
    spec = fit.spec(plan.model)
    assert (spec["covariance_planned"], spec["covariance"]) == ("us -> toeph -> ar1h -> cs", "cs")
    assert spec["converged"] and "fell back to cs" in spec["notes"]
    assert spec["n_subjects"] == 30 and spec["n_obs"] == 61


def test_split_face_paired_responders(tmp_path, samples) -> None:
    from efficacy.analysis.stats import newcombe_paired_difference

    path = tmp_path / "sf.toml"
    path.write_text(
        'extends = "iso-efficacy-2025"\n[analysis]\nkey_secondary = []\nsecondary = []\n'
        'populations = ["itt"]\n[analysis.sensitivity]\ntipping_point = false\n'
        '[[analysis.responders]]\nendpoint = "corneometer"\nkind = "percent"\n'
        "threshold = 10\nlogistic = true\n",
        encoding="utf-8",
    )
    trial = samples.trial("split_face_12wk")  # read_trial(sample_data/split_face_12wk)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        res = analyze(trial, path)
        rule = ResponderRule("corneometer", "percent", 10.0)
        derived = score_trial(trial, options=ScoringOptions(responders=(rule,))).endpoints
    d = derived.loc[(derived["endpoint"] == "corneometer") & (derived["visit"] == "W12")]
    counts = [0, 0, 0, 0]
    subj = trial.subjects.dropna(subset=["allocation"])
    for sid, alloc in zip(subj["subject_id"], subj["allocation"], strict=True):
        site_of = {arm: site for site, arm in (p.split("=") for p in alloc.split(";"))}
        x = d.loc[d["subject_id"] == sid].set_index("body_site")["responder"]
        if x.empty:
            continue
        t, c = bool(x[site_of["ACTIVE"]]), bool(x[site_of["VEHICLE"]])
        counts[(0 if c else 1) if t else (2 if c else 3)] += 1
    f = res.to_frame()
    rows = f.loc[f["endpoint"].str.startswith("corneometer responder")]
    assert len(rows) == 2 and rows["model"].iloc[1].startswith("conditional logistic")
    ref = newcombe_paired_difference(*counts)
    row = rows.iloc[0]
    assert (row["estimate"], row["conf_low"], row["conf_high"], row["p_value"]) == pytest.approx(
        ref, rel=1e-12
    )
    assert row["n_active"] == sum(counts) == 38
    assert np.isfinite(rows["estimate"].iloc[1])
