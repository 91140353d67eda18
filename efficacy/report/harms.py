"""Report section 8: adverse events by arm (and body site), serious and related.

Cells are ``n (%) [events]``: participants (split-face: body sites) with at least one
event, the percentage of the column's N, and the number of events. Every summary row is
shown even when no event occurred (CONSORT Harms 2022: report zero events when harms
were assessed). Denominators are the safety population (``safety = true``); when the
safety flag is not recorded, the allocated participants, and a note says so.

Split-face designs: an event at a body site allocated an arm counts in that arm's
site group (N = sites); an event without a body site, or at a site that was not
allocated, is *not site-specific* and counts per participant; the *All participants*
column counts every event per participant.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from efficacy.consort._flowdata import allocated_units
from efficacy.report._stats import column, count_cell
from efficacy.trial import Trial

__all__ = ["harms_tables"]

_NOT_SITE = "(not site-specific)"


def _flag(values: pd.Series) -> np.ndarray:
    return values.astype("boolean").fillna(False).to_numpy(dtype=bool)


def _population(trial: Trial) -> tuple[pd.DataFrame, str]:
    units = allocated_units(trial)
    recorded = units["safety"].notna().any()
    if recorded:
        units = units[units["safety"].eq(True).fillna(False).astype(bool)]
        return units, "safety population (safety = true)"
    return units, "allocated participants (the safety flag is not recorded)"


def _assign(ae: pd.DataFrame, units: pd.DataFrame, split: bool) -> pd.DataFrame:
    """Each event with its column (`col`) and counting unit (`unit`)."""
    ae = ae.assign(site=ae["body_site"].astype(object).where(ae["body_site"].notna(), None))
    if not split:
        arm = units.drop_duplicates("subject_id").set_index("subject_id")["arm"]
        return ae.assign(col=ae["subject_id"].map(arm), unit=ae["subject_id"])
    key = units.set_index(["subject_id", "site"])["arm"]
    pairs = list(zip(ae["subject_id"], ae["site"], strict=True))
    col = [key.get(p, "SYSTEMIC") if p[1] is not None else "SYSTEMIC" for p in pairs]
    unit = [f"{s}|{b}" if c != "SYSTEMIC" else s for (s, b), c in zip(pairs, col, strict=True)]
    return ae.assign(col=col, unit=unit)


def _columns(trial: Trial, units: pd.DataFrame, split: bool) -> list[dict[str, Any]]:
    labels = {a.id: a.label for a in trial.manifest.arms}
    arms = list(dict.fromkeys([*labels, *units["arm"]]))
    n_people = int(units["subject_id"].nunique())
    cols = [
        column(a, labels.get(a, a), int((units["arm"] == a).sum()), "sites" if split else "")
        for a in arms
        if (units["arm"] == a).any()
    ]
    if split:
        cols.append(column("SYSTEMIC", "Not site-specific", n_people))
        cols.append(column("ALL", "All participants", n_people))
    else:
        cols.append(column("TOTAL", "Total", n_people))
    return cols


def _row(label: str, ev: pd.DataFrame, cols: list[dict[str, Any]]) -> dict[str, Any]:
    cells = {}
    for c in cols:
        if c["key"] in ("TOTAL", "ALL"):
            sel, units = ev, ev["subject_id"]
        else:
            sel = ev[ev["col"] == c["key"]]
            units = sel["unit"]
        cells[c["key"]] = count_cell(int(units.nunique()), c["N"], len(sel))
    return {"label": label, "kind": "level", "cells": cells}


def harms_tables(trial: Trial) -> dict[str, Any]:
    """Build report section 8 (JSON-ready).

    Returns
    -------
    dict
        ``population`` (text), ``assessed`` (bool: an adverse_events table was given),
        ``notes`` and ``tables``: ``summary`` (any, serious, related, severe, leading to
        discontinuation), ``by_term`` (one row per term, in descending order of
        participants with the event in the total column, then of events, then
        alphabetical) and ``by_body_site``; each with ``columns`` and ``rows`` of
        ``n (%) [events]`` cells.
    """
    split = trial.manifest.design == "split_face"
    units, population = _population(trial)
    src = trial.sources.get("adverse_events")
    assessed = src is not None and src.path is not None
    ae = trial.adverse_events
    inside = ae["subject_id"].isin(set(units["subject_id"])).fillna(False).to_numpy(dtype=bool)
    notes = []
    if (~inside).any():
        notes.append(
            f"{int((~inside).sum())} event(s) of people outside the {population} are not tabulated."
        )
    ev = _assign(ae[inside], units, split)
    cols = _columns(trial, units, split)
    summary = _summary(trial, ev, cols)
    # submission convention: descending incidence (participants, total column), then
    # events, then the term alphabetically
    people = ev.groupby("term")["subject_id"].nunique()
    events = ev["term"].value_counts()
    terms = sorted(events.index, key=lambda t: (-int(people[t]), -int(events[t]), str(t)))
    by_term = [
        _row(str(t), ev[(ev["term"] == t).fillna(False).to_numpy(dtype=bool)], cols) for t in terms
    ]
    site = ev["site"].fillna(_NOT_SITE)
    by_site = [
        _row(str(s), ev[(site == s).to_numpy(dtype=bool)], cols)
        for s in sorted(site.unique(), key=lambda s: (s == _NOT_SITE, s))
    ]
    if not assessed:
        notes.append("No adverse_events table was supplied: harms were not assessed in the data.")
    return {
        "population": population,
        "assessed": assessed,
        "notes": notes,
        "cell": "n (%) [events]: participants (split-face site groups: body sites) with at "
        "least one event, % of N, number of events",
        "tables": [
            {"id": "summary", "title": "Adverse events: summary", "columns": cols, "rows": summary},
            {
                "id": "by_term",
                "title": "Adverse events by term (most participants first)",
                "columns": cols,
                "rows": by_term,
            },
            {
                "id": "by_body_site",
                "title": "Adverse events by body site",
                "columns": cols,
                "rows": by_site,
            },
        ],
    }


def _summary(trial: Trial, ev: pd.DataFrame, cols: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Return the summary rows, every one shown even with zero events."""
    people = trial.subjects.drop_duplicates("subject_id").set_index("subject_id")
    reason = people["discontinuation_reason"].astype(object).fillna("").astype(str)
    left_ae = set(reason[reason.str.lower().str.startswith("adverse event")].index)
    severe = (ev["severity"] == "severe").fillna(False).to_numpy(dtype=bool)
    return [
        _row("Any adverse event", ev, cols),
        _row("Serious adverse event", ev[_flag(ev["serious"])], cols),
        _row("Related to the product", ev[_flag(ev["related"])], cols),
        _row("Severe", ev[severe], cols),
        _row("Leading to discontinuation", _discontinued(ev, reason, left_ae), cols),
    ]


def _discontinued(ev: pd.DataFrame, reason: pd.Series, left: set[str]) -> pd.DataFrame:
    """Return the event that made each participant in `left` discontinue.

    That is the participant's event whose term the discontinuation reason names
    (``adverse event: contact dermatitis``), else their first event.
    """
    sel = ev[ev["subject_id"].isin(left).to_numpy(dtype=bool)]
    named = [
        str(t).lower() in reason.get(s, "").lower()
        for s, t in zip(sel["subject_id"], sel["term"], strict=True)
    ]
    sel = sel.assign(_named=named).sort_values("_named", ascending=False, kind="stable")
    return sel.drop_duplicates("subject_id").drop(columns="_named")
