"""`Objective.evaluate` adds derivatives to a cached lower-order evaluation exactly.

The line search evaluates the value at a trial step, then the accepted step at order
2; the second call reuses the first's factorisation. The result must be the very
`Evaluation` a fresh order-2 evaluation gives, bit for bit, for every structure.
"""

from __future__ import annotations

import numpy as np
import pytest

from efficacy.mmrm import covariance as cov
from efficacy.mmrm._optim import Objective
from efficacy.mmrm.engine import pattern_data
from tests.mmrm.engine_data import fev_arrays

_FIELDS = ("beta", "m_inv", "sinv", "grad_sigma", "g_pat", "grad", "hess", "p_mats")


@pytest.fixture(scope="module")
def grouped():  # two covariance groups (ARMCD) on fev_data's main model
    return pattern_data(fev_arrays("main", group="ARMCD"))


@pytest.mark.parametrize("structure", cov.COVARIANCE_STRUCTURES)
@pytest.mark.parametrize("reml", [True, False])
def test_upgraded_evaluation_equals_a_fresh_one(grouped, structure: str, reml: bool) -> None:
    d = grouped
    k = cov.n_theta_per_group(structure, d.m) * d.n_groups
    theta = np.linspace(-0.4, 0.5, k)  # away from zero: correlations and sds all differ
    fresh = Objective(d, structure, reml).evaluate(theta, 2)
    assert fresh is not None and fresh.hess is not None
    for first in (0, 1):
        obj = Objective(d, structure, reml)
        low = obj.evaluate(theta, first)
        assert low is not None and low.hess is None
        up = obj.evaluate(theta.copy(), 2)
        assert up is not None and up is not low and obj.n_eval == 2
        assert low.hess is None and (low.grad is None) == (first == 0)  # left as it was
        assert up.value == fresh.value
        for name in _FIELDS:
            a, b = getattr(up, name), getattr(fresh, name)
            assert a.dtype == b.dtype and np.array_equal(a, b), name
        assert obj.evaluate(theta, 1) is up and obj.n_eval == 2  # cached at order 2


def test_upgrading_a_failed_evaluation_stays_failed(grouped) -> None:
    # ar1 with an infinite correlation parameter: Sigma is not finite at any order
    obj = Objective(grouped, "ar1", True)
    theta = np.array([0.0, np.inf, 0.0, np.inf])
    with np.errstate(all="ignore"):
        assert obj.evaluate(theta, 0) is None
        assert obj.evaluate(theta, 2) is None
        assert Objective(grouped, "ar1", True).evaluate(theta, 2) is None
