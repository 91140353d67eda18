"""Analytic power and sample size for the final-visit contrast of an MMRM.

The formula of Lu, Luo & Chen (2008), as R ``longpower::power.mmrm`` and
``power.mmrm.ar1`` implement it: with monotone dropout, the variance of the final-visit
treatment difference of an MMRM is ``sigma**2 * (phi_a / n_a + phi_b / n_b)``, where
``phi`` is the last diagonal element of the inverse of the retention-weighted
information ``sum_j (r_j - r_{j+1}) * [R_{1:j,1:j}^{-1}, 0; 0, 0]`` (``r_{J+1} = 0``).
The normal-approximation sample size is then

    n_a = (phi_a + lambda * phi_b) * (z_{alpha/2} + z_{1-power})**2 * sigma**2 / delta**2,
    n_b = n_a / lambda,

with ``lambda = n_a / n_b``. As in longpower, ``sigma`` is the mean of the two arms'
standard deviations when both are given, and the arm without its own correlation or
retention takes the other arm's. Power is solved in closed form (longpower finds the
same root with ``uniroot``).

References
----------
Lu K, Luo X, Chen P-Y (2008). Sample size estimation for repeated measures analysis in
randomized clinical trials with missing data. Int J Biostat 4(1), Article 9.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from fractions import Fraction
from typing import Literal

import numpy as np
from scipy.stats import norm

from efficacy.errors import EfficacyError

__all__ = ["PowerResult", "power_mmrm"]

Alternative = Literal["two-sided", "one-sided"]
Structure = Literal["unstructured", "ar1"]


@dataclass(frozen=True)
class PowerResult:
    """Power and sample size of the final-visit contrast (see :func:`power_mmrm`).

    Attributes
    ----------
    power : float
        Power of the test (given or solved).
    n_active, n_control, n_total : float
        Participants randomised per arm and in all, unrounded (longpower's ``n1``,
        ``n2`` and their sum).
    n_active_required, n_control_required : int
        Whole numbers of participants to randomise: rounded up, and for an allocation
        ratio that is a simple fraction (1:1, 2:1, 3:2, ...) the smallest multiple of it
        that reaches both unrounded numbers (2:1 gives 60 + 30, not 59 + 30).
    phi_active, phi_control : float
        The variance inflation factors of Lu, Luo & Chen (2008): the final-visit
        variance per participant, relative to ``sigma**2`` without dropout.
    delta, sigma, ratio, alpha : float
        The inputs used (``sigma`` is the mean of the arms' SDs when both are given).
    alternative : {"two-sided", "one-sided"}
    """

    power: float
    n_active: float
    n_control: float
    n_total: float
    n_active_required: int
    n_control_required: int
    phi_active: float
    phi_control: float
    delta: float
    sigma: float
    ratio: float
    alpha: float
    alternative: Alternative


def _phi_unstructured(corr: np.ndarray, retention: np.ndarray) -> float:
    """Last diagonal element of the inverse retention-weighted information."""
    k = corr.shape[0]
    share = np.append(retention, 0.0)
    info = np.zeros((k, k))
    for j in range(1, k + 1):
        info[:j, :j] += (share[j - 1] - share[j]) * np.linalg.inv(corr[:j, :j])
    return float(np.linalg.inv(info)[k - 1, k - 1])


def _phi_ar1(rho: float, retention: np.ndarray, times: np.ndarray) -> float:
    """Return the AR(1) factor in closed form (longpower ``power.mmrm.ar1``)."""
    last = times[-1]
    return float(
        1.0 / retention[-1]
        - np.sum(rho ** (2.0 * (last - times[:-1])) * (1.0 / retention[1:] - 1.0 / retention[:-1]))
    )


def _vector(name: str, values: Sequence[float] | np.ndarray) -> np.ndarray:
    arr = np.asarray(values, dtype=float)
    if arr.ndim != 1 or arr.size == 0 or not np.isfinite(arr).all():
        raise EfficacyError(f"{name} must be a non-empty list of finite numbers; got {values!r}")
    return arr


def _retention(name: str, values: Sequence[float] | np.ndarray) -> np.ndarray:
    arr = _vector(name, values)
    if arr[0] <= 0 or (arr > 1).any() or (arr <= 0).any() or (np.diff(arr) > 0).any():
        raise EfficacyError(
            f"{name} must be shares in (0, 1] that never increase (monotone dropout), "
            f"e.g. [1.0, 0.95, 0.9, 0.85]; got {arr.tolist()}"
        )
    return arr


def _phi(
    label: str,
    correlation: float | Sequence[Sequence[float]] | np.ndarray,
    retention: np.ndarray,
    structure: Structure,
    times: np.ndarray | None,
) -> float:
    k = retention.size
    if structure == "ar1":
        if not isinstance(correlation, int | float) or not -1.0 < float(correlation) < 1.0:
            raise EfficacyError(
                f"{label}: with structure='ar1' the correlation is one number in (-1, 1) "
                f"(the lag-1 correlation); got {correlation!r}"
            )
        t = np.arange(1.0, k + 1.0) if times is None else times
        if t.size != k:
            raise EfficacyError(
                f"times has {t.size} entries but retention has {k}; give one per visit"
            )
        return _phi_ar1(float(correlation), retention, t)
    corr = np.asarray(correlation, dtype=float)
    if corr.shape != (k, k):
        raise EfficacyError(
            f"{label}: the correlation matrix must be {k} x {k} (one row per visit, as "
            f"retention); got shape {corr.shape}"
        )
    if not np.allclose(corr, corr.T) or not np.allclose(np.diag(corr), 1.0):
        raise EfficacyError(
            f"{label}: the correlation matrix must be symmetric with ones on the diagonal"
        )
    if np.linalg.eigvalsh(corr)[0] <= 0:
        raise EfficacyError(f"{label}: the correlation matrix must be positive definite")
    return _phi_unstructured(corr, retention)


def _z_alpha(alpha: float, alternative: Alternative) -> float:
    return float(norm.ppf(alpha / 2 if alternative == "two-sided" else alpha))


def _required(n_active: float, n_control: float, ratio: float) -> tuple[int, int]:
    """Whole numbers per arm, keeping a simple-fraction ratio exact."""
    frac = Fraction(ratio).limit_denominator(20)
    if math.isclose(float(frac), ratio, rel_tol=1e-12):
        p, q = frac.numerator, frac.denominator
        k = max(math.ceil(n_active / p - 1e-9), math.ceil(n_control / q - 1e-9), 1)
        return k * p, k * q
    return math.ceil(n_active - 1e-9), math.ceil(n_control - 1e-9)


def power_mmrm(
    *,
    n_total: float | None = None,
    power: float | None = None,
    delta: float,
    sigma: float,
    correlation: float | Sequence[Sequence[float]] | np.ndarray,
    retention: Sequence[float] | np.ndarray,
    sigma_control: float | None = None,
    correlation_control: float | Sequence[Sequence[float]] | np.ndarray | None = None,
    retention_control: Sequence[float] | np.ndarray | None = None,
    ratio: float = 1.0,
    alpha: float = 0.05,
    alternative: Alternative = "two-sided",
    structure: Structure = "unstructured",
    times: Sequence[float] | np.ndarray | None = None,
) -> PowerResult:
    """Power or total sample size of an MMRM's final-visit contrast (Lu, Luo & Chen 2008).

    Exactly one of `n_total` and `power` is None; it is solved for. Semantics are those
    of R ``longpower::power.mmrm`` (and ``power.mmrm.ar1`` with ``structure="ar1"``),
    with the active arm as its group *a*.

    Parameters
    ----------
    n_total : float, optional
        Participants randomised in both arms together.
    power : float, optional
        Target power, in (0, 1).
    delta : float
        Treatment difference at the final visit (any sign; its size matters).
    sigma : float
        Standard deviation of the outcome at each visit in the active arm (and in both
        when `sigma_control` is None).
    correlation : float or array-like
        Correlation matrix of the visits (``structure="unstructured"``), or the lag-1
        correlation (``structure="ar1"``).
    retention : sequence of float
        Share of the active arm still observed at each post-baseline visit, first to
        last (monotone dropout: never increasing).
    sigma_control, correlation_control, retention_control : optional
        The control arm's own values; each defaults to the active arm's. With both SDs
        given, the formula uses their mean (as longpower does).
    ratio : float
        Allocation ratio n_active / n_control (longpower's ``lambda``).
    alpha : float
        Significance level (two-sided: split in two tails).
    alternative : {"two-sided", "one-sided"}
    structure : {"unstructured", "ar1"}
    times : sequence of float, optional
        Visit times for ``structure="ar1"`` (default 1, 2, ..., J), as in
        ``power.mmrm.ar1``.

    Returns
    -------
    PowerResult

    Raises
    ------
    EfficacyError
        Not exactly one of `n_total`/`power` missing, or an argument out of range
        (one line naming it and what is expected).

    Examples
    --------
    longpower's help-page example (exchangeable correlation 0.25, retention 1 to 0.7):

    >>> import numpy as np
    >>> from efficacy import power_mmrm
    >>> corr = np.full((4, 4), 0.25) + 0.75 * np.eye(4)
    >>> r = power_mmrm(power=0.80, delta=0.5, sigma=1, correlation=corr,
    ...                retention=[1, 0.9, 0.8, 0.7])
    >>> round(r.n_total, 4), r.n_active_required, r.n_control_required
    (173.9835, 87, 87)
    >>> round(power_mmrm(n_total=174, delta=0.5, sigma=1, correlation=corr,
    ...                  retention=[1, 0.9, 0.8, 0.7]).power, 6)
    0.800037
    """
    if (n_total is None) == (power is None):
        raise EfficacyError("give exactly one of n_total and power; the other is solved for")
    if structure not in ("unstructured", "ar1"):
        raise EfficacyError(f"structure must be 'unstructured' or 'ar1'; got {structure!r}")
    if alternative not in ("two-sided", "one-sided"):
        raise EfficacyError(f"alternative must be 'two-sided' or 'one-sided'; got {alternative!r}")
    for name, value in (("sigma", sigma), ("ratio", ratio)):
        if not (math.isfinite(value) and value > 0):
            raise EfficacyError(f"{name} must be a positive number; got {value!r}")
    if sigma_control is not None and not (math.isfinite(sigma_control) and sigma_control > 0):
        raise EfficacyError(f"sigma_control must be a positive number; got {sigma_control!r}")
    if not (math.isfinite(delta) and delta != 0):
        raise EfficacyError(f"delta must be a non-zero number; got {delta!r}")
    if not 0 < alpha < 1:
        raise EfficacyError(f"alpha must be in (0, 1); got {alpha!r}")
    r_a = _retention("retention", retention)
    r_b = r_a if retention_control is None else _retention("retention_control", retention_control)
    if r_b.size != r_a.size:
        raise EfficacyError(
            f"retention_control has {r_b.size} visits but retention has {r_a.size}; "
            "give one share per visit"
        )
    t = None if times is None else _vector("times", times)
    phi_a = _phi("correlation", correlation, r_a, structure, t)
    corr_b = correlation if correlation_control is None else correlation_control
    phi_b = _phi("correlation_control", corr_b, r_b, structure, t)
    sd = sigma if sigma_control is None else (sigma + sigma_control) / 2.0
    z_a = _z_alpha(alpha, alternative)
    scale = (phi_a + ratio * phi_b) * sd**2 / delta**2 * (1.0 + 1.0 / ratio)
    if power is None:
        assert n_total is not None
        if not (math.isfinite(n_total) and n_total > 0):
            raise EfficacyError(f"n_total must be a positive number; got {n_total!r}")
        power = float(norm.cdf(math.sqrt(n_total / scale) + z_a))
    else:
        if not 0 < power < 1:
            raise EfficacyError(f"power must be in (0, 1); got {power!r}")
        n_total = scale * (z_a + float(norm.ppf(1.0 - power))) ** 2
    n_active = n_total / (1.0 + 1.0 / ratio)
    n_control = n_active / ratio
    req_a, req_b = _required(n_active, n_control, ratio)
    return PowerResult(
        power=power,
        n_active=n_active,
        n_control=n_control,
        n_total=n_active + n_control,
        n_active_required=req_a,
        n_control_required=req_b,
        phi_active=phi_a,
        phi_control=phi_b,
        delta=float(delta),
        sigma=float(sd),
        ratio=float(ratio),
        alpha=float(alpha),
        alternative=alternative,
    )
