"""Small statistics of the plan: multiplicity, Hedges' g, Newcombe's interval, logistic model."""

from __future__ import annotations

import math
import warnings

import numpy as np
import pandas as pd
from scipy import stats

from efficacy.errors import EfficacyError

__all__ = [
    "adjust_pvalues",
    "hedges_g",
    "logistic_odds_ratio",
    "newcombe_difference",
    "newcombe_paired_difference",
    "wilson_interval",
]


def adjust_pvalues(p: np.ndarray, method: str, alpha: float) -> tuple[np.ndarray, np.ndarray]:
    """Multiplicity-adjusted p-values and rejections across one family, in testing order.

    Parameters
    ----------
    p : array of float
        Unadjusted p-values in the declared testing order (NaN: not tested).
    method : {"holm", "hochberg", "fixed-sequence", "none"}
    alpha : float

    Returns
    -------
    (p_adjusted, reject) : arrays
        NaN p-values stay NaN and are never rejected (the others are adjusted among
        themselves).

    Notes
    -----
    ``hochberg`` is statsmodels' ``multipletests(method="simes-hochberg")``; ``holm``
    is the same closed form as ``multipletests(method="holm")`` (sorted ``p_(i) (m - i)``,
    running maximum, capped at 1; equal to it in the tests) computed here because
    statsmodels runs ``gc.collect()`` on every Holm call (0.1-0.4 s in a large process).
    ``fixed-sequence`` tests in order at the full alpha and stops at the first
    non-rejection; its adjusted p-value is the running maximum
    ``p_adj[k] = max(p[0..k])`` (Westfall & Krishen 2001 convention), so hypothesis k
    is rejected exactly when ``p_adj[k] <= alpha``. A NaN stops the sequence.
    """
    p = np.asarray(p, dtype=float)
    out = np.full(p.shape, np.nan)
    reject = np.zeros(p.shape, dtype=bool)
    ok = np.isfinite(p)
    if method == "fixed-sequence":
        stop = np.flatnonzero(~ok)
        end = int(stop[0]) if stop.size else p.size
        out[:end] = np.maximum.accumulate(p[:end]) if end else out[:end]
        reject[:end] = out[:end] <= alpha
        return out, reject
    if not ok.any():
        return out, reject
    if method == "none":
        out[ok] = p[ok]
    elif method == "holm":
        out[ok] = _holm(p[ok])
    elif method == "hochberg":
        from statsmodels.stats.multitest import multipletests

        out[ok] = multipletests(p[ok], alpha=alpha, method="simes-hochberg")[1]
    else:
        raise EfficacyError(f"method={method!r}: use holm, hochberg, fixed-sequence or none")
    reject[ok] = out[ok] <= alpha
    return out, reject


def _holm(p: np.ndarray) -> np.ndarray:
    order = np.argsort(p, kind="stable")
    m = p.size
    stepped = np.minimum(np.maximum.accumulate(p[order] * (m - np.arange(m))), 1.0)
    out = np.empty(m)
    out[order] = stepped
    return out


