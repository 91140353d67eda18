"""The MMRM of one endpoint: formula by design, covariance fallback, contrasts, LS means."""

from __future__ import annotations

import math
import warnings
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd

from efficacy.analysis.data import ModelData
from efficacy.analysis.plan import TrialPlan
from efficacy.errors import ConvergenceWarning, EfficacyError
from efficacy.mmrm import MMRMResult
from efficacy.mmrm.fit import DesignFits
from efficacy.mmrm.inference import t_columns, t_sf
from efficacy.protocol.analysis_params import ModelSettings

__all__ = ["MODEL_COLUMNS", "EndpointFit", "fit_endpoint", "formula_for"]

#: Columns of :attr:`efficacy.AnalysisResult.models` (one row per endpoint x population).
MODEL_COLUMNS: tuple[str, ...] = (
    "endpoint",
    "population",
    "formula",
    "method",
    "covariance_planned",
    "covariance",
    "df_method",
    "converged",
    "iterations",
    "optimizer",
    "n_subjects",
    "n_obs",
    "neg2_loglik",
    "aic",
    "bic",
    "notes",
)


@dataclass(frozen=True)
class EndpointFit:
    """One endpoint's MMRM in one population.

    Attributes
    ----------
    fit : MMRMResult or None
        The fit used (None when every structure failed).
    formula : str
    covariance : str
        Structure of `fit` (after any fallback).
    notes : tuple of str
    contrasts : pandas.DataFrame
        ``visit``, ``comparison``, ``active_arm``, ``control_arm``, ``estimate``,
        ``std_error``, ``df``, ``p_value``, ``conf_low``, ``conf_high``, ``n_active``,
        ``n_control`` (split-face: ``active_arm`` is the arm of the treated site). A new
        frame on each access; `contrast_records` gives its rows without one.
    lsmeans : pandas.DataFrame
        ``arm``, ``visit``, ``estimate``, ``std_error``, ``df``, ``conf_low``,
        ``conf_high`` (split-face: ``arm`` is the treated-minus-control difference). A
        new frame on each access; `lsmeans_columns` gives its columns without one.
    """

    fit: MMRMResult | None
    formula: str
    covariance: str
    notes: tuple[str, ...]
    # the frames' columns (arrays, lists or one scalar for every row), as pd.DataFrame takes them
    _contrast_cols: Mapping[str, Any]
    _lsmeans_cols: Mapping[str, Any]

    @property
    def contrasts(self) -> pd.DataFrame:
        """The per-visit comparisons (see the class attributes); a new frame."""
        if not self._contrast_cols:
            return pd.DataFrame(columns=["visit", "comparison", "estimate"])
        return pd.DataFrame(dict(self._contrast_cols))

    @property
    def lsmeans(self) -> pd.DataFrame:
        """The LS means (see the class attributes); a new frame."""
        if not self._lsmeans_cols:
            return pd.DataFrame(columns=["visit", "comparison", "estimate"])
        return pd.DataFrame(dict(self._lsmeans_cols))

    def contrast_records(self) -> list[dict[str, Any]]:
        """Rows of `contrasts` as dicts of plain Python values, without building the frame.

        Each value is what ``contrasts.itertuples()`` gives for it (``float``, ``int``,
        ``str``).
        """
        return _records(self._contrast_cols)

    def lsmeans_columns(self) -> dict[str, list[Any]]:
        """Columns of `lsmeans` as lists of plain Python values (one entry per row)."""
        return _columns(self._lsmeans_cols)

    def spec(self, model: ModelSettings) -> dict[str, Any]:
        """Return the model specification and convergence record (:data:`MODEL_COLUMNS`).

        Parameters
        ----------
        model : ModelSettings
            The plan's model settings (``covariance``, ``fallback``, ``method``, ``df``).

        Returns
        -------
        dict
            Without ``endpoint`` and ``population``. A failed fit (no structure
            converged) has ``covariance = "none"``, ``converged = False`` and NaN for the
            fit statistics; its notes say what was tried.
        """
        f = self.fit
        nan = math.nan
        return {
            "formula": self.formula,
            "method": model.method.upper(),
            "covariance_planned": " -> ".join(_order(model)),
            "covariance": self.covariance,
            "df_method": f.df_method if f is not None else model.df,
            "converged": bool(f is not None and f.converged),
            "iterations": f.iterations if f is not None else nan,
            "optimizer": f.optimizer if f is not None else "",
            "n_subjects": f.n_subjects if f is not None else nan,
            "n_obs": f.n_obs if f is not None else nan,
            "neg2_loglik": -2.0 * f.loglik if f is not None else nan,
            "aic": f.aic if f is not None else nan,
            "bic": f.bic if f is not None else nan,
            "notes": "; ".join([*self.notes, *(f.warnings if f is not None else ())]),
        }


