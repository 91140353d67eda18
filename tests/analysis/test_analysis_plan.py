"""efficacy.analysis.analyze on the sample bundles: equal to direct fits, fixed columns,
multiplicity as statsmodels, split-face equal to the paired analysis, purity, force."""

from __future__ import annotations

import dataclasses
import math
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy import stats

import efficacy
from efficacy.analysis import RESULT_COLUMNS, AnalysisResult, analyze
from efficacy.instruments import score_trial
from tests.statsmodels_ref import multipletests


@pytest.fixture(scope="module")
def parallel(samples) -> efficacy.Trial:
    return samples.trial("parallel_12wk")


@pytest.fixture(scope="module")
def split_face(samples) -> efficacy.Trial:
    return samples.trial("split_face_12wk")


@pytest.fixture(scope="module")
def parallel_result(samples) -> AnalysisResult:
    return samples.analysis("parallel_12wk")  # analyze(trial): the default protocol


def _protocol(tmp_path: Path, body: str) -> Path:
    path = tmp_path / "plan.toml"
    path.write_text('extends = "iso-efficacy-2025"\n' + body, encoding="utf-8")
    return path


def _derived(trial) -> pd.DataFrame:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return score_trial(trial).endpoints


@pytest.fixture(scope="module")
def derived_once(parallel) -> pd.DataFrame:
    """``score_trial(parallel).endpoints``, scored once here (not from the analysis)."""
    return _derived(parallel)


@pytest.fixture
def parallel_derived(derived_once) -> pd.DataFrame:
    """The parallel trial's derived endpoints: a fresh copy for each test."""
    return derived_once.copy()


def test_columns_are_fixed(parallel_result) -> None:
    frame = parallel_result.to_frame()
    assert tuple(frame.columns) == RESULT_COLUMNS
    assert parallel_result.status == "analysed"
    assert set(frame["role"]) == {"primary", "key secondary", "secondary"}
    assert set(frame["population"]) == {"itt", "per_protocol"}
    # per population: 8 instrumental endpoints x 4 visits + 5 PRO scales x 2 visits (W4, W12)
    assert len(frame) == 2 * (8 * 4 + 5 * 2)
    pro = frame.loc[frame["endpoint"].str.startswith(("skindex16_", "faceq_"))]
    assert set(pro["visit"]) == {"W4", "W12"}
    assert frame["converged"].all()
    assert (frame["covariance"] == "us").all()


def test_primary_equals_direct_fit_mmrm(parallel, parallel_result, parallel_derived) -> None:
    """The primary estimand equals fit_mmrm on the same data (to 1e-10)."""
    e = parallel_derived
    subj = parallel.subjects.loc[parallel.subjects["randomized"].fillna(False).astype(bool)]
    d = e.loc[(e["endpoint"] == "cutometer_r2") & (e["phase"] == "post_baseline")]
    d = d.merge(subj[["subject_id", "arm"]], on="subject_id")
    d["arm"] = pd.Categorical(d["arm"].astype(str), categories=["VEHICLE", "ACTIVE"])
    d["visit"] = pd.Categorical(d["visit"].astype(str), categories=["W2", "W4", "W8", "W12"])
    fit = efficacy.fit_mmrm(
        d,
        "change ~ baseline + arm * visit",
        subject="subject_id",
        visit="visit",
        covariance="us",
        df="kenward-roger",
    )
    ref = fit.contrast("arm", by="visit", method="reference").set_index("visit").loc["W12"]
    row = parallel_result.primary("itt")
    for ours, theirs in [
        ("estimate", "estimate"),
        ("std_error", "std_error"),
        ("df", "df"),
        ("conf_low", "conf_low"),
        ("conf_high", "conf_high"),
        ("p_value", "p_value"),
    ]:
        assert row[ours] == pytest.approx(ref[theirs], rel=1e-10, abs=1e-300)
    assert row["visit"] == "W12" and row["comparison"] == "ACTIVE vs VEHICLE"
    assert math.isnan(row["p_adjusted"])  # the primary is in no multiplicity family
    assert row["n_active"] == 52 and row["n_control"] == 58  # completers at W12 (ITT)
    ls = parallel_result.lsmeans
    ours = ls.loc[(ls["endpoint"] == "cutometer_r2") & (ls["population"] == "itt")]
    theirs = fit.lsmeans("arm", by="visit")
    np.testing.assert_allclose(ours["estimate"], theirs["estimate"], rtol=1e-10)
    # the model-specification record of that fit is the direct fit's own
    m = parallel_result.models.set_index(["endpoint", "population"]).loc[("cutometer_r2", "itt")]
    assert m["neg2_loglik"] == pytest.approx(-2.0 * fit.loglik, rel=1e-10)
    assert m["aic"] == pytest.approx(fit.aic, rel=1e-10)
    assert (m["n_subjects"], m["n_obs"]) == (fit.n_subjects, fit.n_obs) == (120, 460)
    assert m["iterations"] == fit.iterations and m["optimizer"] == fit.optimizer
    assert (m["method"], m["covariance"], m["df_method"]) == ("REML", "us", "kenward-roger")
    assert m["covariance_planned"] == "us -> toeph -> ar1h -> cs" and m["converged"]


