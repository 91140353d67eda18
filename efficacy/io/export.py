"""Analysis datasets for a submission: ADSL and ADEFF from a trial, as XPT or Dataset-JSON.

:func:`analysis_datasets` builds, from any :class:`~efficacy.trial.Trial` (a bundle read
with :func:`~efficacy.read_trial`, ADaM read with :func:`~efficacy.read_adam`) scored
once with :func:`efficacy.instruments.score_trial` (so PRO scale scores and other derived
endpoints are included):

* **ADSL** (one record per subject): STUDYID, USUBJID, SUBJID, SITEID, AGE, AGEU, SEX,
  FITZPAT (Fitzpatrick phototype), RANDDT, TRT01P, TRT01PN, RANDFL, ITTFL, FASFL,
  PPROTFL, SAFFL, EOSSTT, DCDECOD, DCSREAS;
* **ADEFF** (BDS, one record per subject, parameter, body site and visit) of every
  derived endpoint: the protocol's analysis endpoints first (primary, key secondary,
  secondary, in that order; PARAMN 1, 2, ...), then the trial's other endpoints:
  STUDYID, USUBJID, TRT01P, TRT01PN, ITTFL, FASFL, PPROTFL, SAFFL, PARAMCD, PARAM,
  PARAMN, AVISIT, AVISITN, ADY, AWTARGET, AWLO, AWHI, AWU, ALOC (body site; only when
  there is one), AVAL, AVALU, BASE, CHG, PCHG, ABLFL, ANL01FL.

Mapping
-------
* TRT01P: the arm id; TRT01PN: 0 for the control arm(s), 1, 2, ... for the others in
  manifest order; blank / missing for subjects without an arm (screen failures).
  Split-face trials: TRT01P is the allocation (``left_cheek=ACTIVE;right_cheek=VEHICLE``),
  TRT01PN missing, and ADEFF has TRTP, the arm applied at the record's body site.
* RANDFL = randomized; ITTFL = itt as recorded; FASFL = randomized (the full analysis
  set ``efficacy.analyze`` calls ITT: every randomised participant); PPROTFL =
  per_protocol; SAFFL = safety; all "Y" / "N".
* EOSSTT: COMPLETED, DISCONTINUED (any other disposition of a randomised subject) or
  blank; DCDECOD: the disposition upper-cased with spaces (COMPLETED, LOST TO
  FOLLOW-UP, SCREEN FAILURE, ...); DCSREAS: the discontinuation reason.
* PARAMCD: :data:`PARAMCDS` for known endpoints (at most 8 characters); another
  endpoint id gets its letters and digits, upper-cased, cut to 8 and made unique with
  a trailing digit. PARAM: the catalogue label and unit (PRO scales: instrument, scale
  and metric).
* AVISIT: the visit id; AVISITN: its week; ADY: the study day in ADaM's convention (no
  day 0: a bundle whose baseline is day 0 has ADY = day + 1 from day 0 on); AWTARGET:
  the visit's target day in the same convention, AWLO / AWHI: target -/+ the visit
  window (days, AWU = DAYS).
* AVAL / BASE / CHG / PCHG: value, baseline, change and percent change of the derived
  endpoint table; ABLFL = "Y" on the baseline record; ANL01FL = "Y" on records with a
  value at a scheduled visit.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from efficacy.errors import EfficacyError
from efficacy.io._dsj_meta import DatasetMetadata
from efficacy.io._dsj_values import STRING
from efficacy.io.datasets import metadata_for, utc_now, xpt_problems

if TYPE_CHECKING:
    from efficacy.instruments import ScoredTrial
    from efficacy.protocol import Protocol
    from efficacy.trial import Trial

__all__ = [
    "ADEFF_LABELS",
    "ADSL_LABELS",
    "PARAMCDS",
    "AnalysisDataset",
    "analysis_datasets",
    "export_problems",
    "paramcd_map",
]

#: PARAMCD of each known endpoint (catalogue and PRO scale ids); at most 8 characters.
PARAMCDS: Mapping[str, str] = MappingProxyType(
    {
        "cutometer_uf": "CUTUF",
        "cutometer_ue": "CUTUE",
        "cutometer_uv": "CUTUV",
        "cutometer_ur": "CUTUR",
        "cutometer_ua": "CUTUA",
        "cutometer_r0": "CUTR0",
        "cutometer_r2": "CUTR2",
        "cutometer_r5": "CUTR5",
        "cutometer_r6": "CUTR6",
        "cutometer_r7": "CUTR7",
        "cutometer_r8": "CUTR8",
        "corneometer": "CORNEO",
        "tewl": "TEWL",
        "wrinkle_ra": "WRKRA",
        "wrinkle_rz": "WRKRZ",
        "wrinkle_depth_max": "WRKDMAX",
        "wrinkle_volume": "WRKVOL",
        "visia_wrinkles_percentile": "VISWPCT",
        "visia_wrinkles_score": "VISWSC",
        "visia_wrinkles_count": "VISWCNT",
        "skindex16_symptoms": "SKXSYMP",
        "skindex16_emotions": "SKXEMOT",
        "skindex16_functioning": "SKXFUNC",
        "skindex16_overall": "SKXOVER",
        "faceq_satisfaction_facial_appearance": "FQSATFA",
        "faceq_psychological_function": "FQPSYF",
        "faceq_social_function": "FQSOCF",
    }
)

#: Variable labels of ADSL (each at most 40 ASCII characters).
ADSL_LABELS: Mapping[str, str] = MappingProxyType(
    {
        "STUDYID": "Study Identifier",
        "USUBJID": "Unique Subject Identifier",
        "SUBJID": "Subject Identifier for the Study",
        "SITEID": "Study Site Identifier",
        "AGE": "Age",
        "AGEU": "Age Units",
        "SEX": "Sex",
        "FITZPAT": "Fitzpatrick Skin Phototype",
        "RANDDT": "Date of Randomization",
        "TRT01P": "Planned Treatment for Period 01",
        "TRT01PN": "Planned Treatment for Period 01 (N)",
        "RANDFL": "Randomized Population Flag",
        "ITTFL": "Intent-To-Treat Population Flag",
        "FASFL": "Full Analysis Set Population Flag",
        "PPROTFL": "Per-Protocol Population Flag",
        "SAFFL": "Safety Population Flag",
        "EOSSTT": "End of Study Status",
        "DCDECOD": "Standardized Disposition Term",
        "DCSREAS": "Reason for Discontinuation from Study",
    }
)

#: Variable labels of ADEFF (each at most 40 ASCII characters).
ADEFF_LABELS: Mapping[str, str] = MappingProxyType(
    {
        **{k: ADSL_LABELS[k] for k in ("STUDYID", "USUBJID", "TRT01P", "TRT01PN")},
        **{k: ADSL_LABELS[k] for k in ("ITTFL", "FASFL", "PPROTFL", "SAFFL")},
        "PARAMCD": "Parameter Code",
        "PARAM": "Parameter",
        "PARAMN": "Parameter (N)",
        "AVISIT": "Analysis Visit",
        "AVISITN": "Analysis Visit (N)",
        "ADY": "Analysis Relative Day",
        "AWTARGET": "Analysis Window Target",
        "AWLO": "Analysis Window Beginning Timepoint",
        "AWHI": "Analysis Window Ending Timepoint",
        "AWU": "Analysis Window Unit",
        "ALOC": "Analysis Location (Body Site)",
        "TRTP": "Planned Treatment at the Location",
        "AVAL": "Analysis Value",
        "AVALU": "Analysis Value Unit",
        "BASE": "Baseline Value",
        "CHG": "Change from Baseline",
        "PCHG": "Percent Change from Baseline",
        "ABLFL": "Baseline Record Flag",
        "ANL01FL": "Analysis Flag 01",
    }
)

_PRO_NAMES = {"skindex16": "Skindex-16", "faceq": "FACE-Q"}


@dataclass(frozen=True)
class AnalysisDataset:
    """One analysis dataset: its data and its Dataset-JSON metadata (name, labels, types)."""

    frame: pd.DataFrame
    metadata: DatasetMetadata


def paramcd_map(endpoints: list[str]) -> dict[str, str]:
    """PARAMCD for each endpoint id: :data:`PARAMCDS`, else a unique 8-character code.

    Examples
    --------
    >>> paramcd_map(["cutometer_r2", "my_custom_score", "my_custom_scale"])
    {'cutometer_r2': 'CUTR2', 'my_custom_score': 'MYCUSTOM', 'my_custom_scale': 'MYCUSTO1'}
    """
    out: dict[str, str] = {}
    used = set()
    for e in endpoints:
        code = PARAMCDS.get(e) or re.sub(r"[^A-Z0-9]", "", e.upper())[:8] or "PARAM"
        if code[0].isdigit():
            code = ("P" + code)[:8]
        base, n = code, 0
        while code in used:
            n += 1
            code = base[: 8 - len(str(n))] + str(n)
        used.add(code)
        out[e] = code
    return out


def _param(endpoint: str, unit: Any) -> str:
    from efficacy.instruments.catalogue import ENDPOINTS

    unit_text = "" if unit is None or pd.isna(unit) else f" ({unit})"
    entry = ENDPOINTS.get(endpoint)
    if entry is not None:
        return f"{entry.label}{unit_text}"
    instrument, _, scale = endpoint.partition("_")
    if instrument in _PRO_NAMES and scale:
        return f"{_PRO_NAMES[instrument]} {scale.replace('_', ' ')}{unit_text}"
    return f"{endpoint}{unit_text}"


def _yn(values: pd.Series) -> pd.Series:
    flags = values.astype("boolean").fillna(False).to_numpy(dtype=bool)
    return pd.Series(np.where(flags, "Y", "N"), index=values.index, dtype=STRING)


def _text(values: pd.Series) -> pd.Series:
    return values.astype(STRING)


def _treatment(trial: Trial, subjects: pd.DataFrame) -> tuple[pd.Series, pd.Series]:
    """TRT01P and TRT01PN (see the module notes)."""
    m = trial.manifest
    if m.design == "split_face":
        trt = _text(subjects["allocation"])
        return trt, pd.Series(pd.array([None] * len(subjects), dtype="Int64"))
    controls = [a.id for a in m.arms if a.control]
    actives = [a.id for a in m.arms if not a.control]
    codes = {a: 0 for a in controls} | {a: i for i, a in enumerate(actives, start=1)}
    arm = _text(subjects["arm"])
    number = pd.array([codes.get(a) if isinstance(a, str) else None for a in arm], "Int64")
    return arm, pd.Series(number)


def _disposition(subjects: pd.DataFrame) -> tuple[pd.Series, pd.Series]:
    d = _text(subjects["disposition"])
    code = d.str.upper().str.replace("_", " ", regex=False)
    code = code.where(~code.eq("LOST TO FOLLOW UP").fillna(False), "LOST TO FOLLOW-UP")
    randomised = subjects["randomized"].astype("boolean").fillna(False).to_numpy(bool)
    status = np.where(
        d.eq("completed").fillna(False).to_numpy(bool),
        "COMPLETED",
        np.where(randomised & d.notna().to_numpy(bool), "DISCONTINUED", ""),
    )
    return pd.Series(status, dtype=STRING), code.fillna("")


def _adsl(trial: Trial, created: str) -> AnalysisDataset:
    s = trial.subjects_unique().reset_index(drop=True)
    trt, trtn = _treatment(trial, s)
    eos, dcdecod = _disposition(s)
    n = len(s)
    blank = pd.Series([""] * n, dtype=STRING)
    cols: dict[str, Any] = {
        "STUDYID": pd.Series([str(trial.manifest.id or "")] * n, dtype=STRING),
        "USUBJID": _text(s["subject_id"]),
        "SUBJID": _text(s["subject_id"]),
        "SITEID": _text(s["site_id"]).fillna("") if "site_id" in s else blank,
        "AGE": pd.to_numeric(s["age"]).astype(float) if "age" in s else np.full(n, np.nan),
        "AGEU": pd.Series(["YEARS"] * n, dtype=STRING),
        "SEX": _text(s["sex"]).fillna("") if "sex" in s else blank,
        "FITZPAT": _text(s["fitzpatrick"]).fillna("") if "fitzpatrick" in s else blank,
        "RANDDT": pd.to_datetime(s["randomization_date"]).astype("datetime64[s]")
        if "randomization_date" in s
        else pd.Series(pd.NaT, index=range(n), dtype="datetime64[s]"),
        "TRT01P": trt.fillna(""),
        "TRT01PN": trtn,
        "RANDFL": _yn(s["randomized"]),
        "ITTFL": _yn(s["itt"]),
        "FASFL": _yn(s["randomized"]),
        "PPROTFL": _yn(s["per_protocol"]),
        "SAFFL": _yn(s["safety"]),
        "EOSSTT": eos,
        "DCDECOD": dcdecod,
        "DCSREAS": _text(s["discontinuation_reason"]).fillna(""),
    }
    frame = pd.DataFrame({k: pd.Series(v).reset_index(drop=True) for k, v in cols.items()})
    frame.index = pd.RangeIndex(1, n + 1, name="row")
    meta = metadata_for(
        frame,
        "ADSL",
        "Subject-Level Analysis Dataset",
        dict(ADSL_LABELS),
        keys=("STUDYID", "USUBJID"),
        created=created,
    )
    return AnalysisDataset(frame, meta)


def _ady(day: pd.Series, baseline_day: float) -> np.ndarray:
    """Study day in ADaM's convention (no day 0)."""
    d = pd.to_numeric(day, errors="coerce").to_numpy(dtype=float)
    if baseline_day == 0:
        d = np.where(d >= 0, d + 1, d)
    return d


