"""The primary estimate by subgroup, with the treatment-by-subgroup interaction test.

For each variable of ``[analysis.subgroups] by`` (Fitzpatrick phototype, sex, age band)
the primary endpoint's model is fitted again within each subgroup of the primary
analysis population (ITT when the plan has it): the same formula, covariance order and
df method as the primary analysis (:func:`efficacy.analysis.models.fit_endpoint`), so a
subgroup's estimate equals a direct :func:`efficacy.fit_mmrm` on that subgroup's
records. A subgroup with fewer than ``min_per_arm`` participants per arm (split-face:
in all) with a final-visit value, or whose model cannot be fitted, is *not estimable*,
with the reason (:mod:`efficacy.analysis.guard`).

The interaction test fits one model to the estimable subgroups together, with the
subgroup crossed with arm and visit (parallel: ``change ~ baseline + arm * subgroup *
visit``; split-face: ``change ~ baseline + subgroup * visit``), and tests that the
treatment difference at the estimand's visit is the same in every subgroup: an F test
of the arm-by-subgroup contrasts at that visit (``r = levels - 1`` rows), with the
plan's df method (Kenward-Roger by default).
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

from efficacy.analysis.data import ModelData, model_data, population
from efficacy.analysis.guard import guarded
from efficacy.analysis.models import _try_fits, fit_endpoint, formula_for
from efficacy.analysis.plan import TrialPlan
from efficacy.errors import EfficacyError
from efficacy.mmrm import MMRMResult
from efficacy.trial import Trial

__all__ = ["SUBGROUP_COLUMNS", "age_band_labels", "subgroup_rows"]

#: Columns of :attr:`efficacy.AnalysisResult.subgroups`, always in this order.
SUBGROUP_COLUMNS: tuple[str, ...] = (
    "endpoint",
    "population",
    "visit",
    "subgroup",
    "level",
    "comparison",
    "active_arm",
    "control_arm",
    "n_active",
    "n_control",
    "estimate",
    "std_error",
    "df",
    "conf_low",
    "conf_high",
    "p_value",
    "status",
    "reason",
    "interaction_statistic",
    "interaction_num_df",
    "interaction_den_df",
    "interaction_p",
    "interaction_note",
    "analysis",
)

_FITZ_ORDER = ("I", "II", "III", "IV", "V", "VI")


def age_band_labels(cuts: tuple[float, ...]) -> list[str]:
    """Return the labels of the age bands cut at `cuts`.

    Examples
    --------
    >>> age_band_labels((35.0, 50.0))
    ['<35', '35 to <50', '>=50']
    """
    c = [f"{x:g}" for x in cuts]
    return [f"<{c[0]}", *(f"{a} to <{b}" for a, b in itertools.pairwise(c)), f">={c[-1]}"]


def _levels(s: pd.DataFrame, variable: str, cuts: tuple[float, ...]) -> pd.Series:
    """Subgroup of each subject (index subject_id); NaN where the value is missing.

    `s` is the population's subjects (one row per subject id: :func:`population`),
    indexed by subject id.
    """
    if variable == "age_band":
        age = pd.to_numeric(s["age"], errors="coerce").to_numpy(float)
        band = np.searchsorted(np.asarray(cuts, float), age, side="right")
        labels = np.asarray(age_band_labels(cuts), dtype=object)
        out = labels[np.minimum(band, len(cuts))]
        out[np.isnan(age)] = None
        cats = list(labels)
        return pd.Series(pd.Categorical(out, categories=cats), index=s.index)
    values = s[variable].astype(object).where(s[variable].notna(), None)
    values = values.map(lambda v: None if v is None or str(v).strip() == "" else str(v))
    present = sorted({v for v in values if v is not None})
    if variable == "fitzpatrick":
        present = [f for f in _FITZ_ORDER if f in present] + [
            v for v in present if v not in _FITZ_ORDER
        ]
    return pd.Series(pd.Categorical(values, categories=present), index=s.index)


def _final_counts(frame: pd.DataFrame, plan: TrialPlan) -> dict[str, int]:
    """Participants with a usable final-visit row, per arm (split-face: ``all``).

    Equal to ``groupby("arm", observed=False)["subject_id"].nunique()`` of those rows
    (missing subject ids not counted), counted with numpy.
    """
    need = ["change", "baseline"] if plan.model.adjust_baseline else ["change"]
    ok = (frame["visit"] == plan.final_visit).to_numpy(bool)
    for c in need:
        ok = ok & ~pd.isna(frame[c].to_numpy())
    sid = pd.factorize(frame["subject_id"].to_numpy(dtype=object))[0]
    ok = ok & (sid >= 0)
    if plan.design != "parallel":
        return {"all": int(np.unique(sid[ok]).size)}
    arm = frame["arm"].array
    if not isinstance(arm, pd.Categorical):
        at = frame[ok]
        counts = at.groupby("arm", observed=False)["subject_id"].nunique()
        return {str(a): int(counts.get(a, 0)) for a in (plan.control, *plan.actives)}
    code_of = {level: k for k, level in enumerate(arm.categories)}
    out = {}
    for a in (plan.control, *plan.actives):
        k = code_of.get(a)
        out[str(a)] = 0 if k is None else int(np.unique(sid[ok & (arm.codes == k)]).size)
    return out


def _fit_level(
    data: ModelData, frame: pd.DataFrame, plan: TrialPlan, how: tuple[int, dict[str, int]]
) -> tuple[list[dict[str, Any]] | None, str]:
    """Fit the primary model to one subgroup's rows.

    `how` is the minimum per arm and the subgroup's `_final_counts`. Returns
    (final-visit contrast rows, "") or (None, the reason it is not estimable).
    """
    minimum, counts = how
    if min(counts.values()) < minimum:
        shown = ", ".join(f"{k} {v}" if k != "all" else f"{v}" for k, v in counts.items())
        who = "participants" if plan.design != "parallel" else "participants per arm"
        visit = plan.final_visit
        return None, f"not estimable: fewer than {minimum} {who} with a {visit} value ({shown})"
    sub = ModelData(frame.reset_index(drop=True), data.baseline, ())
    fit, why = guarded(lambda: fit_endpoint(sub, plan, lsmeans=False))  # contrasts only
    if fit is None or fit.fit is None:
        return None, why or "not estimable: " + ("; ".join(fit.notes) if fit else "no fit")
    at = [r for r in fit.contrast_records() if r["visit"] == plan.final_visit]
    if not at or not all(math.isfinite(float(r["estimate"])) for r in at):
        return None, f"not estimable: no estimate at {plan.final_visit}"
    return at, ""


def _interaction_names(plan: TrialPlan, active: str, level: str) -> list[str]:
    """Coefficients whose sum is the interaction contrast of `level` at the final visit.

    Treatment coding (control arm, first subgroup and first visit are the references):
    the treatment difference in `level` minus that in the reference subgroup, at the
    final visit, is ``arm:subgroup`` plus ``arm:subgroup:visit`` at that visit (without
    ``arm`` for split-face, where the model's level is the within-person difference).
    """
    arm = f"arm{active}:" if plan.design == "parallel" else ""
    names = [f"{arm}subgroup{level}"]
    if plan.final_visit != plan.visits[0]:
        names.append(f"{arm}subgroup{level}:visit{plan.final_visit}")
    return names


def _interaction(
    frame: pd.DataFrame, levels: list[str], plan: TrialPlan
) -> dict[str, tuple[float, float, float, float, str]]:
    """F test of equal treatment differences across `levels` at the final visit, per arm."""
    frame = frame[frame["subgroup"].isin(levels)].copy()
    frame["subgroup"] = pd.Categorical(frame["subgroup"].astype(str), categories=levels)
    covs = tuple(c for c in plan.settings.covariates if c in frame.columns)
    base = formula_for(plan, covs)
    crossed = "arm * subgroup * visit" if plan.design == "parallel" else "subgroup * visit"
    last = "arm * visit" if plan.design == "parallel" else "visit"
    formula = base[: base.rindex(last)] + crossed
    fit, notes = _try_fits(frame.reset_index(drop=True), formula, plan.model)
    if fit is None:
        raise EfficacyError("; ".join(notes) or "the interaction model could not be fitted")
    return {a: _wald(fit, plan, a, levels, notes) for a in plan.actives}


def _wald(
    fit: MMRMResult, plan: TrialPlan, active: str, levels: list[str], notes: list[str]
) -> tuple[float, float, float, float, str]:
    terms = list(fit._design.column_names)  # the "term" column of fit.to_frame()
    L = np.zeros((len(levels) - 1, len(terms)))
    for i, level in enumerate(levels[1:]):
        for name in _interaction_names(plan, active, level):
            if name not in terms:
                raise EfficacyError(f"the interaction model has no coefficient {name!r}")
            L[i, terms.index(name)] = 1.0
    w = fit.wald_test(L)
    note = "; ".join([f"{fit.formula}, {fit.covariance_structure} covariance", *notes])
    return w.statistic, w.num_df, w.den_df, w.p_value, note


def _variable_rows(
    data: ModelData, unique: pd.DataFrame, variable: str, plan: TrialPlan, pop: str
) -> list[dict[str, Any]]:
    """Rows of one subgroup variable; `unique` is the population indexed by subject id."""
    settings = plan.settings.subgroups
    group = _levels(unique, variable, settings.age_bands)
    frame = data.frame.assign(subgroup=data.frame["subject_id"].map(group).astype(object))
    subgroup = frame["subgroup"].to_numpy(dtype=object)
    rows: list[dict[str, Any]] = []
    estimable: list[str] = []
    for level in group.cat.categories:
        sub = frame[subgroup == level]
        counts = _final_counts(sub, plan)
        at, why = _fit_level(data, sub, plan, (settings.min_per_arm, counts))
        if at is None:
            for a in plan.actives:
                rows.append(_row(plan, pop, variable, str(level), a, counts, None, why))
            continue
        estimable.append(str(level))
        for r in at:
            rows.append(_row(plan, pop, variable, str(level), str(r["active_arm"]), counts, r, ""))
    missing = int(group.isna().sum())
    inter: dict[str, tuple[float, float, float, float, str]] = {}
    if len(estimable) < 2:
        note = "not estimable: fewer than two estimable subgroups"
    else:
        res, note = guarded(lambda: _interaction(frame, estimable, plan))
        inter = res or {}
        left_out = [str(c) for c in group.cat.categories if str(c) not in estimable]
        if left_out and res is not None:
            note = f"across {', '.join(estimable)} ({', '.join(left_out)} not estimable)"
    if missing:
        note = (note + "; " if note else "") + f"{missing} participant(s) without a {variable}"
    for row in rows:
        s, q, den, p, how = inter.get(row["active_arm"], (math.nan,) * 4 + ("",))
        row.update(
            interaction_statistic=s,
            interaction_num_df=q,
            interaction_den_df=den,
            interaction_p=p,
            interaction_note="; ".join(x for x in (how, note) if x),
        )
    return rows


def _row(
    plan: TrialPlan,
    pop: str,
    variable: str,
    level: str,
    active: str,
    counts: Mapping[str, int],
    r: Mapping[str, Any] | None,
    why: str,
) -> dict[str, Any]:
    nan = math.nan
    split = plan.design != "parallel"
    n_act = counts.get("all" if split else active, 0)
    n_ctl = counts.get("all" if split else plan.control, 0)
    comparison = (
        f"{'/'.join(plan.actives)} site vs {plan.control} site"
        if split
        else f"{active} vs {plan.control}"
    )
    stats = ("estimate", "std_error", "df", "conf_low", "conf_high", "p_value")
    values = {k: (float(r[k]) if r is not None else nan) for k in stats}
    return {
        "endpoint": plan.primary,
        "population": pop,
        "visit": plan.final_visit,
        "subgroup": variable,
        "level": level,
        "comparison": comparison,
        "active_arm": "/".join(plan.actives) if split else active,
        "control_arm": plan.control,
        "n_active": n_act,
        "n_control": n_ctl,
        **values,
        "status": "estimated" if r is not None else "not estimable",
        "reason": why,
        "analysis": "subgroup",
    }


def subgroup_rows(
    trial: Trial, derived: Mapping[str, pd.DataFrame], plan: TrialPlan
) -> tuple[list[dict[str, Any]], list[tuple[str, str, str, str]]]:
    """Run the plan's subgroup analyses of the primary endpoint.

    Parameters
    ----------
    trial : Trial
    derived : mapping of endpoint id to its derived rows
        :func:`efficacy.analysis.data.split_by_endpoint` of the scored trial.
    plan : TrialPlan

    Returns
    -------
    rows, skipped
        One row per subgroup variable, level and active arm (:data:`SUBGROUP_COLUMNS`),
        not-estimable levels included with their reason; and the subgroup variables
        that could not be analysed at all (``skipped`` rows: endpoint, population,
        analysis, reason), e.g. a variable the subjects table does not record.
    """
    by = plan.settings.subgroups.by
    pop = "itt" if "itt" in plan.populations else plan.populations[0]
    skipped: list[tuple[str, str, str, str]] = []
    if not by:
        return [], skipped
    try:
        data = model_data(trial, derived, plan.primary, pop, plan)
    except EfficacyError as exc:
        return [], [(plan.primary, pop, "subgroups", str(exc))]
    subjects, _ = population(trial, pop)
    unique = subjects.set_index("subject_id")  # one row per id: population's first rows
    rows: list[dict[str, Any]] = []
    for variable in by:
        column = "age" if variable == "age_band" else variable
        if column not in subjects or subjects[column].isna().all():
            why = f"subjects.{column} is not recorded"
            skipped.append((plan.primary, pop, f"subgroups by {variable}", why))
            continue
        rows += _variable_rows(data, unique, variable, plan, pop)
    return rows, skipped
