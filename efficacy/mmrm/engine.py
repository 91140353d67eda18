"""Numerical core of the MMRM: (RE)ML fit of a linear model with structured covariance.

The front end (``efficacy.mmrm.fit``) turns a formula and a data frame into
`ModelArrays`; `fit_engine` returns an `EngineFit` with the estimates, the analytic
Hessian of the variance parameters and what ``efficacy.mmrm.ddf`` needs for
Satterthwaite and Kenward-Roger degrees of freedom.

Model (SAS PROC MIXED ``REPEATED / SUBJECT= TYPE= GROUP=``, R ``mmrm``)::

    y_i = X_i beta + e_i,   e_i ~ N(0, V_i),   V_i = W_i^{-1/2} Sigma_g[P_i, P_i] W_i^{-1/2}

for subject ``i`` of covariance group ``g`` observed at visits ``P_i`` with weights
``W_i`` (SAS ``WEIGHT`` semantics). ``loglik`` is the REML or ML log-likelihood exactly
as SAS prints it (``-2 Res Log Likelihood`` = ``-2 * loglik``), including the
``log(2 pi)`` constant; checked against SAS for fev_data in ``tests/mmrm``.

Interface notes (for the front end): the agreed contract (`ModelArrays`, `fit_engine`,
`EngineFit` fields) is implemented as specified. Additions: `EngineControl` has
``optimizers``, ``max_iter``, ``decrement_tol`` (convergence = positive definite
Hessian and Newton decrement below it), ``start``, ``second_start`` and
``blas_threads``; `EngineFit` adds ``gradient``, ``hessian``, ``theta_vcov``,
``dsigma``, ``p_matrices``, ``cov_beta_jac``, sizes and ``deviance``; `evaluate_at`
builds a fit at fixed covariance parameters (e.g. another program's estimates).
``theta`` uses mmrm's parameterisation (comparable with mmrm's ``theta_est``);
`covariance.natural_from_theta` gives SAS's covariance parameters.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

import numpy as np
from numpy.typing import ArrayLike

from efficacy.errors import ModelSpecError
from efficacy.mmrm import _optim
from efficacy.mmrm import covariance as cov
from efficacy.mmrm._likelihood import PatternData, build_patterns, x_beta, x_cov, x_pmats
from efficacy.mmrm._optim import SINGULAR_CONDITION
from efficacy.mmrm._threads import blas_threads

__all__ = [
    "SINGULAR_CONDITION",
    "EngineControl",
    "EngineFit",
    "ModelArrays",
    "evaluate_at",
    "fit_engine",
    "fit_patterns",
    "pattern_data",
]

OPTIMIZERS: tuple[str, ...] = ("newton", "l-bfgs-b", "bfgs", "nelder-mead")


@dataclass(frozen=True)
class ModelArrays:
    """Numeric inputs of the engine (built by the front end, never modified here).

    Attributes
    ----------
    X : ndarray, shape (n, p)
        Fixed-effects design, full column rank.
    y : ndarray, shape (n,)
        Response.
    subject : ndarray of int, shape (n,)
        Subject codes ``0..N-1``; rows sorted by subject, then visit.
    visit : ndarray of int, shape (n,)
        Visit codes ``0..m-1`` (position in the visit order).
    n_visits : int
        ``m``.
    group : ndarray of int, shape (N,), optional
        Covariance group code ``0..G-1`` per subject.
    n_groups : int
        ``G``.
    weights : ndarray, shape (n,), optional
        Positive weights (SAS ``WEIGHT``): ``V_i = W_i^{-1/2} Sigma W_i^{-1/2}``.
    """

    X: np.ndarray
    y: np.ndarray
    subject: np.ndarray
    visit: np.ndarray
    n_visits: int
    group: np.ndarray | None = None
    n_groups: int = 1
    weights: np.ndarray | None = None


@dataclass(frozen=True)
class EngineControl:
    """Optimisation settings.

    Attributes
    ----------
    optimizers : tuple of str
        Tried in turn until one converges: ``"newton"`` (analytic Hessian,
        modified Newton with line search), ``"l-bfgs-b"``, ``"bfgs"`` (scipy, analytic
        gradient), ``"nelder-mead"`` (scipy, last resort, at most ``100 (k + 1)``
        evaluations for ``k`` parameters). scipy results are polished with Newton
        steps. The rest are not tried (``tried`` says why) once one stops with a
        covariance whose condition number reaches `SINGULAR_CONDITION`.
    max_iter : int
        Iteration limit per optimiser (scipy quasi-Newton methods get ten times more).
    decrement_tol : float
        Convergence: Hessian positive definite and Newton decrement
        ``g' H^{-1} g <= decrement_tol`` (``g``, ``H`` of ``-2 log L``).
    start : tuple of float, optional
        Starting ``theta`` in the optimiser parameterisation (see `covariance`);
        default: the structure projected from the covariance of OLS residuals.
    second_start : bool
        For structures other than ``us`` (whose likelihood can have several local
        maxima, e.g. ``ad`` on fev_data grouped by ARMCD), also run Newton from the
        zero-correlation start (mmrm's default) and keep the higher likelihood.
    blas_threads : int or None
        BLAS threads during the fit (restored afterwards). The engine works on small
        matrices, where one thread is fastest; ``None`` leaves the setting alone.
    """

    optimizers: tuple[str, ...] = OPTIMIZERS
    max_iter: int = 100
    decrement_tol: float = 1e-10
    start: tuple[float, ...] | None = None
    second_start: bool = True
    blas_threads: int | None = 1

    def __post_init__(self) -> None:
        problems = []
        bad = [o for o in self.optimizers if o not in OPTIMIZERS]
        if bad or not self.optimizers:
            problems.append(f"optimizers must be a non-empty subset of {OPTIMIZERS}, got {bad}")
        if self.max_iter < 1:
            problems.append(f"max_iter must be >= 1, got {self.max_iter}")
        if self.blas_threads is not None and self.blas_threads < 1:
            problems.append(f"blas_threads must be None or >= 1, got {self.blas_threads}")
        if not self.decrement_tol > 0:
            problems.append(f"decrement_tol must be > 0, got {self.decrement_tol}")
        if problems:
            raise ModelSpecError("; ".join(problems))


@dataclass(frozen=True)
class EngineFit:
    """Result of `fit_engine` (all arrays are new; none are views of the inputs).

    Attributes
    ----------
    beta : ndarray (p,)
        GLS estimate at the (RE)ML covariance.
    cov_beta : ndarray (p, p)
        Unadjusted ``(X' V^{-1} X)^{-1}``.
    theta : ndarray (k,)
        Covariance parameters in the optimiser (mmrm) parameterisation.
    theta_names : tuple of str
    sigma : ndarray (G, m, m)
        Estimated covariance matrix per group, visits in code order.
    loglik : float
        REML or ML log-likelihood as SAS / R define it.
    n_theta, converged, iterations, optimizer, tried, warnings, method, covariance
        Diagnostics; ``tried`` holds ``(optimizer, how it ended)`` pairs.
    gradient : ndarray (k,)
        Gradient of ``-2 loglik`` in ``theta`` at the estimate.
    hessian : ndarray (k, k)
        Analytic Hessian of ``-2 loglik`` in ``theta``.
    theta_vcov : ndarray (k, k)
        Asymptotic covariance of ``theta``: ``2 hessian^{-1}`` (NaN if singular).
    dsigma : ndarray (k, G, m, m)
        ``d sigma / d theta_i``.
    p_matrices : ndarray (k, p, p)
        ``d (X'V^{-1}X) / d theta_i = -X'V^{-1} (dV/dtheta_i) V^{-1}X``.
    cov_beta_jac : ndarray (k, p, p)
        ``d cov_beta / d theta_i = -cov_beta P_i cov_beta``.
    """

    beta: np.ndarray
    cov_beta: np.ndarray
    theta: np.ndarray
    theta_names: tuple[str, ...]
    sigma: np.ndarray
    loglik: float
    n_theta: int
    converged: bool
    iterations: int
    optimizer: str
    tried: tuple[tuple[str, str], ...]
    warnings: tuple[str, ...]
    method: str
    covariance: str
    gradient: np.ndarray
    hessian: np.ndarray
    theta_vcov: np.ndarray
    dsigma: np.ndarray
    p_matrices: np.ndarray
    cov_beta_jac: np.ndarray
    n_obs: int
    n_subjects: int
    n_visits: int
    n_groups: int
    n_patterns: int
    n_evaluations: int = field(default=0)

    @property
    def deviance(self) -> float:
        """``-2 * loglik`` (SAS's ``-2 Res Log Likelihood`` / ``-2 Log Likelihood``)."""
        return -2.0 * self.loglik


# ------------------------------------------------------------------------------ checks


def _as_int(a: ArrayLike, name: str, shape: tuple[int, ...]) -> np.ndarray:
    arr = np.asarray(a)
    if arr.shape != shape or not (np.issubdtype(arr.dtype, np.integer) or arr.size == 0):
        raise ModelSpecError(f"ModelArrays.{name} must be an integer array of shape {shape}")
    return arr.astype(np.int64)


def _validate(
    a: ModelArrays,
) -> tuple[
    np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray | None, int, int, int
]:
    """Check shapes, codes, ordering and weights; return clean copies (int64/float64)."""
    x = np.array(a.X, dtype=float)
    if x.ndim != 2 or x.shape[0] == 0 or x.shape[1] == 0:
        raise ModelSpecError(f"ModelArrays.X must be a non-empty 2-D array, got {x.shape}")
    n, p = x.shape
    y = np.array(a.y, dtype=float)
    if y.shape != (n,):
        raise ModelSpecError(f"ModelArrays.y must have shape ({n},), got {y.shape}")
    if not (np.all(np.isfinite(x)) and np.all(np.isfinite(y))):
        raise ModelSpecError("ModelArrays.X and y must be finite (drop missing rows first)")
    m = int(a.n_visits)
    subject = _as_int(a.subject, "subject", (n,))
    visit = _as_int(a.visit, "visit", (n,))
    if m < 1 or visit.min() < 0 or visit.max() >= m:
        raise ModelSpecError(f"ModelArrays.visit codes must lie in 0..n_visits-1 (= {m - 1})")
    if subject[0] != 0 or np.any(np.diff(subject) < 0) or np.any(np.diff(subject) > 1):
        raise ModelSpecError("ModelArrays.subject must be codes 0..N-1 with rows sorted by subject")
    same = np.diff(subject) == 0
    if np.any(np.diff(visit)[same] <= 0):
        raise ModelSpecError(
            "ModelArrays.visit must increase within each subject (sorted, no duplicate visit)"
        )
    n_subj = int(subject[-1]) + 1
    group, n_groups = _validate_group(a, n_subj)
    weights = _validate_weights(a, n)
    return x, y, subject, visit, group, weights, m, n_groups, p


def _validate_group(a: ModelArrays, n_subj: int) -> tuple[np.ndarray, int]:
    if a.group is None:
        if a.n_groups != 1:
            raise ModelSpecError("ModelArrays.n_groups must be 1 when group is None")
        return np.zeros(n_subj, dtype=np.int64), 1
    group = _as_int(a.group, "group", (n_subj,))
    n_groups = int(a.n_groups)
    if n_groups < 1 or group.min() < 0 or group.max() >= n_groups:
        raise ModelSpecError("ModelArrays.group codes must lie in 0..n_groups-1")
    empty = sorted(set(range(n_groups)) - set(np.unique(group).tolist()))
    if empty:
        raise ModelSpecError(
            f"covariance group(s) {empty} have no subjects with data; drop unused levels"
        )
    return group, n_groups


def _validate_weights(a: ModelArrays, n: int) -> np.ndarray | None:
    if a.weights is None:
        return None
    w = np.array(a.weights, dtype=float)
    if w.shape != (n,):
        raise ModelSpecError(f"ModelArrays.weights must have shape ({n},), got {w.shape}")
    if not np.all(np.isfinite(w)) or np.any(w <= 0):
        bad = int(np.flatnonzero(~(np.isfinite(w) & (w > 0)))[0])
        raise ModelSpecError(
            f"weights must be positive and finite (row {bad} has {w[bad]!r}); "
            "exclude rows with zero weight before fitting"
        )
    return w


def _check_identifiable(data: PatternData, structure: str) -> None:
    """Raise if a covariance parameter has no data to inform it (per group)."""
    m = data.m
    if m == 1 and structure in ("cs", "csh", "ar1", "ar1h"):
        raise ModelSpecError(
            f"{structure} covariance needs at least two visits (its correlation cannot "
            "be estimated from one); use us"
        )
    lag_of = np.abs(np.subtract.outer(np.arange(m), np.arange(m)))
    for g in range(data.n_groups):
        covered = data.pat_outer[data.pat_group == g].sum(axis=0) > 0
        where = f" in covariance group {g}" if data.n_groups > 1 else ""
        missing = _uncovered(structure, covered, lag_of)
        if missing:
            raise ModelSpecError(
                f"{structure} covariance cannot be estimated{where}: no subject has data "
                f"for {missing}; use a simpler structure or drop the empty visits"
            )


def _uncovered(structure: str, covered: np.ndarray, lag_of: np.ndarray) -> str:
    m = covered.shape[0]
    if structure == "us":
        pairs = [(i + 1, j + 1) for i in range(m) for j in range(i + 1) if not covered[i, j]]
        return f"visit pair(s) {pairs[:5]}" if pairs else ""
    if structure in ("csh", "ar1h", "toeph", "adh"):
        bad = [i + 1 for i in range(m) if not covered[i, i]]
        if bad:
            return f"visit(s) {bad}"
    off = covered & (lag_of > 0)
    if m > 1 and not off.any():
        return "two visits of the same subject (no correlation information)"
    if structure in ("toep", "toeph"):
        bad = [k for k in range(1, m) if not covered[lag_of == k].any()]
        return f"visit pairs at lag(s) {bad}" if bad else ""
    if structure in ("ad", "adh"):
        i, j = np.nonzero(off)
        bad = [k + 1 for k in range(m - 1) if not np.any((i <= k) & (k < j))]
        return f"visit pairs spanning interval(s) {bad}" if bad else ""
    return ""


# ----------------------------------------------------------------------------- fitting


def pattern_data(arrays: ModelArrays) -> PatternData:
    """Validate ``arrays`` and build its pattern summaries (for `fit_engine`, ``ddf``)."""
    x, y, subject, visit, group, weights, m, n_groups, _ = _validate(arrays)
    # rank on unit-norm columns, tolerance 1e-7 on singular-value ratios (R's qr())
    norms = np.sqrt(np.einsum("ij,ij->j", x, x))
    if np.any(norms == 0):
        raise ModelSpecError("ModelArrays.X has an all-zero column; remove it")
    xs = x / norms
    eig = np.linalg.eigvalsh(xs.T @ xs)
    if eig[0] <= 1e-14 * eig[-1]:
        raise ModelSpecError(
            "ModelArrays.X is not of full column rank; remove aliased columns first"
        )
    return build_patterns(x, y, subject, visit, m, group, n_groups, weights)


def _start(data: PatternData, structure: str) -> np.ndarray:
    """Structure projected from the pairwise covariance of OLS residuals (per group)."""
    z = data.z_pad
    p = data.p
    obs = data.pat_mask[data.subj_pattern]
    xs = z[:, :, :p][obs]
    beta = np.linalg.solve(xs.T @ xs, xs.T @ z[:, :, p][obs])  # OLS (X has full rank)
    res = (z[:, :, p] - z[:, :, :p] @ beta) * obs
    emp = np.empty((data.n_groups, data.m, data.m))
    for g, subj in enumerate(data.group_subjects):
        r, o = res[subj], obs[subj].astype(float)
        cnt = o.T @ o
        c = np.where(cnt > 0, (r.T @ r) / np.maximum(cnt, 1.0), 0.0)
        scale = max(float(np.mean(np.diag(c))), 1e-12)
        c[np.diag_indices_from(c)] = np.where(np.diag(c) > 0, np.diag(c), scale)
        w, v = np.linalg.eigh(c)
        emp[g] = (v * np.maximum(w, 1e-2 * scale)) @ v.T
    return cov.start_theta(structure, emp)


def fit_engine(
    arrays: ModelArrays,
    covariance: str,
    method: str = "reml",
    control: EngineControl | None = None,
) -> EngineFit:
    """Fit the MMRM by REML or ML.

    Parameters
    ----------
    arrays : ModelArrays
        Design, response, subject / visit / group codes, optional weights.
    covariance : str
        One of ``us, cs, csh, ar1, ar1h, toep, toeph, ad, adh`` (mmrm's definitions).
    method : {"reml", "ml"}
    control : EngineControl, optional

    Returns
    -------
    EngineFit
        Estimates and diagnostics. Non-convergence is reported
        (``converged=False``, ``tried``, ``warnings``), never raised.

    Raises
    ------
    ModelSpecError
        Unknown structure or method, malformed arrays, non-positive weights, or a
        covariance parameter the data cannot inform.
    """
    cov.check_structure(covariance)
    if method not in ("reml", "ml"):
        raise ModelSpecError(f"method must be 'reml' or 'ml', got {method!r}")
    control = control or EngineControl()
    with blas_threads(control.blas_threads):
        return _fit(arrays, covariance, method, control)


def _fit(arrays: ModelArrays, covariance: str, method: str, control: EngineControl) -> EngineFit:
    return _fit_data(pattern_data(arrays), covariance, method, control)


def fit_patterns(
    data: PatternData,
    covariance: str,
    method: str = "reml",
    control: EngineControl | None = None,
) -> EngineFit:
    """Fit the MMRM to pattern summaries built before (`pattern_data`, `resample_patterns`).

    Repeated fits of one design (jackknife, bootstrap) build the summaries once and
    warm-start from an earlier optimum (``control.start``); otherwise as `fit_engine`.
    """
    cov.check_structure(covariance)
    if method not in ("reml", "ml"):
        raise ModelSpecError(f"method must be 'reml' or 'ml', got {method!r}")
    control = control or EngineControl()
    with blas_threads(control.blas_threads):
        return _fit_data(data, covariance, method, control)


def _fit_data(data: PatternData, covariance: str, method: str, control: EngineControl) -> EngineFit:
    _check_identifiable(data, covariance)
    k = cov.n_theta_per_group(covariance, data.m) * data.n_groups
    n_free = data.n_obs - (data.p if method == "reml" else 0)
    if k >= n_free:
        raise ModelSpecError(
            f"{covariance} covariance has {k} parameters but only {n_free} "
            f"{'residual ' if method == 'reml' else ''}observations; use a simpler structure"
        )
    if control.start is not None:
        x0 = np.array(control.start, dtype=float)
        if x0.shape != (k,) or not np.all(np.isfinite(x0)):
            raise ModelSpecError(f"EngineControl.start must hold {k} finite values")
    else:
        x0 = _start(data, covariance)
    obj = _optim.Objective(data, covariance, method == "reml")
    return _run(obj, x0, control, method)


def evaluate_at(
    arrays: ModelArrays, covariance: str, theta: ArrayLike, method: str = "reml"
) -> EngineFit:
    """Build an `EngineFit` at given covariance parameters, without optimising.

    For comparisons at another program's estimates (e.g. SAS's printed covariance
    parameters, mapped with `covariance.theta_from_natural`). The result has
    ``converged=False``, ``optimizer="none (fixed theta)"`` and the gradient shows how
    far ``theta`` is from the optimum.
    """
    cov.check_structure(covariance)
    if method not in ("reml", "ml"):
        raise ModelSpecError(f"method must be 'reml' or 'ml', got {method!r}")
    data = pattern_data(arrays)
    k = cov.n_theta_per_group(covariance, data.m) * data.n_groups
    theta_arr = np.array(theta, dtype=float)
    if theta_arr.shape != (k,) or not np.all(np.isfinite(theta_arr)):
        raise ModelSpecError(f"theta must hold {k} finite values for {covariance}")
    obj = _optim.Objective(data, covariance, method == "reml")
    fixed = _optim.OptimOutcome("none (fixed theta)", theta_arr, np.nan, False, 0, "not optimised")
    fit = _assemble(obj, fixed, [("none (fixed theta)", "not optimised")], 0, method)
    return replace(fit, warnings=("covariance parameters fixed, not estimated",))


def _run(obj: _optim.Objective, x0: np.ndarray, control: EngineControl, method: str) -> EngineFit:
    tried: list[tuple[str, str]] = []
    best: _optim.OptimOutcome | None = None
    total_its = 0
    for name in control.optimizers:
        if name == "newton":
            out = _optim.newton(obj, x0, control.max_iter, control.decrement_tol)
        else:
            out = _optim.scipy_then_newton(obj, x0, name, control.max_iter, control.decrement_tol)
        total_its += out.iterations
        tried.append((name, ("converged: " if out.converged else "failed: ") + out.message))
        if best is None or out.value < best.value:
            best = out
        if out.converged:
            best = out
            break
        cond = obj.condition(out.theta)
        if cond >= SINGULAR_CONDITION:
            rest = [o for o in control.optimizers if o not in {n for n, _ in tried}]
            reason = (
                f"covariance tends to singular (condition number {cond:.1e} when {name} "
                "stopped): the likelihood has no maximum the data support"
            )
            if rest:
                tried.append((", ".join(rest), f"not tried: {reason}"))
            break
    assert best is not None  # EngineControl requires at least one optimiser
    if control.second_start and obj.structure != "us" and best.converged:
        d = obj.data
        x1 = cov.zero_correlation(obj.structure, x0, d.m, d.n_groups)
        alt = _optim.newton(obj, x1, control.max_iter, control.decrement_tol)
        total_its += alt.iterations
        better = alt.converged and alt.value < best.value - 1e-9 * abs(best.value)
        verdict = "kept (higher likelihood)" if better else "not better"
        tried.append(("newton/zero-correlation start", f"{alt.message}; {verdict}"))
        if better:
            best = alt
    return _assemble(obj, best, tried, total_its, method)


def _assemble(
    obj: _optim.Objective,
    best: _optim.OptimOutcome,
    tried: list[tuple[str, str]],
    iterations: int,
    method: str,
) -> EngineFit:
    data, structure = obj.data, obj.structure
    theta = best.theta.copy()
    ev = obj.evaluate(theta, 2)
    warn: list[str] = []
    if ev is None:
        raise ModelSpecError(  # only when even the starting values are unusable
            f"{structure} covariance: no optimiser found a positive definite covariance; "
            "supply EngineControl.start or use a simpler structure"
        )
    if not best.converged:
        warn.append(
            "MMRM fit did not converge; tried: " + "; ".join(f"{n} ({m})" for n, m in tried)
        )
    sd = cov.sigma_derivatives(structure, theta, data.m, data.n_groups, 1)
    assert sd.d1 is not None  # order 1 derivatives were asked for
    assert ev.grad is not None and ev.hess is not None and ev.p_mats is not None  # order 2
    try:
        low = np.linalg.cholesky(ev.hess)
        linv = np.linalg.inv(low)
        theta_vcov = 2.0 * (linv.T @ linv)
    except np.linalg.LinAlgError:
        theta_vcov = np.full_like(ev.hess, np.nan)
        warn.append("Hessian of the variance parameters is not positive definite")
    phi = x_cov(data, ev.m_inv)
    p_mats = x_pmats(data, ev.p_mats)
    jac = -(phi @ p_mats @ phi)
    return EngineFit(
        beta=x_beta(data, ev.beta),
        cov_beta=phi,
        theta=theta,
        theta_names=cov.theta_names(structure, data.m, data.n_groups),
        sigma=sd.sigma,
        loglik=-0.5 * ev.value,
        n_theta=theta.size,
        converged=bool(best.converged),
        iterations=int(iterations),
        optimizer=best.name,
        tried=tuple(tried),
        warnings=tuple(warn),
        method=method,
        covariance=structure,
        gradient=ev.grad.copy(),
        hessian=ev.hess.copy(),
        theta_vcov=theta_vcov,
        dsigma=sd.d1,
        p_matrices=p_mats,
        cov_beta_jac=jac,
        n_obs=data.n_obs,
        n_subjects=data.n_subjects,
        n_visits=data.m,
        n_groups=data.n_groups,
        n_patterns=int(data.pat_group.size),
        n_evaluations=obj.n_eval,
    )
