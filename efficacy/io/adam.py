"""Map CDISC ADaM (ADSL + BDS) onto the Trial model.

Datasets are SAS XPORT v5 (``.xpt``, read with :func:`pyreadstat.read_xport`), CSV or
Parquet with ADaM variable names (any case). Each dataset is read as text and goes
through the same conversion as a bundle table, so flags Y/N become booleans, and a value
that cannot be converted is an issue at its record number.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow as pa

from efficacy.errors import EfficacyError, InputError
from efficacy.io._adam_map import (
    BDS_EXTRA_KINDS,
    Y_OR_NULL_FLAGS,
    bds_text,
    concat_text,
    exclusion_issue,
    subjects_text,
)
from efficacy.io._adam_visits import ADAM_BASELINE_DAY, choose_baseline, visit_schedule
from efficacy.io._convert import (
    STRING_DTYPE,
    build_table,
    clean_text,
    concat_issues,
    empty_table,
    issues_frame,
)
from efficacy.io._files import as_text, read_text
from efficacy.trial import Arm, Manifest, TableSource, Trial

__all__ = ["read_adam"]

_CONTROL_WORDS = ("placebo", "vehicle", "control")
#: Planned-treatment values that are not arms (CDISC ARM controlled terms).
NON_ARMS = ("screen failure", "not assigned", "not treated", "unplanned treatment")


def _xport_text(path: Path) -> tuple[pd.DataFrame, str]:
    import pyreadstat  # here, not at import: a CSV or xlsx bundle never needs it

    try:
        frame, meta = pyreadstat.read_xport(str(path))
    except (pyreadstat.ReadstatError, pyreadstat.PyreadstatError, OSError, ValueError) as exc:
        raise InputError(
            f"{path}: not a readable SAS XPORT file ({exc}); export it as XPORT version 5"
        ) from None
    table = pa.Table.from_pandas(frame, preserve_index=False)
    text = {
        name.strip().upper(): clean_text(as_text(path, name, table.column(i)))
        for i, name in enumerate(table.column_names)
    }
    return _text_frame(path, text), (meta.table_name or path.stem).upper()


def _text_frame(path: Path, columns: Mapping[str, pa.ChunkedArray]) -> pd.DataFrame:
    data = {name: pd.array(col, dtype=STRING_DTYPE) for name, col in columns.items()}
    n = len(next(iter(columns.values()))) if columns else 0
    return pd.DataFrame(data, index=pd.RangeIndex(1, n + 1, name="row"))


def read_dataset(path: str | os.PathLike[str]) -> tuple[pd.DataFrame, str, str]:
    """Read one ADaM dataset as cleaned text.

    Returns
    -------
    frame : pandas.DataFrame
        Upper-case variable names, string dtype (stripped; empty = NA), index ``row`` =
        1-based record number.
    fmt : str
        "xport", "csv", "parquet" or "xlsx".
    name : str
        Dataset name (XPT member name, else the file stem), upper case.
    """
    path = Path(path)
    if not path.is_file():
        raise InputError(f"{path}: no such file; give the path of an ADaM dataset (.xpt or .csv)")
    if path.suffix.lower() == ".xpt":
        frame, name = _xport_text(path)
        return frame, "xport", name
    text, fmt = read_text(path)
    upper = [n.upper() for n in text.names]
    if len(set(upper)) != len(upper):
        raise InputError(f"{path}: variable names repeat when upper-cased; rename them")
    columns = {u: clean_text(c) for u, c in zip(upper, text.columns, strict=True)}
    return _text_frame(path, columns), fmt, path.stem.upper()


def _require(path: Path, frame: pd.DataFrame, names: Sequence[str], what: str) -> None:
    lacking = [n for n in names if n not in frame.columns]
    if lacking:
        raise InputError(f"{path}: no {', '.join(lacking)} variable(s); is this an {what} dataset?")


def _arms(adsl: pd.DataFrame) -> list[str]:
    """TRT01P values that are arms, ordered by TRT01PN (if present) then appearance."""
    if "TRT01P" not in adsl:
        return []
    trt = adsl["TRT01P"]
    keep = trt.notna() & ~trt.str.lower().isin(NON_ARMS)
    order = pd.DataFrame({"arm": trt[keep].astype(object)})
    if "TRT01PN" in adsl:
        order["n"] = pd.to_numeric(adsl.loc[keep, "TRT01PN"], errors="coerce")
        order = order.sort_values("n", kind="stable", na_position="last")
    return list(dict.fromkeys(order["arm"]))


def _control_arms(arms: Sequence[str], control: str | Sequence[str] | None) -> set[str]:
    if control is None:
        return {a for a in arms if any(w in a.lower() for w in _CONTROL_WORDS)}
    wanted = [control] if isinstance(control, str) else list(control)
    unknown = [c for c in wanted if c not in arms]
    if unknown:
        raise EfficacyError(
            f"control={unknown!r} is not a TRT01P value; use one or more of {list(arms)}"
        )
    return set(wanted)


def _endpoints(bds: Sequence[pd.DataFrame], endpoints: Mapping[str, str] | None) -> dict[str, str]:
    codes = set()
    for frame in bds:
        codes |= set(frame["PARAMCD"].dropna().unique())
    given = dict(endpoints or {})
    unknown = sorted(set(given) - codes)
    if unknown:
        raise EfficacyError(
            f"endpoints names PARAMCD {unknown} absent from the BDS data; "
            f"use PARAMCD values such as {sorted(codes)[:10]}"
        )
    return {code: given.get(code, code.lower()) for code in sorted(codes)}


def _study_id(adsl: pd.DataFrame) -> tuple[str, pd.DataFrame]:
    if "STUDYID" not in adsl or adsl["STUDYID"].isna().all():
        return "", issues_frame("manifest", "trial.id", [None], [None], "no STUDYID in ADSL")
    ids = list(dict.fromkeys(adsl["STUDYID"].dropna()))
    if len(ids) > 1:
        problem = f"ADSL holds {len(ids)} STUDYID values; used the first, {ids[0]!r}"
        return ids[0], issues_frame("manifest", "trial.id", [None], [", ".join(ids)], problem)
    return ids[0], concat_issues([])


def _read_bds(
    paths: Sequence[str | os.PathLike[str]],
) -> list[tuple[Path, pd.DataFrame, str, str]]:
    out = []
    for given in paths:
        frame, fmt, name = read_dataset(given)
        _require(Path(given), frame, ("USUBJID", "PARAMCD", "AVAL"), "ADaM BDS")
        out.append((Path(given), frame, fmt, name))
    return out


def _measurements(
    bds: Sequence[tuple[Path, pd.DataFrame, str, str]],
    endpoints: Mapping[str, str],
    include_derived: bool,
) -> tuple[pd.DataFrame, TableSource, pd.DataFrame, dict[str, int]]:
    if not bds:
        source = TableSource("measurements", None, None, 0)
        return empty_table("measurements"), source, concat_issues([]), {}
    texts, issues, excluded = [], [], {}
    for _, frame, _, name in bds:
        text, counts = bds_text(frame, name, endpoints, include_derived)
        texts.append(text)
        if counts:
            issues.append(exclusion_issue(name, counts))
            excluded[name] = sum(counts.values())
    path, _, fmt, _ = bds[0]
    table, source, conversion = build_table(
        "measurements", concat_text(texts), path, fmt, BDS_EXTRA_KINDS
    )
    for flag in Y_OR_NULL_FLAGS:
        if flag in table:
            table[flag] = table[flag].fillna(False)
    return table, source, concat_issues([*issues, conversion]), excluded


def _manifest(
    adsl: pd.DataFrame,
    bds: Sequence[tuple[Path, pd.DataFrame, str, str]],
    arms: Sequence[str],
    controls: set[str],
    baseline_visit: str | None,
    study_title: str | None,
    adam: dict[str, Any],
) -> tuple[Manifest, pd.DataFrame]:
    """Synthesise the manifest; `adam` (provenance) is completed and stored in raw."""
    frames = [f for _, f, _, _ in bds if "AVISIT" in f]
    visits, visit_how, avisitn = visit_schedule(pd.concat(frames) if frames else pd.DataFrame())
    ids = [v.id for v in visits]
    if baseline_visit is not None and baseline_visit not in ids:
        raise EfficacyError(
            f"baseline_visit={baseline_visit!r} is not an AVISIT value; use one of {ids}"
        )
    baseline, baseline_how = choose_baseline(visits, avisitn, baseline_visit)
    study_id, issues = _study_id(adsl)
    if not arms:
        issues = concat_issues(
            [issues, issues_frame("manifest", "arms", [None], [None], "no TRT01P in ADSL")]
        )
    title = study_title if study_title is not None else study_id
    arm_objs = tuple(Arm(id=a, label=a, control=a in controls) for a in arms)
    trial = {"id": study_id, "title": title, "design": "parallel", "baseline_visit": baseline}
    raw = {
        "trial": {**trial, "baseline_day": ADAM_BASELINE_DAY},
        "arms": [{"id": a.id, "label": a.label, "control": a.control} for a in arm_objs],
        "visits": [
            {"id": v.id, "week": v.week, "day": v.day, "window_days": v.window_days} for v in visits
        ],
        "adam": {**adam, "baseline_visit": baseline_how, "visits": visit_how},
    }
    manifest = Manifest(
        **trial,
        arms=arm_objs,
        visits=visits,
        tables={},
        consort={},
        path=None,
        raw=raw,
    )
    return manifest, issues


def read_adam(
    adsl: str | os.PathLike[str],
    *bds: str | os.PathLike[str],
    control: str | Sequence[str] | None = None,
    baseline_visit: str | None = None,
    include_derived: bool = False,
    study_title: str | None = None,
    endpoints: Mapping[str, str] | None = None,
) -> Trial:
    """Read CDISC ADaM datasets (ADSL plus BDS) into a :class:`~efficacy.trial.Trial`.

    Parameters
    ----------
    adsl : str or path-like
        The subject-level dataset (.xpt SAS XPORT v5, .csv or .parquet).
    *bds : str or path-like
        Basic Data Structure datasets (one parameter or many) giving measurements.
    control : str or sequence of str, optional
        TRT01P value(s) of the control arm(s). Default: the arms whose TRT01P contains
        "placebo", "vehicle" or "control" (any case); none found means no control arm
        (validation reports it).
    baseline_visit : str, optional
        AVISIT value of the baseline visit. Default: the visit named "Baseline", else
        the visit with the lowest AVISITN.
    include_derived : bool, default False
        Keep BDS records with DTYPE non-blank (LOCF, WOCF, ...: imputed, not
        observed). When False they are left out and the count per dataset and DTYPE is
        recorded as one issue (``table="measurements"``, ``column="DTYPE"``).
    study_title : str, optional
        Manifest title; default the STUDYID.
    endpoints : mapping, optional
        PARAMCD -> endpoint id, e.g. ``{"CIBICVAL": "cibic_plus"}``; other codes become
        the lower-cased PARAMCD.

    Returns
    -------
    Trial
        ``subjects`` (index = ADSL record number): subject_id (USUBJID), arm (TRT01P;
        "Screen Failure" / "Not Assigned" are not arms), randomized (RANDFL, else ITTFL,
        else RANDDT present, else TRT01P is an arm), itt (ITTFL), per_protocol
        (PPROTFL, else EFFFL), safety (SAFFL), disposition (DCDECOD, else EOSSTT:
        COMPLETED -> completed, LOST TO FOLLOW-UP -> lost_to_follow_up, SCREEN FAILURE
        or a blank status with TRT01P "Screen Failure" -> screen_failure, ONGOING ->
        empty with an issue, any other -> discontinued), discontinuation_reason
        (DCSREAS, else DCREASCD, else DCDECOD, for subjects not completed), age (AGE),
        sex (SEX), randomization_date (RANDDT), site_id (SITEID), extra ``race`` (RACE).
        ``measurements`` (index = record number in its BDS file; with several BDS files
        the extra column ``dataset`` tells them apart): subject_id (USUBJID), visit
        (AVISIT), day (ADY), endpoint (PARAMCD via `endpoints`), value (AVAL), unit
        (AVALU, else PARAMU), body_site (AFEYE, else ALOC, else STUDYEYE), extras
        base, chg, pchg, ablfl, anl01fl, dtype, avisitn, param when present, dataset.
        ``pro_responses`` and ``adverse_events`` are empty. The manifest is
        synthesised (design parallel, arms from TRT01P, visits from AVISIT with week,
        day and window as in :func:`efficacy.io._adam_visits.visit_schedule`,
        ``raw["trial"]["baseline_day"] = 1``); ``raw["adam"]`` records where every
        value came from.

    Raises
    ------
    InputError
        A file that cannot be read, or that lacks USUBJID (ADSL) or USUBJID / PARAMCD
        / AVAL (BDS).
    EfficacyError
        `control`, `baseline_visit` or `endpoints` names a value absent from the data.

    Notes
    -----
    Checked against the CDISC Pilot 01 ADSL and ADQSCIBC (tests/reference/adam): 254
    subjects (Placebo 86, Xanomeline Low Dose 84, Xanomeline High Dose 84), 730 CIBIC+
    records of which 168 are LOCF.

    Examples
    --------
    The CDISC pilot study's ADSL and ADQSCIBC (tests/reference/adam of a source checkout):

    >>> import efficacy
    >>> from efficacy._examples import repo_path
    >>> adam = repo_path("tests", "reference", "adam")
    >>> trial = efficacy.read_adam(adam / "cdiscpilot01_adsl.xpt",
    ...                            adam / "cdiscpilot01_adqscibc.xpt")
    >>> [(a.id, a.control) for a in trial.manifest.arms]
    [('Placebo', True), ('Xanomeline Low Dose', False), ('Xanomeline High Dose', False)]
    >>> len(trial.subjects), trial.manifest.baseline_visit
    (254, 'Week 8')
    >>> trial.measurements["endpoint"].unique().tolist()
    ['cibicval']
    """
    adsl_path = Path(adsl)
    adsl_frame, adsl_fmt, adsl_name = read_dataset(adsl_path)
    _require(adsl_path, adsl_frame, ("USUBJID",), "ADSL")
    datasets = _read_bds(bds)
    arms = _arms(adsl_frame)
    controls = _control_arms(arms, control)
    codes = _endpoints([f for _, f, _, _ in datasets], endpoints)
    subjects_txt, subject_how, ongoing = subjects_text(adsl_frame, arms)
    subjects, subjects_source, subject_issues = build_table(
        "subjects", subjects_txt, adsl_path, adsl_fmt
    )
    measurements, m_source, m_issues, excluded = _measurements(datasets, codes, include_derived)
    adam = {
        "adsl": str(adsl_path),
        "bds": [str(p) for p, _, _, _ in datasets],
        "datasets": [adsl_name, *(n for _, _, _, n in datasets)],
        "subjects": subject_how,
        "endpoints": codes,
        "include_derived": include_derived,
        "excluded_derived": excluded,
    }
    manifest, manifest_issues = _manifest(
        adsl_frame, datasets, arms, controls, baseline_visit, study_title, adam
    )
    sources = {
        "subjects": subjects_source,
        "measurements": m_source,
        **{t: TableSource(t, None, None, 0) for t in ("pro_responses", "adverse_events")},
    }
    return Trial(
        manifest=manifest,
        subjects=subjects,
        measurements=measurements,
        pro_responses=empty_table("pro_responses"),
        adverse_events=empty_table("adverse_events"),
        sources=sources,
        issues=concat_issues([manifest_issues, ongoing, subject_issues, m_issues]),
    )
