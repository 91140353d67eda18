"""Report section 5: baseline characteristics by arm, submission style.

Two tables: participants' demographics (age, sex, Fitzpatrick phototype; Skindex-16
domain scores at baseline) and the baseline values of the protocol's instrumental
endpoints. Parallel designs: one column per arm plus Total, population = randomised
(allocated) participants. Split-face designs: demographics for all randomised
participants; endpoint values per body-site group (the sites allocated each arm), as the
CONSORT within-person extension's baseline table asks.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from efficacy._cells import is_missing
from efficacy.analysis.plan import data_plan
from efficacy.consort._flowdata import allocated_units
from efficacy.errors import EfficacyError
from efficacy.instruments import ScoredTrial
from efficacy.instruments.catalogue import ENDPOINTS
from efficacy.protocol import Protocol
from efficacy.report._endpoints import endpoint_meta
from efficacy.report._format import unit_text
from efficacy.report._stats import NUMERIC_ROWS, column, count_cell, decimals, numeric_cells
from efficacy.trial import Trial

__all__ = ["baseline_tables"]

_SEX = {"f": "Female", "female": "Female", "m": "Male", "male": "Male"}
_PHOTOTYPES = ("I", "II", "III", "IV", "V", "VI")
RASCH = "rasch_0_100"  # ScoredTrial.pro metric of converted FACE-Q scores


def _first_values(ids: pd.Series, values: pd.Series) -> dict[Any, float]:
    """Each id's first value as a float (missing: NaN), as ``drop_duplicates`` keeps it."""
    out: dict[Any, float] = {}
    for key, value in zip(
        ids.tolist(), values.to_numpy(dtype=float, na_value=np.nan).tolist(), strict=True
    ):
        out.setdefault(key, value)
    return out


def _take(lookup: Mapping[Any, float], who: list[Any]) -> np.ndarray:
    """Return the values of `who` in `lookup` (NaN where absent), as ``reindex`` does."""
    return np.array([lookup.get(k, np.nan) for k in who], dtype=float)


def _arm_labels(trial: Trial) -> dict[str, str]:
    return {a.id: a.label for a in trial.manifest.arms}


def _numeric_rows(
    label: str, by_col: Mapping[str, np.ndarray], d: int | None = None
) -> list[dict[str, Any]]:
    allv = np.concatenate([v for v in by_col.values()]) if by_col else np.array([])
    d = decimals(allv) if d is None else d
    cells = {k: numeric_cells(v, d) for k, v in by_col.items()}
    rows: list[dict[str, Any]] = [{"label": label, "kind": "group", "cells": {}}]
    for key, text in NUMERIC_ROWS:
        rows.append({"label": text, "kind": "stat", "cells": {c: v[key] for c, v in cells.items()}})
    return rows


def _category_rows(
    label: str, by_col: Mapping[str, list[Any]], levels: tuple[str, ...]
) -> list[dict[str, Any]]:
    """Group row `label`, then ``n (%)`` of each level (and *Missing*, if any) per column."""
    rows: list[dict[str, Any]] = [{"label": label, "kind": "group", "cells": {}}]
    show = list(levels)
    missing = {c: [is_missing(v) for v in s] for c, s in by_col.items()}
    if any(any(m) for m in missing.values()):
        show.append("Missing")
    for level in show:
        cells = {}
        for c, s in by_col.items():
            if level == "Missing":
                n = sum(missing[c])
            else:
                n = sum(1 for v, m in zip(s, missing[c], strict=True) if not m and v == level)
            cells[c] = count_cell(n, len(s))
        rows.append({"label": level, "kind": "level", "cells": cells})
    return rows


def _columns(trial: Trial, units: pd.DataFrame, split: bool) -> list[dict[str, Any]]:
    labels = _arm_labels(trial)
    order = list(dict.fromkeys([*labels, *units["arm"]]))
    cols = []
    for arm in order:
        n = int((units["arm"] == arm).sum())
        if n:
            cols.append(column(arm, labels.get(arm, arm), n, "sites" if split else ""))
    return cols


