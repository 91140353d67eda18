"""The plan's reference-based sensitivity analyses (``[[analysis.sensitivity.reference_based]]``).

For each declared analysis of an endpoint in a population, :func:`reference_based_analysis`
calls :func:`efficacy.reference_based` on the data the endpoint's MMRM analysed (after the
estimand's strategies), with

- the imputation model: the primary MMRM's mean model in rbmi's form, ``change ~
  baseline * visit (+ covariates) + arm * visit`` (no baseline term when the plan says
  ``adjust_baseline = false``), with the covariance structure the MMRM used;
- the intercurrent events of :func:`efficacy.analysis.intercurrent_events` as the
  ``events`` frame: each participant's earliest event placed at the first analysed
  visit it affects, with the strategy the declaration gives that event (at the same
  visit a non-MAR strategy wins, then the event name decides);
- the references declared, over the default (every arm's reference is the control);
- the ANCOVA per visit on the baseline (and covariates), rbmi's pooling.

The pooled differences become rows of the result's estimates (``analysis =
"reference_based"``, the estimand at the final visit); the whole pooled result, LS
means included, is kept on :attr:`efficacy.AnalysisResult.reference_based`.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from efficacy.analysis.data import ModelData
from efficacy.analysis.plan import TrialPlan
from efficacy.analysis.result import row_estimand
from efficacy.errors import EfficacyError, ProtocolError
from efficacy.protocol.reference_based import ReferenceBasedSpec
from efficacy.rbmi import ReferenceBasedResult, reference_based

__all__ = [
    "ReferenceBasedAnalysis",
    "check_references_fit",
    "reference_based_analysis",
    "reference_events",
]


@dataclass(frozen=True)
class ReferenceBasedAnalysis:
    """One reference-based sensitivity analysis the plan ran.

    Attributes
    ----------
    spec : ReferenceBasedSpec
        The declaration (:mod:`efficacy.protocol.reference_based`).
    endpoint, population : str
    formula : str
        The imputation model's mean.
    covariance : str
        Its covariance structure (the one the endpoint's MMRM used).
    references : dict
        Each arm's reference arm.
    events : pandas.DataFrame
        The ``events`` frame passed: ``subject_id``, ``visit`` (first visit affected),
        ``strategy``, ``event``.
    result : ReferenceBasedResult
        The pooled differences and LS means (:meth:`ReferenceBasedResult.to_frame`).
    rows : tuple of dict
        The estimate rows it contributed (``analysis = "reference_based"``).
    notes : tuple of str
    """

    spec: ReferenceBasedSpec
    endpoint: str
    population: str
    formula: str
    covariance: str
    references: dict[str, str]
    events: pd.DataFrame = field(repr=False)
    result: ReferenceBasedResult = field(repr=False)
    rows: tuple[dict[str, Any], ...] = field(repr=False)
    notes: tuple[str, ...] = ()

    def to_frame(self) -> pd.DataFrame:
        """Return the pooled result with its endpoint, population, strategy and estimand.

        Columns ``endpoint``, ``population``, ``strategy`` (the spec's label),
        ``estimand`` (final-visit differences) then :data:`efficacy.rbmi.RESULT_COLUMNS`.
        """
        f = self.result.to_frame()
        est = {
            (r["visit"], f"{r['active_arm']} - {r['control_arm']}"): r["estimand"]
            for r in self.rows
        }
        tags = [est.get((v, g), "") for v, g in zip(f["visit"], f["group"], strict=True)]
        f.insert(0, "estimand", tags)
        f.insert(0, "strategy", self.spec.label)
        f.insert(0, "population", self.population)
        f.insert(0, "endpoint", self.endpoint)
        return f

    def to_dict(self) -> dict[str, Any]:
        """Plain data: settings, events used, the pooled table (NaN / inf as None)."""
        from efficacy._records import records

        r = self.result
        return {
            "endpoint": self.endpoint,
            "population": self.population,
            "label": self.spec.label,
            "settings": self.spec.to_dict(),
            "formula": self.formula,
            "covariance": self.covariance,
            "references": dict(self.references),
            "method": r.method,
            "resampling": r.resampling,
            "pooling": r.pooling,
            "n_samples": r.n_samples,
            "n_failed": r.n_failed,
            "seed": r.seed,
            "strategies": dict(r.strategies),
            "conf_level": r.conf_level,
            "notes": list(self.notes),
            "events": records(self.events),
            "table": records(self.to_frame()),
        }


def check_references_fit(plan: TrialPlan) -> None:
    """Check the declared references against the trial's arms.

    Raises
    ------
    ProtocolError
        A reference-based analysis names an arm the trial does not have.
    """
    arms = (plan.control, *plan.actives)
    problems = []
    for i, spec in enumerate(plan.settings.sensitivity.reference_based, start=1):
        bad = sorted({a for pair in spec.references for a in pair if a not in arms})
        if bad:
            problems.append(
                f"[analysis.sensitivity.reference_based] #{i} references name arms {bad} this "
                f"trial does not have; use {', '.join(arms)}"
            )
    if problems:
        raise ProtocolError("[analysis]", problems)


def reference_events(
    frame: pd.DataFrame, events: pd.DataFrame, spec: ReferenceBasedSpec, visit_order: list[str]
) -> pd.DataFrame:
    """Return the ``events`` frame of one analysis: a row per participant with an event.

    Parameters
    ----------
    frame : pandas.DataFrame
        The model frame (``subject_id``, ``visit`` Categorical of the analysed visits).
    events : pandas.DataFrame
        :func:`efficacy.analysis.intercurrent_events`.
    spec : ReferenceBasedSpec
        Gives each event its strategy.
    visit_order : list of str
        The schedule, baseline first.

    Returns
    -------
    pandas.DataFrame
        ``subject_id``, ``visit`` (the first analysed visit at or after the event's),
        ``strategy``, ``event``. Events after the last analysed visit, and of
        participants not in `frame`, have no row.
    """
    analysed = list(frame["visit"].cat.categories)
    index = {v: i for i, v in enumerate(visit_order)}
    pos = np.asarray([index[v] for v in analysed], dtype=float)
    ev = events[events["subject_id"].isin(set(frame["subject_id"])) & events["visit"].isin(index)]
    at = np.searchsorted(pos, ev["visit"].map(index).to_numpy(float), side="left")
    strategy = [spec.strategy_of(str(e)) for e in ev["event"]]
    out = pd.DataFrame(
        {
            "subject_id": ev["subject_id"].astype(str).to_numpy(object),
            "_at": at,
            "_mar": [s == "MAR" for s in strategy],
            "event": ev["event"].astype(str).to_numpy(object),
            "strategy": strategy,
        }
    )
    out = out[out["_at"] < len(analysed)]
    out = out.sort_values(["subject_id", "_at", "_mar", "event"], kind="stable")
    out = out.drop_duplicates("subject_id").reset_index(drop=True)
    visit = np.asarray(analysed, dtype=object)[out["_at"].to_numpy(int)]
    return out.assign(visit=visit)[["subject_id", "visit", "strategy", "event"]]


def _formula(plan: TrialPlan, covs: list[str]) -> tuple[str, list[str]]:
    base = ["baseline"] if plan.model.adjust_baseline else []
    terms = [*(f"{b} * visit" for b in base), *covs, "arm * visit"]
    return "change ~ " + " + ".join(terms), [*base, *covs]


def reference_based_analysis(
    data: ModelData,
    plan: TrialPlan,
    spec: ReferenceBasedSpec,
    key: tuple[str, str, str],
    events: pd.DataFrame,
    covariance: str,
    visit_order: list[str],
) -> ReferenceBasedAnalysis:
    """Run one declared reference-based analysis of an endpoint (module notes).

    Parameters
    ----------
    data : ModelData
        The endpoint's model data in the population, after the estimand's strategies.
    plan : TrialPlan
    spec : ReferenceBasedSpec
    key : (endpoint, role, population)
    events : pandas.DataFrame
        :func:`efficacy.analysis.intercurrent_events` of the trial.
    covariance : str
        Covariance structure of the imputation MMRM.
    visit_order : list of str
        The trial's schedule, baseline first.

    Raises
    ------
    EfficacyError
        A split-face trial (no reference arm), or what :func:`efficacy.reference_based`
        raises on these data (e.g. too few participants to fit the imputation model).
    """
    endpoint, _, pop = key
    if plan.design != "parallel":
        raise EfficacyError(
            "reference-based imputation needs a reference arm: a split-face trial has none "
            "(parallel designs only)"
        )
    covs = list(plan.settings.covariates)
    formula, ancova = _formula(plan, covs)
    frame = data.frame[["subject_id", "arm", "visit", "baseline", "change", *covs]]
    ev = reference_events(frame, events, spec, visit_order)
    refs = {a: plan.control for a in (plan.control, *plan.actives)} | dict(spec.references)
    res = reference_based(
        frame,
        formula,
        subject="subject_id",
        visit="visit",
        group="arm",
        events=ev[["subject_id", "visit", "strategy"]],
        references=refs,
        method=spec.method,
        resampling=spec.resampling,
        analysis_covariates=ancova,
        covariance=covariance,
        n_samples=spec.n_samples,
        seed=spec.seed,
    )
    notes = _notes(spec, res, ev, refs, plan, data)
    rows = _rows(res, plan, spec, key, frame, (formula, covariance, notes))
    return ReferenceBasedAnalysis(
        spec=spec,
        endpoint=endpoint,
        population=pop,
        formula=formula,
        covariance=covariance,
        references=refs,
        events=ev,
        result=res,
        rows=tuple(rows),
        notes=tuple(notes),
    )


def _notes(
    spec: ReferenceBasedSpec,
    res: ReferenceBasedResult,
    ev: pd.DataFrame,
    refs: Mapping[str, str],
    plan: TrialPlan,
    data: ModelData,
) -> list[str]:
    if spec.method == "approximate-bayes":
        how = (
            f"approximate Bayesian MI, {res.n_samples} imputations (seed {res.seed}), Rubin's rules"
        )
    elif spec.resampling == "bootstrap":
        how = (
            f"conditional mean imputation, {res.n_samples} bootstrap samples (seed {res.seed}), "
            "percentile intervals"
        )
    else:
        how = f"conditional mean imputation, jackknife ({res.n_samples} leave-one-out fits)"
    by = ev.groupby(["event", "strategy"], sort=True)["subject_id"].nunique()
    events = ", ".join(
        f"{e}: {s} ({n} participants)"
        for (e, s), n in zip(by.index.tolist(), by.tolist(), strict=True)
    )
    notes = [
        f"reference-based sensitivity: {how}",
        "strategies: " + (events or f"no intercurrent event (strategy {spec.strategy} unused)"),
        "references: " + ", ".join(f"{a} -> {r}" for a, r in refs.items()),
        "missing values at visits before an event imputed under MAR",
    ]
    if not math.isclose(plan.level, res.conf_level):
        notes.append(
            f"intervals are {100 * res.conf_level:g}% (rbmi's pooling), not the plan's "
            f"{100 * plan.level:g}%"
        )
    notes += [n for n in data.notes if "post-event values not used" in n]
    return notes


def _rows(
    res: ReferenceBasedResult,
    plan: TrialPlan,
    spec: ReferenceBasedSpec,
    key: tuple[str, str, str],
    frame: pd.DataFrame,
    model: tuple[str, str, list[str]],
) -> list[dict[str, Any]]:
    endpoint, role, pop = key
    formula, covariance, notes = model
    declared = plan.settings.estimand_of(endpoint)
    n_arm = frame.drop_duplicates("subject_id")["arm"].astype(str).value_counts()
    table = res.to_frame()
    diff = table[table["parameter"] == "difference"]
    out = []
    for active in plan.actives:
        mine = diff[diff["group"] == f"{active} - {plan.control}"]
        for r in mine.itertuples(index=False):
            final = r.visit == plan.final_visit
            estimand = row_estimand(declared, role, endpoint, pop, active) if final else ""
            out.append(
                {
                    "endpoint": endpoint,
                    "role": role,
                    "population": pop,
                    "visit": r.visit,
                    "comparison": f"{active} vs {plan.control}",
                    "estimate": r.estimate,
                    "std_error": r.std_error,
                    "df": r.df,
                    "conf_low": r.conf_low,
                    "conf_high": r.conf_high,
                    "p_value": r.p_value,
                    "p_adjusted": math.nan,
                    "effect_size": math.nan,
                    "n_active": int(n_arm.get(active, 0)),
                    "n_control": int(n_arm.get(plan.control, 0)),
                    "model": f"reference-based MI ({spec.label}); imputation MMRM {formula}",
                    "covariance": covariance,
                    "converged": True,
                    "notes": "; ".join(notes),
                    "estimand": estimand,
                    "analysis": "reference_based",
                    "active_arm": active,
                    "control_arm": plan.control,
                    "adjustment": "",
                }
            )
    return out
