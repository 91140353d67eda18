"""Empirical (sandwich) coefficient covariance of the MMRM and its degrees of freedom.

R mmrm 0.3 (``mmrm(..., vcov = "Empirical" | "Empirical-Jackknife" |
"Empirical-Bias-Reduced")``, ``src/empirical.cpp`` and ``h_df_1d_sat_empirical``) made
vectorised per missingness pattern. With ``L_i`` any whitening of subject ``i``
(``L_i' L_i = V_i^{-1}``, here the inverse Cholesky factor of the pattern's covariance
times ``W_i^{1/2}``), ``Xt_i = L_i X_i``, ``rt_i = L_i (y_i - X_i beta)``,
``Phi = (X'V^{-1}X)^{-1}`` and ``H_ii = Xt_i Phi Xt_i'``::

    cov = Phi (sum_i Xt_i' A_i rt_i rt_i' A_i Xt_i) Phi

with ``A_i = I`` (``empirical``, CR0), ``(I - H_ii)^{-1}`` (``empirical-jackknife``,
CR3) or ``(I - H_ii)^{-1/2}`` (``empirical-bias-reduced``, CR2; the symmetric
pseudo-inverse square root at mmrm's tolerance ``eps * n_i * largest eigenvalue``).
The result does not depend on the choice of ``L_i`` (two whitenings differ by an
orthogonal matrix).

Degrees of freedom of a contrast ``c`` (mmrm's Satterthwaite under an empirical
covariance; Bell and McCaffrey 2002): with ``v_i = A_i Xt_i Phi c`` and ``G`` the
``N x N`` matrix ``G_ij = v_i' (I - H)_ij v_j``, ``df = tr(G)^2 / sum(G_ij^2)``.
As ``I - H`` is the whitened residual projection, ``G = diag(d) - U Phi U'`` with
``d_i = v_i' v_i`` and rows ``u_i = Xt_i' v_i``, so ``tr(G)`` and ``sum(G^2)`` come from
``p x p`` sums and no ``n x n`` or ``N x N`` matrix is formed.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import stats

from efficacy.errors import ModelSpecError
from efficacy.mmrm.ddf import md_denominator_df
from efficacy.mmrm.engine import EngineFit, ModelArrays

__all__ = [
    "ROBUST_VCOV",
    "VCOV_METHODS",
    "MmrmBetweenWithin",
    "RobustCovariance",
    "robust_covariance",
]

#: Coefficient covariance choices of `efficacy.fit_mmrm` (``vcov=``).
VCOV_METHODS: tuple[str, ...] = (
    "model-based",
    "empirical",
    "empirical-jackknife",
    "empirical-bias-reduced",
)
ROBUST_VCOV: tuple[str, ...] = VCOV_METHODS[1:]


@dataclass(frozen=True)
class RobustCovariance:
    """Empirical coefficient covariance of one fit and what its df need.

    Attributes
    ----------
    kind : str
        ``"empirical"``, ``"empirical-jackknife"`` or ``"empirical-bias-reduced"``.
    cov : ndarray (p, p)
        The sandwich covariance of the kept coefficients.
    phi : ndarray (p, p)
        Model-based ``(X'V^{-1}X)^{-1}``.
    scores : ndarray (N, p)
        Per-subject ``Xt_i' A_i rt_i`` (mmrm's ``score_per_subject``).
    k_mats : ndarray (N, p, p)
        ``Xt_i' A_i Xt_i Phi`` (``u_i = K_i c``).
    d_mats : ndarray (N, p, p)
        ``Phi Xt_i' A_i^2 Xt_i Phi`` (``d_i = c' D_i c``).
    """

    kind: str
    cov: np.ndarray
    phi: np.ndarray
    scores: np.ndarray
    k_mats: np.ndarray
    d_mats: np.ndarray

    def df_rows(self, L: np.ndarray) -> np.ndarray:
        """Empirical Satterthwaite df of each row of ``L`` (k, p), as mmrm."""
        L = np.atleast_2d(np.asarray(L, dtype=float))
        d = np.einsum("kp,npq,kq->kn", L, self.d_mats, L, optimize=True)
        u = np.einsum("npq,kq->knp", self.k_mats, L, optimize=True)
        s = np.einsum("knp,pq,knq->kn", u, self.phi, u, optimize=True)
        utu = np.einsum("knp,knq->kpq", u, u, optimize=True)
        m = self.phi @ utu  # (k, p, p): Phi U'U
        tr = d.sum(axis=1) - s.sum(axis=1)
        frob = (
            np.einsum("kn,kn->k", d, d)
            - 2.0 * np.einsum("kn,kn->k", d, s)
            + np.einsum("kij,kji->k", m, m)
        )
        with np.errstate(divide="ignore", invalid="ignore"):
            out: np.ndarray = tr**2 / frob
        return out

    def f_test(self, L: np.ndarray, beta: np.ndarray) -> tuple[float, float, float, float]:
        """F statistic, numerator df, denominator df and p value of ``L beta = 0``.

        mmrm's ``h_df_md_sat`` with the empirical covariance: ``L cov L'`` is split into
        its eigenvectors (rank at ``sqrt(eps)`` of the largest eigenvalue), each a t test
        with the empirical df, combined by `efficacy.mmrm.ddf.md_denominator_df`.
        """
        L = np.atleast_2d(np.asarray(L, dtype=float))
        vals, vecs = np.linalg.eigh(L @ self.cov @ L.T)
        vals, vecs = vals[::-1], vecs[:, ::-1]
        tol = max(np.sqrt(np.finfo(float).eps) * vals[0], 0.0)
        rank = int(np.sum(vals > tol))
        if rank == 0:
            raise ModelSpecError("contrast L has zero variance; it tests nothing estimable")
        prod = vecs[:, :rank].T @ L if L.shape[0] > 1 else L
        t2 = (prod @ beta) ** 2 / np.einsum("ij,jk,ik->i", prod, self.cov, prod)
        f = float(t2.sum() / rank)
        den = md_denominator_df(self.df_rows(prod))
        p = float(stats.f.sf(f, rank, den)) if np.isfinite(den) else np.nan
        return f, float(rank), den, p


def robust_covariance(
    fit: EngineFit,
    arrays: ModelArrays,
    kind: str,
    subject_labels: tuple[object, ...] | None = None,
) -> RobustCovariance:
    """Empirical covariance ``kind`` of a fit (see the module notes).

    Parameters
    ----------
    fit : EngineFit
        A fit of ``arrays`` (its ``beta``, ``cov_beta`` and ``sigma`` are used).
    arrays : ModelArrays
        The fitted data (rows sorted by subject and visit, as the engine requires).
    kind : {"empirical", "empirical-jackknife", "empirical-bias-reduced"}
    subject_labels : tuple, optional
        Subject names, for the message when ``I - H_ii`` is singular (jackknife).

    Raises
    ------
    ModelSpecError
        Unknown ``kind``; under ``empirical-jackknife``, a subject whose ``I - H_ii``
        is singular (the subject alone determines a coefficient).
    """
    if kind not in ROBUST_VCOV:
        raise ModelSpecError(f"vcov={kind!r}: choose from {ROBUST_VCOV}")
    x = np.asarray(arrays.X, dtype=float)
    n, p = x.shape
    subj = np.asarray(arrays.subject, dtype=np.int64)
    vis = np.asarray(arrays.visit, dtype=np.int64)
    m, n_subj = int(arrays.n_visits), int(subj[-1]) + 1
    sw = np.ones(n) if arrays.weights is None else np.sqrt(np.asarray(arrays.weights, float))
    resid = (np.asarray(arrays.y, dtype=float) - x @ fit.beta) * sw
    x_pad = np.zeros((n_subj, m, p))
    r_pad = np.zeros((n_subj, m))
    x_pad[subj, vis] = x * sw[:, None]
    r_pad[subj, vis] = resid
    obs = np.zeros((n_subj, m), dtype=bool)
    obs[subj, vis] = True
    group = np.zeros(n_subj, np.int64) if arrays.group is None else np.asarray(arrays.group)
    code = group.astype(np.int64) * (1 << m) + obs.astype(np.int64) @ (1 << np.arange(m))
    phi = fit.cov_beta
    scores = np.empty((n_subj, p))
    k_mats = np.empty((n_subj, p, p))
    d_mats = np.empty((n_subj, p, p))
    for key in np.unique(code):
        who = np.flatnonzero(code == key)
        seen = np.flatnonzero(obs[who[0]])
        sig = fit.sigma[int(group[who[0]])][np.ix_(seen, seen)]
        white = np.linalg.inv(np.linalg.cholesky(sig))
        xt = white @ x_pad[who][:, seen, :]  # (s, k, p)
        rt = np.einsum("ij,sj->si", white, r_pad[who][:, seen])
        a_xt = xt if kind == "empirical" else _adjust(xt, phi, kind, who, subject_labels) @ xt
        scores[who] = np.einsum("skp,sk->sp", a_xt, rt)
        k_mats[who] = np.einsum("skp,skq->spq", xt, a_xt) @ phi
        b = a_xt @ phi
        d_mats[who] = np.einsum("skp,skq->spq", b, b)
    cov = phi @ (scores.T @ scores) @ phi
    return RobustCovariance(kind, cov, phi.copy(), scores, k_mats, d_mats)


def _adjust(
    xt: np.ndarray,
    phi: np.ndarray,
    kind: str,
    who: np.ndarray,
    labels: tuple[object, ...] | None,
) -> np.ndarray:
    """``(I - H_ii)^{-1}`` or its pseudo-inverse square root for a stack of subjects."""
    k = xt.shape[1]
    a = np.eye(k) - xt @ phi @ xt.transpose(0, 2, 1)
    a = 0.5 * (a + a.transpose(0, 2, 1))
    vals, vecs = np.linalg.eigh(a)
    tol = np.finfo(float).eps * k * np.abs(vals).max(axis=1, keepdims=True)
    keep = vals > tol
    if kind == "empirical-jackknife":
        bad = ~keep.all(axis=1)
        if bad.any():
            i = int(who[np.flatnonzero(bad)[0]])
            name = labels[i] if labels is not None else i
            raise ModelSpecError(
                f"vcov='empirical-jackknife': subject {name!r} alone determines a "
                "coefficient (I - H_ii is singular); use vcov='empirical-bias-reduced'"
            )
        inv = 1.0 / vals
    else:
        inv = np.where(keep, 1.0 / np.sqrt(np.where(keep, vals, 1.0)), 0.0)
    out: np.ndarray = np.einsum("sij,sj,skj->sik", vecs, inv, vecs)
    return out


@dataclass(frozen=True)
class MmrmBetweenWithin:
    """R mmrm's between-within df (``h_df_bw_calc``), used under an empirical ``vcov``.

    mmrm classes each coefficient: the intercept; ``within`` when the column takes more
    than one value within some subject; ``between`` otherwise. Between df
    ``N - n_between - n_intercept``; within df ``n - N - n_within``; the intercept and
    within coefficients get the within df. A contrast gets the smallest df of the
    coefficients it involves (``h_df_min_bw``). This differs from SAS ``DDFM=BETWITHIN``
    (`efficacy.mmrm.hypotheses.design_df`, used with the model-based covariance).
    """

    within: np.ndarray  # (p,) bool: intercept or within-subject column
    between_df: float
    within_df: float

    def df(self, L: np.ndarray) -> float:
        """Smallest df of the coefficients any row of ``L`` involves."""
        involved = np.any(np.atleast_2d(L) != 0, axis=0)
        dfs = np.where(self.within[involved], self.within_df, self.between_df)
        return float(dfs.min()) if dfs.size else np.nan

    @classmethod
    def of(cls, x: np.ndarray, subject: np.ndarray, names: tuple[str, ...]) -> MmrmBetweenWithin:
        """Classify the kept columns ``x`` (named ``names``) of rows of ``subject``."""
        n, n_subj = x.shape[0], int(subject.max()) + 1
        same = (np.diff(subject) == 0)[:, None]  # rows are sorted by subject
        varies = np.any((np.diff(x, axis=0) != 0) & same, axis=0)
        intercept = np.array([nm == "(Intercept)" for nm in names])
        n_within = int((varies & ~intercept).sum())
        n_between = int((~varies & ~intercept).sum())
        return cls(
            within=varies | intercept,
            between_df=float(n_subj - n_between - int(intercept.sum())),
            within_df=float(n - n_subj - n_within),
        )
