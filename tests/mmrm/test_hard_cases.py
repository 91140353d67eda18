"""Hard cases of fit_mmrm: each gets its documented outcome, never a wrong number.

Documented outcomes (fit_mmrm docstring): ModelSpecError with a clear message where no
fit is possible; a dropped factor level or aliased column is named in ``warnings``;
a fit that does not converge has ``converged=False``, a ConvergenceWarning naming what
was tried, and NaN results.
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest

from efficacy import FitControl, fit_mmrm
from efficacy.errors import ConvergenceWarning, ModelSpecError

MAIN = "FEV1 ~ RACE + SEX + ARMCD * AVISIT"


def fit(data, formula=MAIN, **kw):
    return fit_mmrm(data, formula, subject="USUBJID", visit="AVISIT", **kw)


def test_visit_with_one_subject(fev_data):
    data = fev_data.copy()
    data.loc[(data["AVISIT"] == "VIS4") & (data["USUBJID"] != "PT2"), "FEV1"] = np.nan
    # a visit-specific variance cannot come from one subject
    for cov in ("us", "csh", "ar1h", "toeph", "adh"):
        with pytest.raises(ModelSpecError, match=r"visit 'VIS4' has data from one subject only"):
            fit(data, covariance=cov)
    # a common variance can: the fit goes ahead (and the TRT:VIS4 cell is aliased)
    res = fit(data, covariance="cs")
    assert res.converged
    assert "ARMCDTRT:AVISITVIS4" in " ".join(res.warnings)
    assert np.isnan(res.to_frame().set_index("term").loc["ARMCDTRT:AVISITVIS4", "estimate"])


def test_visit_with_one_subject_per_group(fev_data):
    data = fev_data.copy()
    drop = (data["AVISIT"] == "VIS4") & (data["ARMCD"] == "TRT") & (data["USUBJID"] != "PT1")
    data.loc[drop, "FEV1"] = np.nan
    with pytest.raises(ModelSpecError, match=r"one subject only \('PT1'\) in group 'TRT'"):
        fit(data, "FEV1 ~ ARMCD + AVISIT", group="ARMCD")


def test_all_missing_arm(fev_data):
    data = fev_data.copy()
    data.loc[data["ARMCD"] == "TRT", "FEV1"] = np.nan
    res = fit(data)
    assert any("'TRT' have no analysed rows" in w for w in res.warnings)
    assert not any(t.startswith("ARMCD") for t in res.to_frame()["term"])
    lsm = res.lsmeans("ARMCD", by="AVISIT")
    assert lsm["ARMCD"].astype(str).unique().tolist() == ["PBO"]
    assert lsm["estimate"].notna().all()
    with pytest.raises(ModelSpecError, match="nothing to compare"):
        res.contrast("ARMCD", by="AVISIT", method="reference")
    aov = res.anova().set_index("term")
    assert aov.loc["ARMCD", "num_df"] == 0 and np.isnan(aov.loc["ARMCD", "statistic"])


def test_all_rows_missing(fev_data):
    data = fev_data.assign(FEV1=np.nan)
    with pytest.raises(ModelSpecError, match="no row of data"):
        fit(data)


def test_single_subject(fev_data):
    data = fev_data[fev_data["USUBJID"] == "PT2"]
    with pytest.raises(ModelSpecError, match=r"only one subject \('PT2'\)"):
        fit(data, "FEV1 ~ 1")


def test_too_few_observations(fev_data):
    # a saturated mean model leaves no residual information for any covariance
    data = fev_data[fev_data["USUBJID"].isin(["PT2", "PT3", "PT4"])]
    with pytest.raises(ModelSpecError, match="8 observations for 8 fixed-effect"):
        fit(data, "FEV1 ~ USUBJID * AVISIT", covariance="cs")


def test_non_positive_weights(fev_data):
    data = fev_data.copy()
    rows = data.index[data["FEV1"].notna()][[0, 10]]
    data.loc[rows, "WEIGHT"] = [0.0, -2.0]
    with pytest.raises(ModelSpecError, match=rf"rows \[{rows[0]}, {rows[1]}\]"):
        fit(data, weights="WEIGHT")
    # a missing weight is an exclusion, not an error
    data = fev_data.copy()
    data.loc[rows[0], "WEIGHT"] = np.nan
    res = fit(data, weights="WEIGHT")
    ex = res.excluded.set_index("row")
    assert ex.loc[rows[0], "reason"] == "missing weight"


def test_duplicate_subject_visit(fev_data):
    data = pd.concat([fev_data, fev_data.iloc[[1]]], ignore_index=True)
    with pytest.raises(ModelSpecError, match=r"subject 'PT1' has 2 rows at visit 'VIS2'"):
        fit(data)


def test_group_changing_within_subject(fev_data):
    data = fev_data.copy()
    data.loc[1, "ARMCD"] = "PBO"  # PT1 is TRT at its other visits
    with pytest.raises(ModelSpecError, match=r"constant within a subject.*'PT1'"):
        fit(data, group="ARMCD")


def test_no_convergence(fev_data):
    control = FitControl(optimizers=("newton",), max_iter=1)
    with pytest.warns(ConvergenceWarning, match=r"tried newton"):
        res = fit(fev_data, control=control)
    assert res.converged is False
    assert res.optimizer == "newton"
    assert any("did not converge" in w for w in res.warnings)
    tab = res.to_frame()
    assert tab[["estimate", "std_error", "df", "p_value"]].isna().all().all()
    assert np.isnan(res.loglik) and np.isnan(res.aic)
    assert res.lsmeans("ARMCD")["estimate"].isna().all()
    assert np.isnan(res.covariance.to_numpy()).all()
    assert "NO" in res.summary()


def test_aliased_columns_like_r(fev_data):
    data = fev_data.assign(RACE2=fev_data["RACE"])
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # aliasing is reported on the result, not warned
        res = fit(data, MAIN + " + RACE2")
    ref = fit(fev_data)
    tab = res.to_frame().set_index("term")
    assert tab.loc[["RACE2Black or African American", "RACE2White"]].isna().all().all()
    assert any("RACE2White" in w for w in res.warnings)
    # the kept coefficients are those of the model without the aliased term
    base = ref.to_frame().set_index("term")
    np.testing.assert_allclose(tab.loc[base.index, "estimate"], base["estimate"], rtol=1e-8)
    aov = res.anova().set_index("term")
    assert aov.loc["RACE2", "num_df"] == 0
    assert aov.loc["RACE", "statistic"] == pytest.approx(
        ref.anova().set_index("term").loc["RACE", "statistic"]
    )
    # a Wald test that gives weight to an aliased column cannot be answered
    L = np.zeros((1, 13))
    L[0, 8] = 1.0  # RACE2Black or African American
    with pytest.raises(ModelSpecError, match="not estimable"):
        res.wald_test(L)


def test_bad_options_reported_together(fev_data):
    with pytest.raises(ModelSpecError) as info:
        fit(fev_data, covariance="un", method="REML", df="kr")
    msg = str(info.value)
    assert "covariance='un'" in msg and "method='REML'" in msg and "df='kr'" in msg
    with pytest.raises(ModelSpecError, match=r"kenward-roger.*reml"):
        fit(fev_data, method="ml", df="kenward-roger")


def test_input_not_modified(fev_data):
    data = fev_data.copy()
    before = data.copy(deep=True)
    fit(data, weights="WEIGHT", group="ARMCD", df="between-within")
    pd.testing.assert_frame_equal(data, before)