def _columns(cols: Mapping[str, Any]) -> dict[str, list[Any]]:
    """Columns as lists of plain Python values: a scalar is repeated for every row."""
    n = max((len(v) for v in cols.values() if isinstance(v, np.ndarray | list)), default=0)
    out: dict[str, list[Any]] = {}
    for k, v in cols.items():
        if isinstance(v, np.ndarray):
            out[k] = v.tolist()  # what iterating its frame column gives: Python scalars
        elif isinstance(v, list):
            out[k] = list(v)
        else:
            out[k] = [v] * n
    return out


def _records(cols: Mapping[str, Any]) -> list[dict[str, Any]]:
    """Rows of the columns `cols` as dicts (see `_columns`)."""
    lists = _columns(cols)
    return [dict(zip(lists, row, strict=True)) for row in zip(*lists.values(), strict=True)]


def _order(model: ModelSettings) -> list[str]:
    """Return the declared covariance order: the planned structure, then its fallbacks."""
    return [model.covariance, *[c for c in model.fallback if c != model.covariance]]


def formula_for(plan: TrialPlan, covariates: tuple[str, ...]) -> str:
    """Return the prespecified model formula of the trial's design.

    Parallel: ``change ~ baseline + arm * visit (+ covariates)``; split-face:
    ``change ~ baseline + visit (+ covariates)`` where ``change`` and ``baseline`` are
    within-subject differences (treated minus control site). ``baseline`` is left out
    when the plan says ``adjust_baseline = false``.
    """
    terms = ["baseline"] if plan.model.adjust_baseline else []
    terms += list(covariates)
    terms.append("arm * visit" if plan.design == "parallel" else "visit")
    return "change ~ " + " + ".join(terms)


def _try_fits(
    frame: pd.DataFrame, formula: str, model: ModelSettings
) -> tuple[MMRMResult | None, list[str]]:
    notes: list[str] = []
    order = _order(model)
    fits = DesignFits(frame, formula, subject="subject_id", visit="visit")  # one design
    for i, cov in enumerate(order):
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", ConvergenceWarning)
                fit = fits.fit(cov, method=model.method, df=model.df, vcov=model.vcov)
        except (EfficacyError, np.linalg.LinAlgError, FloatingPointError) as exc:
            notes.append(f"{cov} covariance could not be fitted ({exc})")
            continue
        if fit.converged:
            if i:
                notes.append(f"fell back to {cov} covariance (declared order {' -> '.join(order)})")
            return fit, notes
        singular = any("tends to singular" in w for w in fit.warnings)
        why = " (its estimate tends to singular: more parameters than the data support)"
        notes.append(f"{cov} covariance did not converge" + (why if singular else ""))
    return None, notes


def _counts(
    frame: pd.DataFrame, plan: TrialPlan
) -> tuple[np.ndarray, dict[Any, int], dict[Any, int]]:
    """Subjects with a usable row per visit (rows) and arm (columns), as int64.

    Equal to ``groupby(["visit", "arm"], observed=False)["subject_id"].nunique()``
    unstacked, counted with numpy; returned with the position of each visit and arm
    level (the frame's categories).
    """
    need = ["change", "baseline"] if plan.model.adjust_baseline else ["change"]
    ok = np.logical_and.reduce([~pd.isna(frame[c].to_numpy()) for c in need])
    visit, arm = frame["visit"].array, frame["arm"].array
    v, a = visit.codes[ok].astype(np.int64), arm.codes[ok].astype(np.int64)
    sid = pd.factorize(frame["subject_id"].to_numpy(dtype=object))[0][ok].astype(np.int64)
    n_v, n_a = len(visit.categories), len(arm.categories)
    use = (v >= 0) & (a >= 0) & (sid >= 0)
    cell = np.unique((v[use] * n_a + a[use]) * (int(sid.max(initial=0)) + 1) + sid[use])
    cell //= int(sid.max(initial=0)) + 1
    n = np.bincount(cell, minlength=n_v * n_a).astype(np.int64).reshape(n_v, n_a)
    rows = {level: i for i, level in enumerate(visit.categories)}
    return n, rows, {level: j for j, level in enumerate(arm.categories)}


_CONTRAST_COLUMNS = ["estimate", "std_error", "df", "p_value", "conf_low", "conf_high"]