def _demographics(
    trial: Trial, units: pd.DataFrame, split: bool, scored: ScoredTrial | None
) -> dict[str, Any]:
    people = units.drop_duplicates("subject_id")
    subj = trial.subjects_unique().set_index("subject_id")
    if split:
        groups = {"ALL": people["subject_id"].tolist()}
        cols = [column("ALL", "All randomised participants", len(people))]
    else:
        cols = [*_columns(trial, units, False), column("TOTAL", "Total", len(people))]
        groups = {
            c["key"]: units["subject_id"][units["arm"] == c["key"]].tolist() for c in cols[:-1]
        }
        groups["TOTAL"] = people["subject_id"].tolist()
    # each participant's values once, then each column's participants looked up
    ids = subj.index.tolist()
    age_of = dict(
        zip(ids, subj["age"].to_numpy(dtype=float, na_value=np.nan).tolist(), strict=True)
    )
    sex_of = dict(
        zip(
            ids,
            subj["sex"]
            .astype(object)
            .map(lambda x: _SEX.get(str(x).strip().lower(), x) if pd.notna(x) else None)
            .tolist(),
            strict=True,
        )
    )
    fitz = subj["fitzpatrick"]
    fitz_of = dict(zip(ids, fitz.astype(object).where(fitz.notna(), None).tolist(), strict=True))
    age = {k: _take(age_of, v) for k, v in groups.items()}
    sex = {k: [sex_of.get(i) for i in v] for k, v in groups.items()}
    phototype = {k: [fitz_of.get(i) for i in v] for k, v in groups.items()}
    rows = _numeric_rows("Age (years)", age, d=0)
    known: set[Any] = {v for s in sex.values() for v in s if not is_missing(v)}
    levels = tuple(sorted(known - {"Female", "Male"}))
    rows += _category_rows("Sex, n (%)", sex, ("Female", "Male", *levels))
    rows += _category_rows("Fitzpatrick phototype, n (%)", phototype, _PHOTOTYPES)
    rows += _skindex_rows(trial, groups, scored)
    rows += _faceq_rows(trial, groups, scored)
    return {
        "id": "demographics",
        "title": "Demographics and baseline PRO scores (randomised participants)",
        "columns": cols,
        "rows": rows,
    }


def _skindex_rows(
    trial: Trial, groups: Mapping[str, list[str]], scored: ScoredTrial | None
) -> list[dict[str, Any]]:
    if scored is None:
        return []
    pro = scored.pro
    base = trial.manifest.baseline_visit
    scores = pro[
        (pro["instrument"] == "skindex16").fillna(False) & (pro["visit"] == base).fillna(False)
    ]
    if scores.empty:
        return []
    rows: list[dict[str, Any]] = []
    by_scale = dict(list(scores.groupby("scale", sort=False)))
    for scale in ("symptoms", "emotions", "functioning"):
        s = by_scale.get(scale, scores.iloc[:0])
        first = _first_values(s["subject_id"], s["score"])
        by = {k: _take(first, v) for k, v in groups.items()}
        rows += _numeric_rows(f"Skindex-16 {scale} (0-100, higher = worse)", by, d=1)
    return rows


def _faceq_rows(
    trial: Trial, groups: Mapping[str, list[str]], scored: ScoredTrial | None
) -> list[dict[str, Any]]:
    """FACE-Q scale scores at baseline, for the scales converted to the Rasch 0-100 metric."""
    if scored is None:
        return []
    pro = scored.pro
    base = trial.manifest.baseline_visit
    scores = pro[
        (pro["instrument"] == "faceq").fillna(False)
        & (pro["visit"] == base).fillna(False)
        & (pro["metric"] == RASCH).fillna(False)
    ]
    rows: list[dict[str, Any]] = []
    by_scale = dict(list(scores.groupby("scale", sort=False)))
    for scale in sorted(scores["scale"].dropna().unique()):
        s = by_scale[scale]
        first = _first_values(s["subject_id"], s["score"])
        by = {k: _take(first, v) for k, v in groups.items()}
        name = str(scale).replace("_", " ")
        rows += _numeric_rows(f"FACE-Q {name} (Rasch 0-100, higher = better)", by, d=1)
    return rows


