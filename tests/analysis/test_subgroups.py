"""Subgroups of the primary estimate (efficacy.analysis.subgroups).

References:
* a subgroup's estimate is a direct ``fit_mmrm`` of the primary model on that
  subgroup's records (sample parallel trial, to 1e-10);
* with one post-baseline visit the MMRM is ordinary least squares (one variance,
  REML = OLS, Kenward-Roger df = n - p), so the interaction F test must equal the OLS
  F test of the arm x subgroup coefficients from statsmodels (closed form);
* on the multi-visit sample, the 1-df sex interaction equals the t test of the
  arm x sex interaction contrast at W12 built with the engine's LS-means contrast
  machinery (``MMRMResult.contrast`` with custom weights), an independent route to L.
"""

from __future__ import annotations

import math
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import statsmodels.formula.api as smf

import efficacy
from efficacy.analysis import analyze
from efficacy.analysis.subgroups import SUBGROUP_COLUMNS, age_band_labels
from efficacy.errors import ProtocolError
from efficacy.instruments import score_trial
from efficacy.protocol import load_protocol
from efficacy.sim import simulate_parallel, write_bundle


@pytest.fixture(scope="module")
def parallel_result(samples):
    return samples.analysis("parallel_12wk")


@pytest.fixture(scope="module")
def records_once(samples) -> pd.DataFrame:
    """``_records`` of the parallel sample, scored once for the module."""
    return _records(samples.trial("parallel_12wk"))


@pytest.fixture
def records(records_once) -> pd.DataFrame:
    """The parallel sample's cutometer_r2 change rows: a fresh copy for each test."""
    return records_once.copy()