def hedges_g(x: np.ndarray, y: np.ndarray | None, level: float) -> tuple[float, float, float, str]:
    """Hedges' g with its confidence interval.

    Parameters
    ----------
    x, y : arrays
        Observed changes of the active and the control arm; for a within-subject
        (split-face) comparison `x` holds the treated-minus-control differences and
        `y` is None (g is then the standardised mean difference ``d_z = mean / sd``
        times Hedges' exact correction ``J(n - 1)``, with the normal-approximation
        interval ``g +- z sqrt(1/n + g^2 / (2 n))``).
    level : float
        Confidence level.

    Returns
    -------
    (g, low, high, note)
        NaN and a note saying why g is not estimable when there are fewer than two
        values per group, when a one-sample g has fewer than three values (its
        correction ``J(m)`` needs ``m = n - 1 >= 2`` degrees of freedom:
        ``G((m - 1) / 2)`` is infinite at ``m = 1``), or when the values do not vary.

    Notes
    -----
    Two samples (``nx``, ``ny`` values, ``m = nx + ny - 2``): Cohen's d with the pooled
    standard deviation ``sqrt(((nx - 1) s_x^2 + (ny - 1) s_y^2) / m)``, times Hedges'
    approximate correction ``1 - 3 / (4 (nx + ny) - 9)``; the interval is
    ``g +- t(m) sqrt((nx + ny) / (nx ny) + g^2 / (2 (nx + ny)))`` (the large-sample
    variance of g, Hedges & Olkin 1985, with a t critical value on ``m`` degrees of
    freedom). These are the formulas of pingouin's ``compute_effsize(x, y,
    eftype="hedges")`` and ``compute_esci(g, nx, ny, eftype="hedges")``, which the
    tests check against (pingouin is GPL-3.0 and no longer a dependency), without its
    rounding of the interval to 12 decimals.

    Examples
    --------
    >>> g, low, high, note = hedges_g(np.array([1.0, 3.0]), np.array([0.0, 1.0]), 0.95)
    >>> round(g, 6), round(low, 4), round(high, 4)
    (0.766652, -3.6913, 5.2246)
    >>> print(note)
    two-sample Hedges' g of the observed changes
    """
    x = np.asarray(x, float)
    x = x[np.isfinite(x)]
    if y is None:
        n = x.size
        m = n - 1  # Hedges' exact correction J(m) = G(m/2) / (sqrt(m/2) G((m-1)/2))
        if m < 2:
            return _not_estimable(
                "its small-sample correction needs at least 2 degrees of freedom "
                f"(3 within-subject differences), {n} give {max(m, 0)}"
            )
        sd = float(np.std(x, ddof=1))
        if not sd > 0:
            return _not_estimable("the within-subject differences do not vary (sd 0)")
        d = float(np.mean(x)) / sd  # one-sample d_z = mean / sd
        j = math.exp(math.lgamma(m / 2) - 0.5 * math.log(m / 2) - math.lgamma((m - 1) / 2))
        g = d * j
        se = math.sqrt(1.0 / n + g * g / (2.0 * n))
        z = stats.norm.ppf(0.5 + level / 2)
        return g, g - z * se, g + z * se, "one-sample Hedges' g of the within-subject differences"
    y = np.asarray(y, float)
    y = y[np.isfinite(y)]
    nx, ny = x.size, y.size
    if nx < 2 or ny < 2:
        return _not_estimable(f"{nx} and {ny} values; at least 2 per group needed")
    if not (np.ptp(x) > 0 or np.ptp(y) > 0):
        return _not_estimable("the values do not vary within either group (pooled sd 0)")
    m = nx + ny - 2
    pooled = math.sqrt(((nx - 1) * float(x.var(ddof=1)) + (ny - 1) * float(y.var(ddof=1))) / m)
    g = (float(x.mean()) - float(y.mean())) / pooled * (1 - 3 / (4 * (nx + ny) - 9))
    se = math.sqrt((nx + ny) / (nx * ny) + g * g / (2 * (nx + ny)))
    t = abs(float(stats.t.ppf((1 - level) / 2, m)))  # pingouin's form, to the last bit
    return g, g - t * se, g + t * se, "two-sample Hedges' g of the observed changes"


def _not_estimable(why: str) -> tuple[float, float, float, str]:
    return math.nan, math.nan, math.nan, f"effect size (Hedges' g) not estimable: {why}"


def wilson_interval(x: int, n: int, level: float) -> tuple[float, float]:
    """Wilson score interval of one proportion (Newcombe 1998 method 3)."""
    z = stats.norm.ppf(0.5 + level / 2)
    p = x / n
    centre = p + z * z / (2 * n)
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n))
    denom = 1 + z * z / n
    return (centre - half) / denom, (centre + half) / denom


def newcombe_difference(
    x1: int, n1: int, x2: int, n2: int, level: float = 0.95
) -> tuple[float, float, float, float]:
    """Difference of two independent proportions with Newcombe's hybrid score interval.

    Returns
    -------
    (difference, low, high, p_value)
        ``p1 - p2``, the interval (Newcombe 1998, method 10), and the two-sided p-value
        of the Pearson chi-square (score) test without continuity correction.

    Notes
    -----
    With Wilson limits ``(l_i, u_i)`` of each proportion::

        low  = d - sqrt((p1 - l1)^2 + (u2 - p2)^2)
        high = d + sqrt((u1 - p1)^2 + (p2 - l2)^2)

    Checked against Newcombe (1998) Stat Med 17:873, Table II: 56/70 - 48/80 gives
    0.2000 (0.0524 to 0.3339); 9/10 - 3/10 gives 0.6000 (0.1705 to 0.8090).
    """
    if n1 < 1 or n2 < 1:
        return math.nan, math.nan, math.nan, math.nan
    p1, p2 = x1 / n1, x2 / n2
    l1, u1 = wilson_interval(x1, n1, level)
    l2, u2 = wilson_interval(x2, n2, level)
    d = p1 - p2
    low = d - math.sqrt((p1 - l1) ** 2 + (u2 - p2) ** 2)
    high = d + math.sqrt((u1 - p1) ** 2 + (p2 - l2) ** 2)
    pooled = (x1 + x2) / (n1 + n2)
    var = pooled * (1 - pooled) * (1 / n1 + 1 / n2)
    p_value = float(2 * stats.norm.sf(abs(d) / math.sqrt(var))) if var > 0 else math.nan
    return d, low, high, p_value