def _faceq_note(trial: Trial, scored: ScoredTrial | None) -> str | None:
    """Say how FACE-Q baseline scores are shown, or why they are not."""
    if not (trial.pro_responses["instrument"] == "faceq").fillna(False).any():
        return None
    if scored is not None and scored.conversion_source is not None:
        pro = scored.pro
        converted = (pro["instrument"] == "faceq").fillna(False) & (pro["metric"] == RASCH)
        if converted.fillna(False).any():
            name = Path(scored.conversion_source).name
            return (
                f"FACE-Q scale scores: raw sums converted to the Rasch 0-100 metric with the "
                f"conversion table {name} (listed with its SHA-256 in section 1)."
            )
    return (
        "FACE-Q baseline scores need the licensed raw-to-Rasch conversion table, which the "
        "bundle does not supply (trial.toml, [tables] faceq_conversion): not shown."
    )


def _endpoint_ids(trial: Trial, protocol: Protocol | None) -> tuple[list[str], str]:
    """Return the endpoints tabulated and the primary.

    The plan's catalogue endpoints, or the data's own parameters when the analysis runs
    on them (ADaM input, :func:`efficacy.analysis.plan.data_plan`).
    """
    plan = protocol.analysis if protocol is not None else None
    if plan is None:
        return [], ""
    try:
        on_data = data_plan(trial, plan)
    except EfficacyError:  # no parameter has a baseline: nothing to tabulate
        return [], ""
    if on_data is not None:
        ids = [on_data[0].primary, *on_data[0].secondary]
        return [i for i in dict.fromkeys(ids) if i], on_data[0].primary
    ids = [plan.primary, *plan.key_secondary, *plan.secondary]
    return [i for i in dict.fromkeys(ids) if i in ENDPOINTS], plan.primary


def _endpoints(
    trial: Trial,
    protocol: Protocol | None,
    units: pd.DataFrame,
    split: bool,
    scored: ScoredTrial | None,
) -> dict[str, Any]:
    cols = _columns(trial, units, split)
    if not split:
        cols.append(column("TOTAL", "Total", int(units["subject_id"].nunique())))
    ids, primary = _endpoint_ids(trial, protocol)
    values = None
    if scored is not None:
        d = scored.endpoints
        keep = (d["visit"] == trial.manifest.baseline_visit).fillna(False) & d["endpoint"].isin(
            ids
        ).fillna(False)
        values = d[keep.to_numpy(dtype=bool)]
    present = set(values["endpoint"].dropna().tolist()) if values is not None else set()
    by_endpoint: dict[Any, pd.DataFrame] = {}
    means: dict[Any, dict[Any, float]] = {}
    who: dict[str, list[Any]] = {}
    if split and values is not None:
        by_endpoint = dict(list(values.groupby("endpoint", sort=False)))
    elif values is not None:  # each participant's mean per endpoint, in one grouping
        means = _subject_means(values)
        who = _unit_ids(units, cols)
    rows: list[dict[str, Any]] = []
    for eid in ids:
        if eid not in present:
            continue
        meta = endpoint_meta(eid)
        unit = unit_text(meta["unit"]) or "no unit"
        if split:
            by = _by_site(by_endpoint[eid], units, cols)
        else:
            mean = means.get(eid, {})
            by = {c["key"]: _take(mean, who[c["key"]]) for c in cols}
        tag = " (primary)" if eid == primary else ""
        rows += _numeric_rows(f"{meta['label']}, {unit}{tag}", by)
    return {
        "id": "endpoints",
        "title": "Baseline values of the endpoints"
        + (" by body-site group (sites allocated each arm)" if split else " (randomised)"),
        "columns": cols,
        "rows": rows,
    }


def _unit_ids(units: pd.DataFrame, cols: list[dict[str, Any]]) -> dict[str, list[Any]]:
    """Parallel designs: each column's participants (first appearance order, no repeats)."""
    out = {}
    for c in cols:
        who = (
            units["subject_id"]
            if c["key"] == "TOTAL"
            else units["subject_id"][units["arm"] == c["key"]]
        )
        out[c["key"]] = who.drop_duplicates().tolist()
    return out


