"""Responder analyses, only where the plan declares a threshold (no invented MCIDs)."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import pandas as pd

from efficacy.analysis.data import population
from efficacy.analysis.plan import TrialPlan
from efficacy.analysis.stats import logistic_odds_ratio, newcombe_difference
from efficacy.instruments.derive import ResponderRule
from efficacy.trial import Trial

__all__ = ["responder_rows", "responder_rules"]


def responder_rules(plan_rules: Sequence[Mapping[str, Any]]) -> tuple[ResponderRule, ...]:
    """Return the plan's ``[[analysis.responders]]`` as :class:`ResponderRule` objects."""
    out = []
    for r in plan_rules:
        half = r["kind"] == "half_baseline_sd"
        direction = None if r["direction"] == "catalogue" else r["direction"]
        out.append(
            ResponderRule(r["endpoint"], r["kind"], None if half else r["threshold"], direction)
        )
    return tuple(out)


def _label(rule: Mapping[str, Any]) -> str:
    if rule["kind"] == "half_baseline_sd":
        return "responder (change >= 0.5 baseline SD)"
    unit = "%" if rule["kind"] == "percent" else ""
    return f"responder ({rule['kind']} change >= {rule['threshold']:g}{unit})"


def _row(endpoint, role, pop, plan, comparison, est, se, low, high, p, n1, n0, model, notes):
    return {
        "endpoint": endpoint,
        "role": role,
        "population": pop,
        "visit": plan.final_visit,
        "comparison": comparison,
        "estimate": est,
        "std_error": se,
        "df": math.nan,
        "conf_low": low,
        "conf_high": high,
        "p_value": p,
        "p_adjusted": math.nan,
        "effect_size": math.nan,
        "n_active": n1,
        "n_control": n0,
        "model": model,
        "covariance": "",
        "converged": not math.isnan(est),
        "notes": notes,
    }


def _one(derived, trial, plan, rule, role, pop) -> tuple[list[dict], list[tuple]]:
    endpoint = rule["endpoint"]
    rows = derived.loc[
        (derived["endpoint"] == endpoint)
        & (derived["visit"] == plan.final_visit)
        & derived["responder"].notna()
    ]
    subj, _ = population(trial, pop)
    m = rows.merge(subj[["subject_id", "arm"]], on="subject_id")
    if m["subject_id"].duplicated().any():
        return [], [
            (endpoint, pop, "responder", "several body sites per subject at the final visit")
        ]
    label, out = f"{endpoint} {_label(rule)}", []
    ctl = m.loc[m["arm"] == plan.control]
    for active in plan.actives:
        act = m.loc[m["arm"] == active]
        x1, n1 = int(act["responder"].astype(bool).sum()), len(act)
        x0, n0 = int(ctl["responder"].astype(bool).sum()), len(ctl)
        d, low, high, p = newcombe_difference(x1, n1, x0, n0, plan.level)
        p1, p0 = (x1 / n1 if n1 else math.nan), (x0 / n0 if n0 else math.nan)
        se = math.sqrt(p1 * (1 - p1) / n1 + p0 * (1 - p0) / n0) if n1 and n0 else math.nan
        comp = f"{active} vs {plan.control}"
        notes = (
            f"estimand (responders at {plan.final_visit}, observed cases); "
            f"{x1}/{n1} vs {x0}/{n0}; p from the Pearson chi-square test"
        )
        out.append(
            _row(
                label,
                role,
                pop,
                plan,
                comp,
                d,
                se,
                low,
                high,
                p,
                n1,
                n0,
                "difference in proportions (Newcombe hybrid score CI)",
                notes,
            )
        )
        if rule["logistic"]:
            both = pd.concat([act, ctl])
            frame = pd.DataFrame(
                {
                    "responder": both["responder"].astype(bool).astype(float).to_numpy(),
                    "baseline": both["baseline"].to_numpy(float),
                    "active": (both["arm"] == active).astype(float).to_numpy(),
                }
            ).dropna()
            est, lo, hi, pl, note = logistic_odds_ratio(frame, plan.level)
            out.append(
                _row(
                    label,
                    role,
                    pop,
                    plan,
                    comp,
                    est,
                    math.nan,
                    lo,
                    hi,
                    pl,
                    n1,
                    n0,
                    "logistic regression (responder ~ baseline + arm)",
                    note,
                )
            )
    return out, []


def responder_rows(
    derived: pd.DataFrame, trial: Trial, plan: TrialPlan, roles: Mapping[str, str]
) -> tuple[list[dict], list[tuple]]:
    """Rows of the result table for every declared responder rule and population.

    Returns (rows, skipped) where skipped holds ``(endpoint, population, analysis, reason)``.
    Split-face responders (paired proportions) are listed as skipped.
    """
    rows: list[dict] = []
    skipped: list[tuple] = []
    for rule in plan.settings["responders"]:
        role = roles.get(rule["endpoint"], "secondary")
        for pop in plan.populations:
            if plan.design == "split_face":
                skipped.append(
                    (
                        rule["endpoint"],
                        pop,
                        "responder",
                        "paired (within-person) responder analysis is not available",
                    )
                )
                continue
            if not (derived["endpoint"] == rule["endpoint"]).any():
                skipped.append((rule["endpoint"], pop, "responder", "endpoint has no data"))
                continue
            r, s = _one(derived, trial, plan, rule, role, pop)
            rows += r
            skipped += s
    return rows, skipped
