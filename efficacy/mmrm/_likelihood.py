"""(RE)ML log-likelihood of the MMRM with analytic gradient and Hessian, by pattern.

Subjects are grouped by (covariance group, set of observed visits). For a pattern
``P`` the sufficient statistics of the augmented rows ``Z_s = [X_s, y_s]`` (padded to
all ``m`` visits, scaled by ``sqrt(w)``) are the cross-product tensor

    T_P[a, b, s, t] = sum_{subjects in P} Z_s[a, s] Z_s[b, t],

stored once (symmetrised halves). Every quantity of an iteration is then a contraction
of ``T_P`` with ``Sigma_P^{-1}``: the cost of an evaluation does not grow with the
number of subjects.

Notes
-----
With ``S_P`` the pattern's covariance and ``n`` observations, ``p`` coefficients,
weights ``w`` (``V_i = W_i^{-1/2} S_P W_i^{-1/2}``)::

    -2 l_ML   = sum_i log|S_P(i)| - sum log w + r' V^{-1} r + n log(2 pi)
    -2 l_REML = -2 l_ML(beta_hat) + log|X' V^{-1} X| - p log(2 pi)

(SAS PROC MIXED, "Estimating Covariance Parameters in the Mixed Model"). With
``M = X'V^{-1}X``, ``r`` the GLS residuals and ``B_P = sum_s (X_s M^{-1} X_s' + r_s r_s')``
(REML; ML drops the first term), the gradient of ``-2 l`` in the matrix ``Sigma`` is

    G = sum_P n_P S_P^{-1} - S_P^{-1} B_P S_P^{-1}

and, for parameters with ``E_i = dSigma/dtheta_i``, the Hessian is

    H_ij = tr(G E_ij) + sum_P tr(E_i S_P^{-1} E_j Omega_P)
           - tr(M^{-1} P_i M^{-1} P_j) [REML only] - 2 b_i' M^{-1} b_j

with ``Omega_P = n_P S_P^{-1} - 2 G_P``, ``P_i = -X'V^{-1}E_iV^{-1}X`` and
``b_i = X'V^{-1}E_iV^{-1}r``. ``P_i`` is also ``d M / d theta_i``, used by
Satterthwaite and Kenward-Roger.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

LOG_2PI = float(np.log(2.0 * np.pi))
# Pattern tensors are used while no larger than this many times the padded data; beyond
# (many visits, patterns and columns) evaluations work subject by subject (batched).
TENSOR_RATIO = 4.0


@dataclass(frozen=True)
class PatternData:
    """Precomputed, parameter-free summaries of the data (see module notes)."""

    m: int
    p: int
    n_groups: int
    n_obs: int
    n_subjects: int
    sum_log_w: float
    r_mat: np.ndarray  # (p, p) upper triangular, X = Q R (Q used internally)
    beta_shift: np.ndarray  # (p,) OLS coefficients removed from y before fitting
    logdet_r2: float  # log|R'R|, the REML constant of working with Q
    pat_group: np.ndarray  # (n_pat,)
    pat_mask: np.ndarray  # (n_pat, m) bool
    pat_count: np.ndarray  # (n_pat,) float
    pat_outer: np.ndarray  # (n_pat, m, m) observed-pair mask
    pat_fill: np.ndarray  # (n_pat, m, m) identity on unobserved visits
    y3: np.ndarray | None  # (n_pat * nh_m, nh_q) symmetrised halves of T_P, or None
    z_pad: np.ndarray  # (N, m, q) scaled [X, y], zero at missing visits
    subj_pattern: np.ndarray  # (N,)
    by_pattern: np.ndarray  # (N,) subjects sorted by pattern
    pat_start: np.ndarray  # (n_pat,) first position of each pattern in by_pattern
    group_subjects: tuple[np.ndarray, ...]  # subject indices per group
    iu_m: tuple[np.ndarray, np.ndarray]
    iu_q: tuple[np.ndarray, np.ndarray]
    cm: np.ndarray  # (nh_m,) 1 on diagonal, 2 off
    cq: np.ndarray  # (nh_q,)


def build_patterns(
    x: np.ndarray,
    y: np.ndarray,
    subject: np.ndarray,
    visit: np.ndarray,
    m: int,
    group: np.ndarray,
    n_groups: int,
    weights: np.ndarray | None,
) -> PatternData:
    """Group subjects by pattern and precompute the cross-product tensors.

    Inputs are assumed validated (see ``engine._validate``); nothing is modified.
    Preconditioning: with the thin QR decomposition ``X = Q R`` (``Q`` scaled to unit
    mean square) and ``b`` the OLS coefficients, the model is fitted to ``y - X b`` on
    ``Q``; `x_beta`, `x_cov` and `x_pmats` map results back. The likelihood in theta is
    unchanged (REML up to ``log|R'R|``, added to the value), but cancellation between
    large, collinear columns (e.g. a covariate 1e5 + N(0, 1) beside the intercept) is
    avoided.
    """
    n, p = x.shape
    x, y, r_mat, beta_shift = _precondition(x, y)
    q = p + 1
    n_subj = int(subject.max()) + 1
    sw = np.ones(n) if weights is None else np.sqrt(weights)
    z_pad = np.zeros((n_subj, m, q))
    z_pad[subject, visit, :p] = x * sw[:, None]
    z_pad[subject, visit, p] = y * sw
    obs = np.zeros((n_subj, m), dtype=bool)
    obs[subject, visit] = True
    uniq, inverse, counts = _pattern_keys(group, obs)
    pat_mask = uniq[:, 1:].astype(bool)
    iu_m = np.triu_indices(m)
    iu_q = np.triu_indices(q)
    order = np.argsort(inverse, kind="stable")
    bounds = np.concatenate([[0], np.cumsum(counts)])
    y3 = None
    if uniq.shape[0] * iu_m[0].size * iu_q[0].size <= TENSOR_RATIO * z_pad.size:
        y3 = _pattern_tensors(z_pad, order, bounds, iu_m, iu_q)
    pat_outer = (pat_mask[:, :, None] & pat_mask[:, None, :]).astype(float)
    eye = np.eye(m)
    return PatternData(
        m=m,
        p=p,
        n_groups=n_groups,
        n_obs=n,
        n_subjects=n_subj,
        sum_log_w=0.0 if weights is None else float(np.sum(np.log(weights))),
        r_mat=r_mat,
        beta_shift=beta_shift,
        logdet_r2=2.0 * float(np.sum(np.log(np.abs(np.diag(r_mat))))),
        pat_group=uniq[:, 0].astype(np.int64),
        pat_mask=pat_mask,
        pat_count=counts.astype(float),
        pat_outer=pat_outer,
        pat_fill=eye * (~pat_mask)[:, :, None],
        y3=y3,
        z_pad=z_pad,
        subj_pattern=inverse,
        by_pattern=order,
        pat_start=bounds[:-1],
        group_subjects=tuple(np.flatnonzero(group == g) for g in range(n_groups)),
        iu_m=iu_m,
        iu_q=iu_q,
        cm=np.where(iu_m[0] == iu_m[1], 1.0, 2.0),
        cq=np.where(iu_q[0] == iu_q[1], 1.0, 2.0),
    )


def _precondition(
    x: np.ndarray, y: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """``X = Q R`` with ``Q'Q = n I``; return ``Q``, ``y - X b_ols``, ``R`` and ``b_ols``."""
    n = x.shape[0]
    q_mat, r_mat = np.linalg.qr(x)
    scale = np.sqrt(n)
    q_mat, r_mat = q_mat * scale, r_mat / scale
    qty = q_mat.T @ y / n
    return q_mat, y - q_mat @ qty, r_mat, np.linalg.solve(r_mat, qty)


def _pattern_keys(group: np.ndarray, obs: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Find the unique (group, observed visits) rows, each subject's pattern, counts."""
    m = obs.shape[1]
    if m <= 40:  # exact integer code: group * 2^m + bits
        code = group.astype(np.int64) * (1 << m) + obs.astype(np.int64) @ (1 << np.arange(m))
        _, first, inverse, counts = np.unique(
            code, return_index=True, return_inverse=True, return_counts=True
        )
        uniq = np.column_stack([group[first], obs[first].astype(np.int64)])
        return uniq, inverse.ravel(), counts
    keys = np.column_stack([group, obs.astype(np.int64)])
    uniq, inverse, counts = np.unique(keys, axis=0, return_inverse=True, return_counts=True)
    return uniq, inverse.ravel(), counts


def _pattern_tensors(
    z_pad: np.ndarray,
    order: np.ndarray,
    bounds: np.ndarray,
    iu_m: tuple[np.ndarray, np.ndarray],
    iu_q: tuple[np.ndarray, np.ndarray],
) -> np.ndarray:
    """Symmetrised halves of T_P for every pattern, shape (n_pat * nh_m, nh_q)."""
    _, m, q = z_pad.shape
    n_pat = bounds.size - 1
    y3 = np.empty((n_pat, iu_m[0].size, iu_q[0].size))
    diag_q = (iu_q[0] == iu_q[1]).astype(float)
    for k in range(n_pat):
        zk = z_pad[order[bounds[k] : bounds[k + 1]]].reshape(-1, m * q)
        t4 = (zk.T @ zk).reshape(m, q, m, q)
        sym = t4.transpose(0, 2, 1, 3) + t4.transpose(0, 2, 3, 1)
        y3[k] = sym[iu_m][:, iu_q[0], iu_q[1]] / (1.0 + diag_q)
    return y3.reshape(-1, iu_q[0].size)


def resample_patterns(data: PatternData, counts: np.ndarray) -> PatternData:
    """Summaries of the data in which subject ``i`` appears ``counts[i]`` times.

    For jackknife (a count of 0 drops a subject) and bootstrap (counts of a resample)
    fits of one design: the padded rows and the preconditioning of ``data`` are reused,
    only the per-pattern sums are formed again. Unweighted data only.
    """
    if data.sum_log_w != 0.0:
        raise ValueError("resample_patterns: weighted data are not supported")
    counts = np.asarray(counts, dtype=np.int64)
    per_pattern = np.bincount(data.subj_pattern, weights=counts, minlength=data.pat_count.size)
    keep = per_pattern > 0
    new_code = np.cumsum(keep) - 1
    subj = np.flatnonzero(counts > 0)
    reps = counts[subj]
    subj_pattern = np.repeat(new_code[data.subj_pattern[subj]], reps)
    pat_group = data.pat_group[keep]
    order = np.argsort(subj_pattern, kind="stable")
    n_per = per_pattern[keep].astype(np.int64)
    bounds = np.concatenate([[0], np.cumsum(n_per)])
    y3 = None
    if data.y3 is not None:  # T_P changes by (c_i - 1) Z_i (x) Z_i for each changed subject
        m, q = data.m, data.p + 1
        nh_m, nh_q = data.iu_m[0].size, data.iu_q[0].size
        diag_q = (data.iu_q[0] == data.iu_q[1]).astype(float)
        half = data.y3.reshape(-1, nh_m, nh_q).copy()
        changed = np.flatnonzero(counts != 1)
        for old in np.unique(data.subj_pattern[changed]):
            members = changed[data.subj_pattern[changed] == old]
            zk = data.z_pad[members].reshape(-1, m * q)
            t4 = ((zk * (counts[members, None] - 1.0)).T @ zk).reshape(m, q, m, q)
            sym = t4.transpose(0, 2, 1, 3) + t4.transpose(0, 2, 3, 1)
            half[old] += sym[data.iu_m][:, data.iu_q[0], data.iu_q[1]] / (1.0 + diag_q)
        y3 = half[keep].reshape(-1, nh_q)
    group = pat_group[subj_pattern]
    n_obs_subject = data.pat_mask[data.subj_pattern[subj]].sum(axis=1)
    return replace(
        data,
        n_obs=int(n_obs_subject @ reps),
        n_subjects=int(reps.sum()),
        pat_group=pat_group,
        pat_mask=data.pat_mask[keep],
        pat_count=n_per.astype(float),
        pat_outer=data.pat_outer[keep],
        pat_fill=data.pat_fill[keep],
        y3=y3,
        z_pad=np.repeat(data.z_pad[subj], reps, axis=0),
        subj_pattern=subj_pattern,
        by_pattern=order,
        pat_start=bounds[:-1],
        group_subjects=tuple(np.flatnonzero(group == g) for g in range(data.n_groups)),
    )


def augmented_matrix(data: PatternData, sinv: np.ndarray) -> np.ndarray:
    """Compute A = sum_s Z_s' S_P^{-1} Z_s = [[X'V^-1X, X'V^-1y], [., y'V^-1y]]."""
    q = data.p + 1
    if data.y3 is not None:
        s_half = sinv[:, data.iu_m[0], data.iu_m[1]] * data.cm
        return _unpack((s_half.ravel() @ data.y3) / data.cq, data.iu_q, q)
    z = data.z_pad
    u = sinv[data.subj_pattern] @ z
    a = z.reshape(-1, q).T @ u.reshape(-1, q)
    out: np.ndarray = 0.5 * (a + a.T)
    return out


def pattern_outer(data: PatternData, gamma: np.ndarray) -> np.ndarray:
    """B_P = sum_{s in P} Z_s Gamma Z_s' for every pattern, (n_pat, m, m)."""
    m = data.m
    if data.y3 is not None:
        b_half = (data.y3 @ gamma[data.iu_q]).reshape(-1, data.iu_m[0].size)
        return _unpack(b_half, data.iu_m, m)
    z = data.z_pad[data.by_pattern]
    per_subject = (z @ gamma) @ z.transpose(0, 2, 1)
    return np.add.reduceat(per_subject, data.pat_start, axis=0)


def group_sum(data: PatternData, per_pattern: np.ndarray) -> np.ndarray:
    """Sum an array over the patterns of each group (patterns are sorted by group)."""
    starts = np.searchsorted(data.pat_group, np.arange(data.n_groups))
    return np.add.reduceat(per_pattern, starts, axis=0)


def x_beta(data: PatternData, beta_q: np.ndarray) -> np.ndarray:
    """Coefficients of the original ``X`` from those of the working ``Q``."""
    beta: np.ndarray = np.linalg.solve(data.r_mat, beta_q) + data.beta_shift
    return beta


def x_cov(data: PatternData, cov_q: np.ndarray) -> np.ndarray:
    """``R^{-1} C R^{-T}``: a covariance of ``Q``-coefficients in ``X``-coefficients."""
    rinv = np.linalg.inv(data.r_mat)
    out = rinv @ cov_q @ rinv.T
    sym: np.ndarray = 0.5 * (out + np.swapaxes(out, -1, -2))
    return sym


def x_pmats(data: PatternData, p_q: np.ndarray) -> np.ndarray:
    """``R' P R``: derivatives of ``Q'V^{-1}Q`` as derivatives of ``X'V^{-1}X``."""
    p_x: np.ndarray = data.r_mat.T @ p_q @ data.r_mat
    return p_x


def _unpack(half: np.ndarray, iu: tuple[np.ndarray, np.ndarray], size: int) -> np.ndarray:
    """Symmetric matrices from their upper-triangle halves (last axis)."""
    out = np.zeros((*half.shape[:-1], size, size))
    out[..., iu[0], iu[1]] = half
    out[..., iu[1], iu[0]] = half
    return out


@dataclass
class Evaluation:
    """Results of one likelihood evaluation (internal; fields filled by order)."""

    value: float
    beta: np.ndarray
    m_inv: np.ndarray  # (X'V^{-1}X)^{-1}
    sinv: np.ndarray  # (n_pat, m, m), zero outside the pattern
    grad_sigma: np.ndarray | None = None  # (G, m, m)
    g_pat: np.ndarray | None = None  # (n_pat, m, m)
    grad: np.ndarray | None = None
    hess: np.ndarray | None = None
    p_mats: np.ndarray | None = None  # (k, p, p) = d(X'V^{-1}X)/d theta_i
    tx: np.ndarray | None = None  # (G, m, m, q, q) subject cross-products (cache)


def factorize(data: PatternData, sigma: np.ndarray) -> tuple[np.ndarray, np.ndarray] | None:
    """Inverse and log-determinant of every pattern's covariance; None if not PD."""
    s = sigma[data.pat_group] * data.pat_outer + data.pat_fill
    try:
        low = np.linalg.cholesky(s)
    except np.linalg.LinAlgError:
        return None
    logdet = 2.0 * np.log(np.diagonal(low, axis1=1, axis2=2)).sum(axis=1)
    linv = np.linalg.inv(low)
    sinv = np.matmul(linv.transpose(0, 2, 1), linv) * data.pat_outer
    return sinv, logdet


def evaluate(
    data: PatternData,
    sigma: np.ndarray,
    reml: bool,
    d1: np.ndarray | None = None,
    d2: np.ndarray | None = None,
) -> Evaluation | None:
    """-2 log-likelihood (and gradient if ``d1``, Hessian if ``d2`` is given).

    Returns None when a pattern covariance is not positive definite.
    """
    fac = factorize(data, sigma)
    if fac is None:
        return None
    sinv, logdet = fac
    p = data.p
    a = augmented_matrix(data, sinv)
    mm = a[:p, :p]
    try:
        low_m = np.linalg.cholesky(mm)
    except np.linalg.LinAlgError:
        return None
    m_inv = _chol_inverse(low_m)
    beta = m_inv @ a[:p, p]
    quad = float(a[p, p] - a[:p, p] @ beta)
    n_eff = data.n_obs - p if reml else data.n_obs
    value = float(data.pat_count @ logdet) + quad + n_eff * LOG_2PI - data.sum_log_w
    if reml:
        value += 2.0 * float(np.log(np.diag(low_m)).sum()) + data.logdet_r2
    ev = Evaluation(value=value, beta=beta, m_inv=m_inv, sinv=sinv)
    return with_derivatives(data, ev, reml, d1, d2)


def with_derivatives(
    data: PatternData,
    ev: Evaluation,
    reml: bool,
    d1: np.ndarray | None = None,
    d2: np.ndarray | None = None,
) -> Evaluation:
    """`ev`'s value, beta and inverses with the gradient (``d1``) and Hessian (``d2``).

    Returns a new `Evaluation` (``ev`` is left as it is): what `evaluate` at the same
    ``sigma`` with these derivatives returns, since neither the value nor the inverses
    depend on the derivatives asked for.
    """
    out = Evaluation(value=ev.value, beta=ev.beta, m_inv=ev.m_inv, sinv=ev.sinv)
    if d1 is not None:
        _gradient(data, out, reml, d1)
    if d2 is not None and d1 is not None:
        _hessian(data, out, reml, d1, d2)
    return out


def _chol_inverse(low: np.ndarray) -> np.ndarray:
    linv = np.linalg.inv(low)
    out = linv.T @ linv
    sym: np.ndarray = 0.5 * (out + out.T)
    return sym


def _gradient(data: PatternData, ev: Evaluation, reml: bool, d1: np.ndarray) -> None:
    p, q = data.p, data.p + 1
    gamma = np.zeros((q, q))
    gamma[:p, :p] = np.outer(ev.beta, ev.beta) + (ev.m_inv if reml else 0.0)
    gamma[:p, p] = gamma[p, :p] = -ev.beta
    gamma[p, p] = 1.0
    b_pat = pattern_outer(data, gamma)
    g_pat = data.pat_count[:, None, None] * ev.sinv - ev.sinv @ b_pat @ ev.sinv
    grad_sigma = group_sum(data, g_pat)
    ev.g_pat = g_pat
    ev.grad_sigma = grad_sigma
    ev.grad = d1.reshape(d1.shape[0], -1) @ grad_sigma.ravel()


def _lz(data: PatternData, beta: np.ndarray) -> np.ndarray:
    """Map ``[X, y]`` to ``[X, r]`` (``r = y - X beta``) on the last axis: ``Z @ Lz``."""
    lz = np.eye(data.p + 1)
    lz[: data.p, data.p] = -beta
    return lz


def _subject_tx(data: PatternData, ev: Evaluation) -> np.ndarray:
    """Tx[g, a, b, s, t] = sum_s (U_s[a, s] U_s[b, t] + U_s[a, t] U_s[b, s]) / 2, per group.

    ``U_s = S_P^{-1} [X_s, r_s]``; symmetric in ``(a, b)`` and ``(s, t)``, which is all
    that contractions with symmetric matrices need. Subject mode; cached on ``ev``.
    """
    if ev.tx is None:
        q, m = data.p + 1, data.m
        lz = _lz(data, ev.beta)
        tx = np.empty((data.n_groups, m, m, q, q))
        for g, subj in enumerate(data.group_subjects):
            u = ev.sinv[data.subj_pattern[subj]] @ (data.z_pad[subj] @ lz)
            uf = u.reshape(subj.size, m * q)
            t4 = (uf.T @ uf).reshape(m, q, m, q).transpose(0, 2, 1, 3)  # [a, b, s, t]
            tx[g] = 0.5 * (t4 + t4.transpose(0, 1, 3, 2))
        ev.tx = tx
    return ev.tx


def contract_sandwich(
    data: PatternData, ev: Evaluation, mats: np.ndarray, per_pattern: bool = False
) -> np.ndarray:
    """C_i = sum_s [X_s, r_s]' S_P^{-1} A_iP S_P^{-1} [X_s, r_s] for symmetric A, (k, q, q).

    ``mats`` is ``(k, G, m, m)`` (one matrix per group, e.g. ``dSigma/dtheta_i``) or, with
    ``per_pattern``, ``(k, n_pat, m, m)``. In tensor mode this is one GEMM of
    ``S_P^{-1} A S_P^{-1}`` with the pattern tensors (no cost in the number of
    subjects); in subject mode a contraction with the subject cross-products.
    """
    k, q = mats.shape[0], data.p + 1
    lz = _lz(data, ev.beta)
    if data.y3 is not None:
        a = mats if per_pattern else mats[:, data.pat_group]
        f = ev.sinv @ a @ ev.sinv  # (k, n_pat, m, m)
        f_half = (f[..., data.iu_m[0], data.iu_m[1]] * data.cm).reshape(k, -1)
        c = _unpack((f_half @ data.y3) / data.cq, data.iu_q, q)
        c_lz: np.ndarray = lz.T @ c @ lz
        return c_lz
    if not per_pattern:
        tx = _subject_tx(data, ev)
        c_tx: np.ndarray = (mats.reshape(k, -1) @ tx.reshape(-1, q * q)).reshape(k, q, q)
        return c_tx
    out = np.zeros((k, q, q))
    for subj in data.group_subjects:
        pat = data.subj_pattern[subj]
        u = ev.sinv[pat] @ (data.z_pad[subj] @ lz)  # (n, m, q)
        for i in range(k):
            au = mats[i, pat] @ u
            out[i] += u.reshape(-1, q).T @ au.reshape(-1, q)
    return out


def _hessian(data: PatternData, ev: Evaluation, reml: bool, d1: np.ndarray, d2: np.ndarray) -> None:
    # _gradient (run first by `evaluate`) has filled the gradient fields.
    assert ev.g_pat is not None and ev.grad_sigma is not None
    p, m = data.p, data.m
    k = d1.shape[0]
    omega = data.pat_count[:, None, None] * ev.sinv - 2.0 * ev.g_pat
    hess = (d2.reshape(k * k, -1) @ ev.grad_sigma.ravel()).reshape(k, k)
    for g in range(data.n_groups):
        sel = data.pat_group == g
        lam = ev.sinv[sel].reshape(-1, m * m).T @ omega[sel].reshape(-1, m * m)
        # lam[(b, c), (d, a)] -> [(a, b), (c, d)]
        lam4 = lam.reshape(m, m, m, m).transpose(3, 0, 1, 2).reshape(m * m, m * m)
        eg = d1[:, g].reshape(k, m * m)
        hess += (eg @ lam4) @ eg.T
    cmat = contract_sandwich(data, ev, d1)
    p_mats = -cmat[:, :p, :p]
    b_vec = cmat[:, :p, p]
    hess -= 2.0 * b_vec @ ev.m_inv @ b_vec.T
    if reml:
        mp = ev.m_inv @ p_mats  # (k, p, p)
        hess -= mp.reshape(k, -1) @ mp.transpose(0, 2, 1).reshape(k, -1).T
    ev.hess = 0.5 * (hess + hess.T)
    ev.p_mats = p_mats
