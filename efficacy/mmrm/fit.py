"""`fit_mmrm`: the public entry point of the MMRM."""

from __future__ import annotations

import math
import warnings

import numpy as np
import pandas as pd

from efficacy.errors import ConvergenceWarning, ModelSpecError
from efficacy.mmrm._likelihood import PatternData
from efficacy.mmrm._threads import blas_threads
from efficacy.mmrm.design import Design, build_design
from efficacy.mmrm.engine import EngineControl, EngineFit, ModelArrays, fit_patterns, pattern_data
from efficacy.mmrm.inference import make_inference
from efficacy.mmrm.results import MMRMResult
from efficacy.mmrm.spec import FitControl, check_options

__all__ = ["DesignFits", "fit_mmrm"]

_HETEROGENEOUS = ("us", "csh", "ar1h", "toeph", "adh")


def fit_mmrm(
    data: pd.DataFrame,
    formula: str,
    *,
    subject: str,
    visit: str,
    covariance: str = "us",
    method: str = "reml",
    df: str = "satterthwaite",
    group: str | None = None,
    weights: str | None = None,
    control: FitControl | None = None,
    vcov: str = "model-based",
) -> MMRMResult:
    """Fit a mixed model for repeated measures (MMRM), as SAS PROC MIXED and R mmrm do.

    Parameters
    ----------
    data : pandas.DataFrame
        Long format, one row per subject and visit. Never modified.
    formula : str
        Fixed effects, R style, e.g. ``"FEV1 ~ RACE + SEX + ARMCD * AVISIT"``
        (patsy syntax: ``C(x)`` makes a factor, ``I(x ** 2)`` and ``np.log(x)`` work).
        Factors use treatment contrasts with the first level as reference, so terms mean
        what they mean in R and SAS (``CLASS ... (ref=first)``), and coefficients get
        R's ``model.matrix`` names (``(Intercept)``, ``RACEWhite``,
        ``ARMCDTRT:AVISITVIS2``; numeric covariates by name). Level order: a pandas
        Categorical keeps its category order; **non-categorical string columns become
        factors with sorted levels**; bool columns become factors ``FALSE < TRUE``.
    subject, visit : str
        Columns identifying the subject and the visit. Visits are ordered by the
        Categorical order; **a non-categorical visit column is sorted** (as text for
        strings: ``VIS10 < VIS2``; a note is added when that looks unintended).
    covariance : {"us", "cs", "csh", "ar1", "ar1h", "toep", "toeph", "ad", "adh"}
        Within-subject covariance (R mmrm's names; SAS TYPE=UN, CS, CSH, AR(1), ARH(1),
        TOEP, TOEPH, ANTE(1) for ``adh``; ``ad`` is its homogeneous version).
    method : {"reml", "ml"}
        Estimation method.
    df : {"satterthwaite", "kenward-roger", "kenward-roger-linear", "residual", "between-within"}
        Denominator degrees of freedom, SAS's ``DDFM=``: ``kenward-roger`` also adjusts
        the coefficient covariance (SAS ``DDFM=KR``; ``-linear`` is ``KR(LINEAR)``);
        ``residual`` is ``n - rank(X)``; ``between-within`` is SAS ``DDFM=BETWITHIN``
        (with ``us``, every term gets the between-subject df, as SAS does for TYPE=UN).
    group : str, optional
        A per-subject column (e.g. the arm): a separate covariance matrix per level
        (SAS ``REPEATED / GROUP=``).
    weights : str, optional
        Column of positive weights (SAS ``WEIGHT``): the residual covariance of subject
        ``i`` is ``W_i^{-1/2} Sigma W_i^{-1/2}``.
    control : FitControl, optional
        Optimisers, tolerance, iteration limit and start values.
    vcov : {"model-based", "empirical", "empirical-jackknife", "empirical-bias-reduced"}
        Coefficient covariance. ``model-based``: ``(X'V^{-1}X)^{-1}``, Kenward-Roger
        adjusted under ``df="kenward-roger"``. The others are R mmrm's robust sandwich
        estimators (``vcov = "Empirical"`` CR0, ``"Empirical-Jackknife"`` CR3,
        ``"Empirical-Bias-Reduced"`` CR2; `efficacy.mmrm.robust`): they go with
        ``df="satterthwaite"`` (then mmrm's empirical, Bell-McCaffrey df),
        ``"residual"`` or ``"between-within"``, not with Kenward-Roger. Checked against
        R mmrm 0.3.18 (tests/reference/mmrm/robust).

    Returns
    -------
    MMRMResult
        Immutable: coefficients (`MMRMResult.to_frame`), LS means, contrasts, type-3
        tests, covariance matrix, fit statistics and diagnostics; ``vcov`` says which
        coefficient covariance its standard errors use.

    Raises
    ------
    ModelSpecError
        Misuse or data that admit no fit, with the fix: unknown columns or options, two
        rows of one subject at one visit (subject and visit named), non-positive
        weights (rows named), fewer than two subjects, a visit with fewer than two
        subjects under a structure with a variance per visit, a covariance parameter no
        subject informs.

    Warns
    -----
    ConvergenceWarning
        When no optimiser converged (``converged=False``; what was tried is listed in
        ``warnings``; estimates are NaN).

    Notes
    -----
    Rows with a missing outcome, covariate, subject, visit, group or weight are left out
    and listed in ``MMRMResult.excluded`` with the columns at fault and the reason.
    Factor levels without analysed rows are dropped (with a note), as in R. Aliased
    (linearly dependent) columns are found as R's ``lm`` does (pivoting later columns
    out at tolerance 1e-7), reported in ``warnings`` and shown with NaN estimates.

    Numbers are checked against SAS PROC MIXED listings for fev_data
    (tests/reference/mmrm/sas_reference.md): estimates and SEs to 1e-4 relative,
    -2 log-likelihood to 1e-6, Satterthwaite and Kenward-Roger df, LS means, type-3 F.

    Examples
    --------
    R mmrm's ``fev_data`` (tests/reference/mmrm of a source checkout), with the factor
    levels SAS and R used (the first level is the reference):

    >>> import pandas as pd
    >>> from efficacy._examples import FEV_LEVELS, repo_path
    >>> fev = pd.read_csv(repo_path("tests", "reference", "mmrm", "fev_data.csv"))
    >>> for col, levels in FEV_LEVELS.items():
    ...     fev[col] = pd.Categorical(fev[col], categories=levels)
    >>> res = fit_mmrm(fev, "FEV1 ~ RACE + SEX + ARMCD * AVISIT",
    ...                subject="USUBJID", visit="AVISIT", covariance="us",
    ...                method="reml", df="kenward-roger")
    >>> res  # doctest: +ELLIPSIS
    <MMRMResult 'FEV1 ~ RACE + SEX + ARMCD * AVISIT' ... 537 obs, 197 subjects; converged>
    >>> res.to_frame()[["term", "estimate", "std_error"]].head(3).round(3)
                                term  estimate  std_error
    0                    (Intercept)    30.777      0.897
    1  RACEBlack or African American     1.531      0.639
    2                      RACEWhite     5.644      0.681
    >>> res.contrast("ARMCD", by="AVISIT")["contrast"].tolist()  # TRT - PBO per visit
    ['TRT - PBO', 'TRT - PBO', 'TRT - PBO', 'TRT - PBO']
    """
    fits = DesignFits(data, formula, subject=subject, visit=visit, group=group, weights=weights)
    return fits._fit(covariance, method, df, control, vcov, stacklevel=3)