def _results(
    fit: MMRMResult, data: ModelData, plan: TrialPlan, lsmeans: bool = True
) -> tuple[dict[str, Any], dict[str, Any]]:
    """Per-visit comparisons with their counts, and the LS means (see `EndpointFit`).

    The numbers are those of ``fit.contrast("arm", by="visit", method="reference",
    ref=control)`` and ``fit.lsmeans("arm", by="visit")`` (split-face: both from
    ``fit.lsmeans("visit")``), read from the fit's arrays (one LS-means grid, computed
    once), as the columns of the two frames (`EndpointFit`). Without `lsmeans` the
    LS-means columns of a parallel design are not computed (empty).
    """
    n, visit_pos, arm_pos = _counts(data.frame, plan)
    level = plan.level
    if plan.design == "parallel":
        grid, labels, anchor, (c_est, c_se, c_df) = fit._contrast_arrays(
            "arm", "visit", "reference", plan.control
        )
        arm_of = {f"{a} - {plan.control}": a for a in plan.actives}
        active = [arm_of[s] for s in labels]  # our own labels, each known
        visit_text = grid.text("visit")
        visits = [visit_text[i] for i in anchor]
        rows = [visit_pos[v] for v in grid.values("visit")[anchor]]
        cols: dict[str, Any] = {
            "visit": visits,
            "comparison": [f"{a} vs {plan.control}" for a in active],
            "active_arm": active,
            "control_arm": plan.control,
        }
        t = t_columns(c_est, c_se, c_df, level)
        stats = {"estimate": c_est, "std_error": c_se, "df": c_df, **t}
        cols.update((k, stats[k]) for k in _CONTRAST_COLUMNS)
        cols["n_active"] = n[rows, [arm_pos[a] for a in active]]
        cols["n_control"] = n[rows, arm_pos[plan.control]]
        if not lsmeans:
            return cols, {}
        grid, est, se, df = fit._lsmeans_arrays("arm", by="visit")
        lsm_cols: dict[str, Any] = {"arm": grid.text("arm"), "visit": grid.text("visit")}
    else:
        grid, est, se, df = fit._lsmeans_arrays("visit", by=None)
        treated = "/".join(plan.actives)
        lsm_cols = {
            "arm": f"{treated} - {plan.control} (within subject)",
            "visit": grid.text("visit"),
        }
        per_visit = n.sum(axis=1)[[visit_pos[v] for v in grid.values("visit")]]
        cols = {
            "visit": grid.text("visit"),
            "comparison": f"{treated} site vs {plan.control} site",
            "active_arm": treated,
            "control_arm": plan.control,
        }
        t = t_columns(est, se, df, level)
        p = _two_sided_t(est, se, df)
        stats = {"estimate": est, "std_error": se, "df": df, **t, "p_value": p}
        cols.update((k, stats[k]) for k in _CONTRAST_COLUMNS)
        cols["n_active"] = per_visit
        cols["n_control"] = per_visit
    lim = t_columns(est, se, df, level)
    lsm_cols.update(estimate=est, std_error=se, df=df)
    lsm_cols.update(conf_low=lim["conf_low"], conf_high=lim["conf_high"])
    return cols, lsm_cols


def _two_sided_t(
    est: npt.NDArray[np.float64], se: npt.NDArray[np.float64], df: npt.NDArray[np.float64]
) -> npt.NDArray[np.float64]:
    t = est / se
    p: npt.NDArray[np.float64] = 2.0 * t_sf(np.abs(t), df)
    return p


def fit_endpoint(data: ModelData, plan: TrialPlan, *, lsmeans: bool = True) -> EndpointFit:
    """Fit the plan's MMRM to one endpoint, falling back along the declared order.

    Parameters
    ----------
    data : ModelData
    plan : TrialPlan
    lsmeans : bool
        Compute the LS means (default); without, a parallel design's
        `EndpointFit.lsmeans` is empty (for callers that read the contrasts only).

    Returns
    -------
    EndpointFit
        Empty contrasts and LS means (and a note) when no structure converged.
    """
    covs = tuple(c for c in plan.settings.covariates if c in data.frame.columns)
    formula = formula_for(plan, covs)
    fit, notes = _try_fits(data.frame, formula, plan.model)
    if fit is None:
        return EndpointFit(None, formula, "none", tuple(notes), {}, {})
    n_excl = len(fit._design.exclusions)  # the count, without building fit.excluded
    if n_excl:
        reasons = ", ".join(sorted(set(fit.excluded["reason"].astype(str))))
        notes.append(f"{n_excl} rows excluded from the fit ({reasons})")
    contrast_cols, lsmeans_cols = _results(fit, data, plan, lsmeans)
    return EndpointFit(
        fit=fit,
        formula=formula,
        covariance=fit.covariance_structure,
        notes=tuple(notes),
        _contrast_cols=contrast_cols,
        _lsmeans_cols=lsmeans_cols,
    )
