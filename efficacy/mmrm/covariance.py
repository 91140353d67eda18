"""Residual covariance structures for the MMRM engine: Sigma(theta) and its derivatives.

Nine structures, with the names and definitions of R ``mmrm`` (covariance vignette,
openpharma.github.io/mmrm, "Covariance structures"); ``m`` is the number of visits:

======== =============================== ========== ==========================================
name     description                     parameters (i, j) element
======== =============================== ========== ==========================================
us       unstructured                    m(m+1)/2   sigma_ij
cs       compound symmetry               2          sigma^2 [rho 1(i != j) + 1(i == j)]
csh      heterogeneous compound symmetry m + 1      sigma_i sigma_j [rho 1(i != j) + 1(i == j)]
ar1      first-order autoregressive      2          sigma^2 rho^|i-j|
ar1h     heterogeneous AR(1)             m + 1      sigma_i sigma_j rho^|i-j|
toep     Toeplitz                        m          sigma^2 rho_|i-j|   (rho_0 = 1)
toeph    heterogeneous Toeplitz          2m - 1     sigma_i sigma_j rho_|i-j|
ad       ante-dependence                 m          sigma^2 prod_{k=i}^{j-1} rho_k
adh      heterogeneous ante-dependence   2m - 1     sigma_i sigma_j prod_{k=i}^{j-1} rho_k
======== =============================== ========== ==========================================

Two parameterisations are provided.

* The **optimiser** parameterisation ``theta`` is mmrm's (``src/covariance.h``), so that
  estimates can be compared with ``mmrm``'s ``theta_est``: log standard deviations and
  correlations ``rho = t / sqrt(1 + t^2)``; for ``us`` the lower Cholesky factor
  ``L = diag(exp(theta[:m])) U`` with ``U`` unit lower triangular whose strictly lower
  entries (row by row) are ``theta[m:]``.
* The **natural** parameterisation ``phi`` is SAS PROC MIXED's (the rows of its
  "Covariance Parameter Estimates"): UN -> the ``sigma_ij``; CS -> (CS covariance,
  residual variance); TOEP -> covariances by lag 0..m-1; AR(1) -> (sigma^2, rho);
  ARH(1), CSH -> (variances, rho); TOEPH, ANTE(1) -> (variances, rho by lag / by
  interval). ``ad`` (no SAS counterpart) -> (sigma^2, rho_1..rho_{m-1}). Kenward-Roger
  depends on the parameterisation through the second derivatives of Sigma, so it is
  computed in this one to match SAS ``DDFM=KR``.

With a grouping factor, each of ``G`` groups has its own parameter block; ``theta`` is
the concatenation (group-major, mmrm's order) and arrays carry a group axis.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from efficacy.errors import ModelSpecError

__all__ = [
    "COVARIANCE_STRUCTURES",
    "SigmaDerivatives",
    "n_theta_per_group",
    "natural_from_theta",
    "sigma_derivatives",
    "start_theta",
    "theta_from_natural",
    "theta_names",
    "zero_correlation",
]

COVARIANCE_STRUCTURES: tuple[str, ...] = (
    "us",
    "cs",
    "csh",
    "ar1",
    "ar1h",
    "toep",
    "toeph",
    "ad",
    "adh",
)
# Sigma (or a correlation matrix) with its first and second derivatives; a derivative is
# None when the order asked for is lower.
_Derivatives = tuple[np.ndarray, np.ndarray | None, np.ndarray | None]

_HETERO = {"csh": True, "ar1h": True, "toeph": True, "adh": True}
_CORR_KIND = {
    "cs": "cs",
    "csh": "cs",
    "ar1": "ar1",
    "ar1h": "ar1",
    "toep": "toep",
    "toeph": "toep",
    "ad": "ad",
    "adh": "ad",
}


@dataclass(frozen=True)
class SigmaDerivatives:
    """Covariance matrices of all groups and their parameter derivatives.

    Attributes
    ----------
    sigma : ndarray, shape (G, m, m)
        Covariance matrix per group.
    d1 : ndarray, shape (k, G, m, m) or None
        ``d Sigma / d theta_i`` for the ``k = G * k_g`` parameters.
    d2 : ndarray, shape (k, k, G, m, m) or None
        ``d^2 Sigma / d theta_i d theta_j`` (zero across groups).
    """

    sigma: np.ndarray
    d1: np.ndarray | None
    d2: np.ndarray | None


def check_structure(structure: str) -> None:
    """Raise `ModelSpecError` unless ``structure`` is one of `COVARIANCE_STRUCTURES`."""
    if structure not in COVARIANCE_STRUCTURES:
        raise ModelSpecError(
            f"covariance={structure!r} is not a known structure; use one of "
            f"{', '.join(COVARIANCE_STRUCTURES)}"
        )


def n_theta_per_group(structure: str, m: int) -> int:
    """Return the number of covariance parameters of one group (mmrm's counts)."""
    check_structure(structure)
    if structure == "us":
        return m * (m + 1) // 2
    n_sd = m if _HETERO.get(structure, False) else 1
    return n_sd + _n_corr(_CORR_KIND[structure], m)


def _n_corr(kind: str, m: int) -> int:
    return 1 if kind in ("cs", "ar1") else m - 1


def theta_names(structure: str, m: int, n_groups: int = 1) -> tuple[str, ...]:
    """Names of the optimiser parameters (visits numbered from 1, groups ``g1:``...)."""
    if structure == "us":
        names = [f"log_sd[{i + 1}]" for i in range(m)]
        names += [f"chol[{i + 1},{j + 1}]" for i in range(m) for j in range(i)]
    else:
        hetero = _HETERO.get(structure, False)
        names = [f"log_sd[{i + 1}]" for i in range(m)] if hetero else ["log_sd"]
        kind = _CORR_KIND[structure]
        if _n_corr(kind, m) == 1:
            names.append("z_rho")
        else:
            names += [f"z_rho[{k + 1}]" for k in range(m - 1)]
    if n_groups == 1:
        return tuple(names)
    return tuple(f"g{g + 1}:{n}" for g in range(n_groups) for n in names)


def natural_names(structure: str, m: int, n_groups: int = 1) -> tuple[str, ...]:
    """Names of the natural (SAS) parameters, visits numbered from 1."""
    if structure == "us":
        names = [f"UN({i + 1},{j + 1})" for i in range(m) for j in range(i + 1)]
    elif structure == "cs":
        names = ["CS", "Residual"]
    elif structure == "toep":
        names = [f"cov_lag{k}" for k in range(m)]
    else:
        hetero = _HETERO.get(structure, False)
        names = [f"Var({i + 1})" for i in range(m)] if hetero else ["Var"]
        if _n_corr(_CORR_KIND[structure], m) == 1:
            names.append("rho")
        else:
            names += [f"rho({k + 1})" for k in range(m - 1)]
    if n_groups == 1:
        return tuple(names)
    return tuple(f"g{g + 1}:{n}" for g in range(n_groups) for n in names)


# --------------------------------------------------------------------------- correlation


@functools.lru_cache(maxsize=64)
def _lag(m: int) -> np.ndarray:
    """``|i - j|`` for ``m`` visits: computed once per ``m``, read-only (shared)."""
    idx = np.arange(m)
    lag: np.ndarray = np.abs(idx[:, None] - idx[None, :])
    lag.flags.writeable = False
    return lag


def _corr(kind: str, rho: np.ndarray, m: int, order: int) -> _Derivatives:
    """Correlation matrix C(rho) with derivatives in rho (r params): C, dC, d2C."""
    r = rho.size
    lag = _lag(m)
    c: np.ndarray
    dc: np.ndarray | None
    d2c: np.ndarray | None
    if kind == "cs":
        off = (lag > 0).astype(float)
        c = np.eye(m) + rho[0] * off
        dc = off[None]
        d2c = np.zeros((1, 1, m, m))
    elif kind == "toep":
        ind = (lag[None] == np.arange(1, m)[:, None, None]).astype(float)
        c = np.eye(m) + np.einsum("k,kij->ij", rho, ind)
        dc = ind
        d2c = np.zeros((r, r, m, m))
    elif kind == "ar1":
        c, dc, d2c = _corr_ar1(rho[0], lag)
    else:
        c, dc, d2c = _corr_ad(rho, m, order)
    return c, dc, d2c


def _corr_ar1(rho: float, lag: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    c = rho**lag
    with np.errstate(divide="ignore", invalid="ignore"):
        dc = np.where(lag >= 1, lag * rho ** np.maximum(lag - 1, 0), 0.0)
        d2c = np.where(lag >= 2, lag * (lag - 1) * rho ** np.maximum(lag - 2, 0), 0.0)
    return c, dc[None], d2c[None, None]


def _corr_ad(rho: np.ndarray, m: int, order: int) -> _Derivatives:
    """Ante-dependence: C_ij = prod_{k=min(i,j)}^{max(i,j)-1} rho_k."""
    r = m - 1
    idx = np.arange(m)
    lo = np.minimum(idx[:, None], idx[None, :])
    hi = np.maximum(idx[:, None], idx[None, :])
    k = np.arange(r)[:, None, None]
    inr = (lo[None] <= k) & (k < hi[None])  # (r, m, m)
    f = np.where(inr, rho[:, None, None], 1.0)
    c = np.prod(f, axis=0)
    if order == 0:
        return c, None, None
    eye = np.eye(r, dtype=bool)[:, :, None, None]
    f1 = np.where(eye, 1.0, f[None])  # (l, k, m, m): factor k with k == l replaced by 1
    dc = np.prod(f1, axis=1) * inr
    if order == 1:
        return c, dc, None
    f2 = np.where(eye[:, None] | eye[None], 1.0, f[None, None])  # (l, l', k, m, m)
    d2c = np.prod(f2, axis=2) * inr[:, None] * inr[None, :]
    d2c[np.arange(r), np.arange(r)] = 0.0
    return c, dc, d2c


# ----------------------------------------------------------------- one group, structured


def _sd_corr(structure: str, lam: np.ndarray, rho: np.ndarray, m: int, order: int) -> _Derivatives:
    """Sigma = s s' * C with s = exp(lam); derivatives in the base (lam, rho)."""
    hetero = _HETERO.get(structure, False)
    s = np.exp(lam) if hetero else np.full(m, np.exp(lam[0]))
    ss = np.outer(s, s)
    c, dc, d2c = _corr(_CORR_KIND[structure], rho, m, order)
    sigma = ss * c
    if order == 0:
        return sigma, None, None
    assert dc is not None  # _corr returns dC for order >= 1
    eye = np.eye(m)
    dlam = eye[:, :, None] + eye[:, None, :] if hetero else np.full((1, m, m), 2.0)
    d1 = np.concatenate([dlam * sigma, ss * dc])
    if order == 1:
        return sigma, d1, None
    nl, r = dlam.shape[0], rho.size
    d2 = np.zeros((nl + r, nl + r, m, m))
    d2[:nl, :nl] = dlam[:, None] * dlam[None, :] * sigma
    cross = dlam[:, None] * (ss * dc)[None, :]
    d2[:nl, nl:] = cross
    d2[nl:, :nl] = cross.transpose(1, 0, 2, 3)
    assert d2c is not None  # _corr returns d2C for order 2
    d2[nl:, nl:] = ss * d2c
    return sigma, d1, d2


def _chain(
    d1: np.ndarray | None,
    d2: np.ndarray | None,
    du: np.ndarray,
    ddu: np.ndarray,
    order: int,
) -> tuple[np.ndarray | None, np.ndarray | None]:
    """Chain rule for elementwise reparameterisation u_k = u_k(x_k)."""
    if order == 0:
        return None, None
    assert d1 is not None  # the derivatives of the order asked for are present
    d1x = d1 * du[:, None, None]
    if order == 1:
        return d1x, None
    assert d2 is not None
    d2x = d2 * np.multiply.outer(du, du)[:, :, None, None]
    d2x[np.arange(du.size), np.arange(du.size)] += d1 * ddu[:, None, None]
    return d1x, d2x


def _split(structure: str, x: np.ndarray, m: int) -> tuple[np.ndarray, np.ndarray]:
    n_sd = m if _HETERO.get(structure, False) else 1
    return x[:n_sd], x[n_sd:]


def _group_theta(structure: str, theta: np.ndarray, m: int, order: int) -> _Derivatives:
    """Sigma and derivatives of one group in mmrm's optimiser parameterisation."""
    if structure == "us":
        return _us_theta(theta, m, order)
    lam, z = _split(structure, theta, m)
    root = np.sqrt(1.0 + z * z)
    rho = z / root
    sigma, d1, d2 = _sd_corr(structure, lam, rho, m, order)
    du = np.concatenate([np.ones(lam.size), root**-3])
    ddu = np.concatenate([np.zeros(lam.size), -3.0 * z * root**-5])
    d1, d2 = _chain(d1, d2, du, ddu, order)
    return sigma, d1, d2


@functools.lru_cache(maxsize=64)
def _us_index(m: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Rows, columns (row-major: for i, for j < i) and theta positions of L's lower part.

    Computed once per number of visits (the optimiser asks at every evaluation);
    read-only, since every caller shares them.
    """
    il, jl = np.tril_indices(m, -1)
    order_rows = np.lexsort((jl, il))
    il, jl = il[order_rows], jl[order_rows]
    t_idx = m + np.arange(il.size)
    for a in (il, jl, t_idx):
        a.flags.writeable = False
    return il, jl, t_idx


def _us_theta(theta: np.ndarray, m: int, order: int) -> _Derivatives:
    """Mmrm's unstructured: L = diag(exp(theta[:m])) U, Sigma = L L'."""
    il, jl, t_idx = _us_index(m)
    sd = np.exp(theta[:m])
    u = np.eye(m)
    u[il, jl] = theta[m:]
    low = sd[:, None] * u
    sigma = low @ low.T
    if order == 0:
        return sigma, None, None
    k = theta.size
    eye = np.eye(m)
    dl = np.zeros((k, m, m))
    dl[:m] = eye[:, :, None] * low[None]  # row a of L
    dl[t_idx, il, jl] = sd[il]
    d1 = dl @ low.T
    d1 = d1 + d1.transpose(0, 2, 1)
    if order == 1:
        return sigma, d1, None
    d2l = np.zeros((k, k, m, m))
    d2l[np.arange(m), np.arange(m)] = dl[:m]
    d2l[il, t_idx, il, jl] = sd[il]
    d2l[t_idx, il, il, jl] = sd[il]
    flat = dl.reshape(k * m, m)
    outer = (flat @ flat.T).reshape(k, m, k, m).transpose(0, 2, 1, 3)  # dL_i dL_j'
    a = d2l @ low.T + outer
    d2 = a + a.transpose(0, 1, 3, 2)
    return sigma, d1, d2


# --------------------------------------------------------------- natural parameterisation


def _group_natural(structure: str, phi: np.ndarray, m: int, order: int) -> _Derivatives:
    """Sigma and derivatives of one group in the natural (SAS) parameterisation."""
    if structure in ("us", "cs", "toep"):
        basis = _linear_basis(structure, m)
        sigma = np.einsum("k,kab->ab", phi, basis)
        d2 = np.zeros((phi.size, phi.size, m, m)) if order >= 2 else None
        return sigma, (basis if order >= 1 else None), d2
    var, rho = _split(structure, phi, m)
    if np.any(var <= 0):
        raise ModelSpecError("natural covariance parameters need positive variances")
    sigma, d1, d2 = _sd_corr(structure, 0.5 * np.log(var), rho, m, order)
    du = np.concatenate([0.5 / var, np.ones(rho.size)])
    ddu = np.concatenate([-0.5 / var**2, np.zeros(rho.size)])
    d1, d2 = _chain(d1, d2, du, ddu, order)
    return sigma, d1, d2


def _linear_basis(structure: str, m: int) -> np.ndarray:
    """Basis matrices of the linear structures (UN, CS, TOEP) in SAS's parameters."""
    if structure == "us":
        basis = []
        for i in range(m):
            for j in range(i + 1):
                e = np.zeros((m, m))
                e[i, j] = e[j, i] = 1.0
                basis.append(e)
        return np.array(basis)
    if structure == "cs":
        return np.array([np.ones((m, m)), np.eye(m)])
    lag = _lag(m)
    return np.array([(lag == k).astype(float) for k in range(m)])


def natural_from_theta(structure: str, theta: np.ndarray, m: int, n_groups: int = 1) -> np.ndarray:
    """Map optimiser ``theta`` to natural (SAS) parameters ``phi`` (group-major)."""
    blocks = np.split(np.asarray(theta, dtype=float), n_groups)
    out = []
    for th in blocks:
        sigma = _group_theta(structure, th, m, 0)[0]
        if structure == "us":
            rows, cols = _us_nat_order(m)
            out.append(sigma[rows, cols])
        elif structure == "cs":
            out.append(np.array([sigma[0, 1], sigma[0, 0] - sigma[0, 1]]))
        elif structure == "toep":
            out.append(sigma[0].copy())
        else:
            lam, z = _split(structure, th, m)
            out.append(np.concatenate([np.exp(2.0 * lam), z / np.sqrt(1.0 + z * z)]))
    return np.concatenate(out)


@functools.lru_cache(maxsize=64)
def _us_nat_order(m: int) -> tuple[np.ndarray, np.ndarray]:
    """Rows and columns of Sigma's lower triangle in SAS's UN order (row-major, i >= j).

    numpy's tril indices reordered; computed once per number of visits, read-only.
    """
    il, jl = np.tril_indices(m)
    order = np.lexsort((jl, il))
    rows, cols = il[order], jl[order]
    for a in (rows, cols):
        a.flags.writeable = False
    return rows, cols


def theta_from_natural(structure: str, phi: np.ndarray, m: int, n_groups: int = 1) -> np.ndarray:
    """Inverse of `natural_from_theta` (needs a positive definite Sigma)."""
    blocks = np.split(np.asarray(phi, dtype=float), n_groups)
    out = []
    for ph in blocks:
        if structure in ("us", "cs", "toep"):
            sigma = _group_natural(structure, ph, m, 0)[0]
            out.append(_theta_from_sigma(structure, sigma))
        else:
            var, rho = _split(structure, ph, m)
            out.append(np.concatenate([0.5 * np.log(var), rho / np.sqrt(1.0 - rho * rho)]))
    return np.concatenate(out)


def _theta_from_sigma(structure: str, sigma: np.ndarray) -> np.ndarray:
    m = sigma.shape[0]
    if structure == "us":
        low = np.linalg.cholesky(sigma)
        d = np.diag(low)
        u = low / d[:, None]
        il, jl = np.tril_indices(m, -1)
        o = np.lexsort((jl, il))
        return np.concatenate([np.log(d), u[il[o], jl[o]]])
    v = sigma[0, 0]
    r = sigma[0, 1:] / v if structure == "toep" else np.array([sigma[0, 1] / v])
    return np.concatenate([[0.5 * np.log(v)], r / np.sqrt(1.0 - r * r)])


# ------------------------------------------------------------------------ public entries


def sigma_derivatives(
    structure: str,
    params: np.ndarray,
    m: int,
    n_groups: int = 1,
    order: int = 0,
    natural: bool = False,
) -> SigmaDerivatives:
    """Sigma of every group and its first / second parameter derivatives.

    Parameters
    ----------
    structure : str
        One of `COVARIANCE_STRUCTURES`.
    params : ndarray, shape (G * k_g,)
        Optimiser ``theta`` (default) or natural ``phi`` (``natural=True``), group-major.
    m : int
        Number of visits.
    n_groups : int
        Number of covariance groups ``G``.
    order : {0, 1, 2}
        Highest derivative order wanted.
    natural : bool
        Interpret ``params`` in SAS's parameterisation.

    Returns
    -------
    SigmaDerivatives
        ``sigma`` (G, m, m); ``d1`` (k, G, m, m) if ``order >= 1``; ``d2``
        (k, k, G, m, m) if ``order == 2``, zero between parameters of different groups.
    """
    params = np.asarray(params, dtype=float)
    kg = n_theta_per_group(structure, m)
    if params.shape != (kg * n_groups,):
        raise ModelSpecError(
            f"{structure} covariance with {m} visits and {n_groups} group(s) needs "
            f"{kg * n_groups} parameters, got shape {params.shape}"
        )
    k = kg * n_groups
    sigma = np.empty((n_groups, m, m))
    d1 = np.zeros((k, n_groups, m, m)) if order >= 1 else None
    d2 = np.zeros((k, k, n_groups, m, m)) if order >= 2 else None
    fn: Callable[[str, np.ndarray, int, int], _Derivatives] = (
        _group_natural if natural else _group_theta
    )
    for g in range(n_groups):
        sl = slice(g * kg, (g + 1) * kg)
        s, a, b = fn(structure, params[sl], m, order)
        sigma[g] = s
        if d1 is not None:
            d1[sl, g] = a
        if d2 is not None:
            d2[sl, sl, g] = b
    return SigmaDerivatives(sigma=sigma, d1=d1, d2=d2)


def zero_correlation(structure: str, theta: np.ndarray, m: int, n_groups: int = 1) -> np.ndarray:
    """Copy of ``theta`` with every correlation parameter set to 0 (mmrm's default start).

    For ``us`` the off-diagonal Cholesky entries are zeroed (a diagonal Sigma).
    """
    out = np.array(theta, dtype=float).reshape(n_groups, -1)
    if structure == "us":
        out[:, m:] = 0.0
    else:
        out[:, m if _HETERO.get(structure, False) else 1 :] = 0.0
    return out.ravel()


def start_theta(structure: str, cov: np.ndarray) -> np.ndarray:
    """Project empirical covariances (G, m, m) on the structure: starting ``theta``.

    The moments of the empirical matrix are projected on the structure: standard
    deviations from its diagonal, correlations averaged as the structure ties them,
    shrunk until the structured matrix is positive definite.
    """
    out = []
    for emp in np.asarray(cov, dtype=float):
        out.append(_start_one(structure, emp))
    return np.concatenate(out)


def _start_one(structure: str, emp: np.ndarray) -> np.ndarray:
    m = emp.shape[0]
    if structure == "us":
        return _theta_from_sigma("us", emp)
    sd = np.sqrt(np.diag(emp))
    corr = emp / np.outer(sd, sd)
    hetero = _HETERO.get(structure, False)
    lam = np.log(sd) if hetero else np.array([np.log(np.sqrt(np.mean(sd**2)))])
    kind = _CORR_KIND[structure]
    lag = _lag(m)
    if kind == "cs":
        rho = np.array([corr[lag > 0].mean()]) if m > 1 else np.array([0.0])
    elif kind == "ar1":
        rho = np.array([corr[lag == 1].mean()]) if m > 1 else np.array([0.0])
    elif kind == "toep":
        rho = np.array([corr[lag == k].mean() for k in range(1, m)])
    else:
        rho = np.array([corr[k, k + 1] for k in range(m - 1)])
    rho = np.clip(np.nan_to_num(rho), -0.9, 0.9)
    for _ in range(60):
        c = _corr(kind, rho, m, 0)[0]
        if np.linalg.eigvalsh(c)[0] > 1e-3:
            break
        rho = rho * 0.8
    return np.concatenate([lam, rho / np.sqrt(1.0 - rho * rho)])
