"""`DesignFits`: fits of one data set under several options share the design.

Each `DesignFits.fit` must equal the `fit_mmrm` call with the same arguments exactly
(coefficients, covariance, log-likelihood, warnings, LS means) while the design and the
engine's pattern summaries are built once (the analysis's covariance fallback order
fits them in turn), and a data set that admits no design raises the same error on
every fit.
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest

from efficacy._examples import fev_data
from efficacy.errors import ConvergenceWarning, ModelSpecError
from efficacy.mmrm import fit as fit_mod
from efficacy.mmrm import fit_mmrm
from efficacy.mmrm.fit import DesignFits

FORMULA = "FEV1 ~ RACE + ARMCD * AVISIT"


def _small() -> pd.DataFrame:
    data = fev_data()
    return data.loc[data["USUBJID"].isin(data["USUBJID"].unique()[:60])].reset_index(drop=True)


def _same(a, b) -> None:
    pd.testing.assert_frame_equal(a.to_frame(), b.to_frame(), check_exact=True)
    pd.testing.assert_frame_equal(a.cov_params(), b.cov_params(), check_exact=True)
    lsm = ("ARMCD", "AVISIT")
    pd.testing.assert_frame_equal(a.lsmeans(*lsm), b.lsmeans(*lsm), check_exact=True)
    assert (a.loglik, a.aic, a.bic, a.iterations) == (b.loglik, b.aic, b.bic, b.iterations)
    assert a.warnings == b.warnings and a.optimizer == b.optimizer
    pd.testing.assert_frame_equal(
        a.covariance_parameters(), b.covariance_parameters(), check_exact=True
    )
    np.testing.assert_array_equal(a.covariance.to_numpy(), b.covariance.to_numpy())


def test_fits_equal_fit_mmrm_and_share_the_design(monkeypatch) -> None:
    data = _small()
    options = [("us", "kenward-roger"), ("cs", "kenward-roger"), ("ar1", "satterthwaite")]
    want = [
        fit_mmrm(data, FORMULA, subject="USUBJID", visit="AVISIT", covariance=c, df=d)
        for c, d in options
    ]
    calls = {"build_design": 0, "pattern_data": 0}
    for name in calls:
        real = getattr(fit_mod, name)

        def spy(*args, _real=real, _name=name, **kwargs):
            calls[_name] += 1
            return _real(*args, **kwargs)

        monkeypatch.setattr(fit_mod, name, spy)
    fits = DesignFits(data, FORMULA, subject="USUBJID", visit="AVISIT")
    for (c, d), w in zip(options, want, strict=True):
        _same(fits.fit(c, df=d), w)
    assert calls == {"build_design": 1, "pattern_data": 1}


def test_no_design_raises_the_same_error_every_fit() -> None:
    data = _small()
    with pytest.raises(ModelSpecError) as direct:
        fit_mmrm(data, "FEV1 ~ NOPE", subject="USUBJID", visit="AVISIT")
    fits = DesignFits(data, "FEV1 ~ NOPE", subject="USUBJID", visit="AVISIT")
    for cov in ("us", "cs"):
        with pytest.raises(ModelSpecError) as err:
            fits.fit(cov)
        assert str(err.value) == str(direct.value)
    with pytest.raises(ModelSpecError, match="covariance='nope'"):
        fits.fit("nope")  # options are checked before the design, as fit_mmrm does


def test_convergence_warning_names_the_caller() -> None:
    data = _small()
    fits = DesignFits(data, FORMULA, subject="USUBJID", visit="AVISIT")
    control = fit_mod.FitControl(optimizers=("newton",), max_iter=1)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        fits.fit("us", control=control)
        fit_mmrm(data, FORMULA, subject="USUBJID", visit="AVISIT", control=control)
    hits = [w for w in caught if issubclass(w.category, ConvergenceWarning)]
    assert len(hits) == 2 and {w.filename for w in hits} == {__file__}
    assert str(hits[0].message) == str(hits[1].message)


def test_df_and_vcov_variants_share_one_optimisation(monkeypatch) -> None:
    data = _small()
    options = [
        ("us", "satterthwaite", "model-based"),
        ("us", "kenward-roger", "model-based"),
        ("cs", "kenward-roger-linear", "model-based"),
        ("us", "satterthwaite", "empirical"),
        ("cs", "satterthwaite", "model-based"),
    ]
    want = [
        fit_mmrm(data, FORMULA, subject="USUBJID", visit="AVISIT", covariance=c, df=d, vcov=v)
        for c, d, v in options
    ]
    calls: list[str] = []
    real = fit_mod.fit_patterns

    def spy(patterns, covariance, *args, **kwargs):
        calls.append(covariance)
        return real(patterns, covariance, *args, **kwargs)

    monkeypatch.setattr(fit_mod, "fit_patterns", spy)
    fits = DesignFits(data, FORMULA, subject="USUBJID", visit="AVISIT")
    got = [fits.fit(c, df=d, vcov=v) for c, d, v in options]
    for g, w in zip(got, want, strict=True):
        _same(g, w)
        assert g.df_method == w.df_method and g.vcov == w.vcov
    assert calls == ["us", "cs"]  # one optimisation per structure
    fits.fit("us", method="ml")  # another method is another optimisation
    assert calls == ["us", "cs", "us"]
    shared = got[0]._inference.fit
    assert shared is got[1]._inference.fit
    with pytest.raises(ValueError, match="read-only"):
        shared.beta[0] = 0.0