def _adeff(
    trial: Trial, scored: ScoredTrial, endpoints: list[str], adsl: pd.DataFrame, created: str
) -> AnalysisDataset:
    derived = scored.endpoints
    found = list(dict.fromkeys(derived["endpoint"].dropna().astype(str)))
    present = [e for e in endpoints if e in found] + [e for e in found if e not in endpoints]
    codes = paramcd_map(present)
    rows = derived[derived["endpoint"].isin(present)].copy()
    order = {e: i for i, e in enumerate(present)}
    visits = {v.id: v for v in trial.manifest.visits}
    rows["_p"] = rows["endpoint"].map(order)
    rows["_v"] = rows["visit"].map({k: v.day for k, v in visits.items()}).astype(float)
    rows = rows.sort_values(["subject_id", "_p", "body_site", "_v", "day"], kind="stable")
    rows = rows.reset_index(drop=True)
    subj = adsl.set_index("USUBJID")
    sid = rows["subject_id"].astype(str)
    baseline_day = trial.manifest.raw.get("trial", {}).get("baseline_day", 0)
    week = rows["visit"].map({k: v.week for k, v in visits.items()}).astype(float)
    value = rows["value"].astype(float)
    scheduled = rows["visit"].isin(list(visits)).to_numpy(bool)
    units = rows.groupby("endpoint", sort=False)["unit"].first()
    cols: dict[str, Any] = {
        "STUDYID": pd.Series([str(trial.manifest.id or "")] * len(rows), dtype=STRING),
        "USUBJID": _text(rows["subject_id"]),
    }
    for var in ("TRT01P", "TRT01PN", "ITTFL", "FASFL", "PPROTFL", "SAFFL"):
        looked = subj[var].reindex(sid)
        cols[var] = looked.array if var == "TRT01PN" else looked.fillna("").array
    cols |= {
        "PARAMCD": _text(rows["endpoint"].map(codes)),
        "PARAM": _text(rows["endpoint"].map({e: _param(e, units.get(e)) for e in present})),
        "PARAMN": pd.array(rows["_p"].to_numpy() + 1, dtype="Int64"),
        "AVISIT": _text(rows["visit"]).fillna(""),
        "AVISITN": week.to_numpy(),
        "ADY": _ady(rows["day"], float(baseline_day or 0)),
    }
    target = _ady(
        rows["visit"].map({k: v.day for k, v in visits.items()}), float(baseline_day or 0)
    )
    window = rows["visit"].map({k: v.window_days for k, v in visits.items()}).astype(float)
    cols |= {
        "AWTARGET": target,
        "AWLO": target - window.to_numpy(),
        "AWHI": target + window.to_numpy(),
        "AWU": np.where(scheduled, "DAYS", ""),
    }
    if rows["body_site"].notna().any():
        cols["ALOC"] = _text(rows["body_site"]).fillna("")
    if trial.manifest.design == "split_face":
        cols["TRTP"] = _site_treatment(trial, rows)
    cols |= {
        "AVAL": value.to_numpy(),
        "AVALU": _text(rows["unit"]).fillna(""),
        "BASE": rows["baseline"].astype(float).to_numpy(),
        "CHG": rows["change"].astype(float).to_numpy(),
        "PCHG": rows["percent_change"].astype(float).to_numpy(),
        "ABLFL": np.where(rows["phase"].eq("baseline").to_numpy(bool), "Y", ""),
        "ANL01FL": np.where(scheduled & value.notna().to_numpy(bool), "Y", ""),
    }
    frame = pd.DataFrame({k: _column(v) for k, v in cols.items()})
    frame.index = pd.RangeIndex(1, len(frame) + 1, name="row")
    for var in ("AVISITN", "ADY", "AWTARGET", "AWLO", "AWHI"):
        frame[var] = _whole(frame[var])
    meta = metadata_for(
        frame,
        "ADEFF",
        "Efficacy Analysis Dataset",
        dict(ADEFF_LABELS),
        keys=("STUDYID", "USUBJID", "PARAMCD", "AVISIT"),
        created=created,
    )
    return AnalysisDataset(frame, meta)


