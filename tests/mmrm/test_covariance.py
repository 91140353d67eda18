"""Covariance structures: definitions, positive definiteness, analytic derivatives.

Definitions from R mmrm's covariance vignette / ``src/covariance.h`` (openpharma/mmrm);
derivatives checked against central finite differences (step 1e-5, tolerance 1e-6
relative to the largest entry, i.e. well above the O(h^2) truncation error).
"""

from __future__ import annotations

import numpy as np
import pytest

from efficacy.errors import ModelSpecError
from efficacy.mmrm import covariance as cov
from efficacy.mmrm._optim import Objective
from efficacy.mmrm.engine import pattern_data
from tests.mmrm.engine_data import fev_arrays

STRUCTURES = cov.COVARIANCE_STRUCTURES
M = 5


def _random_cov(rng: np.random.Generator, m: int) -> np.ndarray:
    a = rng.standard_normal((m, 2 * m))
    c = a @ a.T / (2 * m) + 0.3 * np.eye(m)
    d = np.exp(rng.uniform(0, 2, m))
    return c * np.outer(d, d)


def _random_theta(structure: str, rng: np.random.Generator, m: int, groups: int = 1):
    emp = np.array([_random_cov(rng, m) for _ in range(groups)])
    theta = cov.start_theta(structure, emp)
    return theta + 0.05 * rng.standard_normal(theta.size)


def test_parameter_counts_match_mmrm():
    # mmrm covariance_types table, m = 4 (h_mmrm_tmb_parameters tests: us 10, ad 4, ...)
    want = {"us": 10, "cs": 2, "csh": 5, "ar1": 2, "ar1h": 5, "toep": 4, "toeph": 7,
            "ad": 4, "adh": 7}  # fmt: skip
    assert {s: cov.n_theta_per_group(s, 4) for s in STRUCTURES} == want
    for s in STRUCTURES:
        assert len(cov.theta_names(s, 4, 2)) == 2 * want[s]
        assert len(cov.natural_names(s, 4)) == want[s]


def test_unknown_structure_and_wrong_length_raise():
    with pytest.raises(ModelSpecError, match="not a known structure"):
        cov.n_theta_per_group("un", 4)
    with pytest.raises(ModelSpecError, match="needs 5 parameters"):
        cov.sigma_derivatives("csh", np.zeros(4), 4)


@pytest.mark.parametrize("structure", STRUCTURES)
def test_sigma_is_symmetric_positive_definite(structure):
    rng = np.random.default_rng(7)
    for _ in range(20):
        theta = _random_theta(structure, rng, M, groups=2)
        sigma = cov.sigma_derivatives(structure, theta, M, 2).sigma
        assert sigma.shape == (2, M, M)
        np.testing.assert_array_equal(sigma, sigma.transpose(0, 2, 1))
        assert np.all(np.linalg.eigvalsh(sigma) > 0)


@pytest.mark.parametrize("structure", ["us", "ar1", "ar1h", "ad", "adh"])
def test_always_positive_definite_for_any_theta(structure):
    # these parameterisations cannot leave the cone (Cholesky / |rho| < 1 products)
    rng = np.random.default_rng(3)
    for _ in range(50):
        theta = rng.normal(0, 1.5, cov.n_theta_per_group(structure, M))
        sigma = cov.sigma_derivatives(structure, theta, M).sigma[0]
        assert np.linalg.eigvalsh(sigma)[0] > 0


