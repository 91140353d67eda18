"""Responder analyses, only where the plan declares a threshold (no invented MCIDs)."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import partial
from typing import Any

import numpy as np
import pandas as pd

from efficacy.analysis.data import population, site_allocation
from efficacy.analysis.guard import guarded
from efficacy.analysis.plan import TrialPlan
from efficacy.analysis.result import row_estimand
from efficacy.analysis.stats import (
    conditional_logistic,
    logistic_odds_ratio,
    newcombe_difference,
    newcombe_paired_difference,
)
from efficacy.analysis.strategies import composite_nonresponders
from efficacy.instruments.derive import ResponderRule
from efficacy.protocol.analysis_params import ResponderSpec
from efficacy.trial import Trial

__all__ = ["responder_rows", "responder_rules"]


def responder_rules(plan_rules: Sequence[ResponderSpec]) -> tuple[ResponderRule, ...]:
    """Return the plan's ``[[analysis.responders]]`` as :class:`ResponderRule` objects."""
    out = []
    for r in plan_rules:
        half = r.kind == "half_baseline_sd"
        direction = None if r.direction == "catalogue" else r.direction
        out.append(ResponderRule(r.endpoint, r.kind, None if half else r.threshold, direction))
    return tuple(out)


def _label(rule: ResponderSpec) -> str:
    if rule.kind == "half_baseline_sd":
        return "responder (change >= 0.5 baseline SD)"
    unit = "%" if rule.kind == "percent" else ""
    return f"responder ({rule.kind} change >= {rule.threshold:g}{unit})"


#: (endpoint label, role, population, visit, comparison) of a result row.
Key = tuple[str, str, str, str, str]
#: (estimate, std_error, conf_low, conf_high, p_value) of a result row.
Stat = tuple[float, float, float, float, float]


@dataclass(frozen=True)
class _Tags:
    """The structured columns of a result row: estimand id and arms compared."""

    estimand: str
    active_arm: str
    control_arm: str


def _row(
    key: Key, stat: Stat, n: tuple[int, int], model: tuple[str, str], notes: str, tags: _Tags
) -> dict[str, Any]:
    """One result row; `model` is (analysis, model text), the analysis one of ANALYSES."""
    est, se, low, high, p = stat
    analysis, model_text = model
    return {
        **dict(zip(("endpoint", "role", "population", "visit", "comparison"), key, strict=True)),
        "estimate": est,
        "std_error": se,
        "df": math.nan,
        "conf_low": low,
        "conf_high": high,
        "p_value": p,
        "p_adjusted": math.nan,
        "effect_size": math.nan,
        "n_active": n[0],
        "n_control": n[1],
        "model": model_text,
        "covariance": "",
        "converged": not math.isnan(est),
        "notes": notes,
        # the difference in proportions estimates the responder estimand; the
        # logistic model is a supportive analysis of it (no estimand of its own)
        "estimand": tags.estimand if analysis == "responder_difference" else "",
        "analysis": analysis,
        "active_arm": tags.active_arm,
        "control_arm": tags.control_arm,
        "adjustment": "",
    }


def _final_rows(derived: pd.DataFrame, endpoint: str, visit: str) -> pd.DataFrame:
    hit = (derived["endpoint"] == endpoint) & (derived["visit"] == visit)
    return derived[hit & derived["responder"].notna()]