def _site_treatment(trial: Trial, rows: pd.DataFrame) -> pd.Series:
    """Split-face: the arm applied at each record's body site (from the allocation)."""
    from efficacy.trial import parse_allocation

    pairs = parse_allocation(trial.subjects_unique())
    pairs = pairs[pairs["ok"].to_numpy(dtype=bool)].drop_duplicates(["subject_id", "site"])
    arm = {
        (str(s), str(site)): str(a) for s, site, a in pairs[["subject_id", "site", "arm"]].values
    }
    keys = zip(rows["subject_id"].astype(str), rows["body_site"].astype(object), strict=True)
    return pd.Series([arm.get((s, str(b)), "") for s, b in keys], dtype=STRING)


def _column(values: Any) -> Any:
    if isinstance(values, np.ndarray) and values.dtype.kind in "UO":
        return pd.array(values.astype(object), dtype=STRING)
    return values.array if isinstance(values, pd.Series) else values


def _whole(values: pd.Series) -> Any:
    """Int64 when every value is whole, else the floats."""
    floats = values.to_numpy(dtype=float, na_value=np.nan)
    finite = floats[~np.isnan(floats)]
    if np.all(np.mod(finite, 1.0) == 0):
        return pd.arrays.IntegerArray(np.nan_to_num(floats).astype(np.int64), np.isnan(floats))
    return floats