def test_key_secondary_holm_equals_multipletests(parallel_result) -> None:
    f = parallel_result.to_frame()
    for pop in ("itt", "per_protocol"):
        k = f.loc[(f["role"] == "key secondary") & (f["visit"] == "W12") & (f["population"] == pop)]
        assert list(k["endpoint"]) == [
            "corneometer",
            "wrinkle_rz",
            "faceq_satisfaction_facial_appearance",
        ]
        expected = multipletests(k["p_value"].to_numpy(), alpha=0.05, method="holm")[1]
        np.testing.assert_allclose(k["p_adjusted"], expected, rtol=1e-12)
    other = f.loc[(f["role"] == "secondary") | (f["visit"] != "W12")]
    assert other["p_adjusted"].isna().all()


def test_hochberg_and_fixed_sequence_from_the_protocol(parallel, tmp_path) -> None:
    for method, sm_name in (("hochberg", "simes-hochberg"), ("fixed-sequence", None)):
        path = _protocol(
            tmp_path,
            f'[analysis]\nmultiplicity = "{method}"\nsecondary = []\npopulations = ["itt"]\n'
            "[analysis.sensitivity]\ntipping_point = false\n",
        )
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            f = analyze(parallel, path).to_frame()
        k = f.loc[(f["role"] == "key secondary") & (f["visit"] == "W12")]
        p = k["p_value"].to_numpy()
        if sm_name:
            expected = multipletests(p, alpha=0.05, method=sm_name)[1]
        else:
            expected = np.maximum.accumulate(p)
        np.testing.assert_allclose(k["p_adjusted"], expected, rtol=1e-12)
        how = f"{method} across 3 key secondary endpoints"
        if method == "fixed-sequence":
            how += " (running maximum of p in testing order)"
        assert (k["adjustment"] == how).all()


def test_effect_size_is_hedges_g_of_observed_final_change(
    parallel, parallel_result, parallel_derived
) -> None:
    import pingouin as pg

    e = parallel_derived
    d = e.loc[(e["endpoint"] == "corneometer") & (e["visit"] == "W12")].merge(
        parallel.subjects[["subject_id", "arm"]], on="subject_id"
    )
    act = d.loc[d["arm"] == "ACTIVE", "change"].dropna().to_numpy()
    ctl = d.loc[d["arm"] == "VEHICLE", "change"].dropna().to_numpy()
    g = pg.compute_effsize(act, ctl, eftype="hedges")
    f = parallel_result.to_frame()
    row = f.loc[
        (f["endpoint"] == "corneometer") & (f["population"] == "itt") & (f["visit"] == "W12")
    ]
    assert row["effect_size"].iloc[0] == pytest.approx(g, rel=1e-12)
    es = parallel_result.effect_sizes
    hit = es.loc[(es["endpoint"] == "corneometer") & (es["population"] == "itt")].iloc[0]
    ci = pg.compute_esci(g, act.size, ctl.size, eftype="hedges", decimals=12)
    assert (hit["conf_low"], hit["conf_high"]) == pytest.approx(tuple(ci), rel=1e-9)


