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

from collections.abc import Iterable, Sequence
from typing import Any, NamedTuple

import numpy as np
import pandas as pd

from efficacy._cells import is_missing, missing_last
from efficacy.consort._flowdata import allocated_units
from efficacy.report._harms_tables import harms_shells
from efficacy.report._lists import isin
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


class _Events(NamedTuple):
    """The tabulated events' subject, column and counting unit, as plain lists (None: missing).

    Rows are counted over positions into these lists (one pass of Python over a few
    hundred events instead of a pandas filter per row and column).
    """

    subject: list[Any]
    col: list[Any]
    unit: list[Any]

    @classmethod
    def of(cls, ev: pd.DataFrame) -> _Events:
        """Return the lists of `ev`, every missing value (None, NaN, NaT, pd.NA) as None."""

        def values(column: str) -> list[Any]:
            return [None if is_missing(v) else v for v in ev[column].tolist()]

        return cls(values("subject_id"), values("col"), values("unit"))


def _distinct(values: Iterable[Any]) -> int:
    """Count the distinct non-missing values (``Series.nunique``)."""
    return len({v for v in values if not is_missing(v)})


def _row(label: str, ev: pd.DataFrame, cols: list[dict[str, Any]]) -> dict[str, Any]:
    return _row_at(label, _Events.of(ev), range(len(ev)), cols)


def _row_at(
    label: str, ev: _Events, at: Sequence[int], cols: list[dict[str, Any]]
) -> dict[str, Any]:
    """Return the row of the events at positions `at` of `ev` (``n (%) [events]`` cells)."""
    # one pass over the events: each column's distinct units and events, all subjects
    subjects: set[Any] = set()
    units: dict[Any, set[Any]] = {}
    events: dict[Any, int] = {}
    subject, column, unit = ev
    for i in at:
        if subject[i] is not None:
            subjects.add(subject[i])
        col = column[i]
        if col is not None:
            events[col] = events.get(col, 0) + 1
            if unit[i] is not None:
                units.setdefault(col, set()).add(unit[i])
    cells = {}
    for c in cols:
        key = c["key"]
        if key in ("TOTAL", "ALL"):
            cells[key] = count_cell(len(subjects), c["N"], len(at))
        else:
            cells[key] = count_cell(len(units.get(key, ())), c["N"], events.get(key, 0))
    return {"label": label, "kind": "level", "cells": cells}


def _where(mask: np.ndarray) -> list[int]:
    """Positions where the boolean `mask` is true."""
    return np.flatnonzero(mask).tolist()


def _positions(values: Sequence[Any], at: Iterable[int]) -> dict[Any, list[int]]:
    """Positions (among `at`) of each non-missing value of `values`."""
    out: dict[Any, list[int]] = {}
    for i in at:
        if not is_missing(values[i]):
            out.setdefault(values[i], []).append(i)
    return out


def _recorded(trial: Trial, name: str) -> bool:
    """Whether the adverse_events file has column `name` (quiet optional columns)."""
    src = trial.sources.get("adverse_events")
    return src is not None and name not in src.missing_columns


def _rows(
    ev: _Events, groups: list[tuple[str, np.ndarray]], cols: list[dict[str, Any]]
) -> list[Any]:
    return [_row_at(label, ev, _where(mask), cols) for label, mask in groups]


def _ordered(values: Sequence[Any], subject: Sequence[Any], at: Sequence[int]) -> list[Any]:
    """Values at `at`, most participants (all columns) first, then events, then name."""
    where = _positions(values, at)
    people = {t: _distinct(subject[i] for i in idx) for t, idx in where.items()}
    return sorted(where, key=lambda t: (-people[t], -len(where[t]), str(t)))