def test_closed_forms():
    m = 4
    lag = np.abs(np.subtract.outer(np.arange(m), np.arange(m)))
    rho = 1 / np.sqrt(2)  # theta 1 -> 1 / sqrt(1 + 1)
    s = cov.sigma_derivatives("ar1", np.array([np.log(2.0), 1.0]), m).sigma[0]
    np.testing.assert_allclose(s, 4 * rho**lag)
    sds = np.array([1.0, 2.0, 3.0, 4.0])
    s = cov.sigma_derivatives("csh", np.r_[np.log(sds), 1.0], m).sigma[0]
    np.testing.assert_allclose(s, np.outer(sds, sds) * np.where(lag > 0, rho, 1.0))
    z = np.array([0.5, -0.2, 1.5])
    r = z / np.sqrt(1 + z * z)
    s = cov.sigma_derivatives("adh", np.r_[np.log(sds), z], m).sigma[0]
    assert s[0, 3] == pytest.approx(sds[0] * sds[3] * r[0] * r[1] * r[2])
    assert s[1, 2] == pytest.approx(sds[1] * sds[2] * r[1])
    s = cov.sigma_derivatives("toep", np.r_[0.0, z], m).sigma[0]
    np.testing.assert_allclose(s[lag == 2], r[1])
    # us: mmrm's L = diag(exp(theta[:m])) U, U unit lower with theta[m:] row by row
    theta = np.r_[np.log([1.0, 2.0, 3.0]), 0.5, -1.0, 2.0]
    low = np.diag([1.0, 2.0, 3.0]) @ np.array([[1, 0, 0], [0.5, 1, 0], [-1.0, 2.0, 1]])
    np.testing.assert_allclose(cov.sigma_derivatives("us", theta, 3).sigma[0], low @ low.T)


def test_equal_variance_csh_equals_cs():
    theta_cs = np.array([1.3, 0.4])
    theta_csh = np.r_[np.full(M, 1.3), 0.4]
    a = cov.sigma_derivatives("cs", theta_cs, M).sigma
    b = cov.sigma_derivatives("csh", theta_csh, M).sigma
    np.testing.assert_allclose(a, b, rtol=1e-14)


def _fd_check(structure, params, m, groups, natural):
    h = 1e-5
    res = cov.sigma_derivatives(structure, params, m, groups, order=2, natural=natural)
    k = params.size
    for i in range(k):
        e = np.zeros(k)
        e[i] = h
        up = cov.sigma_derivatives(structure, params + e, m, groups, 1, natural)
        dn = cov.sigma_derivatives(structure, params - e, m, groups, 1, natural)
        fd1 = (up.sigma - dn.sigma) / (2 * h)
        fd2 = (up.d1 - dn.d1) / (2 * h)
        np.testing.assert_allclose(res.d1[i], fd1, atol=1e-6 * np.abs(res.d1).max())
        np.testing.assert_allclose(res.d2[i], fd2, atol=1e-6 * np.abs(res.d2).max() + 1e-9)
    np.testing.assert_array_equal(res.d2, res.d2.transpose(1, 0, 2, 3, 4))


@pytest.mark.parametrize("structure", STRUCTURES)
def test_derivatives_match_finite_differences(structure):
    rng = np.random.default_rng(11)
    theta = _random_theta(structure, rng, M, groups=2)
    _fd_check(structure, theta, M, 2, natural=False)


@pytest.mark.parametrize("structure", STRUCTURES)
def test_natural_parameterisation(structure):
    rng = np.random.default_rng(5)
    theta = _random_theta(structure, rng, M, groups=2)
    phi = cov.natural_from_theta(structure, theta, M, 2)
    a = cov.sigma_derivatives(structure, theta, M, 2).sigma
    b = cov.sigma_derivatives(structure, phi, M, 2, natural=True).sigma
    np.testing.assert_allclose(b, a, rtol=1e-12)
    np.testing.assert_allclose(cov.theta_from_natural(structure, phi, M, 2), theta, atol=1e-10)
    _fd_check(structure, phi, M, 2, natural=True)


@pytest.mark.parametrize("structure", ["us", "cs", "toep"])
def test_sas_linear_structures_have_zero_second_derivatives(structure):
    # why SAS DDFM=KR equals KR(LINEAR) for UN, CS and TOEP (sas_reference.md table 5)
    phi = cov.natural_from_theta(
        structure, _random_theta(structure, np.random.default_rng(2), M), M
    )
    d2 = cov.sigma_derivatives(structure, phi, M, order=2, natural=True).d2
    assert not np.any(d2)


