"""fit_mmrm(vcov="empirical" | "empirical-jackknife" | "empirical-bias-reduced") against R mmrm.

Reference: ``tests/reference/mmrm/robust/robust_reference.json``, produced by
``Rscript tests/reference/mmrm/robust/make_robust.R`` with R mmrm 0.3.18 and emmeans
(printed output in ``make_robust.Rout``). Each case is one ``mmrm(..., vcov=, method=)``
fit, refined by nlminb to a tight optimum, with its coefficients (summary), the
coefficient covariance, LS means and TRT - PBO contrasts by visit (emmeans) and two
F tests (``df_md``).

Tolerance: 1e-6 relative (absolute floor 1e-9) for estimates, standard errors, df, LS
means, contrasts and F. Both programs reach the REML optimum to within about 1e-9 in
theta (checked here at 1e-6), and every compared number is a smooth function of theta;
1e-6 leaves room for the optimiser but would catch any difference of formula (the
three estimators differ from each other by 1e-3 to 1e-1 relative, the empirical df
from the model-based Satterthwaite df by 10-40%).
"""

from __future__ import annotations

import itertools
import json
from functools import cache
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from efficacy import fit_mmrm
from efficacy.errors import ModelSpecError
from efficacy.mmrm import MMRMResult
from efficacy.mmrm.robust import robust_covariance

from .conftest import load_fev

REF = Path(__file__).resolve().parents[1] / "reference" / "mmrm"
CASES = {
    c["id"]: c for c in json.loads((REF / "robust" / "robust_reference.json").read_text())["cases"]
}
REL, ABS = 1e-6, 1e-9
VCOV = {
    "Empirical": "empirical",
    "Empirical-Jackknife": "empirical-jackknife",
    "Empirical-Bias-Reduced": "empirical-bias-reduced",
}
DF = {"Satterthwaite": "satterthwaite", "Residual": "residual", "Between-Within": "between-within"}


@cache
def _data(name: str) -> pd.DataFrame:
    if name == "fev":
        return load_fev()
    df = pd.read_csv(REF / "r" / "bcva200_data.csv")
    levels = {
        "ARMCD": ["CTL", "TRT"],
        "RACE": ["Asian", "Black", "White"],
        "AVISIT": [f"VIS{i:02d}" for i in range(1, 11)],
    }
    for col, lev in levels.items():
        df[col] = pd.Categorical(df[col], categories=lev)
    return df


@cache
def _fit(case_id: str) -> MMRMResult:
    c = CASES[case_id]
    return fit_mmrm(
        _data(c["data"]),
        c["formula"],
        subject=c["subject"],
        visit=c["visit"],
        covariance=c["covariance"],
        df=DF[c["df_method"]],
        vcov=VCOV[c["vcov"]],
        weights=c["weights"],
        group=c["group"],
    )


def _close(ours: Any, ref: Any, what: str) -> None:
    np.testing.assert_allclose(
        np.asarray(ours, float), np.asarray(ref, float), rtol=REL, atol=ABS, err_msg=what
    )