def test_split_face_equals_paired_analysis(split_face, tmp_path) -> None:
    """One post-baseline visit, no baseline covariate: the MMRM is the paired t-test."""
    path = _protocol(
        tmp_path,
        '[analysis]\nfinal_visit = "W2"\nkey_secondary = []\nsecondary = []\n'
        "[analysis.split_face]\nadjust_baseline = false\n"
        "[analysis.sensitivity]\ntipping_point = false\n",
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        res = analyze(split_face, path)
    e = _derived(split_face)
    e = e.loc[(e["endpoint"] == "cutometer_r2") & (e["visit"] == "W2")]
    diffs = []
    subj = split_face.subjects.dropna(subset=["allocation"])
    for sid, alloc in zip(subj["subject_id"], subj["allocation"], strict=True):
        site_of = {arm: site for site, arm in (p.split("=") for p in alloc.split(";"))}
        x = e.loc[e["subject_id"] == sid].set_index("body_site")["change"]
        diffs.append(x[site_of["ACTIVE"]] - x[site_of["VEHICLE"]])
    x = np.asarray(diffs)
    row = res.primary("itt")
    n = x.size
    assert row["estimate"] == pytest.approx(x.mean(), rel=1e-10)
    # the variance is the REML optimum, found to the engine's tolerance (~1e-8 relative)
    assert row["std_error"] == pytest.approx(x.std(ddof=1) / math.sqrt(n), rel=1e-6)
    assert row["df"] == pytest.approx(n - 1, rel=1e-6)
    assert row["p_value"] == pytest.approx(stats.ttest_1samp(x, 0.0).pvalue, rel=1e-5)
    assert row["n_active"] == n == 40
    assert "before the week 12" in " ".join(res.notes)


def test_split_face_default_plan(samples) -> None:
    res = samples.analysis("split_face_12wk")  # analyze(trial): the default protocol
    row = res.primary("itt")
    assert row["comparison"] == "ACTIVE site vs VEHICLE site"
    assert row["model"].startswith("within-subject MMRM change ~ baseline + visit")
    # person-level PROs have no within-person control: listed as skipped, never dropped
    sk = res.skipped
    assert set(sk["endpoint"]) >= {"skindex16_symptoms", "faceq_psychological_function"}
    assert sk["reason"].str.contains("per person").all()


_SHORT = (
    '[analysis]\nkey_secondary = []\nsecondary = []\npopulations = ["itt"]\n'
    "[analysis.sensitivity]\nimputations = 5\n"
)


def test_analyze_is_pure(parallel, tmp_path) -> None:
    before = {n: getattr(parallel, n).copy() for n in ("subjects", "measurements", "pro_responses")}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        analyze(parallel, _protocol(tmp_path, _SHORT))
    for name, frame in before.items():
        pd.testing.assert_frame_equal(getattr(parallel, name), frame)


def test_validation_errors_block_unless_forced(samples, tmp_path) -> None:
    trial = samples.trial("flawed_integrity")  # read_trial(sample_data/flawed_integrity)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        res = analyze(trial)
        assert res.status == "not analysed" and not res.analysed
        assert res.validation_errors == 12
        assert len(res.to_frame()) == 0 and tuple(res.to_frame().columns) == RESULT_COLUMNS
        assert "efficacy analyze --force" in res.notes[0]
        forced = analyze(trial, _protocol(tmp_path, _SHORT), force=True)
    assert forced.status == "analysed despite validation errors"
    assert forced.notes[0].startswith("analysed despite 12 validation errors")
    assert len(forced.to_frame()) == 4  # the primary endpoint at 4 visits
    # the subject listed twice by the flawed bundle is counted once, and said so
    assert "repeated subject ids" in forced.to_frame()["notes"].iloc[0]


def test_given_validation_report_is_used_and_checked(samples, parallel) -> None:
    flawed = samples.trial("flawed_integrity")  # read_trial(sample_data/flawed_integrity)
    report = efficacy.validate(flawed)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        res = analyze(flawed, validation=report)  # the same 12 errors, not re-validated
    assert (res.status, res.validation_errors) == ("not analysed", 12)
    with pytest.raises(efficacy.EfficacyError, match="validate this trial first"):
        analyze(parallel, validation=report)  # another trial's report is refused


def test_to_dict_is_json(parallel_result) -> None:
    import json

    data = json.loads(json.dumps(parallel_result.to_dict(), allow_nan=False))
    assert data["status"] == "analysed"
    assert len(data["estimates"]) == len(parallel_result.to_frame())
    assert data["sensitivity"][0]["imputations"] == 50


def _direct(
    trial, e: pd.DataFrame, endpoint: str, formula: str, visits: list[str], extra=()
) -> pd.DataFrame:
    subj = trial.subjects.loc[trial.subjects["randomized"].fillna(False).astype(bool)]
    d = e.loc[(e["endpoint"] == endpoint) & (e["phase"] == "post_baseline")]
    d = d.merge(subj[["subject_id", "arm", *extra]], on="subject_id")
    d["arm"] = pd.Categorical(d["arm"].astype(str), categories=["VEHICLE", "ACTIVE"])
    d["visit"] = pd.Categorical(d["visit"].astype(str), categories=visits)
    fit = efficacy.fit_mmrm(
        d, formula, subject="subject_id", visit="visit", covariance="us", df="kenward-roger"
    )
    return fit.contrast("arm", by="visit", method="reference").set_index("visit")


def test_pro_scale_goes_through_the_same_model(parallel, parallel_result, parallel_derived) -> None:
    ref = _direct(
        parallel,
        parallel_derived,
        "skindex16_emotions",
        "change ~ baseline + arm * visit",
        ["W4", "W12"],
    )
    f = parallel_result.to_frame()
    row = f.loc[
        (f["endpoint"] == "skindex16_emotions") & (f["population"] == "itt") & (f["visit"] == "W12")
    ].iloc[0]
    assert row["estimate"] == pytest.approx(ref.loc["W12", "estimate"], rel=1e-10)
    assert row["std_error"] == pytest.approx(ref.loc["W12", "std_error"], rel=1e-10)


def test_declared_covariates_enter_the_model(parallel, parallel_derived, tmp_path) -> None:
    path = _protocol(
        tmp_path,
        '[analysis]\ncovariates = ["age", "sex"]\nkey_secondary = []\nsecondary = []\n'
        'populations = ["itt"]\n[analysis.sensitivity]\ntipping_point = false\n',
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        res = analyze(parallel, path)
        ref = _direct(
            parallel,
            parallel_derived,
            "cutometer_r2",
            "change ~ baseline + age + sex + arm * visit",
            ["W2", "W4", "W8", "W12"],
            extra=("age", "sex"),
        )
    row = res.primary("itt")
    assert row["model"].startswith("MMRM change ~ baseline + age + sex + arm * visit")
    assert row["estimate"] == pytest.approx(ref.loc["W12", "estimate"], rel=1e-10)
    assert row["df"] == pytest.approx(ref.loc["W12", "df"], rel=1e-10)
    bad = _protocol(tmp_path, '[analysis]\ncovariates = ["shoe_size"]\n')
    with pytest.raises(efficacy.EfficacyError, match="shoe_size"):
        analyze(parallel, bad)


def test_summary_and_html(parallel_result) -> None:
    text = parallel_result.summary()
    assert text.startswith("SIM-PARALLEL-12W: analysed (iso-efficacy-2025@1.0, parallel)")
    assert "primary       cutometer_r2" in text and "tipping point cutometer_r2 itt" in text
    assert "  26 MMRMs, 0 not converged; covariance used: us 26 (see .models)" in text
    # a tipping point that does not exist is said so, with the reason (not "nan")
    none = dataclasses.replace(
        parallel_result.sensitivity[0],
        tipping_delta=math.nan,
        notes=("no missing final-visit values in the penalised arm: delta has no effect",),
    )
    text = dataclasses.replace(parallel_result, sensitivity=(none,)).summary()
    assert (
        "tipping point cutometer_r2 itt ACTIVE vs VEHICLE: none (no missing final-visit "
        "values in the penalised arm: delta has no effect)"
    ) in text
    html = parallel_result._repr_html_()
    assert html.count("<tr") == 1 + 2 * 13  # header + estimand rows (13 endpoints x 2)


def test_sample_tipping_point_grid_is_extended(parallel_result) -> None:
    itt, pp = parallel_result.sensitivity
    assert itt.population == "itt" and itt.n_missing_final == 8 and itt.imputations == 50
    t = itt.table
    assert len(t) == 21 and t["delta"].iat[-1] == pytest.approx(1.5 * itt.tipping_delta)
    assert t.loc[t["delta"] < itt.tipping_delta, "significant"].all()
    assert not t.loc[t["delta"] > itt.tipping_delta, "significant"].any()
    assert "extended" in " ".join(itt.notes)
    # no per-protocol subject misses the final visit: nothing to penalise
    assert pp.n_missing_final == 0 and np.isnan(pp.tipping_delta)


def test_unanalysable_design_is_reported_by_validation_first(samples) -> None:
    trial = samples.trial("flawed_design")  # no control arm, among others
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        res = analyze(trial)
        assert res.status == "not analysed" and res.validation_errors == 5
        with pytest.raises(efficacy.EfficacyError, match="exactly one control arm"):
            analyze(trial, force=True)


def test_protocol_without_a_plan(parallel) -> None:
    from efficacy.protocol import Protocol

    bare = Protocol(id="bare", version="1", title="no plan", source="test")
    with pytest.raises(efficacy.EfficacyError, match=r"no \[analysis\] section"):
        analyze(parallel, bare)


def test_fixed_sequence_stops_at_an_untestable_endpoint(split_face, tmp_path) -> None:
    # FACE-Q is per person: no within-person control in a split-face trial, so the
    # sequence corneometer -> faceq -> wrinkle_rz stops after corneometer
    path = _protocol(
        tmp_path,
        '[analysis]\nmultiplicity = "fixed-sequence"\nsecondary = []\npopulations = ["itt"]\n'
        'key_secondary = ["corneometer", "faceq_satisfaction_facial_appearance", "wrinkle_rz"]\n'
        "[analysis.sensitivity]\ntipping_point = false\n"
        '[[analysis.responders]]\nendpoint = "corneometer"\nkind = "percent"\nthreshold = 10\n',
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        f = analyze(split_face, path).to_frame()
    k = f.loc[(f["role"] == "key secondary") & (f["visit"] == "W12")].set_index("endpoint")
    assert k.at["corneometer", "p_adjusted"] == k.at["corneometer", "p_value"]
    assert np.isnan(k.at["wrinkle_rz", "p_adjusted"])
    responder = k.loc[k.index.str.contains("responder")]
    assert len(responder) == 1 and responder["p_adjusted"].isna().all()


def test_subjects_without_post_baseline_data_are_counted(parallel, parallel_derived) -> None:
    from efficacy.analysis.data import model_data
    from efficacy.analysis.plan import resolve_plan

    plan = resolve_plan(parallel, efficacy.load_protocol("iso-efficacy-2025"))
    e = parallel_derived
    gone = (e["subject_id"] == "S0001") & (e["phase"] == "post_baseline")
    data = model_data(parallel, e.loc[~gone], "cutometer_r2", "itt", plan)
    assert "1 of 120 subjects of the population have no post-baseline value" in data.notes[0]
    assert "S0001" in set(data.baseline["subject_id"])  # still imputed by the sensitivity MI
    assert "S0001" not in set(data.frame["subject_id"])


def test_itt_is_every_randomised_participant(parallel) -> None:
    from dataclasses import replace

    from efficacy.analysis.data import population

    subjects = parallel.subjects.copy()
    subjects.loc[subjects["subject_id"] == "S0001", "itt"] = False
    trial = replace(parallel, subjects=subjects)
    itt, text = population(trial, "itt")
    assert "S0001" in set(itt["subject_id"]) and len(itt) == 120
    assert "1 randomised subjects flagged itt = false are included" in text
    pp, _ = population(trial, "per_protocol")
    assert len(pp) == 104  # randomised and per_protocol (sample README: 50 + 54)


def test_result_is_immutable(parallel_result) -> None:
    import dataclasses

    with pytest.raises(dataclasses.FrozenInstanceError):
        parallel_result.status = "x"  # type: ignore[misc]
    with pytest.raises(TypeError):
        parallel_result.fits[("x", "itt")] = None  # type: ignore[index]
    frame = parallel_result.to_frame()
    frame.loc[0, "estimate"] = 0.0
    assert parallel_result.to_frame().loc[0, "estimate"] != 0.0
    fit = parallel_result.fits[("cutometer_r2", "itt")]
    assert fit.converged and fit.covariance_structure == "us" and fit.df_method == "kenward-roger"
