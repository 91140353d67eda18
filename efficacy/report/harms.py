"""Report section 8: harms as CONSORT Harms 2022 asks.

Summary (any, serious, related, severe, leading to discontinuation, deaths), adverse
events by system organ class and preferred term when the table is coded (``soc``,
``pt``; MedDRA itself is licensed and never shipped) else by reported term, by maximum
severity, by relatedness and by body site; serious adverse events and events leading
to discontinuation listed per participant. A missing adverse_events table is reported
as *not supplied*: no table of zeros.

Cells are ``n (%) [events]``: participants (split-face: body sites) with at least one
event, the percentage of the column's N, and the number of events. Every summary row is
shown even when no event occurred (CONSORT Harms 2022: report zero events when harms
were assessed); the deaths row is shown when the table can show deaths (a ``fatal``
column). Denominators are the safety population (``safety = true``); when the
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
from efficacy.report._harms_tables import harms_shells
from efficacy.report._stats import column, count_cell
from efficacy.trial import Trial

__all__ = ["NOT_SUPPLIED", "harms_tables"]

#: What section 8 says when the bundle has no adverse_events table.
NOT_SUPPLIED = (
    "Not supplied: no adverse-event data were given (no adverse_events table, or no ADAE "
    "dataset for ADaM input), so harms were not assessed in the data. No counts are shown "
    "(an absent table is not zero events)."
)
_SEVERITIES = ("mild", "moderate", "severe")

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


def _recorded(trial: Trial, name: str) -> bool:
    """Whether the adverse_events file has column `name` (quiet optional columns)."""
    src = trial.sources.get("adverse_events")
    return src is not None and name not in src.missing_columns


def _rows(groups: list[tuple[str, pd.DataFrame]], cols: list[dict[str, Any]]) -> list[Any]:
    return [_row(label, ev, cols) for label, ev in groups]


def _ordered(ev: pd.DataFrame, key: str) -> list[Any]:
    """Values of `key`, most participants (all columns) first, then events, then name."""
    people = ev.groupby(key)["subject_id"].nunique()
    events = ev[key].value_counts()
    return sorted(events.index, key=lambda t: (-int(people[t]), -int(events[t]), str(t)))


def _by_soc_pt(ev: pd.DataFrame, cols: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """SOC rows (level 0) each followed by its PT rows (level 1); uncoded events last."""
    ev = ev.assign(
        soc=ev["soc"].astype(object).where(ev["soc"].notna(), "(not coded)"),
        pt=ev["pt"].astype(object).where(ev["pt"].notna(), ev["term"]),
    )
    out = [_row("Any adverse event", ev, cols) | {"level": 0}]
    socs = [s for s in _ordered(ev, "soc") if s != "(not coded)"]
    socs += ["(not coded)"] if (ev["soc"] == "(not coded)").any() else []
    for soc in socs:
        in_soc = ev[(ev["soc"] == soc).to_numpy(bool)]
        out.append(_row(str(soc), in_soc, cols) | {"level": 1})
        for pt in _ordered(in_soc, "pt"):
            out.append(
                _row(str(pt), in_soc[(in_soc["pt"] == pt).to_numpy(bool)], cols) | {"level": 2}
            )
    return out


def _by_severity(ev: pd.DataFrame, cols: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Each event counted at its participant's (unit's) worst severity."""
    rank = {s: i for i, s in enumerate(_SEVERITIES)}
    sev = ev["severity"].astype(object).map(lambda v: rank.get(str(v).lower(), -1))
    worst = sev.groupby(ev["unit"]).transform("max")
    ev = ev.assign(_worst=worst.to_numpy())
    groups = [(s.capitalize(), ev[(ev["_worst"] == i).to_numpy(bool)]) for s, i in rank.items()]
    if (ev["_worst"] < 0).any():
        groups.append(("Severity not recorded", ev[(ev["_worst"] < 0).to_numpy(bool)]))
    return _rows(groups, cols)


def _by_relatedness(ev: pd.DataFrame, cols: list[dict[str, Any]]) -> list[dict[str, Any]]:
    related = ev["related"].astype("boolean")
    groups = [
        ("Related to the product", ev[related.fillna(False).to_numpy(bool)]),
        ("Not related", ev[(related == False).fillna(False).to_numpy(bool)]),  # noqa: E712
    ]
    if related.isna().any():
        groups.append(("Relatedness not recorded", ev[related.isna().to_numpy(bool)]))
    return _rows(groups, cols)


def _na(value: Any) -> Any:
    """None for a missing value (None, NaN, pd.NA), else the value."""
    return None if value is None or bool(pd.isna(value)) else value