def _independent(
    act: pd.DataFrame, ctl: pd.DataFrame, key: Key, tags: _Tags, level: float, logistic: bool
) -> list[dict[str, Any]]:
    """Rows of one active arm against control (parallel design)."""
    x1, n1 = int(act["responder"].astype(bool).sum()), len(act)
    x0, n0 = int(ctl["responder"].astype(bool).sum()), len(ctl)
    d, low, high, p = newcombe_difference(x1, n1, x0, n0, level)
    p1, p0 = (x1 / n1 if n1 else math.nan), (x0 / n0 if n0 else math.nan)
    se = math.sqrt(p1 * (1 - p1) / n1 + p0 * (1 - p0) / n0) if n1 and n0 else math.nan
    notes = (
        f"estimand (responders at {key[3]}, observed cases); "
        f"{x1}/{n1} vs {x0}/{n0}; p from the Pearson chi-square test"
    )
    model = ("responder_difference", "difference in proportions (Newcombe hybrid score CI)")
    out = [_row(key, (d, se, low, high, p), (n1, n0), model, notes, tags)]
    if logistic:
        both = pd.concat([act, ctl])
        frame = pd.DataFrame(
            {
                "responder": both["responder"].astype(bool).astype(float).to_numpy(),
                "baseline": both["baseline"].to_numpy(float),
                "active": (both["arm"] == act["arm"].iat[0]).astype(float).to_numpy()
                if len(act)
                else np.zeros(len(both)),
            }
        ).dropna()
        est, lo, hi, pl, note = logistic_odds_ratio(frame, level)
        model = ("logistic", "logistic regression (responder ~ baseline + arm)")
        out.append(_row(key, (est, math.nan, lo, hi, pl), (n1, n0), model, note, tags))
    return out


def _one(
    derived: pd.DataFrame,
    trial: Trial,
    plan: TrialPlan,
    rule: ResponderSpec,
    role: str,
    pop: str,
    events: pd.DataFrame | None = None,
) -> tuple[list[dict[str, Any]], list[tuple[str, str, str, str]]]:
    endpoint = rule.endpoint
    subj, _ = population(trial, pop)
    final = _final_rows(derived, endpoint, plan.final_visit)
    if final["subject_id"][final["subject_id"].isin(subj["subject_id"])].duplicated().any():
        return [], [
            (endpoint, pop, "responder", "several body sites per subject at the final visit")
        ]
    declared = plan.settings.estimand_of(endpoint)
    notes: list[str] = []
    if declared is not None and declared.responder and events is not None:
        final, notes = composite_nonresponders(
            final[["subject_id", "responder", "baseline"]],
            events,
            declared,
            subj[["subject_id", "arm"]],
            trial.manifest.visit_order,
            plan.final_visit,
        )
    m = final.merge(subj[["subject_id", "arm"]], on="subject_id")
    label, out = f"{endpoint} {_label(rule)}", []
    ctl = m[m["arm"] == plan.control]
    for active in plan.actives:
        key = (label, role, pop, plan.final_visit, f"{active} vs {plan.control}")
        tags = _Tags(
            row_estimand(declared, role, endpoint, pop, active, responder=True),
            active,
            plan.control,
        )
        act = m[m["arm"] == active]
        rows = _independent(act, ctl, key, tags, plan.level, rule.logistic)
        if notes:
            rows[0]["notes"] = "; ".join([rows[0]["notes"], *notes])
        out += rows
    return out, []


def _paired_frame(m: pd.DataFrame, keep: pd.Index) -> pd.DataFrame:
    m = m[m["subject_id"].isin(keep)]
    return pd.DataFrame(
        {
            "subject_id": m["subject_id"].to_numpy(),
            "responder": m["responder"].astype(bool).astype(float).to_numpy(),
            "treated": m["treated"].to_numpy(float),
            "baseline": m["baseline"].to_numpy(float),
        }
    ).dropna()


