"""The imputation model: an MMRM fitted once, then on jackknife or bootstrap samples.

The fits use the project's MMRM engine (``efficacy.mmrm.engine``, REML). The pattern
summaries of the data are built once; a jackknife or bootstrap sample changes only how
many times each subject counts (``resample_patterns``), and every refit starts from the
full-data optimum. Outcomes after an event handled by a non-MAR strategy are left out
of every fit, as rbmi does.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from efficacy.errors import ModelSpecError
from efficacy.mmrm._likelihood import PatternData, resample_patterns
from efficacy.mmrm._threads import blas_threads
from efficacy.mmrm.engine import EngineControl, EngineFit, ModelArrays, fit_patterns, pattern_data
from efficacy.rbmi._data import Prepared

__all__ = ["Draws", "ImputationModel", "bootstrap_counts", "fit_imputation_model"]


@dataclass(frozen=True)
class ImputationModel:
    """The full-data fit and what its resamples reuse."""

    data: PatternData
    fit: EngineFit
    fit_subjects: np.ndarray  # (N_fit,) subjects with at least one fitted outcome
    covariance: str


@dataclass(frozen=True)
class Draws:
    """Parameters of the imputation model per sample, and each sample's subject counts."""

    beta: np.ndarray  # (S, p)
    sigma: np.ndarray  # (S, m, m)
    counts: np.ndarray  # (S, N) times each subject is in the sample
    n_failed: int


def fit_imputation_model(prep: Prepared, covariance: str) -> ImputationModel:
    """Fit the MMRM to the outcomes before non-MAR events (REML)."""
    rows = prep.fit_rows
    fit_subjects = np.flatnonzero(rows.any(axis=1))
    code = np.full(rows.shape[0], -1)
    code[fit_subjects] = np.arange(fit_subjects.size)
    subj_idx, visit_idx = np.nonzero(rows)
    arrays = ModelArrays(
        X=prep.x_own[rows],
        y=prep.y[rows],
        subject=code[subj_idx],
        visit=visit_idx,
        n_visits=rows.shape[1],
    )
    data = pattern_data(arrays)
    fit = fit_patterns(data, covariance, "reml", EngineControl())
    if not fit.converged:
        raise ModelSpecError(
            f"reference_based: the imputation MMRM ({covariance} covariance) did not converge "
            "on the full data; tried " + "; ".join(f"{n} ({m})" for n, m in fit.tried)
        )
    return ImputationModel(data, fit, fit_subjects, covariance)


def _refit(model: ImputationModel, counts: np.ndarray) -> EngineFit | None:
    """Fit to the sample in which subject ``i`` counts ``counts[i]`` times (None: failed)."""
    control = EngineControl(
        start=tuple(model.fit.theta.tolist()), second_start=False, blas_threads=None
    )
    fit_counts = counts[model.fit_subjects]
    if np.all(fit_counts == 1):
        return model.fit
    try:
        data = resample_patterns(model.data, fit_counts)
        fit = fit_patterns(data, model.covariance, "reml", control)
    except ModelSpecError:
        return None
    return fit if fit.converged else None


def jackknife(model: ImputationModel, n_subjects: int, subjects: tuple[object, ...]) -> Draws:
    """Fit the full data, then the data without each subject in turn (rbmi's jackknife)."""
    with blas_threads(1):
        return _jackknife(model, n_subjects, subjects)


def _jackknife(model: ImputationModel, n_subjects: int, subjects: tuple[object, ...]) -> Draws:
    betas, sigmas = [model.fit.beta], [model.fit.sigma[0]]
    counts = np.ones((n_subjects + 1, n_subjects), dtype=np.int64)
    for i in range(n_subjects):
        counts[i + 1, i] = 0
        fit = _refit(model, counts[i + 1])
        if fit is None:
            raise ModelSpecError(
                f"reference_based: the imputation MMRM failed to fit after leaving out subject "
                f"{subjects[i]!r}; use a simpler covariance"
            )
        betas.append(fit.beta)
        sigmas.append(fit.sigma[0])
    return Draws(np.array(betas), np.array(sigmas), counts, 0)


def bootstrap_counts(group: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Draw the subject counts of a bootstrap sample, stratified by group (as rbmi does)."""
    counts = np.zeros(group.size, dtype=np.int64)
    for g in np.unique(group):
        members = np.flatnonzero(group == g)
        picks = rng.integers(0, members.size, size=members.size)
        counts += np.bincount(members[picks], minlength=group.size)
    return counts


def bootstrap(
    model: ImputationModel,
    group: np.ndarray,
    n_samples: int,
    seeds: np.random.SeedSequence,
    include_full: bool,
) -> tuple[Draws, list[np.random.SeedSequence]]:
    """``n_samples`` fits to bootstrap samples (the full-data fit first if asked).

    Sample ``k`` draws its subjects from the ``k``-th child of ``seeds``; a sample whose
    fit fails is replaced by the next child, at most ``ceil(n_samples / 100)`` times
    (rbmi's default threshold). Returns the draws and each kept sample's seed (its
    random imputation uses a child of it), so results never depend on how the work is
    split.
    """
    with blas_threads(1):
        return _bootstrap(model, group, n_samples, seeds, include_full)


def _bootstrap(
    model: ImputationModel,
    group: np.ndarray,
    n_samples: int,
    seeds: np.random.SeedSequence,
    include_full: bool,
) -> tuple[Draws, list[np.random.SeedSequence]]:
    limit = math.ceil(0.01 * n_samples)
    betas, sigmas, all_counts = [], [], []
    kept: list[np.random.SeedSequence] = []
    if include_full:
        betas.append(model.fit.beta)
        sigmas.append(model.fit.sigma[0])
        all_counts.append(np.ones(group.size, dtype=np.int64))
    failed = 0
    while len(kept) < n_samples:
        (child,) = seeds.spawn(1)
        counts = bootstrap_counts(group, np.random.default_rng(child))
        fit = _refit(model, counts)
        if fit is None:
            failed += 1
            if failed > limit:
                raise ModelSpecError(
                    f"reference_based: the imputation MMRM failed on {failed} bootstrap "
                    f"samples (at most {limit} may fail); use a simpler covariance"
                )
            continue
        betas.append(fit.beta)
        sigmas.append(fit.sigma[0])
        all_counts.append(counts)
        kept.append(child)
    draws = Draws(np.array(betas), np.array(sigmas), np.array(all_counts), failed)
    return draws, kept


def fit_counts(model: ImputationModel, counts: np.ndarray) -> Draws:
    """Fits to given samples (rows of subject counts), e.g. another program's bootstrap."""
    betas, sigmas = [], []
    with blas_threads(1):
        for k, row in enumerate(counts):
            fit = _refit(model, row)
            if fit is None:
                raise ModelSpecError(f"reference_based: the imputation MMRM failed on sample {k}")
            betas.append(fit.beta)
            sigmas.append(fit.sigma[0])
    return Draws(np.array(betas), np.array(sigmas), np.asarray(counts, dtype=np.int64), 0)