def _records(trial: efficacy.Trial) -> pd.DataFrame:
    """Post-baseline change rows of cutometer_r2 for randomised people, with subgroups."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        e = score_trial(trial).endpoints
    subj = trial.subjects.loc[trial.subjects["randomized"].fillna(False).astype(bool)]
    d = e.loc[(e["endpoint"] == "cutometer_r2") & (e["phase"] == "post_baseline")]
    d = d.merge(subj[["subject_id", "arm", "sex", "age", "fitzpatrick"]], on="subject_id")
    d["arm"] = pd.Categorical(d["arm"].astype(str), categories=["VEHICLE", "ACTIVE"])
    return d


def test_subgroup_estimate_equals_direct_fit_on_its_records(records, parallel_result) -> None:
    sub = parallel_result.subgroups
    assert list(sub.columns) == list(SUBGROUP_COLUMNS)
    assert set(sub["analysis"]) == {"subgroup"}
    d = records  # _records(samples.trial("parallel_12wk"))
    d["visit"] = pd.Categorical(d["visit"].astype(str), categories=["W2", "W4", "W8", "W12"])
    for level in ("M", "F"):
        fit = efficacy.fit_mmrm(
            d.loc[d["sex"] == level].reset_index(drop=True),
            "change ~ baseline + arm * visit",
            subject="subject_id",
            visit="visit",
            covariance="us",
            df="kenward-roger",
        )
        ref = fit.contrast("arm", by="visit").set_index("visit").loc["W12"]
        row = sub.loc[(sub["subgroup"] == "sex") & (sub["level"] == level)].iloc[0]
        for k in ("estimate", "std_error", "df", "conf_low", "conf_high", "p_value"):
            assert row[k] == pytest.approx(ref[k], rel=1e-10), (level, k)
        at = d.loc[(d["sex"] == level) & (d["visit"] == "W12") & d["change"].notna()]
        n = at.groupby("arm", observed=True)["subject_id"].nunique()
        assert (row["n_active"], row["n_control"]) == (n["ACTIVE"], n["VEHICLE"])


def test_small_subgroups_are_not_estimable_with_the_reason(parallel_result) -> None:
    sub = parallel_result.subgroups.set_index(["subgroup", "level"])
    # sample parallel trial: phototypes I (2 ACTIVE, 4 VEHICLE at W12) and V (3, 3)
    for level, shown in (("I", "VEHICLE 4, ACTIVE 2"), ("V", "VEHICLE 3, ACTIVE 3")):
        row = sub.loc[("fitzpatrick", level)]
        assert row["status"] == "not estimable" and math.isnan(row["estimate"])
        assert row["reason"] == (
            f"not estimable: fewer than 5 participants per arm with a W12 value ({shown})"
        )
    # the interaction is tested across the estimable phototypes only, and says so
    note = sub.loc[("fitzpatrick", "II"), "interaction_note"]
    assert note.endswith("across II, III, IV (I, V not estimable)")
    assert sub.loc[("fitzpatrick", "II"), "interaction_num_df"] == 2.0
    assert list(sub.loc["age_band"].index) == ["<35", "35 to <50", ">=50"]


def test_sex_interaction_equals_the_contrast_t_test(records, parallel_result) -> None:
    """1 df: F = t^2 of the arm x sex contrast at W12, built by MMRMResult.contrast."""
    d = records  # _records(samples.trial("parallel_12wk"))
    d["visit"] = pd.Categorical(d["visit"].astype(str), categories=["W2", "W4", "W8", "W12"])
    d["subgroup"] = pd.Categorical(d["sex"].astype(str), categories=["F", "M"])
    fit = efficacy.fit_mmrm(
        d,
        "change ~ baseline + arm * subgroup * visit",
        subject="subject_id",
        visit="visit",
        covariance="us",
        df="kenward-roger",
    )
    # cells in emmeans order (arm fastest): VEHICLE F, ACTIVE F, VEHICLE M, ACTIVE M
    c = fit.contrast(["arm", "subgroup"], by="visit", method={"int": [1, -1, -1, 1]})
    ref = c.set_index("visit").loc["W12"]
    row = parallel_result.subgroups.query("subgroup == 'sex'").iloc[0]
    assert row["interaction_statistic"] == pytest.approx(ref["statistic"] ** 2, rel=1e-8)
    assert row["interaction_den_df"] == pytest.approx(ref["df"], rel=1e-8)
    assert row["interaction_p"] == pytest.approx(ref["p_value"], rel=1e-8)


def test_one_visit_interaction_equals_ols_f_test(tmp_path: Path) -> None:
    bundle = write_bundle(simulate_parallel(3, 80, weeks=(0, 12)), tmp_path / "t")
    plan = tmp_path / "plan.toml"
    plan.write_text(
        'extends = "iso-efficacy-2025"\n[analysis]\nkey_secondary = []\nsecondary = []\n'
        'populations = ["itt"]\n[analysis.sensitivity]\ntipping_point = false\n'
        '[analysis.subgroups]\nby = ["sex", "age_band"]\nage_bands = [40, 48]\n',
        encoding="utf-8",
    )
    trial = efficacy.read_trial(bundle)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        sub = analyze(trial, plan).subgroups
    d = _records(trial)
    d = d.loc[d["change"].notna() & d["baseline"].notna()].copy()
    d["band"] = pd.cut(d["age"], [-np.inf, 40, 48, np.inf], right=False, labels=[0, 1, 2])
    for var, term in (("sex", "C(sex)"), ("age_band", "C(band)")):
        ols = smf.ols(f"change ~ baseline + C(arm) * {term}", data=d).fit()
        names = [n for n in ols.params.index if n.startswith("C(arm)[T.ACTIVE]:")]
        test = ols.f_test(np.eye(len(ols.params))[[list(ols.params.index).index(n) for n in names]])
        row = sub.loc[sub["subgroup"] == var].iloc[0]
        assert row["interaction_num_df"] == len(names) == (1 if var == "sex" else 2)
        assert row["interaction_den_df"] == pytest.approx(ols.df_resid, rel=1e-6)
        assert row["interaction_statistic"] == pytest.approx(float(test.fvalue), rel=1e-6)
        assert row["interaction_p"] == pytest.approx(float(test.pvalue), rel=1e-6)
    # and each sex's estimate is the OLS arm effect within that sex
    for level in ("F", "M"):
        ols = smf.ols("change ~ baseline + C(arm)", data=d.loc[d["sex"] == level]).fit()
        row = sub.loc[(sub["subgroup"] == "sex") & (sub["level"] == level)].iloc[0]
        assert row["estimate"] == pytest.approx(ols.params["C(arm)[T.ACTIVE]"], rel=1e-6)
        assert row["std_error"] == pytest.approx(ols.bse["C(arm)[T.ACTIVE]"], rel=1e-6)


def test_subgroup_plan_defaults_and_problems(tmp_path: Path) -> None:
    plan = load_protocol("iso-efficacy-2025").analysis
    assert plan is not None
    assert plan.subgroups.by == ("fitzpatrick", "sex", "age_band")
    assert plan.subgroups.age_bands == (35.0, 50.0) and plan.subgroups.min_per_arm == 5
    assert age_band_labels(plan.subgroups.age_bands) == ["<35", "35 to <50", ">=50"]
    bad = tmp_path / "bad.toml"
    bad.write_text(
        'extends = "iso-efficacy-2025"\n[analysis.subgroups]\nby = ["eyes"]\n'
        "age_bands = [50, 30]\nmin_per_arm = 1\n",
        encoding="utf-8",
    )
    with pytest.raises(ProtocolError) as info:
        load_protocol(bad)
    text = str(info.value)
    assert "'by' has unknown values ['eyes']" in text
    assert "'age_bands' must be increasing ages" in text
    assert "'min_per_arm' = 1 is below its minimum 2" in text
