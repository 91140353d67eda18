"""Denominator degrees of freedom for MMRM contrasts: Satterthwaite and Kenward-Roger.

Both use the analytic derivatives of the engine (`efficacy.mmrm.engine`):
``P_i = d(X'V^{-1}X)/d theta_i`` and the asymptotic covariance ``W`` of the variance
parameters (``2 H^{-1}``, ``H`` the observed Hessian of ``-2 log L``; SAS PROC MIXED
and R mmrm use the observed information too).

Satterthwaite (Satterthwaite 1946; Fai & Cornelius 1996; as in SAS ``DDFM=SAT`` and
mmrm ``df_1d`` / ``df_md``) does not depend on the covariance parameterisation.
Kenward-Roger (Kenward & Roger 1997) does, through the second derivatives of Sigma;
it is computed in SAS's own parameterisation (`covariance.natural_from_theta`) so that
``linear=False`` matches SAS ``DDFM=KR`` and ``linear=True`` matches ``DDFM=KR(LINEAR)``
(R mmrm ``vcov = "Kenward-Roger-Linear"``). Checked against the SAS listings for
fev_data in ``tests/reference/mmrm/sas_reference.md`` (tables 1 and 5).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

import numpy as np
from numpy.typing import ArrayLike

from efficacy.errors import ModelSpecError
from efficacy.mmrm import covariance as cov
from efficacy.mmrm._likelihood import (
    Evaluation,
    PatternData,
    contract_sandwich,
    evaluate,
    x_beta,
    x_cov,
    x_pmats,
)
from efficacy.mmrm._threads import blas_threads
from efficacy.mmrm.engine import EngineFit, ModelArrays, pattern_data

__all__ = ["KRAdjustment", "kenward_roger", "satterthwaite", "satterthwaite_f"]


def _contrast(fit: EngineFit, L: ArrayLike, rows: bool) -> np.ndarray:
    arr = np.array(L, dtype=float)
    p = fit.beta.size
    if rows:
        arr = np.atleast_2d(arr)
        if arr.ndim != 2 or arr.shape[1] != p or arr.shape[0] < 1:
            raise ModelSpecError(f"contrast L must have shape (q, {p}), got {np.shape(L)}")
    else:
        if arr.ndim == 2 and arr.shape[0] == 1:
            arr = arr[0]
        if arr.shape != (p,):
            raise ModelSpecError(f"contrast L must have shape ({p},), got {np.shape(L)}")
    if not np.all(np.isfinite(arr)):
        raise ModelSpecError("contrast L must be finite")
    return arr


def _check_arrays(fit: EngineFit, arrays: ModelArrays) -> None:
    shape = np.shape(arrays.X)
    if len(shape) != 2 or shape[1] != fit.beta.size or shape[0] != fit.n_obs:
        raise ModelSpecError(
            f"arrays do not belong to this fit: X has shape {shape}, the fit used "
            f"({fit.n_obs}, {fit.beta.size})"
        )


def _sat_df_1d(fit: EngineFit, lvec: np.ndarray) -> float:
    var = float(lvec @ fit.cov_beta @ lvec)
    grad = np.einsum("a,kab,b->k", lvec, fit.cov_beta_jac, lvec)
    return float(2.0 * var**2 / (grad @ fit.theta_vcov @ grad))


def satterthwaite(fit: EngineFit, arrays: ModelArrays, L: ArrayLike) -> tuple[float, float, float]:
    """Estimate, standard error and Satterthwaite df of a one-row contrast.

    Parameters
    ----------
    fit : EngineFit
    arrays : ModelArrays
        The arrays ``fit`` was computed from (checked for consistency).
    L : array_like, shape (p,) or (1, p)

    Returns
    -------
    estimate : float
        ``L beta``.
    se : float
        ``sqrt(L Phi L')`` with ``Phi = (X'V^{-1}X)^{-1}``.
    df : float
        ``2 (L Phi L')^2 / (g' W g)`` with ``g_i = L (dPhi/dtheta_i) L'``.

    Notes
    -----
    Checked against SAS ``DDFM=SATTERTHWAITE`` for the fev_data main model
    (sas_reference.md section 1: all coefficient df equal after rounding).
    """
    _check_arrays(fit, arrays)
    lvec = _contrast(fit, L, rows=False)
    se = float(np.sqrt(lvec @ fit.cov_beta @ lvec))
    return float(lvec @ fit.beta), se, _sat_df_1d(fit, lvec)


def md_denominator_df(t_df: np.ndarray) -> float:
    """Combine the df of independent t statistics into an F denominator df.

    ``2E / (E - q)`` with ``E = sum nu_k / (nu_k - 2)`` (Fai & Cornelius 1996; lmerTest,
    mmrm ``h_md_denom_df``): the mean if all df agree to ``sqrt(eps)``, 2 if any is <= 2.
    """
    t_df = np.asarray(t_df, dtype=float)
    if t_df.size == 1:
        return float(t_df[0])
    if np.all(np.abs(np.diff(t_df)) < np.sqrt(np.finfo(float).eps)):
        return float(np.mean(t_df))
    if np.any(t_df <= 2):
        return 2.0
    e = float(np.sum(t_df / (t_df - 2.0)))
    return 2.0 * e / (e - t_df.size)


def satterthwaite_f(
    fit: EngineFit, arrays: ModelArrays, L: ArrayLike
) -> tuple[float, float, float]:
    """F statistic and Satterthwaite numerator / denominator df of a contrast matrix.

    Parameters
    ----------
    fit, arrays : as in `satterthwaite`
    L : array_like, shape (q, p)

    Returns
    -------
    F : float
        ``(L beta)' (L Phi L')^{-1} (L beta) / r`` over the rank ``r`` of ``L Phi L'``.
    num_df : float
        ``r``.
    den_df : float
        From the eigen-decomposition of ``L Phi L'`` into ``r`` independent t tests
        (mmrm ``h_df_md_sat``; lmerTest), combined by `md_denominator_df`.

    Notes
    -----
    Checked against SAS's type 3 test of RACE in the fev_data main model
    (F = 36.92 on 2 and 166 df; sas_reference.md section 1).
    """
    _check_arrays(fit, arrays)
    lmat = _contrast(fit, L, rows=True)
    if lmat.shape[0] == 1:
        est, se, df = satterthwaite(fit, arrays, lmat[0])
        return (est / se) ** 2, 1.0, df
    cc = lmat @ fit.cov_beta @ lmat.T
    vals, vecs = np.linalg.eigh(cc)
    vals, vecs = vals[::-1], vecs[:, ::-1]
    tol = max(np.sqrt(np.finfo(float).eps) * vals[0], 0.0)
    rank = int(np.sum(vals > tol))
    if rank == 0:
        raise ModelSpecError("contrast L has zero variance; it tests nothing estimable")
    prod = vecs[:, :rank].T @ lmat
    t2 = (prod @ fit.beta) ** 2 / vals[:rank]
    t_df = np.array([_sat_df_1d(fit, row) for row in prod])
    return float(t2.sum() / rank), float(rank), md_denominator_df(t_df)


# --------------------------------------------------------------------------- Kenward-Roger

#: Contraction paths of `einsum_greedy`, per subscripts and operand shapes.
_PATHS: dict[tuple[str, tuple[tuple[int, ...], ...]], list[object]] = {}


def einsum_greedy(subscripts: str, *operands: np.ndarray) -> np.ndarray:
    """``np.einsum(subscripts, *operands, optimize=True)``, its path searched once per shapes.

    The greedy search ``optimize=True`` runs at every call depends only on the
    subscripts and the operands' shapes; given the path it finds, einsum contracts in
    the same order, so the result is the same.
    """
    key = (subscripts, tuple(op.shape for op in operands))
    path = _PATHS.get(key)
    if path is None:
        if len(_PATHS) >= 256:  # bounded: a session sees few model sizes
            _PATHS.clear()
        found = np.einsum_path(subscripts, *operands, optimize="greedy")[0]
        path = _PATHS[key] = list(found)
    out: np.ndarray = np.einsum(subscripts, *operands, optimize=path)
    return out


@dataclass(frozen=True)
class KRAdjustment:
    """Kenward-Roger adjusted coefficient covariance and contrast tests.

    Attributes
    ----------
    cov_beta : ndarray (p, p)
        Adjusted covariance ``Phi_A`` (Kenward & Roger 1997, eq. 2 / SAS ``DDFM=KR``).
    cov_beta_unadjusted : ndarray (p, p)
        ``Phi = (X'V^{-1}X)^{-1}``.
    beta : ndarray (p,)
    linear : bool
        True drops the second-derivative term (SAS ``DDFM=KR(LINEAR)``).
    phi, phi_names : ndarray, tuple of str
        Covariance parameters in SAS's parameterisation, in which KR is computed.
    phi_vcov : ndarray
        Their asymptotic covariance ``W`` (inverse observed information).
    p_matrices : ndarray (k, p, p)
        ``P_i = -X'V^{-1}(dV/dphi_i)V^{-1}X``.
    """

    cov_beta: np.ndarray
    cov_beta_unadjusted: np.ndarray
    beta: np.ndarray
    linear: bool
    phi: np.ndarray
    phi_names: tuple[str, ...]
    phi_vcov: np.ndarray
    p_matrices: np.ndarray

    @cached_property
    def sandwiches(self) -> np.ndarray:
        """``Phi P_i Phi`` of every covariance parameter ``i`` (k, p, p), read-only.

        Computed on first use and kept (each one-row df of `kr_df_rows` reads it; it
        does not depend on the contrast).
        """
        phi = self.cov_beta_unadjusted
        got = einsum_greedy("ab,kbc,cd->kad", phi, self.p_matrices, phi)
        got.flags.writeable = False
        return got

    def _lambda_m(self, lmat: np.ndarray) -> tuple[float, float]:
        """KR scale ``lambda`` and denominator df ``m`` for contrast rows ``lmat``."""
        return kr_df(self.cov_beta_unadjusted, lmat, self.phi_vcov, self.p_matrices)

    def test(self, L: ArrayLike) -> tuple[float, float, float]:
        """Estimate, adjusted SE and KR df of a one-row contrast ``L`` (p,)."""
        lvec = np.asarray(L, dtype=float).reshape(-1)
        if lvec.shape != self.beta.shape:
            raise ModelSpecError(f"contrast L must have shape {self.beta.shape}")
        se = float(np.sqrt(lvec @ self.cov_beta @ lvec))
        return float(lvec @ self.beta), se, self._lambda_m(lvec[None, :])[1]

    def f_test(self, L: ArrayLike) -> tuple[float, float, float, float]:
        """Scaled F, numerator df, KR denominator df and the scale ``lambda``.

        ``F* = lambda (L beta)' (L Phi_A L')^{-1} (L beta) / q``, referred to
        ``F(q, m)`` (Kenward & Roger 1997, section 4).
        """
        lmat = np.atleast_2d(np.asarray(L, dtype=float))
        if lmat.shape[1] != self.beta.size:
            raise ModelSpecError(f"contrast L must have {self.beta.size} columns")
        q = lmat.shape[0]
        est = lmat @ self.beta
        f = float(est @ np.linalg.solve(lmat @ self.cov_beta @ lmat.T, est)) / q
        lam, m = self._lambda_m(lmat)
        return lam * f, float(q), m, lam


def kr_df(
    phi: np.ndarray, lmat: np.ndarray, w: np.ndarray, p_mats: np.ndarray
) -> tuple[float, float]:
    """Kenward-Roger ``lambda`` and ``m`` (KR 1997 section 4; mmrm ``h_kr_df``).

    ``Theta = L'(L Phi L')^{-1} L``; ``A1 = sum W_ij tr(Theta Phi P_i Phi)
    tr(Theta Phi P_j Phi)``; ``A2 = sum W_ij tr(Theta Phi P_i Phi Theta Phi P_j Phi)``.
    """
    q = lmat.shape[0]
    theta = lmat.T @ np.linalg.solve(lmat @ phi @ lmat.T, lmat)
    t = (theta @ phi) @ p_mats @ phi  # (k, p, p): Theta Phi P_i Phi
    k = t.shape[0]
    tr = np.trace(t, axis1=1, axis2=2)
    a1 = float(tr @ w @ tr)
    tt = t.reshape(k, -1) @ t.transpose(0, 2, 1).reshape(k, -1).T  # tr(T_i T_j)
    a2 = float(np.sum(w * tt))
    b = (a1 + 6.0 * a2) / (2.0 * q)
    g = ((q + 1.0) * a1 - (q + 4.0) * a2) / ((q + 2.0) * a2)
    denom = 3.0 * q + 2.0 * (1.0 - g)
    c1, c2, c3 = g / denom, (q - g) / denom, (q + 2.0 - g) / denom
    e_star = 1.0 / (1.0 - a2 / q)
    v_star = (2.0 / q) * (1.0 + c1 * b) / ((1.0 - c2 * b) ** 2 * (1.0 - c3 * b))
    rho = v_star / (2.0 * e_star**2)
    m = 4.0 + (q + 2.0) / (q * rho - 1.0)
    lam = m / (e_star * (m - 2.0))
    return float(lam), float(m)


def _sum_wq(data: PatternData, ev: Evaluation, d1: np.ndarray, w: np.ndarray) -> np.ndarray:
    """sum_ij W_ij Q_ij with Q_ij = X'V^{-1}V_iV^{-1}V_jV^{-1}X, by pattern.

    ``Q_ij = sum_s X_s' S^{-1} E_i S^{-1} E_j S^{-1} X_s``, so the sum is the sandwich of
    ``K_P = sum_ij W_ij E_i S_P^{-1} E_j`` (symmetric) for each pattern.
    """
    m, k = data.m, d1.shape[0]
    kp = np.zeros((data.pat_group.size, m, m))
    for g in range(data.n_groups):
        eg = d1[:, g].reshape(k, m * m)
        wg = (eg.T @ w @ eg).reshape(m, m, m, m)  # [(a, b), (c, d)]
        sel = np.flatnonzero(data.pat_group == g)
        kp[sel] = einsum_greedy("abcd,nbc->nad", wg, ev.sinv[sel])
    sandwich: np.ndarray = contract_sandwich(data, ev, kp[None], per_pattern=True)[0]
    return sandwich[: data.p, : data.p]


def kenward_roger(
    fit: EngineFit,
    arrays: ModelArrays,
    linear: bool = False,
    *,
    patterns: PatternData | None = None,
) -> KRAdjustment:
    """Kenward-Roger adjustment of a REML fit, in SAS's covariance parameterisation.

    Parameters
    ----------
    fit : EngineFit
        A REML fit.
    arrays : ModelArrays
        The arrays ``fit`` was computed from.
    linear : bool
        Drop the second-derivative term ``R_ij`` (SAS ``DDFM=KR(LINEAR)``).
    patterns : PatternData, optional
        ``engine.pattern_data(arrays)``, when the caller has it (built here otherwise).

    Returns
    -------
    KRAdjustment

    Notes
    -----
    ``Phi_A = Phi + 2 Phi [sum_ij W_ij (Q_ij - P_i Phi P_j - R_ij / 4)] Phi`` with
    ``P_i = -X'V^{-1}V_iV^{-1}X``, ``Q_ij = X'V^{-1}V_iV^{-1}V_jV^{-1}X``,
    ``R_ij = X'V^{-1}V_ij V^{-1}X`` (``V_i``, ``V_ij``: first and second derivatives
    in the natural parameters) and ``W`` the inverse observed information of those
    parameters. Checked against SAS ``DDFM=KR`` and ``KR(LINEAR)`` for
    ``FEV1 ~ ARMCD`` with un, ar(1), arh(1), cs, csh, ante(1), toep, toeph
    (sas_reference.md table 5).
    """
    if fit.method != "reml":
        raise ModelSpecError("Kenward-Roger needs a REML fit (method='reml')")
    _check_arrays(fit, arrays)
    with blas_threads(1):
        data = pattern_data(arrays) if patterns is None else patterns
        return _kenward_roger(fit, data, linear)


def _kenward_roger(fit: EngineFit, data: PatternData, linear: bool) -> KRAdjustment:
    struct, m, n_g = fit.covariance, fit.n_visits, fit.n_groups
    phi = cov.natural_from_theta(struct, fit.theta, m, n_g)
    sd = cov.sigma_derivatives(struct, phi, m, n_g, order=2, natural=True)
    ev = evaluate(data, sd.sigma, True, sd.d1, sd.d2)
    if ev is None:
        raise ModelSpecError("the fitted covariance is not positive definite")
    # order=2 derivatives were passed, so the evaluation carries the Hessian and P_i.
    assert sd.d1 is not None and sd.d2 is not None
    assert ev.hess is not None and ev.p_mats is not None
    try:
        linv = np.linalg.inv(np.linalg.cholesky(ev.hess))
    except np.linalg.LinAlgError as exc:
        raise ModelSpecError(
            "Kenward-Roger needs a positive definite Hessian of the variance parameters; "
            "the fit is not at a proper REML maximum"
        ) from exc
    w = 2.0 * (linv.T @ linv)
    p_mats, m_inv = ev.p_mats, ev.m_inv
    p_bar = np.einsum("ij,jab->iab", w, p_mats)
    k = p_mats.shape[0]
    pmp = (p_mats @ m_inv).transpose(1, 0, 2).reshape(data.p, -1)  # [a, (i, c)]
    inner = _sum_wq(data, ev, sd.d1, w) - pmp @ p_bar.reshape(k * data.p, data.p)
    if not linear:
        wr = np.einsum("ij,ijgab->gab", w, sd.d2)
        inner -= 0.25 * contract_sandwich(data, ev, wr[None])[0][: data.p, : data.p]
    adj = m_inv + 2.0 * m_inv @ inner @ m_inv  # in the working Q-coefficients
    return KRAdjustment(
        cov_beta=x_cov(data, adj),
        cov_beta_unadjusted=x_cov(data, m_inv),
        beta=x_beta(data, ev.beta),
        linear=linear,
        phi=phi,
        phi_names=cov.natural_names(struct, m, n_g),
        phi_vcov=w,
        p_matrices=x_pmats(data, p_mats),
    )