def test_natural_values_for_sas_un_order():
    sigma = np.array([[4.0, 1.0, 0.5], [1.0, 9.0, 2.0], [0.5, 2.0, 16.0]])
    theta = cov.theta_from_natural("us", sigma[np.tril_indices(3)], 3)
    # SAS order UN(1,1), UN(2,1), UN(2,2), UN(3,1), UN(3,2), UN(3,3)
    np.testing.assert_allclose(
        cov.natural_from_theta("us", theta, 3), [4.0, 1.0, 9.0, 0.5, 2.0, 16.0]
    )
    assert cov.natural_names("us", 3)[:3] == ("UN(1,1)", "UN(2,1)", "UN(2,2)")


# ------------------------------------------- log-likelihood derivatives on fev_data (FD)


@pytest.mark.parametrize(
    ("structure", "reml", "grouped", "weighted"),
    [
        ("us", True, False, False),
        ("us", False, True, True),
        ("csh", True, True, False),
        ("ar1", False, False, True),
        ("toeph", True, False, True),
        ("ad", False, True, False),
        ("adh", True, False, False),
        ("cs", True, True, True),
    ],
)
def test_loglik_gradient_and_hessian_match_finite_differences(structure, reml, grouped, weighted):
    arrays = fev_arrays("main", group="ARMCD" if grouped else None, weighted=weighted)
    obj = Objective(pattern_data(arrays), structure, reml)
    groups = 2 if grouped else 1
    theta = _random_theta(structure, np.random.default_rng(13), 4, groups)
    ev = obj.evaluate(theta, 2)
    grad, hess = ev.grad.copy(), ev.hess.copy()
    h, k = 1e-5, theta.size
    fd_g, fd_h = np.zeros(k), np.zeros((k, k))
    for i in range(k):
        e = np.zeros(k)
        e[i] = h
        fd_g[i] = (obj.value(theta + e) - obj.value(theta - e)) / (2 * h)
        fd_h[i] = (obj.evaluate(theta + e, 1).grad - obj.evaluate(theta - e, 1).grad) / (2 * h)
    # differences of -2 logL ~ 3e3 lose ~1e-11 * 3e3 / 1e-5 = 3e-3 absolute in fd_g
    np.testing.assert_allclose(grad, fd_g, atol=1e-6 * np.abs(grad).max() + 5e-3)
    np.testing.assert_allclose(hess, fd_h, atol=1e-7 * np.abs(hess).max())
    np.testing.assert_allclose(hess, hess.T, rtol=1e-12)


# ------------------------------------------ pattern-tensor and subject modes agree exactly


@pytest.mark.parametrize(("structure", "grouped", "weighted"), [("us", True, True), ("toeph", False, True), ("adh", True, False)])  # fmt: skip  # noqa: E501
def test_tensor_and_subject_modes_agree(monkeypatch, structure, grouped, weighted):
    # The engine evaluates the likelihood from per-pattern cross-product tensors while
    # they are small, else subject by subject; both must give the same numbers.
    from efficacy.mmrm import _likelihood
    from efficacy.mmrm.ddf import kenward_roger
    from efficacy.mmrm.engine import fit_engine

    arrays = fev_arrays("main", group="ARMCD" if grouped else None, weighted=weighted)
    out = []
    for ratio in (1e12, 0.0):
        monkeypatch.setattr(_likelihood, "TENSOR_RATIO", ratio)
        assert (pattern_data(arrays).y3 is None) == (ratio == 0.0)
        fit = fit_engine(arrays, structure, "reml")
        kr = kenward_roger(fit, arrays)
        out.append((fit, kr))
    (f1, k1), (f2, k2) = out
    assert f1.deviance == pytest.approx(f2.deviance, rel=1e-12)
    np.testing.assert_allclose(f1.beta, f2.beta, rtol=1e-9)
    np.testing.assert_allclose(f1.hessian, f2.hessian, rtol=1e-7, atol=1e-9)
    np.testing.assert_allclose(k1.cov_beta, k2.cov_beta, rtol=1e-8)