def _subject_means(values: pd.DataFrame) -> dict[Any, dict[Any, float]]:
    """Endpoint -> participant -> mean value (over the participant's sites and readings)."""
    per = values.groupby(["endpoint", "subject_id"], sort=False)["value"].mean()
    out: dict[Any, dict[Any, float]] = {}
    keys: list[tuple[Any, Any]] = per.index.tolist()
    for (eid, sid), m in zip(
        keys, per.to_numpy(dtype=float, na_value=np.nan).tolist(), strict=True
    ):
        out.setdefault(eid, {})[sid] = m
    return out


def _by_site(
    v: pd.DataFrame, units: pd.DataFrame, cols: list[dict[str, Any]]
) -> dict[str, np.ndarray]:
    """Split-face designs: the baseline value of each allocated site, per column.

    As a left join of the units (each allocated site) with the readings on participant
    and body site: every reading of the site in the readings' order, NaN for a site
    without one, missing keys matching missing keys; the units' order is kept.
    """
    readings: dict[tuple[Any, Any], list[float]] = {}
    values = v["value"].to_numpy(dtype=float, na_value=np.nan).tolist()
    keys = zip(_plain(v["subject_id"]), _plain(v["body_site"]), strict=True)
    for key, value in zip(keys, values, strict=True):
        readings.setdefault(key, []).append(value)
    by: dict[Any, list[float]] = {c["key"]: [] for c in cols}
    for sid, site, arm in zip(
        _plain(units["subject_id"]), _plain(units["site"]), _plain(units["arm"]), strict=True
    ):
        if arm in by:
            by[arm] += readings.get((sid, site), [np.nan])
    return {key: np.array(vals, dtype=float) for key, vals in by.items()}


def _plain(values: pd.Series) -> list[Any]:
    """Return the values as a list, every missing value (None, NaN, NaT, pd.NA) as None."""
    return [None if v is None or v is pd.NA or v != v else v for v in values.tolist()]


def baseline_tables(
    trial: Trial, protocol: Protocol | None, scored: ScoredTrial | None
) -> dict[str, Any]:
    """Build report section 5 (JSON-ready).

    Parameters
    ----------
    trial : Trial
    protocol : Protocol or None
        Its ``[analysis]`` endpoints are tabulated (primary, key secondary, secondary).
    scored : ScoredTrial or None
        The scored trial the analysis used (:attr:`efficacy.AnalysisResult.scored`), or
        the report's own scoring with the protocol's options when there is no analysis;
        None when the trial could not be scored (no endpoint values or PRO scores
        shown).

    Returns
    -------
    dict
        ``population`` (text), ``notes`` (list of str) and ``tables``: the demographics
        and endpoint tables, each with ``columns`` (key, label, N, head "(N=xx)") and
        ``rows`` (label, kind group/stat/level, ``cells`` by column key, each with its
        numbers and ``text``).

    Notes
    -----
    Mean (SD), Median, Min, Max of the non-missing values; n (%) of the column's N.
    Endpoint values are those of `scored` (the mean of replicate readings, Cutometer
    parameters with the protocol's ``[scoring]`` options), in the catalogue unit: the
    very values the analysis used.
    """
    units = allocated_units(trial)
    split = trial.manifest.design == "split_face"
    notes = []
    if scored is None:
        notes.append(
            "The trial could not be scored (see the validation findings): endpoint values "
            "and PRO scores at baseline are not shown."
        )
    faceq = _faceq_note(trial, scored)
    if faceq is not None:
        notes.append(faceq)
    if not split:
        notes.append(
            "Endpoint values of a participant measured at several body sites are "
            "averaged over the sites."
        )
    return {
        "population": "randomised participants, by allocated arm"
        + ("; endpoint values per body-site group" if split else ""),
        "notes": notes,
        "tables": [
            _demographics(trial, units, split, scored),
            _endpoints(trial, protocol, units, split, scored),
        ],
    }
