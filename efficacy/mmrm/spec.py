"""User-facing specifications of an MMRM fit: options and their validation."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from efficacy.errors import ModelSpecError

__all__ = [
    "COVARIANCES",
    "DF_METHODS",
    "METHODS",
    "OPTIMIZERS",
    "VCOV_METHODS",
    "FitControl",
    "check_options",
]

COVARIANCES: tuple[str, ...] = ("us", "cs", "csh", "ar1", "ar1h", "toep", "toeph", "ad", "adh")
METHODS: tuple[str, ...] = ("reml", "ml")
DF_METHODS: tuple[str, ...] = (
    "satterthwaite",
    "kenward-roger",
    "kenward-roger-linear",
    "residual",
    "between-within",
)
OPTIMIZERS: tuple[str, ...] = ("newton", "l-bfgs-b", "bfgs", "nelder-mead")
#: ``vcov=`` of `fit_mmrm` (R mmrm's ``Asymptotic``/Kenward-Roger, ``Empirical``,
#: ``Empirical-Jackknife``, ``Empirical-Bias-Reduced``); equal to
#: ``efficacy.mmrm.robust.VCOV_METHODS``.
VCOV_METHODS: tuple[str, ...] = (
    "model-based",
    "empirical",
    "empirical-jackknife",
    "empirical-bias-reduced",
)


@dataclass(frozen=True)
class FitControl:
    """How the covariance parameters are optimised.

    Parameters
    ----------
    optimizers : tuple of str
        Optimisers tried in turn until one converges: ``"newton"`` (analytic
        Newton-Raphson with a line search), ``"l-bfgs-b"``, ``"bfgs"`` and
        ``"nelder-mead"`` (scipy, each polished by Newton steps). Every attempt is
        reported on the result (``MMRMResult.optimizer`` and, when none converges,
        ``MMRMResult.warnings``).
    tolerance : float
        Convergence threshold on the Newton decrement ``g' H^{-1} g`` of
        ``-2 log L`` (the predicted remaining decrease); the default stops well inside
        1e-8 relative of the optimum, tighter than R mmrm's default.
    max_iter : int
        Maximum iterations per optimiser.
    start : tuple of float, optional
        Starting covariance parameters in the optimiser's parameterisation (R mmrm's
        ``theta``: log standard deviations and transformed correlations; for ``us`` the
        log-diagonal then the lower Cholesky entries). Default: moments of the
        residuals of an ordinary least-squares fit, projected on the structure.

    Raises
    ------
    ModelSpecError
        On construction, listing every invalid field at once.
    """

    optimizers: tuple[str, ...] = OPTIMIZERS
    tolerance: float = 1e-10
    max_iter: int = 100
    start: tuple[float, ...] | None = None

    def __post_init__(self) -> None:
        problems: list[str] = []
        opts = self.optimizers
        if isinstance(opts, str) or not isinstance(opts, tuple | list) or not opts:
            problems.append(
                f"optimizers must be a non-empty tuple of names from {OPTIMIZERS}, got {opts!r}"
            )
        else:
            unknown = [o for o in opts if o not in OPTIMIZERS]
            if unknown:
                problems.append(f"optimizers: unknown {unknown}; choose from {OPTIMIZERS}")
            if len(set(opts)) != len(opts):
                problems.append(f"optimizers: each name at most once, got {list(opts)}")
        if not _positive_real(self.tolerance):
            problems.append(f"tolerance must be a positive finite number, got {self.tolerance!r}")
        mi = self.max_iter
        if isinstance(mi, bool) or not isinstance(mi, int) or mi < 1:
            problems.append(f"max_iter must be a positive integer, got {mi!r}")
        if self.start is not None:
            try:
                values = [float(v) for v in self.start]
            except (TypeError, ValueError):
                values = []
                problems.append(f"start must be a sequence of numbers, got {self.start!r}")
            if values and not all(math.isfinite(v) for v in values):
                problems.append("start must contain finite numbers only")
            elif not values and not problems:
                problems.append("start must not be empty (use None for the default)")
        if problems:
            raise ModelSpecError("FitControl: " + "; ".join(problems))
        object.__setattr__(self, "optimizers", tuple(opts))
        if self.start is not None:
            object.__setattr__(self, "start", tuple(float(v) for v in self.start))


def _positive_real(value: Any) -> bool:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return False
    return math.isfinite(value) and value > 0


def check_options(
    covariance: Any, method: Any, df: Any, control: Any, vcov: Any = "model-based"
) -> FitControl:
    """Validate ``fit_mmrm``'s options, reporting every problem at once.

    Returns
    -------
    FitControl
        ``control`` or the default control.
    """
    problems: list[str] = []
    if covariance not in COVARIANCES:
        problems.append(f"covariance={covariance!r}: choose from {COVARIANCES}")
    if method not in METHODS:
        problems.append(f"method={method!r}: choose 'reml' or 'ml'")
    if df not in DF_METHODS:
        problems.append(f"df={df!r}: choose from {DF_METHODS}")
    if control is not None and not isinstance(control, FitControl):
        problems.append(f"control must be a FitControl or None, got {type(control).__name__}")
    if method == "ml" and df in ("kenward-roger", "kenward-roger-linear"):
        problems.append(
            "df='kenward-roger' needs method='reml' (Kenward-Roger is defined for REML, "
            "as in SAS and R mmrm)"
        )
    if vcov not in VCOV_METHODS:
        problems.append(f"vcov={vcov!r}: choose from {VCOV_METHODS}")
    elif vcov != "model-based" and df in ("kenward-roger", "kenward-roger-linear"):
        problems.append(
            f"vcov={vcov!r} cannot go with df={df!r} (Kenward-Roger adjusts the covariance "
            "itself, as in R mmrm); use df='satterthwaite', 'residual' or 'between-within'"
        )
    if problems:
        raise ModelSpecError("fit_mmrm: " + "; ".join(problems))
    return control if control is not None else FitControl()
