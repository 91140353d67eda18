"""`reference_based`: reference-based multiple imputation, as R rbmi computes it."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from efficacy.errors import ModelSpecError
from efficacy.mmrm import covariance as cov
from efficacy.rbmi import _analysis, _fit
from efficacy.rbmi._data import STRATEGIES, Prepared, prepare
from efficacy.rbmi._impute import impute
from efficacy.rbmi.result import ReferenceBasedResult

__all__ = ["impute_reference_based", "reference_based"]

METHODS = ("conditional-mean", "approximate-bayes")
RESAMPLING = ("jackknife", "bootstrap")


def _check_options(
    method: str, resampling: str, covariance: str, n_samples: int | None, seed: int | None
) -> int | None:
    if method not in METHODS:
        raise ModelSpecError(f"reference_based: method must be one of {METHODS}, got {method!r}")
    if resampling not in RESAMPLING:
        raise ModelSpecError(
            f"reference_based: resampling must be one of {RESAMPLING}, got {resampling!r}"
        )
    try:
        cov.check_structure(covariance)
    except ModelSpecError as exc:
        raise ModelSpecError(f"reference_based: {exc}") from None
    jack = method == "conditional-mean" and resampling == "jackknife"
    if jack and n_samples is not None:
        raise ModelSpecError(
            "reference_based: n_samples must be None with the jackknife (one sample per subject)"
        )
    if method == "conditional-mean" and resampling == "bootstrap" and n_samples is None:
        raise ModelSpecError(
            "reference_based: the bootstrap needs n_samples (e.g. 1000); none was given"
        )
    if method == "approximate-bayes" and n_samples is None:
        n_samples = 20  # rbmi's method_approxbayes() default
    if n_samples is not None and (not isinstance(n_samples, int | np.integer) or n_samples < 2):
        raise ModelSpecError(
            f"reference_based: n_samples must be an integer >= 2, got {n_samples!r}"
        )
    if seed is not None and (not isinstance(seed, int | np.integer) or seed < 0):
        raise ModelSpecError(f"reference_based: seed must be a non-negative integer, got {seed!r}")
    return None if n_samples is None else int(n_samples)


def reference_based(
    data: pd.DataFrame,
    formula: str,
    *,
    subject: str,
    visit: str,
    group: str,
    events: pd.DataFrame | None,
    references: Mapping[Any, Any] | None,
    method: str = "conditional-mean",
    resampling: str = "jackknife",
    analysis_covariates: Sequence[str] | None = None,
    covariance: str = "us",
    n_samples: int | None = None,
    seed: int | None = None,
) -> ReferenceBasedResult:
    """Reference-based multiple imputation with ANCOVA per visit, as R rbmi 1.5 does.

    Parameters
    ----------
    data : pandas.DataFrame
        Long format, one row per subject and visit; a missing outcome is NaN or an
        absent row (added with the subject's values when every column the models use is
        constant within subjects, else an error asks for the rows). Never modified.
    formula : str
        The imputation model's mean, ``"outcome ~ terms"`` (e.g. ``"chg ~ base * visit +
        arm * visit"``); the outcome is a column, ``group`` enters as a plain factor.
    subject, visit, group : str
        Columns. Visits are ordered as `efficacy.fit_mmrm` orders them; the first group
        (Categorical order, else sorted) is the comparator of the differences.
    events : pandas.DataFrame or None
        Intercurrent events: the data's ``subject`` and ``visit`` columns (the first
        visit affected) and ``strategy`` (``MAR``, ``JR``, ``CR``, ``CIR``, ``LMCF``),
        at most one row per subject. Subjects without a row are imputed under MAR.
        Observed outcomes at or after a non-MAR event are not used to fit the
        imputation model (they are kept in the analysis), as in rbmi.
    references : mapping or None
        Reference group of each group, e.g. ``{"TRT": "PBO", "PBO": "PBO"}``; needed for
        every group with a JR, CR or CIR subject.
    method : {"conditional-mean", "approximate-bayes"}
        Conditional mean imputation (Wolbers et al. 2022) or approximate Bayesian
        multiple imputation (MMRM fits to bootstrap samples, one random imputation of
        the data per fit, Rubin's rules).
    resampling : {"jackknife", "bootstrap"}
        Inference for conditional mean imputation (ignored by approximate Bayes).
    analysis_covariates : sequence of str, optional
        Covariates of the ANCOVA (``outcome ~ covariates + group`` at each visit).
    covariance : str
        Covariance of the imputation MMRM (one matrix for all groups), mmrm's names.
    n_samples : int, optional
        Bootstrap samples (required for ``bootstrap``), or imputations for approximate
        Bayes (default 20, rbmi's); must be None for the jackknife.
    seed : int, optional
        Entropy of the `numpy.random.SeedSequence` the resamples and draws come from;
        sample ``k`` uses its ``k``-th child, so results do not depend on how the work
        is split. None: fresh entropy, recorded on the result.

    Returns
    -------
    ReferenceBasedResult
        `~ReferenceBasedResult.to_frame` has the columns ``parameter`` (``difference``,
        ``lsmean``), ``group``, ``visit``, ``estimate``, ``std_error``, ``df``,
        ``conf_low``, ``conf_high``, ``p_value`` (95% intervals, two-sided p-values).

    Raises
    ------
    ModelSpecError
        Unknown columns, options or strategies; events for subjects or visits not in
        the data; a group without the reference its strategies need; a visit without
        data to fit the imputation model; a fit that fails.

    Notes
    -----
    The imputation MMRM is fitted by REML with the project's engine (`fit_mmrm`'s); the
    jackknife's leave-one-out fits reuse the design and start from the full-data
    optimum. Means under each strategy and the conditional distributions are rbmi's
    (see ``efficacy.rbmi._impute``); pooling is rbmi's ``pool()`` (see
    ``efficacy.rbmi._analysis``). Checked against R rbmi 1.5.2 (mmrm 0.3) on rbmi's
    ``antidepressant_data`` and a simulated cosmetic trial (tests/reference/rbmi).

    References
    ----------
    Wolbers M, Noci A, Delmar P, Gower-Page C, Yiu S, Bartlett JW (2022). Standard and
    reference-based conditional mean imputation. Pharmaceutical Statistics 21:1246-57.
    Carpenter JR, Roger JH, Kenward MG (2013). J Biopharm Stat 23:1352-71.

    Examples
    --------
    >>> import pandas as pd
    >>> from efficacy._examples import repo_path
    >>> text = {"PATIENT": str, "VISIT": str}
    >>> dat = pd.read_csv(repo_path("tests", "reference", "rbmi", "antidepressant.csv"), dtype=text)
    >>> ice = pd.read_csv(repo_path("tests", "reference", "rbmi", "antidepressant_ice.csv"),
    ...                   dtype=text)
    >>> dat["THERAPY"] = pd.Categorical(dat["THERAPY"], ["PLACEBO", "DRUG"])
    >>> res = reference_based(
    ...     dat, "CHANGE ~ BASVAL * VISIT + THERAPY * VISIT", subject="PATIENT",
    ...     visit="VISIT", group="THERAPY", events=ice.assign(strategy="JR"),
    ...     references={"DRUG": "PLACEBO", "PLACEBO": "PLACEBO"},
    ...     analysis_covariates=["BASVAL"])
    >>> frame = res.to_frame()
    >>> frame[frame["parameter"] == "difference"].iloc[:, 2:].round(3)
      visit  estimate  std_error   df  conf_low  conf_high  p_value
    0     4     0.092      0.695  inf    -1.270      1.453    0.895
    3     5    -1.305      0.878  inf    -3.027      0.416    0.137
    6     6    -1.929      0.862  inf    -3.619     -0.239    0.025
    9     7    -2.126      0.858  inf    -3.807     -0.444    0.013
    """
    n_samples = _check_options(method, resampling, covariance, n_samples, seed)
    prep = prepare(
        data,
        formula,
        subject=subject,
        visit=visit,
        group=group,
        events=events,
        references=references,
        analysis_covariates=analysis_covariates,
    )
    model = _fit.fit_imputation_model(prep, covariance)
    entropy: int | None = None
    n_groups = len(prep.group_levels)
    if method == "conditional-mean" and resampling == "jackknife":
        draws = _fit.jackknife(model, prep.y.shape[0], prep.subject_levels)
        y = impute(prep, draws.beta, draws.sigma)
        est, _, _ = _analysis.ancova(y, draws.counts, prep.group, n_groups, prep.covariates)
        pooled, pooling = _analysis.pool_jackknife(est), "jackknife"
    else:
        assert n_samples is not None  # _check_options fills it for these methods
        seeds = np.random.SeedSequence(seed)
        entropy = int(seeds.entropy)  # type: ignore[arg-type]
        full = method == "conditional-mean"
        draws, kept = _fit.bootstrap(model, prep.group, n_samples, seeds, include_full=full)
        if full:
            y = impute(prep, draws.beta, draws.sigma)
            est, _, _ = _analysis.ancova(y, draws.counts, prep.group, n_groups, prep.covariates)
            pooled, pooling = _analysis.pool_bootstrap(est), "bootstrap (percentile)"
        else:
            rngs = [np.random.default_rng(s.spawn(1)[0]) for s in kept]
            y = impute(prep, draws.beta, draws.sigma, rngs)
            ones = np.ones_like(draws.counts)
            est, se, df = _analysis.ancova(y, ones, prep.group, n_groups, prep.covariates)
            pooled, pooling = _analysis.pool_rubin(est, se, df), "rubin"
    n_used = draws.beta.shape[0] - (1 if method == "conditional-mean" else 0)
    return ReferenceBasedResult(
        method=method,
        resampling="bootstrap" if method == "approximate-bayes" else resampling,
        pooling=pooling,
        n_samples=n_used,
        n_failed=draws.n_failed,
        seed=entropy,
        strategies=_strategy_counts(prep),
        references=dict(references or {}),
        imputation_model=f"{formula} ({covariance} covariance, REML)",
        conf_level=0.95,
        _rows=_rows(prep, pooled),
    )


def impute_reference_based(
    data: pd.DataFrame,
    formula: str,
    *,
    subject: str,
    visit: str,
    group: str,
    events: pd.DataFrame | None,
    references: Mapping[Any, Any] | None,
    n_samples: int,
    seed: int,
    covariance: str = "us",
) -> tuple[tuple[Any, ...], tuple[Any, ...], np.ndarray]:
    """Completed data sets of approximate Bayesian reference-based imputation.

    The imputations `reference_based` pools with ``method="approximate-bayes"`` (same
    arguments, same seeds), for analyses of one's own (e.g. a delta-adjusted tipping
    point on top of jump to reference).

    Returns
    -------
    subjects, visits : tuple
        Row and column labels of the outcome matrices (analysis order).
    completed : ndarray, shape (n_samples, n_subjects, n_visits)
        Observed outcomes unchanged, missing ones imputed.
    """
    n = _check_options("approximate-bayes", "bootstrap", covariance, n_samples, seed)
    assert n is not None  # approximate Bayes always has a number of samples
    prep = prepare(
        data,
        formula,
        subject=subject,
        visit=visit,
        group=group,
        events=events,
        references=references,
        analysis_covariates=None,
    )
    model = _fit.fit_imputation_model(prep, covariance)
    draws, kept = _fit.bootstrap(
        model, prep.group, n, np.random.SeedSequence(seed), include_full=False
    )
    rngs = [np.random.default_rng(s.spawn(1)[0]) for s in kept]
    return prep.subject_levels, prep.visit_levels, impute(prep, draws.beta, draws.sigma, rngs)


def _strategy_counts(prep: Prepared) -> dict[str, int]:
    counts = np.bincount(prep.strategy, minlength=len(STRATEGIES))
    return {s: int(c) for s, c in zip(STRATEGIES, counts, strict=True) if c}


def _rows(prep: Prepared, pooled: dict[str, np.ndarray]) -> tuple[tuple[Any, ...], ...]:
    levels = prep.group_levels
    labels = [("difference", f"{g} - {levels[0]}") for g in levels[1:]]
    labels += [("lsmean", g) for g in levels]
    out = []
    j = 0
    for v in prep.visit_levels:
        for parameter, grp in labels:
            values = tuple(float(pooled[c][j]) for c in _COLUMNS)
            out.append((parameter, grp, v, *values))
            j += 1
    return tuple(out)


_COLUMNS = ("estimate", "std_error", "df", "conf_low", "conf_high", "p_value")
