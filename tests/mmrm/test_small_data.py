"""Too few subjects for the covariance: the fit ends fast, says why, and falls back.

Five fev_data subjects with all four visits (3 PBO, 2 TRT) under
``FEV1 ~ ARMCD * AVISIT``: the REML residuals span 5 - 2 = 3 < 4 dimensions, so an
unstructured covariance has no REML maximum (the criterion decreases without bound as
Sigma becomes singular). Before issue 11 every optimiser was tried in turn, Nelder-Mead
with 400 k iterations (seconds per fit; minutes for a small trial's analysis).
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest

from efficacy import FitControl, fit_mmrm
from efficacy.errors import ConvergenceWarning
from efficacy.mmrm.engine import SINGULAR_CONDITION, EngineControl, fit_engine
from tests.mmrm.engine_data import fev_arrays

SUBJECTS = ["PT102", "PT114", "PT131", "PT106", "PT108"]


@pytest.fixture(scope="module")
def five(fev_data) -> pd.DataFrame:
    data = fev_data[fev_data["USUBJID"].isin(SUBJECTS)]
    assert data["FEV1"].notna().sum() == 20  # complete: 5 subjects x 4 visits
    assert (data.drop_duplicates("USUBJID")["ARMCD"] == "PBO").sum() == 3
    return data


def _fit(data: pd.DataFrame, covariance: str, control: FitControl | None = None):
    return fit_mmrm(
        data,
        "FEV1 ~ ARMCD * AVISIT",
        subject="USUBJID",
        visit="AVISIT",
        covariance=covariance,
        control=control,
    )


def test_singular_unstructured_stops_after_newton(five) -> None:
    with pytest.warns(ConvergenceWarning, match="tried newton"):
        res = _fit(five, "us")
    assert res.converged is False
    assert res.iterations < 100  # Newton only, stopped early: nothing else was run
    text = " ".join(res.warnings)
    assert "newton (failed: covariance tends to singular after" in text
    assert "l-bfgs-b, bfgs, nelder-mead (not tried: covariance tends to singular" in text
    assert np.isnan(res.to_frame()["estimate"]).all()


def test_simpler_structure_fits_the_same_data(five) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error", ConvergenceWarning)
        res = _fit(five, "cs")
    assert res.converged and res.optimizer == "newton"
    assert np.isfinite(res.to_frame()["estimate"]).all()


def test_nelder_mead_is_bounded(five) -> None:
    # k = 10 covariance parameters: at most 50 (k + 1) = 550 iterations (and
    # 100 (k + 1) evaluations), then at most 50 Newton polishing steps
    with pytest.warns(ConvergenceWarning):
        res = _fit(five, "us", FitControl(optimizers=("nelder-mead",)))
    assert res.converged is False
    assert 0 < res.iterations <= 550 + 50


def test_non_singular_failure_still_tries_the_next_optimizer() -> None:
    # Newton stopped by its iteration limit far from singular: l-bfgs-b is tried next
    fit = fit_engine(fev_arrays("main"), "us", "reml", EngineControl(max_iter=1))
    names = [name for name, _ in fit.tried]
    assert names[:2] == ["newton", "l-bfgs-b"]
    assert not any("not tried" in how for _, how in fit.tried)
    assert np.linalg.cond(fit.sigma[0]) < SINGULAR_CONDITION
