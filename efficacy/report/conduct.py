"""Report: analysis populations (who is excluded from per-protocol, why) and deviations.

Both belong to the CONSORT flow (section 3): CONSORT 2025 items 21b (who is in each
analysis) and 22b (losses and exclusions after randomisation, with reasons), ICH E3
10.2 (protocol deviations).

*Analysis populations* counts, per arm, the randomised participants, the ITT, safety
and per-protocol populations, and every per-protocol exclusion with its reason: the
participant's ``subjects.pp_exclusion_reason`` when recorded, else their major
deviations in the ``deviations`` table, else *reason not recorded* (never dropped), so
randomised = per-protocol + excluded and excluded = the sum of the reasons, per arm.

*Protocol deviations* summarises the optional ``deviations`` table by category and arm
(participants with at least one, ``n (%) [deviations]``) and lists the major ones per
participant. Without the table the section says it was not supplied (no zeros).

Split-face designs have no arm per participant: one column, all participants.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

import numpy as np
import pandas as pd

from efficacy._cells import is_missing, missing_last
from efficacy.report._shell import n_pct, shell
from efficacy.trial import Trial

__all__ = ["DEVIATIONS_NOT_SUPPLIED", "NOT_RECORDED", "deviation_section", "population_section"]

#: The reason shown for a per-protocol exclusion that no input explains.
NOT_RECORDED = "reason not recorded"
#: What the deviations part says when the bundle has no deviations table.
DEVIATIONS_NOT_SUPPLIED = (
    "Not supplied: the bundle has no deviations table ([tables] deviations), so protocol "
    "deviations are not reported. No counts are shown (an absent table is not zero "
    "deviations)."
)


def _text(value: Any) -> str:
    """Return the value as text; "" when missing."""
    return "" if value is None or bool(pd.isna(value)) else str(value)


def _flag(values: pd.Series) -> pd.Series:
    return values.astype("boolean").fillna(False).astype(bool)


def _randomised(trial: Trial) -> pd.DataFrame:
    """Randomised participants (first row per id) with their column (``group``)."""
    s = trial.subjects_unique()
    s = s[_flag(s["randomized"]).to_numpy(bool)].copy()
    if trial.manifest.design == "parallel":
        s["group"] = s["arm"].astype(object).where(s["arm"].notna(), "(no arm)")
    else:
        s["group"] = "ALL"
    return s.reset_index(drop=True)


def _groups(trial: Trial, s: pd.DataFrame) -> list[tuple[str, str]]:
    """(key, label) of each column: arms in manifest order, or all participants."""
    if trial.manifest.design != "parallel":
        return [("ALL", "All participants")]
    labels = {a.id: a.label for a in trial.manifest.arms}
    keys = list(dict.fromkeys([*labels, *s["group"]]))
    return [(k, labels.get(k, k)) for k in keys if (s["group"] == k).any()]


def _major(trial: Trial) -> dict[Any, str]:
    """Each participant's major deviation categories, joined (first-seen order, no repeats).

    Participants with a major deviation (and a subject id) only; "" when none of theirs
    has a category.
    """
    src = trial.sources.get("deviations")
    dev = trial.deviations
    if src is None or src.path is None or dev.empty:
        return {}
    major = _flag(dev["major"]).to_numpy(bool).tolist()
    categories: dict[Any, dict[str, None]] = {}
    for sid, category, flagged in zip(
        dev["subject_id"].tolist(), dev["category"].tolist(), major, strict=True
    ):
        if flagged and not is_missing(sid):
            seen = categories.setdefault(sid, {})
            if not is_missing(category):
                seen[str(category)] = None
    return {sid: "; ".join(seen) for sid, seen in categories.items()}


def _reasons(trial: Trial, out: pd.DataFrame) -> pd.DataFrame:
    """Reason and its source for each excluded participant."""
    recorded = out["pp_exclusion_reason"].astype(object)
    recorded = recorded.where(recorded.notna(), "").astype(str).str.strip()
    major = _major(trial)
    reason, source = [], []
    for sid, text in zip(out["subject_id"], recorded, strict=True):
        if text:
            reason.append(text)
            source.append("subjects.pp_exclusion_reason")
        elif major.get(sid):
            categories = str(major[sid])
            plural = "s" if ";" in categories else ""
            reason.append(f"major protocol deviation{plural}: {categories}")
            source.append("deviations (major)")
        else:
            reason.append(NOT_RECORDED)
            source.append("none")
    return out.assign(reason=reason, source=source)


def population_section(trial: Trial) -> dict[str, Any]:
    """Build the analysis-populations part of section 3 (JSON-ready).

    Returns
    -------
    dict
        ``status`` (``"recorded"``, or ``"not recorded"`` when no participant has a
        per_protocol flag), ``columns`` (key, label, N randomised), ``counts`` per
        column (randomised, itt, safety, per_protocol, excluded), ``reasons`` (reason ->
        column -> n, in descending order of the total), ``by_disposition`` (disposition
        -> column -> n, of the excluded), ``excluded`` (one entry per excluded
        participant: subject_id, group, disposition, reason, source), ``sources`` and
        ``tables`` (shells).
    """
    s = _randomised(trial)
    groups = _groups(trial, s)
    pp_recorded = s["per_protocol"].notna().any()
    counts = {}
    group = s["group"].tolist()
    per_protocol = _flag(s["per_protocol"]).to_numpy(bool)
    safety, safety_recorded = _flag(s["safety"]).to_numpy(bool), s["safety"].notna().to_numpy()
    for key, _ in groups:
        at = [i for i, g in enumerate(group) if g == key]
        pp = int(per_protocol[at].sum())
        counts[key] = {
            "randomised": len(at),
            "itt": len(at),
            "safety": int(safety[at].sum()) if safety_recorded[at].any() else None,
            "per_protocol": pp,
            "excluded": len(at) - pp,
        }
    out = _reasons(trial, s[~per_protocol])
    out_group = out["group"].tolist()

    def tally(values: list[Any], value: Any) -> dict[str, int]:
        """Excluded participants with `value` per column."""
        return {
            k: sum(1 for v, g in zip(values, out_group, strict=True) if v == value and g == k)
            for k, _ in groups
        }

    reason = out["reason"].tolist()
    order = Counter(reason)
    ranked = sorted(order, key=lambda r: (r == NOT_RECORDED, -order[r], str(r)))
    reasons = [{"reason": r, "counts": tally(reason, r)} for r in ranked]
    disp = out["disposition"].astype(object).fillna("not recorded").astype(str).tolist()
    by_disposition = [
        {"disposition": d.replace("_", " "), "counts": tally(disp, d)}
        for d in sorted(set(disp), key=lambda d: (d != "completed", d))
    ]
    labels = dict(groups)
    excluded = [
        {
            "subject_id": str(r["subject_id"]),
            "group": labels.get(str(r["group"]), str(r["group"])),
            "disposition": _text(r["disposition"]).replace("_", " "),
            "reason": str(r["reason"]),
            "source": str(r["source"]),
        }
        # by subject id (one row each: subjects_unique), as sort_values("subject_id")
        for r in sorted(out.to_dict("records"), key=lambda r: missing_last(r["subject_id"]))
    ]
    data: dict[str, Any] = {
        "status": "recorded" if pp_recorded else "not recorded",
        "columns": [{"key": k, "label": lab, "N": counts[k]["randomised"]} for k, lab in groups],
        "counts": counts,
        "reasons": reasons,
        "by_disposition": by_disposition,
        "excluded": excluded,
        "sources": sorted(set(out["source"])),
    }
    data["tables"] = _population_shells(data) if pp_recorded else []
    return data


def _head(data: dict[str, Any], first: str) -> list[str]:
    """Header: arms by id (the title block gives their labels), ``(N=xx)``."""
    return [
        first,
        *(f"{c['key'] if c['key'] != 'ALL' else c['label']} (N={c['N']})" for c in data["columns"]),
    ]


def _population_shells(data: dict[str, Any]) -> list[dict[str, Any]]:
    cols = [c["key"] for c in data["columns"]]
    counts = data["counts"]

    def line(label: str, key: str) -> list[str]:
        cells = []
        for c in cols:
            v = counts[c][key]
            cells.append("not recorded" if v is None else n_pct(v, counts[c]["randomised"]))
        return [label, *cells]

    rows = [
        line("Randomised", "randomised"),
        line("Intention to treat (all randomised)", "itt"),
        line("Safety", "safety"),
        line("Per protocol", "per_protocol"),
        line("Excluded from per protocol", "excluded"),
    ]
    indent = [0, 1, 1, 1, 1]
    for r in data["reasons"]:
        rows.append([r["reason"], *(n_pct(r["counts"][c], counts[c]["randomised"]) for c in cols)])
        indent.append(2)
    main = shell(
        "populations",
        "Table 3.1 Analysis populations and exclusions from per protocol, with reasons",
        _head(data, "Population"),
        rows,
        indent=indent,
        footnotes=[
            "n (%) of the randomised participants of the column. Randomised = per protocol "
            "+ excluded; the excluded are split by reason (each participant once).",
            "Reason: subjects.pp_exclusion_reason when recorded, else the participant's "
            f"major deviations (deviations table), else '{NOT_RECORDED}'.",
        ],
    )
    disp = shell(
        "populations_disposition",
        "Table 3.2 Participants excluded from per protocol, by disposition",
        _head(data, "Disposition"),
        [[d["disposition"], *(str(d["counts"][c]) for c in cols)] for d in data["by_disposition"]],
        footnotes=["Completed: finished the study but excluded (e.g. a major deviation)."],
    )
    listing = shell(
        "populations_excluded_listing",
        "Listing 3.3 Participants excluded from per protocol",
        ["Participant", "Group", "Disposition", "Reason"],
        [[e["subject_id"], e["group"], e["disposition"], e["reason"]] for e in data["excluded"]],
        footnotes=[] if data["excluded"] else ["No participant is excluded from per protocol."],
    )
    return [main, disp, listing]


def deviation_section(trial: Trial) -> dict[str, Any]:
    """Build the protocol-deviations part of section 3 (JSON-ready).

    Returns
    -------
    dict
        ``status`` (``"supplied"`` / ``"not supplied"``), ``message``, ``columns`` (the
        randomised participants per column, as the populations part), ``summary`` (rows:
        label, level 0 any / 1 category, major flag, cells n / N / deviations),
        ``major`` (one entry per major deviation: subject_id, group, category,
        description, day), ``notes`` and ``tables`` (shells; empty when not supplied).
    """
    src = trial.sources.get("deviations")
    if src is None or src.path is None:
        return {"status": "not supplied", "message": DEVIATIONS_NOT_SUPPLIED, "tables": []}
    s = _randomised(trial)
    groups = _groups(trial, s)
    group_of = s.set_index("subject_id")["group"]
    dev = trial.deviations.assign(group=trial.deviations["subject_id"].map(group_of))
    notes = []
    outside = int(dev["group"].isna().sum())
    if outside:
        notes.append(f"{outside} deviation(s) of people who were not randomised are not counted.")
    dev = dev[dev["group"].notna()]
    dev = dev.assign(category=dev["category"].astype(object).fillna("(no category)"))
    n = {k: int((s["group"] == k).sum()) for k, _ in groups}

    # counted over positions into plain lists: one pass per row, no pandas filter per cell
    group, subject = dev["group"].tolist(), dev["subject_id"].tolist()
    category, category_text = dev["category"].tolist(), dev["category"].astype(str).tolist()

    def row(label: str, at: list[int], level: int, major: bool) -> dict[str, Any]:
        cells = {}
        for k, _ in groups:
            g = [i for i in at if group[i] == k]
            people = len({subject[i] for i in g if not is_missing(subject[i])})
            cells[k] = {"n": people, "N": n[k], "deviations": len(g)}
        return {"label": label, "level": level, "major": major, "cells": cells}

    summary = []
    every = list(range(len(dev)))
    is_major = np.flatnonzero(_flag(dev["major"]).to_numpy(bool)).tolist()
    for major, title in ((None, "Any protocol deviation"), (True, "Any major deviation")):
        sel = every if major is None else is_major
        summary.append(row(title, sel, 0, bool(major)))
        for cat in sorted({category_text[i] for i in sel}):
            summary.append(row(cat, [i for i in sel if category[i] == cat], 1, bool(major)))
    labels = dict(groups)
    major_rows = sorted(  # as sort_values(["subject_id", "day"], kind="stable")
        dev[_flag(dev["major"]).to_numpy(bool)].to_dict("records"),
        key=lambda r: (missing_last(r["subject_id"]), missing_last(r["day"])),
    )
    listing = [
        {
            "subject_id": str(r["subject_id"]),
            "group": labels.get(str(r["group"]), str(r["group"])),
            "category": str(r["category"]),
            "description": _text(r["description"]),
            "day": None if _text(r["day"]) == "" else int(r["day"]),
        }
        for r in major_rows
    ]
    data: dict[str, Any] = {
        "status": "supplied",
        "message": "",
        "columns": [{"key": k, "label": lab, "N": n[k]} for k, lab in groups],
        "summary": summary,
        "major": listing,
        "notes": notes,
    }
    data["tables"] = _deviation_shells(data)
    return data


def _deviation_shells(data: dict[str, Any]) -> list[dict[str, Any]]:
    cols = [c["key"] for c in data["columns"]]
    rows = [
        [
            r["label"],
            *(
                n_pct(r["cells"][c]["n"], r["cells"][c]["N"], r["cells"][c]["deviations"])
                for c in cols
            ),
        ]
        for r in data["summary"]
    ]
    summary = shell(
        "deviations_summary",
        "Table 3.4 Protocol deviations by category",
        _head(data, "Category"),
        rows,
        indent=[r["level"] for r in data["summary"]],
        footnotes=[
            "n (%) [deviations]: participants with at least one deviation, % of the "
            "randomised participants of the column, number of deviations.",
            *data["notes"],
        ],
    )
    listing = shell(
        "deviations_major_listing",
        "Listing 3.5 Major protocol deviations, per participant",
        ["Participant", "Group", "Category", "Description", "Day"],
        [
            [
                d["subject_id"],
                d["group"],
                d["category"],
                d["description"],
                "" if d["day"] is None else str(d["day"]),
            ]
            for d in data["major"]
        ],
        footnotes=[] if data["major"] else ["No major deviation was recorded."],
    )
    return [summary, listing]