def _listing(ev: pd.DataFrame, cols: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """One entry per event, by subject then onset day (JSON-ready plain values)."""
    labels = {c["key"]: c["label"] for c in cols}
    ev = ev.sort_values(["subject_id", "onset_day"], kind="stable")
    out = []
    for r in ev.to_dict("records"):
        soc, pt, day, sev = (_na(r[k]) for k in ("soc", "pt", "onset_day", "severity"))
        serious, related, fatal, site = (_na(r[k]) for k in ("serious", "related", "fatal", "site"))
        out.append(
            {
                "subject_id": str(r["subject_id"]),
                "group": labels.get(str(r["col"]), str(r["col"])),
                "soc": None if soc is None else str(soc),
                "term": str(pt) if pt is not None else str(r["term"]),
                "onset_day": None if day is None else int(day),
                "severity": None if sev is None else str(sev),
                "serious": None if serious is None else bool(serious),
                "related": None if related is None else bool(related),
                "fatal": None if fatal is None else bool(fatal),
                "body_site": None if site is None else str(site),
            }
        )
    return out


def harms_tables(trial: Trial) -> dict[str, Any]:
    """Build report section 8 (JSON-ready).

    Returns
    -------
    dict
        ``status`` (``"assessed"`` or ``"not supplied"``), ``message``, ``population``
        (text), ``assessed`` (bool: an adverse_events table was given), ``coded``
        (``soc`` and ``pt`` recorded), ``deaths_recorded`` (a ``fatal`` column),
        ``discontinuation_source``, ``notes``, ``cell``, ``columns`` (the column heads),
        row data ``summary``, ``by_soc_pt`` (coded) or ``by_term``, ``by_severity``,
        ``by_relatedness``, ``by_body_site`` (each row: ``label``, ``level`` where
        nested, ``cells`` of ``n (%) [events]``), listings ``serious`` and
        ``discontinued`` (one entry per event) and ``tables`` (the shells of all of
        them, ``notes/SHELLS.md``). Not supplied: only ``status``, ``message``,
        ``population``, ``assessed``, ``notes`` and an empty ``tables``.
    """
    split = trial.manifest.design == "split_face"
    units, population = _population(trial)
    src = trial.sources.get("adverse_events")
    assessed = src is not None and src.path is not None
    if not assessed:
        return {
            "status": "not supplied",
            "message": NOT_SUPPLIED,
            "population": population,
            "assessed": False,
            "notes": [],
            "tables": [],
        }
    ae = trial.adverse_events
    inside = ae["subject_id"].isin(set(units["subject_id"])).fillna(False).to_numpy(dtype=bool)
    notes = []
    if (~inside).any():
        notes.append(
            f"{int((~inside).sum())} event(s) of people outside the {population} are not tabulated."
        )
    ev = _assign(ae[inside], units, split)
    cols = _columns(trial, units, split)
    coded = _recorded(trial, "soc") and _recorded(trial, "pt") and ev["soc"].notna().any()
    deaths = _recorded(trial, "fatal")
    by_disc = _recorded(trial, "led_to_discontinuation")
    summary = _summary(trial, ev, cols, deaths, by_disc)
    data: dict[str, Any] = {
        "status": "assessed",
        "message": "",
        "population": population,
        "assessed": True,
        "coded": bool(coded),
        "deaths_recorded": deaths,
        "discontinuation_source": "adverse_events.led_to_discontinuation"
        if by_disc
        else "subjects.discontinuation_reason",
        "notes": notes,
        "cell": "n (%) [events]: "
        + ("participants (site groups: body sites)" if split else "participants")
        + " with at least one event, % of N, number of events",
        "columns": cols,
        "summary": summary,
        "by_severity": _by_severity(ev, cols),
        "by_relatedness": _by_relatedness(ev, cols),
    }
    if coded:
        data["by_soc_pt"] = _by_soc_pt(ev, cols)
    else:
        data["by_term"] = [
            _row(str(t), ev[(ev["term"] == t).fillna(False).to_numpy(dtype=bool)], cols)
            for t in _ordered(ev, "term")
        ]
    site = ev["site"].fillna(_NOT_SITE)
    data["by_body_site"] = [
        _row(str(s), ev[(site == s).to_numpy(dtype=bool)], cols)
        for s in sorted(site.unique(), key=lambda s: (s == _NOT_SITE, s))
    ]
    data["serious"] = _listing(ev[_flag(ev["serious"])], cols)
    data["discontinued"] = _listing(_discontinued(trial, ev, by_disc), cols)
    data["deaths"] = _listing(ev[_flag(ev["fatal"])], cols) if deaths else None
    data["tables"] = harms_shells(data, split)
    return data


def _discontinued(trial: Trial, ev: pd.DataFrame, by_column: bool) -> pd.DataFrame:
    """Events leading to discontinuation: the flag when recorded, else the reason."""
    if by_column:
        return ev[_flag(ev["led_to_discontinuation"])]
    people = trial.subjects.drop_duplicates("subject_id").set_index("subject_id")
    reason = people["discontinuation_reason"].astype(object).fillna("").astype(str)
    left_ae = set(reason[reason.str.lower().str.startswith("adverse event")].index)
    return _from_reason(ev, reason, left_ae)


def _summary(
    trial: Trial, ev: pd.DataFrame, cols: list[dict[str, Any]], deaths: bool, by_disc: bool
) -> list[dict[str, Any]]:
    """Return the summary rows, every one shown even with zero events."""
    severe = (ev["severity"] == "severe").fillna(False).to_numpy(dtype=bool)
    rows = [
        _row("Any adverse event", ev, cols),
        _row("Serious adverse event", ev[_flag(ev["serious"])], cols),
        _row("Related to the product", ev[_flag(ev["related"])], cols),
        _row("Severe", ev[severe], cols),
        _row("Leading to discontinuation", _discontinued(trial, ev, by_disc), cols),
    ]
    if deaths:
        rows.append(_row("Fatal (deaths)", ev[_flag(ev["fatal"])], cols))
    return rows


def _from_reason(ev: pd.DataFrame, reason: pd.Series, left: set[str]) -> pd.DataFrame:
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