class DesignFits:
    """Fits of one data set and formula under several options, sharing the design.

    ``DesignFits(data, formula, subject=..., visit=...).fit(covariance, ...)`` is
    ``fit_mmrm(data, formula, subject=..., visit=..., covariance=..., ...)``: the same
    result, errors and warnings. The design (analysed rows, model matrix, aliasing) and
    the engine's pattern summaries are built by the first fit that needs them and
    reused by later fits (e.g. the structures of a covariance fallback order), and the
    Kenward-Roger adjustment reads the same summaries instead of building them again.
    The optimisation of one covariance structure, method and control is run once:
    fits that differ only in ``df`` or ``vcov`` (which the estimates of the covariance
    parameters do not depend on) read its result (read-only arrays).
    `data` must not change between fits (the design read from it is kept).

    Parameters
    ----------
    data, formula, subject, visit, group, weights
        As in :func:`fit_mmrm`.
    """

    def __init__(
        self,
        data: pd.DataFrame,
        formula: str,
        *,
        subject: str,
        visit: str,
        group: str | None = None,
        weights: str | None = None,
    ) -> None:
        self._args = (data, formula, subject, visit, group, weights)
        self._design: tuple[Design, ModelArrays] | None = None
        self._patterns: PatternData | None = None
        self._engine: dict[tuple[str, str, EngineControl, str], EngineFit] = {}

    def fit(
        self,
        covariance: str = "us",
        method: str = "reml",
        df: str = "satterthwaite",
        control: FitControl | None = None,
        vcov: str = "model-based",
    ) -> MMRMResult:
        """Fit the MMRM with these options (as :func:`fit_mmrm`, which documents them)."""
        return self._fit(covariance, method, df, control, vcov, stacklevel=3)

    def _built(self) -> tuple[Design, ModelArrays]:
        """Return the design and its model arrays, built on the first call."""
        if self._design is None:
            data, formula, subject, visit, group, weights = self._args
            design = build_design(
                data, formula, subject=subject, visit=visit, group=group, weights=weights
            )
            arrays = ModelArrays(
                X=design.x_kept,
                y=design.y,
                subject=design.subject,
                visit=design.visit,
                n_visits=len(design.visit_levels),
                group=design.group,
                n_groups=len(design.group_levels) if design.group_levels is not None else 1,
                weights=design.weights,
            )
            self._design = (design, arrays)
        return self._design

    def _fit(
        self,
        covariance: str,
        method: str,
        df: str,
        control: FitControl | None,
        vcov: str,
        stacklevel: int,
    ) -> MMRMResult:
        control = check_options(covariance, method, df, control, vcov)
        engine_control = EngineControl(
            optimizers=control.optimizers,
            max_iter=control.max_iter,
            decrement_tol=control.tolerance,
            start=control.start,
        )
        # the whole fit under the engine's BLAS thread limit (set once here): the design's
        # QR (aliasing) and the inference are small matrices too, where threads only cost
        with blas_threads(engine_control.blas_threads):
            return self._limited(covariance, method, df, engine_control, vcov, stacklevel + 1)

    def _limited(
        self,
        covariance: str,
        method: str,
        df: str,
        engine_control: EngineControl,
        vcov: str,
        stacklevel: int,
    ) -> MMRMResult:
        """`_fit` inside its BLAS thread limit."""
        design, arrays = self._built()
        _check_support(design, covariance)
        if self._patterns is None:
            self._patterns = pattern_data(arrays)
        fit = self._engine_fit(covariance, method, engine_control)
        notes = list(design.warnings) + list(fit.warnings)
        if not fit.converged:
            warnings.warn(
                ConvergenceWarning(
                    f"fit_mmrm: {covariance} covariance did not converge; tried "
                    + "; ".join(f"{n} ({m})" for n, m in fit.tried)
                    + ". Estimates are NaN; try FitControl(start=...), more iterations or a "
                    "simpler covariance"
                ),
                stacklevel=stacklevel,
            )
        formula = self._args[1]
        return _assemble(design, (arrays, self._patterns), fit, df, formula, notes, vcov)

    def _engine_fit(self, covariance: str, method: str, control: EngineControl) -> EngineFit:
        """Return the engine's fit of these options, optimised on the first call.

        Its arrays are made read-only: every result of this design with these options
        shares them.
        """
        key = (covariance, method, control, repr(control.start))  # repr: -0.0 is not 0.0
        fit = self._engine.get(key)
        if fit is None:
            assert self._patterns is not None  # built by the caller first
            fit = fit_patterns(self._patterns, covariance, method, control)
            for value in vars(fit).values():
                if isinstance(value, np.ndarray):
                    value.flags.writeable = False
            self._engine[key] = fit
        return fit