def analysis_datasets(
    trial: Trial,
    protocol: Protocol | str | None = None,
    *,
    scored: ScoredTrial | None = None,
    conversion: str | os.PathLike[str] | None = None,
) -> dict[str, AnalysisDataset]:
    """ADSL and ADEFF of a trial (see the module notes for every variable).

    Parameters
    ----------
    trial : Trial
        From :func:`~efficacy.read_trial` or :func:`~efficacy.read_adam`. Not modified.
    protocol : Protocol or str, optional
        Whose analysis plan orders the endpoints (and whose scoring options are used);
        default the built-in standard.
    scored : ScoredTrial, optional
        The trial already scored (e.g. :attr:`efficacy.AnalysisResult.scored`); scored
        here with the protocol's options otherwise.
    conversion : path, optional
        FACE-Q conversion table for the scoring (default: the one the bundle names).

    Returns
    -------
    dict
        ``{"ADSL": AnalysisDataset, "ADEFF": AnalysisDataset}``.

    Examples
    --------
    >>> import efficacy
    >>> from efficacy._examples import repo_path
    >>> from efficacy.io.export import analysis_datasets
    >>> sets = analysis_datasets(efficacy.read_trial(repo_path("sample_data", "parallel_12wk")))
    >>> adeff = sets["ADEFF"].frame
    >>> adeff["PARAMCD"].unique()[:4].tolist()
    ['CUTR2', 'CORNEO', 'WRKRZ', 'FQSATFA']
    >>> arms = sets["ADSL"].frame.groupby("TRT01PN")["TRT01P"].agg(["first", "size"])
    >>> [(int(n), arm, int(size)) for n, (arm, size) in arms.iterrows()]
    [(0, 'VEHICLE', 60), (1, 'ACTIVE', 60)]
    """
    from efficacy.instruments import ScoringOptions, score_trial
    from efficacy.protocol import DEFAULT_PROTOCOL, Protocol, load_protocol

    if not isinstance(protocol, Protocol):
        protocol = load_protocol(protocol or DEFAULT_PROTOCOL)
    if scored is None:
        options = ScoringOptions.from_protocol(protocol)
        scored = score_trial(trial, options=options, conversion=conversion)
    plan = protocol.analysis
    if plan is None:
        raise EfficacyError(
            f"protocol {protocol.id!r} has no [analysis] plan naming the endpoints to export; "
            "add one or use a protocol that extends iso-efficacy-2025"
        )
    endpoints = list(dict.fromkeys([plan.primary, *plan.key_secondary, *plan.secondary]))
    created = utc_now()
    adsl = _adsl(trial, created)
    return {"ADSL": adsl, "ADEFF": _adeff(trial, scored, endpoints, adsl.frame, created)}


def export_problems(datasets: Mapping[str, AnalysisDataset]) -> list[str]:
    """XPT v5 problems of every dataset (:func:`~efficacy.io.datasets.xpt_problems`)."""
    return [p for d in datasets.values() for p in xpt_problems(d.frame, d.metadata)]
