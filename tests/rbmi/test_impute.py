"""Strategy means and conditional imputation against hand-computed values."""

from __future__ import annotations

import numpy as np
import pytest

from efficacy.rbmi._data import STRATEGIES, Prepared
from efficacy.rbmi._impute import impute, strategy_means

MU_REF = np.array([0.5, 1.0, 1.5])  # group 0 (the reference), visits 1-3
MU_TRT = np.array([1.0, 3.0, 6.0])  # group 1
BETA = np.concatenate([MU_REF, MU_TRT])[None, :]  # one sample


def _prepared(y: np.ndarray, strategy: list[str], ice: list[int]) -> Prepared:
    """Group-1 subjects; the model has one mean per (group, visit): x picks it."""
    n, m = y.shape
    x_own = np.zeros((n, m, 6))
    x_ref = np.zeros((n, m, 6))
    for j in range(m):
        x_own[:, j, 3 + j] = 1.0
        x_ref[:, j, j] = 1.0
    codes = np.array([STRATEGIES.index(s) for s in strategy])
    ice_arr = np.array(ice)
    is_mar = np.arange(m)[None, :] < ice_arr[:, None]
    is_mar[codes == 0] = True
    return Prepared(
        y=y,
        x_own=x_own,
        x_ref=x_ref,
        group=np.ones(n, dtype=np.intp),
        strategy=codes,
        ice=ice_arr,
        is_mar=is_mar,
        covariates=np.zeros((n, m, 0)),
        covariate_names=(),
        subject_levels=tuple(range(n)),
        visit_levels=(1, 2, 3),
        group_levels=("ref", "trt"),
        column_names=tuple(f"c{i}" for i in range(6)),
        outcome="y",
    )


def test_strategy_means_follow_rbmi_definitions() -> None:
    y = np.full((5, 3), np.nan)
    y[:, 0] = 1.0
    prep = _prepared(y, ["MAR", "JR", "CR", "CIR", "LMCF"], [3, 1, 1, 1, 1])
    mu = strategy_means(prep, BETA)[0]
    np.testing.assert_allclose(mu[0], MU_TRT)  # MAR
    np.testing.assert_allclose(mu[1], [1.0, 1.0, 1.5])  # JR: reference from the event
    np.testing.assert_allclose(mu[2], MU_REF)  # CR: reference at every visit
    np.testing.assert_allclose(mu[3], [1.0, 1.0 + 0.5, 1.0 + 1.0])  # CIR: increments
    np.testing.assert_allclose(mu[4], [1.0, 1.0, 1.0])  # LMCF: last mean carried
    # with Sigma = I the observed visit says nothing about the others
    completed = impute(prep, BETA, np.eye(3)[None])[0]
    np.testing.assert_allclose(completed[:, 1:], mu[:, 1:])
    np.testing.assert_array_equal(completed[:, 0], 1.0)


def test_event_at_first_visit() -> None:
    y = np.full((2, 3), np.nan)
    prep = _prepared(y, ["JR", "CIR"], [0, 0])
    mu = strategy_means(prep, BETA)[0]
    np.testing.assert_allclose(mu, [MU_REF, MU_REF])  # rbmi: all visits from reference


def test_conditional_mean_uses_every_observed_outcome() -> None:
    """JR subject with an observed outcome after the event (conditioned on, not fitted)."""
    sigma = np.array([[4.0, 2.0, 1.0], [2.0, 5.0, 2.5], [1.0, 2.5, 6.0]])
    y = np.array([[2.0, np.nan, 0.7], [np.nan, 2.5, np.nan]])
    prep = _prepared(y, ["JR", "MAR"], [1, 3])
    out = impute(prep, BETA, sigma[None])[0]
    mu0 = np.array([1.0, 1.0, 1.5])  # JR means of subject 0
    o, q = [0, 2], [1]
    expect0 = mu0[q] + sigma[np.ix_(q, o)] @ np.linalg.solve(sigma[np.ix_(o, o)], y[0, o] - mu0[o])
    assert out[0, 1] == pytest.approx(expect0[0], rel=1e-12)
    assert out[0, 0] == 2.0 and out[0, 2] == 0.7
    o, q = [1], [0, 2]
    expect1 = MU_TRT[q] + sigma[np.ix_(q, o)] @ np.linalg.solve(
        sigma[np.ix_(o, o)], y[1, o] - MU_TRT[o]
    )
    np.testing.assert_allclose(out[1, q], expect1, rtol=1e-12)


def test_draws_have_the_conditional_distribution() -> None:
    sigma = np.array([[4.0, 2.0, 1.0], [2.0, 5.0, 2.5], [1.0, 2.5, 6.0]])
    n = 4000
    y = np.tile([2.0, np.nan, np.nan], (n, 1))
    prep = _prepared(y, ["MAR"] * n, [3] * n)
    rng = [np.random.default_rng(5)]
    draws = impute(prep, BETA, sigma[None], rng)[0][:, 1:]
    coef = sigma[1:, :1] / sigma[0, 0]
    mean = MU_TRT[1:] + coef[:, 0] * (2.0 - MU_TRT[0])
    cov = sigma[1:, 1:] - coef @ sigma[:1, 1:]
    se = np.sqrt(np.diag(cov) / n)
    assert np.all(np.abs(draws.mean(axis=0) - mean) < 4 * se)
    np.testing.assert_allclose(np.cov(draws.T), cov, rtol=0.1)