def _check_support(design: Design, covariance: str) -> None:
    """Refuse fits whose estimates the data cannot support, with a clear message."""
    n_subj = len(design.subject_levels)
    if n_subj < 2:
        who = design.subject_levels[0] if n_subj else None
        raise ModelSpecError(
            f"only one subject ({who!r}) has analysable data; an MMRM needs at least two "
            "subjects (see MMRMResult.excluded of a larger data set for what was left out)"
        )
    if design.y.size <= design.x_kept.shape[1]:
        raise ModelSpecError(
            f"{design.y.size} observations for {design.x_kept.shape[1]} fixed-effect "
            "coefficients: no residual information; simplify the formula"
        )
    if covariance not in _HETEROGENEOUS:
        return
    groups = design.group if design.group is not None else np.zeros(n_subj, dtype=np.intp)
    per_row_group = groups[design.subject]
    n_groups = int(groups.max()) + 1
    counts = np.zeros((n_groups, len(design.visit_levels)), dtype=int)
    np.add.at(counts, (per_row_group, design.visit), 1)
    g, v = np.nonzero(counts == 1)
    if g.size:
        row = np.flatnonzero((per_row_group == g[0]) & (design.visit == v[0]))[0]
        who = design.subject_levels[int(design.subject[row])]
        where = f" in group {design.group_levels[int(g[0])]!r}" if design.group_levels else ""
        raise ModelSpecError(
            f"visit {design.visit_levels[int(v[0])]!r} has data from one subject only "
            f"({who!r}){where}: the {covariance} covariance has a variance for that visit, "
            "which one subject cannot estimate. Drop the visit, or use a structure with "
            "a common variance (cs, ar1, toep, ad)"
        )


