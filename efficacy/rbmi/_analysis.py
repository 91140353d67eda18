"""Analysis of completed data sets (ANCOVA per visit) and pooling across them.

ANCOVA (rbmi ``ancova``): at each visit, ``outcome ~ covariates + group`` by least
squares, treatment coding with the first group as the comparator. ``difference`` is a
group's coefficient (group minus the first group); the LS mean of a group is the model's
prediction averaged over the analysed subjects with every subject set to that group
(rbmi's default ``weights = "counterfactual"``). A sample in which subject ``i`` counts
``c_i`` times is analysed with weights ``c_i`` (the same fit as repeating its rows).

Pooling (rbmi ``pool``):

* jackknife: the full-data estimate; ``se = sqrt((N - 1) / N * sum (e_i - mean e)^2)``
  over the leave-one-out estimates; normal interval and p-value;
* bootstrap: the full-data estimate; percentile interval (quantile type 6) and
  percentile p-value (rbmi's default ``type = "percentile"``); ``std_error`` is the
  standard deviation of the bootstrap estimates (rbmi's ``type = "normal"`` SE);
* Rubin's rules: mean of the estimates, total variance ``W + (1 + 1/M) B``, the
  Barnard-Rubin degrees of freedom with the ANCOVA's residual df as complete-data df;
  t interval and p-value.
"""

from __future__ import annotations

import numpy as np
from scipy import stats

__all__ = ["ancova", "pool_bootstrap", "pool_jackknife", "pool_rubin"]


def ancova(
    y: np.ndarray,
    counts: np.ndarray,
    group: np.ndarray,
    n_groups: int,
    covariates: np.ndarray,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Estimates, SEs and residual df per sample and parameter.

    Parameters: ``y`` ``(S, N, m)`` completed outcomes, ``counts`` ``(S, N)``, ``group``
    ``(N,)`` codes, ``covariates`` ``(N, m, k)``. Parameters are ordered by visit, then
    differences (groups 2..G), then LS means (groups 1..G); arrays are ``(S, n_par)``.
    """
    s_count, n, m = y.shape
    k = covariates.shape[2]
    dummies = (group[:, None] == np.arange(1, n_groups)[None, :]).astype(float)
    w = counts.astype(float)
    est, se, dfs = [], [], []
    for v in range(m):
        design = np.hstack([np.ones((n, 1)), covariates[:, v, :], dummies])  # (N, d)
        d = design.shape[1]
        gram = np.einsum("sn,ni,nj->sij", w, design, design)
        rhs = np.einsum("sn,ni,sn->si", w, design, y[:, :, v])
        inv = np.linalg.inv(gram)
        beta = np.einsum("sij,sj->si", inv, rhs)
        resid = y[:, :, v] - beta @ design.T
        df = w.sum(axis=1) - d
        sigma2 = np.einsum("sn,sn->s", w, resid**2) / df
        vcov = sigma2[:, None, None] * inv
        # contrast rows: differences, then counterfactual LS means
        cov_mean = (w @ covariates[:, v, :]) / w.sum(axis=1)[:, None]  # (S, k)
        rows = np.zeros((s_count, 2 * n_groups - 1, d))
        for g in range(1, n_groups):
            rows[:, g - 1, 1 + k + g - 1] = 1.0
        for g in range(n_groups):
            r = n_groups - 1 + g
            rows[:, r, 0] = 1.0
            rows[:, r, 1 : 1 + k] = cov_mean
            if g > 0:
                rows[:, r, 1 + k + g - 1] = 1.0
        est.append(np.einsum("srd,sd->sr", rows, beta))
        se.append(np.sqrt(np.einsum("srd,sde,sre->sr", rows, vcov, rows)))
        dfs.append(np.repeat(df[:, None], 2 * n_groups - 1, axis=1))
    return np.hstack(est), np.hstack(se), np.hstack(dfs)


_Z = float(stats.norm.ppf(0.975))


def _normal(est: np.ndarray, se: np.ndarray) -> dict[str, np.ndarray]:
    with np.errstate(divide="ignore", invalid="ignore"):
        p = 2.0 * stats.norm.sf(np.abs(est / se))
    return {
        "estimate": est,
        "std_error": se,
        "df": np.full(est.shape, np.inf),
        "conf_low": est - _Z * se,
        "conf_high": est + _Z * se,
        "p_value": p,
    }


def pool_jackknife(est: np.ndarray) -> dict[str, np.ndarray]:
    """Pool the full-data estimate (row 0) with its leave-one-out estimates."""
    jack = est[1:]
    n = jack.shape[0]
    se = np.sqrt((n - 1) / n * np.sum((jack - jack.mean(axis=0)) ** 2, axis=0))
    return _normal(est[0], se)


def _percentile_p(x: np.ndarray) -> float:
    """Return rbmi's ``pval_percentile``: where the type-6 quantiles cross 0, times 2."""
    n = x.size
    if np.all(x == 0):
        return 1.0
    if x.min() > 0 or x.max() < 0:
        return 0.0
    xs = np.sort(x)
    pos = np.arange(1, n + 1) / (n + 1)
    if np.any(xs == 0):
        zero = np.flatnonzero(xs == 0)
        greater, less = pos[zero[0]], 1.0 - pos[zero[-1]]
    else:
        j = int(np.searchsorted(xs, 0.0)) - 1  # xs[j] < 0 < xs[j + 1]
        greater = pos[j] + (0.0 - xs[j]) / (xs[j + 1] - xs[j]) / (n + 1)
        less = 1.0 - greater
    return float(min(1.0, 2.0 * min(greater, less)))


def pool_bootstrap(est: np.ndarray) -> dict[str, np.ndarray]:
    """Pool the full-data estimate (row 0) with bootstrap estimates (percentile method)."""
    boot = est[1:]
    low, high = np.quantile(boot, [0.025, 0.975], axis=0, method="weibull")
    return {
        "estimate": est[0],
        "std_error": boot.std(axis=0, ddof=1),
        "df": np.full(est.shape[1], np.inf),
        "conf_low": low,
        "conf_high": high,
        "p_value": np.array([_percentile_p(boot[:, j]) for j in range(boot.shape[1])]),
    }


def pool_rubin(est: np.ndarray, se: np.ndarray, df_com: np.ndarray) -> dict[str, np.ndarray]:
    """Rubin's rules with the Barnard-Rubin (1999) degrees of freedom (rbmi ``rubin_df``)."""
    m = est.shape[0]
    point = est.mean(axis=0)
    within = np.mean(se**2, axis=0)
    between = est.var(axis=0, ddof=1)
    total = within + (1.0 + 1.0 / m) * between
    v_com = df_com[0]
    lam = (1.0 + 1.0 / m) * between / total
    v_obs = (v_com + 1.0) / (v_com + 3.0) * v_com * (1.0 - lam)
    with np.errstate(divide="ignore", invalid="ignore"):
        v_old = (m - 1) / lam**2
        df = np.where(lam > 0, v_old * v_obs / (v_old + v_obs), v_obs)
    se_t = np.sqrt(total)
    q = stats.t.ppf(0.975, df)
    return {
        "estimate": point,
        "std_error": se_t,
        "df": df,
        "conf_low": point - q * se_t,
        "conf_high": point + q * se_t,
        "p_value": 2.0 * stats.t.sf(np.abs(point / se_t), df),
    }
