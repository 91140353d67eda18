"""Multiplicity, Newcombe's interval, the logistic model, and Rubin's rules."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from efficacy.analysis.stats import (
    adjust_pvalues,
    logistic_odds_ratio,
    newcombe_difference,
    wilson_interval,
)
from efficacy.analysis.tipping import rubin
from tests.statsmodels_ref import multipletests


@pytest.mark.parametrize(
    ("x1", "n1", "x2", "n2", "low", "high"),
    [
        # Newcombe RG (1998) Stat Med 17:873-890, Table II, method 10, 95% limits
        # (also the test values of the R package propint): 4 decimals as published.
        (56, 70, 48, 80, 0.0524, 0.3339),
        (9, 10, 3, 10, 0.1705, 0.8090),
    ],
)
def test_newcombe_against_published_table(x1, n1, x2, n2, low, high) -> None:
    d, lo, hi, _ = newcombe_difference(x1, n1, x2, n2, 0.95)
    assert d == pytest.approx(x1 / n1 - x2 / n2, abs=1e-15)
    assert lo == pytest.approx(low, abs=5e-5)
    assert hi == pytest.approx(high, abs=5e-5)


def test_wilson_and_score_test_closed_form() -> None:
    # Wilson 95% interval of 0/10 is (0, z^2 / (10 + z^2)) = (0, 0.2775) (Newcombe 1998 T.I)
    lo, hi = wilson_interval(0, 10, 0.95)
    z2 = 1.959963984540054**2
    assert lo == pytest.approx(0.0, abs=1e-15) and hi == pytest.approx(z2 / (10 + z2), rel=1e-12)
    # p-value = Pearson chi-square without continuity correction (scipy)
    from scipy.stats import chi2_contingency

    _, _, _, p = newcombe_difference(56, 70, 48, 80)
    ref = chi2_contingency([[56, 14], [48, 32]], correction=False)[1]
    assert p == pytest.approx(ref, rel=1e-10)


@pytest.mark.parametrize("method", ["holm", "hochberg"])
def test_stepwise_methods_equal_statsmodels(method) -> None:
    rng = np.random.default_rng(7)
    for _ in range(6):  # statsmodels' Holm runs gc.collect() per call: keep this short
        p = rng.uniform(0, 0.1, size=rng.integers(1, 7))
        ours, reject = adjust_pvalues(p, method, 0.05)
        name = "holm" if method == "holm" else "simes-hochberg"
        rej, ref, _, _ = multipletests(p, alpha=0.05, method=name)
        np.testing.assert_allclose(ours, ref, rtol=1e-14)
        np.testing.assert_array_equal(reject, rej)


def test_fixed_sequence_stops_at_first_failure() -> None:
    p = np.array([0.01, 0.04, 0.20, 0.001])
    adj, reject = adjust_pvalues(p, "fixed-sequence", 0.05)
    np.testing.assert_allclose(adj, [0.01, 0.04, 0.20, 0.20])
    np.testing.assert_array_equal(reject, [True, True, False, False])
    # a hypothesis that could not be tested stops the sequence
    adj, reject = adjust_pvalues(np.array([0.01, np.nan, 0.001]), "fixed-sequence", 0.05)
    assert adj[0] == 0.01 and np.isnan(adj[1:]).all() and reject.tolist() == [True, False, False]
    adj, _ = adjust_pvalues(np.array([0.03, 0.02]), "none", 0.05)
    np.testing.assert_allclose(adj, [0.03, 0.02])


def test_logistic_equals_statsmodels_glm() -> None:
    import statsmodels.api as sm

    rng = np.random.default_rng(3)
    n = 200
    base = rng.normal(0, 1, n)
    active = (np.arange(n) % 2).astype(float)
    y = (rng.uniform(size=n) < 1 / (1 + np.exp(-(-0.3 + 0.8 * active + 0.5 * base)))).astype(float)
    frame = pd.DataFrame({"responder": y, "baseline": base, "active": active})
    est, lo, hi, p, note = logistic_odds_ratio(frame, 0.95)
    glm = sm.GLM(y, sm.add_constant(np.column_stack([base, active])), sm.families.Binomial()).fit()
    assert est == pytest.approx(glm.params[2], rel=1e-6)
    assert p == pytest.approx(glm.pvalues[2], rel=1e-5)
    assert (lo, hi) == pytest.approx(tuple(glm.conf_int()[2]), rel=1e-5)
    assert "log odds ratio" in note


def test_rubin_rules_closed_form() -> None:
    # Q = 1.5, W = 0.5, B = var([1, 2]) = 0.5, T = 0.5 + 1.5 * 0.5 = 1.25
    q, se, nu, _, _, _ = rubin(np.array([1.0, 2.0]), np.array([0.4, 0.6]), 100.0, 0.95)
    assert q == 1.5 and se == pytest.approx(math.sqrt(1.25))
    lam = 0.75 / 1.25
    nu_old = 1 / lam**2
    nu_obs = 101 / 103 * 100 * (1 - lam)
    assert nu == pytest.approx(1 / (1 / nu_old + 1 / nu_obs), rel=1e-12)
    # no between-imputation variance: the complete-data df (Barnard-Rubin)
    q, se, nu, *_ = rubin(np.array([1.0, 1.0]), np.array([0.25, 0.25]), 50.0, 0.95)
    assert se == 0.5 and nu == pytest.approx(51 / 53 * 50, rel=1e-12)


@pytest.mark.parametrize(
    ("counts", "low", "high"),
    [
        # Newcombe RG (1998) Stat Med 17:2635-2650, Table II, method 10 (95%), as published
        # (also the test values of the R package propint)
        ((36, 12, 2, 0), 0.0569, 0.3404),
        ((18, 12, 2, 18), 0.0562, 0.3290),
        ((53, 0, 0, 1), -0.0729, 0.0729),
    ],
)
def test_newcombe_paired_against_published_table(counts, low, high) -> None:
    from efficacy.analysis.stats import newcombe_paired_difference

    _, f, g, _ = counts
    d, lo, hi, p = newcombe_paired_difference(*counts)
    assert d == pytest.approx((f - g) / sum(counts), abs=1e-15)
    assert lo == pytest.approx(low, abs=5e-5) and hi == pytest.approx(high, abs=5e-5)
    # McNemar without continuity correction: (f - g)^2 / (f + g) on 1 df
    if f + g:
        from scipy.stats import chi2

        assert p == pytest.approx(chi2.sf((f - g) ** 2 / (f + g), 1), rel=1e-12)


def test_adjustment_properties() -> None:
    """Hochberg <= Holm (Hochberg is uniformly more powerful), both >= p; fixed sequence
    is the running maximum and never below p (hypothesis, 40 examples)."""
    from hypothesis import given, settings
    from hypothesis import strategies as st

    @settings(max_examples=40, deadline=None)
    @given(st.lists(st.floats(0.0, 1.0), min_size=1, max_size=8))
    def check(values: list[float]) -> None:
        p = np.asarray(values)
        holm, _ = adjust_pvalues(p, "holm", 0.05)
        hoch, _ = adjust_pvalues(p, "hochberg", 0.05)
        fixed, rej = adjust_pvalues(p, "fixed-sequence", 0.05)
        assert np.all(hoch <= holm + 1e-12) and np.all(holm >= p - 1e-15)
        assert np.all(holm <= 1.0) and np.all(np.diff(fixed) >= 0) and np.all(fixed >= p)
        # rejections form a prefix of the testing order
        assert not np.any(rej[1:] & ~rej[:-1])

    check()