def _ic(fit: EngineFit, design: Design) -> tuple[float, float]:
    """SAS's AIC and BIC (REML counts covariance parameters; ML adds the rank of X)."""
    k = fit.n_theta + (design.x_kept.shape[1] if fit.method == "ml" else 0)
    dev = -2.0 * fit.loglik
    return dev + 2.0 * k, dev + k * math.log(design.n_subjects_read)


def _assemble(
    design: Design,
    data: tuple[ModelArrays, PatternData],
    fit: EngineFit,
    df_method: str,
    formula: str,
    notes: list[str],
    vcov: str = "model-based",
) -> MMRMResult:
    arrays, patterns = data
    inf = make_inference(df_method, fit, arrays, design, vcov, patterns=patterns)
    p = len(design.column_names)
    kept = design.kept
    est, se, ddf = np.full(p, np.nan), np.full(p, np.nan), np.full(p, np.nan)
    e, s, d = inf.t_rows(np.eye(int(kept.sum())))
    est[kept], se[kept], ddf[kept] = e, s, d
    usable = inf.usable
    aic, bic = _ic(fit, design) if usable else (np.nan, np.nan)
    sigma = fit.sigma if usable else np.full_like(fit.sigma, np.nan)
    # a fit that did not converge already carries the engine's note (fit.warnings)
    if not usable and fit.converged:
        notes.append(
            "the fit did not converge; tried: " + "; ".join(f"{n} ({m})" for n, m in fit.tried)
        )
    return MMRMResult(
        formula=formula,
        method=fit.method,
        covariance_structure=fit.covariance,
        df_method=df_method,
        loglik=float(fit.loglik) if usable else np.nan,
        aic=float(aic),
        bic=float(bic),
        n_obs=int(design.y.size),
        n_subjects=len(design.subject_levels),
        converged=bool(fit.converged),
        iterations=int(fit.iterations),
        optimizer=fit.optimizer,
        warnings=tuple(dict.fromkeys(notes)),
        _design=design,
        _inference=inf,
        _coef_estimate=est,
        _coef_std_error=se,
        _coef_df=ddf,
        _covariance_matrices=tuple(np.array(s_, copy=True) for s_ in sigma),
    )