def _by_soc_pt(frame: pd.DataFrame, cols: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """SOC rows (level 0) each followed by its PT rows (level 1); uncoded events last."""
    soc = frame["soc"].astype(object).where(frame["soc"].notna(), "(not coded)").tolist()
    pt = frame["pt"].astype(object).where(frame["pt"].notna(), frame["term"]).tolist()
    ev = _Events.of(frame)
    every = range(len(soc))
    out = [_row_at("Any adverse event", ev, every, cols) | {"level": 0}]
    in_soc = _positions(soc, every)
    socs = [s for s in _ordered(soc, ev.subject, every) if s != "(not coded)"]
    socs += ["(not coded)"] if "(not coded)" in in_soc else []
    for name in socs:
        at = in_soc[name]
        out.append(_row_at(str(name), ev, at, cols) | {"level": 1})
        in_pt = _positions(pt, at)
        for term in _ordered(pt, ev.subject, at):
            out.append(_row_at(str(term), ev, in_pt[term], cols) | {"level": 2})
    return out


def _by_severity(frame: pd.DataFrame, cols: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Each event counted at its participant's (unit's) worst severity."""
    rank = {s: i for i, s in enumerate(_SEVERITIES)}
    sev = frame["severity"].astype(object).map(lambda v: rank.get(str(v).lower(), -1))
    worst = sev.groupby(frame["unit"]).transform("max").to_numpy()
    groups = [(s.capitalize(), worst == i) for s, i in rank.items()]
    if (worst < 0).any():
        groups.append(("Severity not recorded", worst < 0))
    return _rows(_Events.of(frame), groups, cols)


def _by_relatedness(frame: pd.DataFrame, cols: list[dict[str, Any]]) -> list[dict[str, Any]]:
    related = frame["related"].astype("boolean")
    groups = [
        ("Related to the product", related.fillna(False).to_numpy(bool)),
        ("Not related", (related == False).fillna(False).to_numpy(bool)),  # noqa: E712
    ]
    if related.isna().any():
        groups.append(("Relatedness not recorded", related.isna().to_numpy(bool)))
    return _rows(_Events.of(frame), groups, cols)


def _na(value: Any) -> Any:
    """None for a missing value (None, NaN, NaT, pd.NA), else the value."""
    return None if is_missing(value) else value


#: The columns an event's listing entry is made of.
_LISTED: tuple[str, ...] = ("subject_id", "col", "term", "soc", "pt", "onset_day")
_LISTED += ("severity", "serious", "related", "fatal", "site")


def _listing(ev: pd.DataFrame, cols: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """One entry per event, by subject then onset day (JSON-ready plain values)."""
    labels = {c["key"]: c["label"] for c in cols}
    columns = [ev[k].tolist() for k in _LISTED]
    subject, day = columns[0], columns[_LISTED.index("onset_day")]

    def position(i: int) -> tuple[tuple[bool, Any], tuple[bool, Any]]:
        """Sort key: ``sort_values(["subject_id", "onset_day"])``, missing values last."""
        return missing_last(subject[i]), missing_last(day[i])

    order = sorted(range(len(subject)), key=position)  # stable: ties keep the file order
    out = []
    for values in zip(*([c[i] for i in order] for c in columns), strict=True):
        # as ``to_dict("records")`` gives them: pd.NA as None
        r = {k: None if v is pd.NA else v for k, v in zip(_LISTED, values, strict=True)}
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
    inside = isin(ae["subject_id"].tolist(), units["subject_id"].tolist())
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
    events = _Events.of(ev)
    discontinued = _discontinued(trial, ev, by_disc)
    summary = _summary(ev, events, discontinued, cols, deaths)
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
        term, every = ev["term"].tolist(), range(len(ev))
        in_term = _positions(term, every)
        data["by_term"] = [
            _row_at(str(t), events, in_term[t], cols) for t in _ordered(term, events.subject, every)
        ]
    in_site = _positions(ev["site"].fillna(_NOT_SITE).tolist(), range(len(ev)))
    data["by_body_site"] = [
        _row_at(str(s), events, in_site[s], cols)
        for s in sorted(in_site, key=lambda s: (s == _NOT_SITE, s))
    ]
    data["serious"] = _listing(ev[_flag(ev["serious"])], cols)
    data["discontinued"] = _listing(discontinued, cols)
    data["deaths"] = _listing(ev[_flag(ev["fatal"])], cols) if deaths else None
    data["tables"] = harms_shells(data, split)
    return data


def _discontinued(trial: Trial, ev: pd.DataFrame, by_column: bool) -> pd.DataFrame:
    """Events leading to discontinuation: the flag when recorded, else the reason."""
    if by_column:
        return ev[_flag(ev["led_to_discontinuation"])]
    people = trial.subjects_unique().set_index("subject_id")
    reason = people["discontinuation_reason"].astype(object).fillna("").astype(str)
    left_ae = set(reason[reason.str.lower().str.startswith("adverse event")].index)
    return _from_reason(ev, reason, left_ae)


def _summary(
    ev: pd.DataFrame,
    events: _Events,
    discontinued: pd.DataFrame,
    cols: list[dict[str, Any]],
    deaths: bool,
) -> list[dict[str, Any]]:
    """Return the summary rows, every one shown even with zero events.

    `events` are `ev` as lists; `discontinued` the events leading to discontinuation.
    """
    severe = (ev["severity"] == "severe").fillna(False).to_numpy(dtype=bool)
    rows = [
        _row_at("Any adverse event", events, range(len(ev)), cols),
        _row_at("Serious adverse event", events, _where(_flag(ev["serious"])), cols),
        _row_at("Related to the product", events, _where(_flag(ev["related"])), cols),
        _row_at("Severe", events, _where(severe), cols),
        _row("Leading to discontinuation", discontinued, cols),
    ]
    if deaths:
        rows.append(_row_at("Fatal (deaths)", events, _where(_flag(ev["fatal"])), cols))
    return rows


def _from_reason(ev: pd.DataFrame, reason: pd.Series, left: set[str]) -> pd.DataFrame:
    """Return the event that made each participant in `left` discontinue.

    That is the participant's event whose term the discontinuation reason names
    (``adverse event: contact dermatitis``), else their first event.
    """
    sel = ev[isin(ev["subject_id"].tolist(), left)]
    named = [
        str(t).lower() in reason.get(s, "").lower()
        for s, t in zip(sel["subject_id"], sel["term"], strict=True)
    ]
    sel = sel.assign(_named=named).sort_values("_named", ascending=False, kind="stable")
    return sel.drop_duplicates("subject_id").drop(columns="_named")
