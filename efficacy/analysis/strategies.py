"""Honouring an estimand's intercurrent-event strategies in the data an analysis uses.

- ``hypothetical``: records at or after the event's first affected visit are not used;
  the MMRM under missing at random (MAR) estimates the outcome had the event not
  occurred (with events derived from disposition there are no such records, and the
  analysis is exactly the MMRM on all observed data).
- ``while_on_treatment``: records at or after the event are excluded; the analysis is
  of the on-treatment data.
- ``treatment_policy``: every observed record is used, after the event too; values
  still missing are modelled by the MMRM under MAR, as is conventional.
- ``composite``: the event is an outcome: a responder variable where the event counts
  as non-response (responder analyses only; the protocol loader refuses a composite
  strategy without a responder definition).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from efficacy.analysis.data import ModelData
from efficacy.analysis.intercurrent import post_event
from efficacy.analysis.plan import TrialPlan
from efficacy.errors import ProtocolError
from efficacy.protocol.estimands import Estimand
from efficacy.trial import Trial

__all__ = [
    "apply_strategies",
    "check_estimands_fit",
    "composite_nonresponders",
    "strategy_notes",
]


def _strategies(estimand: Estimand) -> dict[str, str]:
    return {e.name: e.strategy for e in estimand.intercurrent_events}


def _candidates(events: pd.DataFrame, *subjects: pd.Series) -> pd.Series:
    """Return the values of `subjects` that may be the subject id of an event (objects).

    Every missing value is kept, and every value equal to a present event subject id;
    ``events["subject_id"].isin`` of the result is ``isin`` of all `subjects` (a value
    equal to no event id matches no event), at a fraction of the cost: pandas turns
    each value of an ``isin`` argument into an Arrow scalar, one by one.
    """
    seen = {v for v in events["subject_id"].to_numpy(dtype=object) if not pd.isna(v)}
    keep = [
        v
        for ids in subjects
        for v in ids.to_numpy(dtype=object).tolist()
        if pd.isna(v) or v in seen
    ]
    return pd.Series(keep, dtype=object)


def strategy_notes(estimand: Estimand, events: pd.DataFrame, subjects: pd.Series) -> list[str]:
    """One note per event the estimand names, and one for events it does not."""
    return _notes(estimand, events, _candidates(events, subjects))


def _notes(estimand: Estimand, events: pd.DataFrame, subjects: pd.Series) -> list[str]:
    """`strategy_notes` with the `subjects` that may have an event (`_candidates`)."""
    mine = events[events["subject_id"].isin(subjects)]
    notes = []
    for ice in estimand.intercurrent_events:
        n = int(mine["subject_id"][mine["event"] == ice.name].nunique())
        notes.append(
            f"estimand {estimand.id}: {ice.name} in {n} participant(s), "
            f"{ice.strategy.replace('_', ' ')} strategy ({ice.text})"
        )
    other = sorted(set(mine["event"]) - {e.name for e in estimand.intercurrent_events})
    if other:
        notes.append(
            f"intercurrent events {other} are not named by estimand {estimand.id}: their "
            "post-event values are used as observed"
        )
    return notes


def apply_strategies(
    data: ModelData, events: pd.DataFrame, estimand: Estimand, visit_order: Sequence[str]
) -> tuple[ModelData, list[str]]:
    """Drop the records a hypothetical or while-on-treatment strategy does not use.

    Returns `data` without them (see the module notes) and the estimand's notes for its
    result rows.

    `data` is not modified; with nothing to exclude it is returned as is. The data's
    notes say how many post-event values were not used.
    """
    frame = data.frame
    mask = post_event(frame, events, _strategies(estimand), visit_order)
    mask &= ~pd.isna(frame["change"].to_numpy())
    # the participants of the frame and of the baseline frame
    notes = _notes(
        estimand, events, _candidates(events, frame["subject_id"], data.baseline["subject_id"])
    )
    if not mask.any():
        return data, notes
    frame = frame[~mask].reset_index(drop=True)
    if isinstance(frame["visit"].dtype, pd.CategoricalDtype):
        frame["visit"] = frame["visit"].cat.remove_unused_categories()
    why = f"{int(mask.sum())} post-event values not used (estimand {estimand.id}'s strategy)"
    return ModelData(frame=frame, baseline=data.baseline, notes=(*data.notes, why)), notes


def composite_nonresponders(
    final: pd.DataFrame,
    events: pd.DataFrame,
    estimand: Estimand,
    subjects: pd.DataFrame,
    visit_order: Sequence[str],
    visit: str,
) -> tuple[pd.DataFrame, list[str]]:
    """Responder rows at `visit` with the estimand's strategies applied.

    `final` has ``subject_id``, ``responder`` (and ``baseline``) at `visit`; `subjects`
    the population's ``subject_id`` and ``arm``. Post-event rows of hypothetical or
    while-on-treatment events are dropped; participants with a composite event at or
    before `visit` are non-responders (a row is added for those without a value).
    Returns (rows, notes).
    """
    strategies = _strategies(estimand)
    probe = subjects[["subject_id"]].assign(visit=visit)
    drop = post_event(final.assign(visit=visit), events, strategies, visit_order)
    out = final[~drop]
    composite = {e: "composite" for e, s in strategies.items() if s == "composite"}
    hit = post_event(probe, events, composite, visit_order, excluding=("composite",))
    failed = set(probe["subject_id"][hit])
    if failed:
        out = out.assign(responder=out["responder"].where(~out["subject_id"].isin(failed), False))
        missing = subjects[
            subjects["subject_id"].isin(failed) & ~subjects["subject_id"].isin(out["subject_id"])
        ]
        add = pd.DataFrame(
            {
                "subject_id": missing["subject_id"].to_numpy(),
                "responder": False,
                "baseline": np.nan,
            }
        )
        out = pd.concat([out, add], ignore_index=True)
    notes = strategy_notes(estimand, events, subjects["subject_id"])
    if drop.any():
        notes.append(f"{int(drop.sum())} post-event values not used")
    if failed:
        notes.append(f"{len(failed)} participant(s) with a composite event count as non-responders")
    return out, notes


def check_estimands_fit(trial: Trial, plan: TrialPlan) -> None:
    """Check the plan's estimands against the trial (visit and arms).

    Raises
    ------
    ProtocolError
        An estimand's ``visit`` is not the plan's final visit, or its
        ``interventionIds`` name an arm that is not an active arm of the trial.
    """
    problems = []
    for e in plan.settings.estimands:
        where = f"[analysis.estimands] {e.id!r}"
        if e.visit not in ("final", plan.final_visit):
            problems.append(
                f"{where} visit = {e.visit!r}: estimands are estimated at the plan's final "
                f'visit {plan.final_visit}; set visit = "final" (or [analysis] final_visit '
                f"= {e.visit!r})"
            )
        unknown = [a for a in e.intervention_ids if a not in plan.actives]
        if unknown:
            problems.append(
                f"{where} interventionIds {unknown} are not active arms of this trial "
                f"({', '.join(plan.actives)})"
            )
    if problems:
        raise ProtocolError("[analysis]", problems)