def newcombe_paired_difference(
    both: int, first_only: int, second_only: int, neither: int, level: float = 0.95
) -> tuple[float, float, float, float]:
    """Difference of two paired proportions with Newcombe's interval (1998b, method 10).

    Parameters
    ----------
    both, first_only, second_only, neither : int
        Pairs responding on both sides, the first (treated) side only, the second
        (control) side only, and neither.

    Returns
    -------
    (difference, low, high, p_value)
        ``(first_only - second_only) / n``, the interval, and the two-sided p-value of
        McNemar's test without continuity correction.

    Notes
    -----
    Wilson limits ``(l_i, u_i)`` of the two marginal proportions are combined with the
    correlation ``phi = C / sqrt((e+f)(g+h)(e+g)(f+h))`` where ``C = ad - bc - n/2`` if
    ``ad - bc > n/2``, ``0`` if ``0 <= ad - bc <= n/2``, ``ad - bc`` if negative::

        low  = D - sqrt((p1-l1)^2 - 2 phi (p1-l1)(u2-p2) + (u2-p2)^2)
        high = D + sqrt((p2-l2)^2 - 2 phi (p2-l2)(u1-p1) + (u1-p1)^2)

    Checked against Newcombe (1998) Stat Med 17:2635-2650, Table II (also the R package
    propint's tests): (36, 12, 2, 0) gives 0.2000 (0.0569 to 0.3404); (18, 12, 2, 18)
    gives 0.2000 (0.0562 to 0.3290).
    """
    e, f, g, h = both, first_only, second_only, neither
    n = e + f + g + h
    if n < 1:
        return math.nan, math.nan, math.nan, math.nan
    p1, p2 = (e + f) / n, (e + g) / n
    l1, u1 = wilson_interval(e + f, n, level)
    l2, u2 = wilson_interval(e + g, n, level)
    d = p1 - p2
    denom = (e + f) * (g + h) * (e + g) * (f + h)
    cross = e * h - f * g
    c = cross - n / 2 if cross > n / 2 else (cross if cross < 0 else 0.0)
    phi = c / math.sqrt(denom) if denom > 0 else 0.0
    low = d - math.sqrt(max((p1 - l1) ** 2 - 2 * phi * (p1 - l1) * (u2 - p2) + (u2 - p2) ** 2, 0))
    high = d + math.sqrt(max((p2 - l2) ** 2 - 2 * phi * (p2 - l2) * (u1 - p1) + (u1 - p1) ** 2, 0))
    discordant = f + g
    p = float(stats.chi2.sf((f - g) ** 2 / discordant, 1)) if discordant else 1.0
    return d, low, high, p


def conditional_logistic(
    frame: pd.DataFrame, level: float
) -> tuple[float, float, float, float, str]:
    """Conditional logistic regression ``responder ~ treated + baseline | subject``.

    For paired (split-face) responders: statsmodels ``ConditionalLogit`` with the subject
    as the stratum. Returns (log odds ratio of the treated site, low, high, p, note).
    """
    from statsmodels.discrete.conditional_models import ConditionalLogit

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            res = ConditionalLogit(
                frame["responder"].to_numpy(float),
                frame[["treated", "baseline"]].to_numpy(float),
                groups=frame["subject_id"].to_numpy(),
            ).fit(disp=0)
    except Exception as exc:  # statsmodels raises several kinds
        return math.nan, math.nan, math.nan, math.nan, f"conditional logistic model failed: {exc}"
    est, se = float(res.params[0]), float(res.bse[0])
    if not (math.isfinite(est) and math.isfinite(se)) or se <= 0:
        return math.nan, math.nan, math.nan, math.nan, "conditional logistic model: no estimate"
    z = stats.norm.ppf(0.5 + level / 2)
    p = float(2 * stats.norm.sf(abs(est / se)))
    note = "estimate is the log odds ratio, treated vs control site (conditional logit, Wald CI)"
    return est, est - z * se, est + z * se, p, note


def logistic_odds_ratio(
    frame: pd.DataFrame, level: float
) -> tuple[float, float, float, float, str]:
    """Baseline-adjusted logistic regression ``responder ~ baseline + active``.

    Parameters
    ----------
    frame : DataFrame
        Columns ``responder`` (0/1), ``baseline`` and ``active`` (0/1).

    Returns
    -------
    (log_odds_ratio, low, high, p_value, note)
        Wald interval and test from statsmodels ``Logit``; NaN and a note when the model
        cannot be fitted (e.g. complete separation).
    """
    import statsmodels.api as sm

    X = sm.add_constant(frame[["baseline", "active"]].to_numpy(float), has_constant="add")
    y = frame["responder"].to_numpy(float)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            res = sm.Logit(y, X).fit(disp=0, maxiter=100)
    except Exception as exc:  # statsmodels raises several kinds
        return math.nan, math.nan, math.nan, math.nan, f"logistic model failed: {exc}"
    if not res.mle_retvals.get("converged", False):
        return math.nan, math.nan, math.nan, math.nan, "logistic model did not converge"
    est, se = float(res.params[2]), float(res.bse[2])
    z = stats.norm.ppf(0.5 + level / 2)
    p = float(2 * stats.norm.sf(abs(est / se)))
    return est, est - z * se, est + z * se, p, "estimate is the log odds ratio (Wald CI)"