@pytest.mark.parametrize("case_id", sorted(CASES))
def test_matches_r_mmrm(case_id: str) -> None:
    c = CASES[case_id]
    res = _fit(case_id)
    assert res.converged and res.vcov == VCOV[c["vcov"]]
    if c["covariance"] != "cs":  # efficacy's cs correlation parameter is scaled otherwise
        _close(res._inference.fit.theta, c["theta"], "theta")
    _close(-2.0 * res.loglik, c["deviance"], "-2 log-likelihood")
    co = res.to_frame()
    assert list(co["term"]) == c["coefficients"]["term"]
    for col in ("estimate", "std_error", "df", "p_value"):
        _close(co[col], c["coefficients"][col], f"coefficients {col}")
    _close(res.cov_params().to_numpy(), c["vcov_matrix"], "coefficient covariance")
    lsm = res.lsmeans(c["arm"], by=c["visit"])
    assert [str(a) for a in lsm[c["arm"]]] == c["lsmeans"]["arm"]
    assert [str(v) for v in lsm[c["visit"]]] == c["lsmeans"]["visit"]
    for col in ("estimate", "std_error", "df"):
        _close(lsm[col], c["lsmeans"][col], f"LS means {col}")
    con = res.contrast(c["arm"], by=c["visit"])
    assert [str(v) for v in con[c["visit"]]] == c["contrasts"]["visit"]
    for col in ("estimate", "std_error", "df", "p_value"):
        _close(con[col], c["contrasts"][col], f"contrasts {col}")
    anova = res.anova().set_index("term")
    for f in c["f_tests"]:
        row = anova.loc[f["term"]]
        _close(
            [row["statistic"], row["num_df"], row["den_df"], row["p_value"]],
            [f["f"], f["num_df"], f["den_df"], f["p_value"]],
            f"F test of {f['term']}",
        )


def test_df_shortcut_equals_mmrm_g_matrix() -> None:
    """The p x p route to tr(G)^2 / sum(G^2) equals mmrm's explicit g matrix (empirical.cpp)."""
    res = _fit("fev_us_cr2_sat")
    inf = res._inference
    fit, arrays = inf.fit, inf.arrays
    rc = robust_covariance(fit, arrays, "empirical-bias-reduced")
    x, subj, vis = arrays.X, arrays.subject, arrays.visit
    n, p = x.shape
    # whitened design per subject (inverse Cholesky of Sigma_i), as mmrm builds it
    xt = np.zeros((n, p))
    bounds = np.flatnonzero(np.diff(np.r_[-1, subj, subj[-1] + 1]))
    a_blocks = []
    for s, e in itertools.pairwise(bounds):
        sig = fit.sigma[0][np.ix_(vis[s:e], vis[s:e])]
        li = np.linalg.cholesky(np.linalg.inv(sig))  # mmrm: L with L L' = Sigma^-1
        xt[s:e] = li.T @ x[s:e]
    phi = fit.cov_beta
    h = xt @ phi @ xt.T
    for s, e in itertools.pairwise(bounds):
        w, v = np.linalg.eigh(np.eye(e - s) - h[s:e, s:e])
        a_blocks.append((v / np.sqrt(w)) @ v.T)
    imh = np.eye(n) - h
    rng = np.random.default_rng(7)
    for c in (np.eye(p)[4], rng.normal(size=p)):
        cols = [
            imh[:, s:e] @ (a @ xt[s:e] @ phi @ c)
            for (s, e), a in zip(itertools.pairwise(bounds), a_blocks, strict=True)
        ]
        g = np.column_stack(cols)
        gm = g.T @ g
        expected = np.trace(gm) ** 2 / np.sum(gm**2)
        np.testing.assert_allclose(rc.df_rows(c[None, :])[0], expected, rtol=1e-10)


def test_estimators_differ_and_order() -> None:
    """CR0 < CR2 < CR3 in variance (leverage corrections inflate), same estimates."""
    se = {
        k: _fit(f"fev_us_{k}_sat").to_frame()["std_error"].to_numpy() for k in ("cr0", "cr2", "cr3")
    }
    assert np.all(se["cr0"] < se["cr2"]) and np.all(se["cr2"] < se["cr3"])


def test_empirical_with_kenward_roger_is_refused() -> None:
    with pytest.raises(ModelSpecError, match="cannot go with df='kenward-roger'"):
        fit_mmrm(
            load_fev(),
            "FEV1 ~ ARMCD * AVISIT",
            subject="USUBJID",
            visit="AVISIT",
            df="kenward-roger",
            vcov="empirical",
        )
    with pytest.raises(ModelSpecError, match="vcov='sandwich'"):
        fit_mmrm(load_fev(), "FEV1 ~ ARMCD", subject="USUBJID", visit="AVISIT", vcov="sandwich")