def _paired(
    derived: pd.DataFrame,
    trial: Trial,
    plan: TrialPlan,
    rule: ResponderSpec,
    role: str,
    pop: str,
) -> tuple[list[dict[str, Any]], list[tuple[str, str, str, str]]]:
    endpoint = rule.endpoint
    subj, _ = population(trial, pop)
    m = _final_rows(derived, endpoint, plan.final_visit).merge(
        site_allocation(subj, plan), on="subject_id"
    )
    m = m.assign(treated=(m["body_site"] == m["treated_site"]).astype(float))
    m = m[(m["treated"] == 1) | (m["body_site"] == m["control_site"])]
    wide = m.pivot_table(index="subject_id", columns="treated", values="responder", aggfunc="max")
    wide = wide.dropna()
    if wide.shape[1] < 2:
        return [], [(endpoint, pop, "responder", "no subject has both sites at the final visit")]
    t, c = wide[1.0].astype(bool).to_numpy(), wide[0.0].astype(bool).to_numpy()
    e, f, g, h = (int(x) for x in ((t & c).sum(), (t & ~c).sum(), (~t & c).sum(), (~t & ~c).sum()))
    d, low, high, p = newcombe_paired_difference(e, f, g, h, plan.level)
    n = e + f + g + h
    treated = "/".join(plan.actives)
    comp = f"{treated} site vs {plan.control} site"
    key = (f"{endpoint} {_label(rule)}", role, pop, plan.final_visit, comp)
    declared = plan.settings.estimand_of(endpoint)
    tags = _Tags(
        row_estimand(declared, role, endpoint, pop, treated, responder=True), treated, plan.control
    )
    notes = (
        f"estimand (paired responders at {plan.final_visit}, observed cases); both {e}, "
        f"treated only {f}, control only {g}, neither {h}; p from McNemar's test"
    )
    model = ("responder_difference", "paired difference in proportions (Newcombe paired score CI)")
    out = [_row(key, (d, math.nan, low, high, p), (n, n), model, notes, tags)]
    if rule.logistic:
        est, lo, hi, pl, note = conditional_logistic(_paired_frame(m, wide.index), plan.level)
        model = (
            "logistic",
            "conditional logistic regression (responder ~ site + baseline | subject)",
        )
        out.append(_row(key, (est, math.nan, lo, hi, pl), (n, n), model, note, tags))
    return out, []


def responder_rows(
    derived: pd.DataFrame,
    trial: Trial,
    plan: TrialPlan,
    roles: Mapping[str, str],
    events: pd.DataFrame | None = None,
) -> tuple[list[dict[str, Any]], list[tuple[str, str, str, str]]]:
    """Rows of the result table for every declared responder rule and population.

    Returns (rows, skipped) where skipped holds ``(endpoint, population, analysis, reason)``.
    Parallel arms: difference in proportions with Newcombe's hybrid score interval
    (independent samples) and, where declared, a baseline-adjusted logistic model.
    Split-face: the paired difference (treated minus control site) with Newcombe's
    paired interval and McNemar's test, and a conditional logistic model (subject as
    stratum, adjusted for the site's baseline) where declared.

    `events` (:func:`~efficacy.analysis.intercurrent.intercurrent_events`) apply the
    strategies of an estimand whose summary is the responder difference (parallel arms):
    composite events make non-responders, hypothetical and while-on-treatment ones drop
    post-event values. A split-face trial refuses a composite strategy (the event of a
    person would make both sites non-responders).
    """
    rows: list[dict[str, Any]] = []
    skipped: list[tuple[str, str, str, str]] = []
    for rule in plan.settings.responders:
        role = roles.get(rule.endpoint, "secondary")
        for pop in plan.populations:
            if not (derived["endpoint"] == rule.endpoint).any():
                skipped.append((rule.endpoint, pop, "responder", "endpoint has no data"))
                continue
            declared = plan.settings.estimand_of(rule.endpoint)
            split = plan.design == "split_face"
            if (
                split
                and declared is not None
                and declared.responder
                and any(e.strategy == "composite" for e in declared.intercurrent_events)
            ):
                skipped.append(
                    (
                        rule.endpoint,
                        pop,
                        "responder",
                        f"estimand {declared.id}: a composite strategy is not estimable in a "
                        "split-face trial (an event of the person makes both sites "
                        "non-responders); use a hypothetical or treatment policy strategy",
                    )
                )
                continue
            call = (
                partial(_paired, derived, trial, plan, rule, role, pop)
                if split
                else partial(_one, derived, trial, plan, rule, role, pop, events)
            )
            got, why = guarded(call)
            if got is None:
                skipped.append((rule.endpoint, pop, "responder", why))
                continue
            rows += got[0]
            skipped += got[1]
    return rows, skipped
