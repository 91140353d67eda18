"""MMRMResult behaviour: fixed columns, immutability, closed-form identities between its
tables, the design-based df methods, grouped covariance, rendering.

Expected values are closed-form consequences of the fitted numbers (e.g. an LS mean is
the documented linear function of the coefficients; a one-row Wald F is t squared) or
counts from fev_data (537 observations, 197 subjects, rank 11).
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from efficacy import fit_mmrm
from efficacy.errors import ModelSpecError
from efficacy.mmrm import ddf
from efficacy.mmrm.inference import kr_df_rows

MAIN = "FEV1 ~ RACE + SEX + ARMCD * AVISIT"
COLUMNS = ["term", "estimate", "std_error", "df", "statistic", "p_value", "conf_low", "conf_high"]


def fit(data, formula=MAIN, **kw):
    return fit_mmrm(data, formula, subject="USUBJID", visit="AVISIT", **kw)


@pytest.fixture(scope="module")
def res(fev_data):
    return fit(fev_data)


@pytest.fixture(scope="module")
def res_cov(fev_data):
    return fit(fev_data, "FEV1 ~ FEV1_BL + RACE + SEX + ARMCD * AVISIT")


@pytest.mark.parametrize(
    "options",
    [
        {},
        {"method": "ml"},
        {"df": "kenward-roger"},
        {"df": "residual"},
        {"df": "between-within", "covariance": "cs"},
        {"covariance": "ar1", "group": "ARMCD"},
    ],
)
def test_fixed_columns_whatever_the_options(fev_data, options):
    r = fit(fev_data, **options)
    assert list(r.to_frame().columns) == COLUMNS
    assert list(r.anova().columns) == ["term", "num_df", "den_df", "statistic", "p_value"]
    assert list(r.lsmeans("ARMCD").columns) == [
        "ARMCD",
        "estimate",
        "std_error",
        "df",
        "conf_low",
        "conf_high",
    ]
    assert list(r.contrast("ARMCD").columns) == [
        "contrast",
        "estimate",
        "std_error",
        "df",
        "statistic",
        "p_value",
        "conf_low",
        "conf_high",
    ]
    assert list(r.excluded.columns) == ["row", "columns", "reason"]


def test_result_is_immutable(res):
    with pytest.raises(dataclasses.FrozenInstanceError):
        res.loglik = 0.0  # type: ignore[misc]
    tab = res.to_frame()
    tab.loc[0, "estimate"] = 0.0
    assert res.to_frame().loc[0, "estimate"] != 0.0
    ex = res.excluded
    ex.loc[:, "reason"] = "changed"
    assert (res.excluded["reason"] == "missing outcome").all()
    cov = res.covariance
    cov.iloc[0, 0] = -1.0
    assert res.covariance.iloc[0, 0] > 0


def test_attributes(res):
    assert res.formula == MAIN
    assert (res.method, res.covariance_structure, res.df_method) == ("reml", "us", "satterthwaite")
    assert (res.n_obs, res.n_subjects) == (537, 197)
    assert res.converged and res.iterations >= 1 and res.optimizer == "newton"
    assert res.warnings == ()
    assert res.terms == ("(Intercept)", "RACE", "SEX", "ARMCD", "AVISIT", "ARMCD:AVISIT")
    # REML AIC = -2LL + 2 * 10 covariance parameters
    assert res.aic == pytest.approx(-2 * res.loglik + 20)
    assert res.bic == pytest.approx(-2 * res.loglik + 10 * np.log(200))


def test_confidence_limits_are_t_based(res):
    tab = res.to_frame()
    q = stats.t.ppf(0.975, tab["df"])
    np.testing.assert_allclose(tab["conf_low"], tab["estimate"] - q * tab["std_error"])
    np.testing.assert_allclose(tab["statistic"], tab["estimate"] / tab["std_error"])
    np.testing.assert_allclose(tab["p_value"], 2 * stats.t.sf(np.abs(tab["statistic"]), tab["df"]))
    t90 = res.to_frame(level=0.9)
    q90 = stats.t.ppf(0.95, tab["df"])
    np.testing.assert_allclose(t90["conf_high"], tab["estimate"] + q90 * tab["std_error"])
    with pytest.raises(ModelSpecError, match="level"):
        res.to_frame(level=95)


def test_cov_params_matches_standard_errors(res):
    vc = res.cov_params()
    assert list(vc.index) == res.to_frame()["term"].tolist()
    np.testing.assert_allclose(np.sqrt(np.diag(vc)), res.to_frame()["std_error"])
    np.testing.assert_allclose(vc.to_numpy(), vc.to_numpy().T)


def test_lsmeans_are_the_documented_linear_function(res_cov, fev_data):
    b = res_cov.to_frame().set_index("term")["estimate"]
    lsm = res_cov.lsmeans("ARMCD", by="AVISIT")
    mean_bl = fev_data.loc[fev_data["FEV1"].notna(), "FEV1_BL"].mean()
    base = (
        b["(Intercept)"]
        + mean_bl * b["FEV1_BL"]
        + (b["RACEBlack or African American"] + b["RACEWhite"]) / 3
        + b["SEXFemale"] / 2
    )
    # (TRT, VIS3): reference grid averaged over RACE (1/3 each) and SEX (1/2 each)
    expected = base + b["ARMCDTRT"] + b["AVISITVIS3"] + b["ARMCDTRT:AVISITVIS3"]
    assert lsm["estimate"][5] == pytest.approx(expected, rel=1e-12)
    # arm LS means average the visits equally
    by_arm = res_cov.lsmeans("ARMCD")
    assert by_arm["estimate"][1] == pytest.approx(lsm["estimate"][1::2].mean(), rel=1e-12)
    # SEs from the coefficient covariance
    vc = res_cov.cov_params().to_numpy()
    L = np.zeros(len(b))
    names = list(b.index)
    L[
        [names.index(n) for n in ("(Intercept)", "ARMCDTRT", "AVISITVIS3", "ARMCDTRT:AVISITVIS3")]
    ] = 1.0
    L[names.index("FEV1_BL")] = mean_bl
    L[names.index("RACEBlack or African American")] = L[names.index("RACEWhite")] = 1 / 3
    L[names.index("SEXFemale")] = 0.5
    assert lsm["std_error"][5] == pytest.approx(np.sqrt(L @ vc @ L), rel=1e-10)


def test_contrast_methods_agree(res):
    ref = res.contrast("ARMCD", by="AVISIT", method="reference")
    default = res.contrast("ARMCD", by="AVISIT")
    pd.testing.assert_frame_equal(default, ref)
    assert default["contrast"].tolist() == ["TRT - PBO"] * 4
    custom = res.contrast("ARMCD", by="AVISIT", method={"TRT vs PBO": [-1, 1]})
    np.testing.assert_allclose(custom["estimate"], ref["estimate"], rtol=1e-12)
    np.testing.assert_allclose(custom["df"], ref["df"], rtol=1e-10)
    assert custom["contrast"].tolist() == ["TRT vs PBO"] * 4
    other = res.contrast("ARMCD", by="AVISIT", method="reference", ref="TRT")
    np.testing.assert_allclose(other["estimate"], -ref["estimate"], rtol=1e-12)
    assert other["contrast"].tolist() == ["PBO - TRT"] * 4
    # the contrast equals the difference of the LS means
    lsm = res.lsmeans("ARMCD", by="AVISIT")
    np.testing.assert_allclose(
        ref["estimate"], lsm["estimate"][1::2].to_numpy() - lsm["estimate"][0::2].to_numpy()
    )
    # visits pairwise within each arm: 6 pairs x 2 arms, earlier minus later
    pw = res.contrast("AVISIT", by="ARMCD", method="pairwise")
    assert len(pw) == 12 and pw["contrast"][0] == "VIS1 - VIS2"
    # the default: each visit minus the first visit within each arm
    default = res.contrast("AVISIT", by="ARMCD")
    assert default["contrast"].tolist() == ["VIS2 - VIS1", "VIS3 - VIS1", "VIS4 - VIS1"] * 2
    np.testing.assert_allclose(default["estimate"][:3], -pw["estimate"][:3], rtol=1e-12)
    with pytest.raises(ModelSpecError, match="one weight per cell"):
        res.contrast("ARMCD", method={"bad": [1, 0, -1]})
    with pytest.raises(ModelSpecError, match="not a factor of the model"):
        res.lsmeans("FEV1_BL")


def test_wald_one_row_is_t_squared(res):
    tab = res.to_frame()
    L = np.zeros(11)
    L[4] = 1.0
    w = res.wald_test(L)
    assert w.statistic == pytest.approx(tab["statistic"][4] ** 2, rel=1e-10)
    assert w.den_df == pytest.approx(tab["df"][4], rel=1e-10)
    assert w.p_value == pytest.approx(tab["p_value"][4], rel=1e-8)
    with pytest.raises(ModelSpecError, match="not in the model"):
        res.wald_test("FEV1_BL")
    with pytest.raises(ModelSpecError, match=r"\(r, 11\)"):
        res.wald_test(np.ones(3))


def test_residual_df(fev_data):
    r = fit(fev_data, df="residual")
    # SAS DDFM=RESIDUAL: n - rank(X) = 537 - 11 everywhere
    assert (r.to_frame()["df"] == 526).all()
    assert (r.lsmeans("ARMCD", by="AVISIT")["df"] == 526).all()
    assert (r.anova()["den_df"] == 526).all()


def test_between_within_df(fev_data):
    # UN: every effect gets the between-subject df, N - rank(X_between) = 197 - 5 (SAS)
    r = fit(fev_data, df="between-within")
    assert (r.to_frame()["df"] == 192).all()
    # CS: within-subject effects get n - N - rank(within) = 537 - 197 - 6 = 334
    r = fit(fev_data, df="between-within", covariance="cs")
    df = r.to_frame().set_index("term")["df"]
    assert df["RACEWhite"] == 192 and df["ARMCDTRT"] == 192
    assert df["AVISITVIS2"] == 334 and df["ARMCDTRT:AVISITVIS4"] == 334
    aov = r.anova().set_index("term")["den_df"]
    assert aov["ARMCD"] == 192 and aov["ARMCD:AVISIT"] == 334
    # LS means of AVISIT*ARMCD take the df of that effect (SAS)
    assert (r.lsmeans("ARMCD", by="AVISIT")["df"] == 334).all()


def test_kenward_roger_vectorised_df_matches_ddf(fev_data):
    r = fit(fev_data, covariance="csh", df="kenward-roger")
    inf = r._inference
    L = np.vstack([np.eye(11), np.random.default_rng(7).normal(size=(4, 11))])
    expected = [ddf.kenward_roger(inf.fit, inf.arrays).test(row)[2] for row in L]
    np.testing.assert_allclose(kr_df_rows(inf.kr, L), expected, rtol=1e-10)
    # adjusted covariance is used everywhere (KR inflates the SEs here)
    plain = fit(fev_data, covariance="csh")
    assert (r.to_frame()["std_error"] > plain.to_frame()["std_error"]).all()


def test_grouped_covariance(fev_data):
    r = fit(fev_data, covariance="us", group="ARMCD")
    cov = r.covariance
    assert set(cov) == {"PBO", "TRT"}
    assert list(cov["TRT"].columns) == ["VIS1", "VIS2", "VIS3", "VIS4"]
    assert not np.allclose(cov["PBO"], cov["TRT"])
    # 20 covariance parameters (10 per group)
    assert r.aic == pytest.approx(-2 * r.loglik + 40)


def test_summary_and_html(fev_data):
    data = fev_data.assign(ARMCD=fev_data["ARMCD"].cat.rename_categories({"TRT": "<b>TRT</b>"}))
    r = fit(data)
    text = r.summary()
    assert "ARMCD<b>TRT</b>" in text and "3406.4" in text and "Satterthwaite" in text
    html = r._repr_html_()
    assert "<b>TRT</b>" not in html
    assert "ARMCD&lt;b&gt;TRT&lt;/b&gt;" in html
    assert "MMRMResult" in repr(r)


def test_string_columns_fit_like_categoricals(fev_data, res):
    data = fev_data.assign(
        RACE=fev_data["RACE"].astype(str),  # sorted levels: same as the Categorical
        AVISIT=fev_data["AVISIT"].astype(str),
        USUBJID=fev_data["USUBJID"].astype(object),
    )
    r = fit(data, "FEV1 ~ RACE + ARMCD * AVISIT + SEX")
    a = r.to_frame().set_index("term")
    b = res.to_frame().set_index("term")
    np.testing.assert_allclose(a.loc[b.index, "estimate"], b["estimate"], rtol=1e-7)
    assert isinstance(r.covariance, pd.DataFrame)


def test_covariance_parameters_sas_labels(res, fev_data):
    cp = res.covariance_parameters()
    assert list(cp.columns) == ["group", "name", "estimate"]
    assert cp["name"].tolist()[:3] == ["UN(1,1)", "UN(2,1)", "UN(2,2)"]
    cov = res.covariance.to_numpy()
    est = dict(zip(cp["name"], cp["estimate"], strict=True))
    # UN(i,j) is the (i, j) element of the covariance matrix in this fit's visit order
    assert est["UN(4,2)"] == pytest.approx(cov[3, 1], rel=1e-12)
    assert est["UN(4,4)"] == pytest.approx(cov[3, 3], rel=1e-12)
    grouped = fit(fev_data, "FEV1 ~ 1", covariance="cs", group="ARMCD").covariance_parameters()
    assert grouped["group"].tolist() == ["PBO", "PBO", "TRT", "TRT"]
    assert grouped["name"].tolist() == ["CS", "Residual"] * 2
