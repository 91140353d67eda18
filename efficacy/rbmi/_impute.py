"""Reference-based imputation: strategy means, conditional means and conditional draws.

For a subject of group ``g`` with reference ``r`` and first affected visit ``t``, with
``mu_g = X_g beta`` and ``mu_r = X_r beta`` (rows with the subject's group, and with the
reference group), the marginal mean of the outcome vector is (rbmi ``strategies.R``;
Carpenter, Roger and Kenward 2013)::

    MAR   mu_g
    JR    mu_g before t, mu_r from t
    CR    mu_r at every visit
    CIR   mu_g before t, mu_g[t-1] + (mu_r - mu_r[t-1]) from t  (mu_r if t = 0)
    LMCF  mu_g before t, mu_g[t-1] from t

The covariance matrix is the common ``Sigma`` (one matrix for all groups, rbmi's
``same_cov = TRUE``, under which rbmi's JR/CIR covariance is ``Sigma`` too). Missing
outcomes are imputed from the distribution of the missing given every observed outcome
of the subject (observed outcomes after the event included)::

    mean = mu_q + Sigma_qo Sigma_oo^{-1} (y_o - mu_o)
    cov  = Sigma_qq - Sigma_qo Sigma_oo^{-1} Sigma_oq

by the mean (conditional mean imputation) or by one random draw (approximate Bayes).
"""

from __future__ import annotations

import numpy as np

from efficacy.rbmi._data import STRATEGIES, Prepared

__all__ = ["impute", "strategy_means"]

_JR, _CR, _CIR, _LMCF = (STRATEGIES.index(s) for s in ("JR", "CR", "CIR", "LMCF"))


def strategy_means(prep: Prepared, beta: np.ndarray) -> np.ndarray:
    """Marginal means under each subject's strategy, ``(S, N, m)`` for ``beta`` ``(S, p)``."""
    own = np.einsum("nmp,sp->snm", prep.x_own, beta)
    ref = np.einsum("nmp,sp->snm", prep.x_ref, beta)
    out = own.copy()
    after = ~prep.is_mar  # (N, m); all False for MAR subjects
    n, m = after.shape
    st = prep.strategy
    jr = (st == _JR)[:, None] & after
    out[:, jr] = ref[:, jr]
    cr = st == _CR
    out[:, cr] = ref[:, cr]
    last = np.clip(prep.ice - 1, 0, m - 1)
    subj = np.arange(n)
    own_last = own[:, subj, last][:, :, None]  # (S, N, 1)
    ref_last = ref[:, subj, last][:, :, None]
    cir = (st == _CIR)[:, None] & after & (prep.ice > 0)[:, None]
    out[:, cir] = (own_last + ref - ref_last)[:, cir]
    cir0 = (st == _CIR) & (prep.ice == 0)
    out[:, cir0] = ref[:, cir0]
    lmcf = (st == _LMCF)[:, None] & after
    out[:, lmcf] = np.broadcast_to(own_last, own.shape)[:, lmcf]
    means: np.ndarray = out
    return means


def impute(
    prep: Prepared,
    beta: np.ndarray,
    sigma: np.ndarray,
    rngs: list[np.random.Generator] | None = None,
) -> np.ndarray:
    """Completed outcomes ``(S, N, m)``: conditional means, or draws when ``rngs`` is given.

    Sample ``s`` uses ``beta[s]``, ``sigma[s]`` and (draws) ``rngs[s]``; subjects are
    handled by missingness pattern, in the order of the patterns' first subject.
    """
    mu = strategy_means(prep, beta)
    s_count = beta.shape[0]
    y = np.broadcast_to(prep.y, mu.shape).copy()
    miss = np.isnan(prep.y)
    keys = miss.astype(np.int64) @ (1 << np.arange(miss.shape[1]))
    _, first, inverse = np.unique(keys, return_index=True, return_inverse=True)
    for k in np.argsort(first, kind="stable"):
        members = np.flatnonzero(inverse.ravel() == k)
        q = miss[members[0]]
        if not q.any():
            continue
        o = ~q
        mu_q = mu[:, members][:, :, q]  # (S, n_k, n_q)
        s_qq = sigma[:, q][:, :, q]
        if o.any():
            s_oo = sigma[:, o][:, :, o]
            s_oq = sigma[:, o][:, :, q]
            coef = np.linalg.solve(s_oo, s_oq)  # (S, n_o, n_q) = Sigma_oo^{-1} Sigma_oq
            resid = prep.y[members][:, o][None] - mu[:, members][:, :, o]
            mean = mu_q + resid @ coef
            cov = s_qq - np.swapaxes(s_oq, 1, 2) @ coef
        else:
            mean, cov = mu_q, s_qq
        if rngs is not None:
            low = np.linalg.cholesky(0.5 * (cov + np.swapaxes(cov, 1, 2)))
            shape = (members.size, int(q.sum()))
            z = np.stack([rngs[s].standard_normal(shape) for s in range(s_count)])
            mean = mean + z @ np.swapaxes(low, 1, 2)
        block = y[:, members]
        block[:, :, q] = mean
        y[:, members] = block
    return y
