"""Map CDISC ADaM (ADSL + BDS, ADAE, ADDV) onto the Trial model.

Each dataset is read by :func:`_read_adam_file` (SAS XPORT v5, Dataset-JSON v1.1 in its
three forms, CSV, Parquet; variable names in any case) as text and goes through the same
conversion as a bundle table, so flags Y/N become booleans, and a value that cannot be
converted is an issue at its record number. Nothing is guessed silently: baseline is the
ABLFL = "Y" record, a parameter without one is not analysed (one notice says so), records
an analysis does not use are counted in one notice per dataset.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from efficacy.errors import EfficacyError, InputError
from efficacy.io._adam_checks import (
    Parameter,
    baseline_issues,
    first_visit,
    parameters,
    select_records,
)
from efficacy.io._adam_events import adae_text, addv_text
from efficacy.io._adam_files import AdamFile, read_adam_file
from efficacy.io._adam_map import (
    BDS_EXTRA_KINDS,
    Y_OR_NULL_FLAGS,
    bds_text,
    concat_text,
    subjects_text,
)
from efficacy.io._adam_visits import ADAM_BASELINE_DAY, visit_schedule
from efficacy.io._convert import (
    build_table,
    concat_issues,
    empty_table,
    issues_frame,
)
from efficacy.io._dsj_meta import PROBLEMS_KEY, problem_records
from efficacy.trial import Arm, DataEndpoint, Manifest, TableSource, Trial, first_rows

__all__ = ["AdamOptions", "adam_trial", "read_adam", "read_dataset"]

_CONTROL_WORDS = ("placebo", "vehicle", "control")
#: Planned-treatment values that are not arms (CDISC ARM controlled terms).
NON_ARMS = ("screen failure", "not assigned", "not treated", "unplanned treatment")


def _read_adam_file(path: str | os.PathLike[str]) -> AdamFile:
    """Read one ADaM dataset file: the one place every ADaM reader opens a file.

    ``.xpt``, ``.csv``, ``.parquet`` and ``.xlsx`` are read here; ``.json``, ``.ndjson``
    and ``.dsjc`` go through :func:`efficacy.io._adam_files.read_adam_file`'s minimal
    Dataset-JSON reading (to be pointed at the Dataset-JSON module's reader).
    """
    return read_adam_file(Path(path))


def read_dataset(path: str | os.PathLike[str]) -> tuple[pd.DataFrame, str, str]:
    """Read one ADaM dataset as cleaned text.

    Returns
    -------
    frame : pandas.DataFrame
        Upper-case variable names, string dtype (stripped; empty = NA), index ``row`` =
        1-based record number.
    fmt : str
        "xport", "datasetjson", "ndjson", "dsjc", "csv", "parquet" or "xlsx".
    name : str
        Dataset name (XPT member, Dataset-JSON name, else the file's ``ad*`` word).
    """
    data = _read_adam_file(path)
    return data.frame, data.fmt, data.name


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
        order["n"] = pd.to_numeric(adsl["TRT01PN"][keep], errors="coerce")
        order = order.sort_values("n", kind="stable", na_position="last")
    return list(dict.fromkeys(order["arm"]))


def _control_arms(
    adsl: pd.DataFrame, arms: Sequence[str], control: str | Sequence[str] | None, path: Path
) -> tuple[set[str], str]:
    """Control arm(s) and how they were found: argument, TRT01PN = 0, or the arm's name.

    `path` is the ADSL file's, for the message when a named control cannot be an arm
    because ADSL has no TRT01P.
    """
    if control is None:
        if "TRT01PN" in adsl and "TRT01P" in adsl:
            zero = pd.to_numeric(adsl["TRT01PN"], errors="coerce").eq(0).fillna(False)
            found = {a for a in adsl["TRT01P"][zero.to_numpy(bool)].dropna() if a in arms}
            if found:
                return found, "TRT01PN = 0"
        named = {a for a in arms if any(w in a.lower() for w in _CONTROL_WORDS)}
        return named, ("TRT01P names placebo / vehicle / control" if named else "none found")
    wanted = [control] if isinstance(control, str) else list(control)
    unknown = [c for c in wanted if c not in arms]
    if unknown and "TRT01P" not in adsl:
        raise InputError(
            f"{path}: control={unknown!r} names a planned arm, but this ADSL has no TRT01P "
            "variable (planned treatment); add TRT01P, or name no control"
        )
    if unknown:
        raise EfficacyError(
            f"control={unknown!r} is not a TRT01P value; use one or more of {list(arms)}"
        )
    return set(wanted), "argument"


def _endpoints(datasets: Sequence[AdamFile], endpoints: Mapping[str, str] | None) -> dict[str, str]:
    codes: set[str] = set()
    for d in datasets:
        codes |= set(d.frame["PARAMCD"].dropna().unique())
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


def _read_bds(paths: Sequence[str | os.PathLike[str]]) -> list[AdamFile]:
    return [_read_adam_file(given) for given in paths]


class _Bds:
    """The selected records of every BDS dataset, their parameters and issues."""

    def __init__(
        self,
        datasets: Sequence[AdamFile],
        analysis_flag: str | None,
        include_derived: bool,
        randomised: set[str],
        baseline_visit: str | None,
    ) -> None:
        self.datasets = list(datasets)
        self.kept: list[pd.DataFrame] = []
        self.params: list[Parameter] = []
        issues: list[pd.DataFrame] = []
        self.excluded: dict[str, dict[str, int]] = {}
        for data in datasets:
            kept, notice, counts = select_records(data, analysis_flag, include_derived, randomised)
            params, no_base = parameters(data, kept, baseline_visit)
            issues += [notice, no_base, baseline_issues(data, kept)]
            self.kept.append(kept)
            self.params += params
            if counts:
                self.excluded[data.name] = counts
        self.issues = concat_issues(issues)

    def measurements(
        self, endpoints: Mapping[str, str]
    ) -> tuple[pd.DataFrame, TableSource, pd.DataFrame]:
        if not self.datasets:
            source = TableSource("measurements", None, None, 0)
            return empty_table("measurements"), source, concat_issues([])
        texts = [
            bds_text(kept, data.name, endpoints, True)[0]
            for data, kept in zip(self.datasets, self.kept, strict=True)
        ]
        first = self.datasets[0]
        table, source, conversion = build_table(
            "measurements", concat_text(texts), first.path, first.fmt, BDS_EXTRA_KINDS
        )
        for flag in Y_OR_NULL_FLAGS:
            if flag in table:
                table[flag] = table[flag].fillna(False)
        return table, source, conversion

    def visits_frame(self) -> pd.DataFrame:
        frames = [k for k in self.kept if "AVISIT" in k]
        return pd.concat(frames) if frames else pd.DataFrame()

    def has_windows(self) -> bool:
        return any({"AWLO", "AWHI"} & set(k.columns) for k in self.kept)


def _data_endpoints(
    params: Sequence[Parameter],
    codes: Mapping[str, str],
    primary: str | None,
) -> tuple[DataEndpoint, ...]:
    if primary is not None and primary not in {p.paramcd for p in params}:
        raise EfficacyError(
            f"primary={primary!r} is not a PARAMCD of the BDS data; use one of "
            f"{sorted({p.paramcd for p in params})[:10]}"
        )
    out = []
    for p in params:
        ok = p.n_baseline > 0
        reason = "" if ok else f"no baseline record (ABLFL = 'Y') in {p.dataset}"
        out.append(
            DataEndpoint(
                id=codes[p.paramcd],
                label=p.label,
                source=f"{p.dataset} PARAMCD {p.paramcd}",
                role="primary" if p.paramcd == primary else "secondary",
                analysable=ok,
                reason=reason,
            )
        )
    return tuple(out)


def _manifest(
    adsl: pd.DataFrame,
    bds: _Bds,
    arms: Sequence[str],
    controls: set[str],
    baseline_visit: str | None,
    study_title: str | None,
    adam: dict[str, Any],
) -> tuple[Manifest, pd.DataFrame]:
    """Synthesise the manifest; `adam` (provenance) is completed and stored in raw."""
    visits, visit_how, _ = visit_schedule(bds.visits_frame())
    ids = [v.id for v in visits]
    if baseline_visit is not None and baseline_visit not in ids:
        raise EfficacyError(
            f"baseline_visit={baseline_visit!r} is not an AVISIT value; use one of {ids}"
        )
    found, per_visit = first_visit(bds.params)
    baseline = baseline_visit if baseline_visit is not None else found
    baseline_how = (
        "argument"
        if baseline_visit is not None
        else (f"AVISIT of the ABLFL = 'Y' records {dict(per_visit)}" if found else "no ABLFL")
    )
    study_id, issues = _study_id(adsl)
    if not arms:
        issues = concat_issues(
            [issues, issues_frame("manifest", "arms", [None], [None], "no TRT01P in ADSL")]
        )
    title = study_title if study_title is not None else study_id
    arm_objs = tuple(Arm(id=a, label=a, control=a in controls) for a in arms)
    trial = {"id": study_id, "title": title, "design": "parallel", "baseline_visit": baseline}
    windows = "AWLO/AWHI per record" if bds.has_windows() else None
    raw = {
        "trial": {**trial, "baseline_day": ADAM_BASELINE_DAY},
        "arms": [{"id": a.id, "label": a.label, "control": a.control} for a in arm_objs],
        "visits": [
            {"id": v.id, "week": v.week, "day": v.day, "window_days": v.window_days} for v in visits
        ],
        "adam": {**adam, "baseline_visit": baseline_how, "visits": visit_how, "windows": windows},
    }
    endpoints = _data_endpoints(bds.params, adam["endpoints"], adam.get("primary"))
    manifest = Manifest(
        **trial,
        arms=arm_objs,
        visits=visits,
        tables={},
        consort={},
        path=None,
        raw=raw,
        data_endpoints=endpoints,
    )
    return manifest, issues


def _events(
    adae: AdamFile | None, addv: AdamFile | None, randomised: set[str]
) -> tuple[dict[str, pd.DataFrame], dict[str, TableSource], list[pd.DataFrame], dict[str, Any]]:
    frames: dict[str, pd.DataFrame] = {}
    sources: dict[str, TableSource] = {}
    issues: list[pd.DataFrame] = []
    how: dict[str, Any] = {}
    for table, data, mapper in (
        ("adverse_events", adae, adae_text),
        ("deviations", addv, addv_text),
    ):
        if data is None:
            frames[table] = empty_table(table)
            sources[table] = TableSource(table, None, None, 0)
            continue
        _require(data.path, data.frame, ("USUBJID",), data.name)
        text, mapping, notice = mapper(data, randomised)
        frames[table], sources[table], conversion = build_table(table, text, data.path, data.fmt)
        issues += [notice, conversion]
        how[table] = {"dataset": str(data.path), **mapping}
    return frames, sources, issues, how


def read_adam(
    adsl: str | os.PathLike[str],
    *bds: str | os.PathLike[str],
    adae: str | os.PathLike[str] | None = None,
    addv: str | os.PathLike[str] | None = None,
    control: str | Sequence[str] | None = None,
    baseline_visit: str | None = None,
    include_derived: bool = False,
    study_title: str | None = None,
    endpoints: Mapping[str, str] | None = None,
    analysis_flag: str | None = "ANL01FL",
    primary: str | None = None,
) -> Trial:
    """Read CDISC ADaM datasets (ADSL, BDS, ADAE, ADDV) into a :class:`~efficacy.trial.Trial`.

    Parameters
    ----------
    adsl : str or path-like
        The subject-level dataset (.xpt SAS XPORT v5, .json / .ndjson / .dsjc
        Dataset-JSON v1.1, .csv or .parquet).
    *bds : str or path-like
        Basic Data Structure datasets (one parameter or many) giving measurements.
    adae, addv : str or path-like, optional
        Adverse events (feeds ``adverse_events``) and protocol deviations (feeds
        ``deviations``). Without them those tables are empty with ``path`` None
        ("not supplied", never zero events).
    control : str or sequence of str, optional
        TRT01P value(s) of the control arm(s). Default: the arm with TRT01PN = 0, else the
        arms whose TRT01P contains "placebo", "vehicle" or "control" (any case); none
        found means no control arm (validation reports it; ``efficacy analyze`` asks for
        ``--control``).
    baseline_visit : str, optional
        AVISIT value of the baseline visit of the schedule. Default: the AVISIT of the
        records flagged ABLFL = "Y" (most of them, when they differ); a BDS dataset
        without an ABLFL variable has its baseline at this visit.
    include_derived : bool, default False
        Keep BDS records with DTYPE non-blank (LOCF, WOCF, ...: imputed, not observed).
    study_title : str, optional
        Manifest title; default the STUDYID.
    endpoints : mapping, optional
        PARAMCD -> endpoint id, e.g. ``{"CIBICVAL": "cibic_plus"}``; other codes become
        the lower-cased PARAMCD.
    analysis_flag : str or None, default "ANL01FL"
        BDS records are kept only where this flag is "Y" (in datasets that have the
        variable); None keeps every record.
    primary : str, optional
        PARAMCD of the primary endpoint (its data endpoint gets role ``primary``).

    Returns
    -------
    Trial
        ``subjects`` (index = ADSL record number): subject_id (USUBJID), arm (TRT01P;
        "Screen Failure" / "Not Assigned" are not arms), randomized (RANDFL, else ITTFL,
        else RANDDT present, else TRT01P is an arm; never for a subject without a planned
        arm), itt (ITTFL), per_protocol (PPROTFL, else EFFFL), safety (SAFFL),
        disposition (DCDECOD, else EOSSTT: COMPLETED -> completed, LOST TO FOLLOW-UP ->
        lost_to_follow_up, SCREEN FAILURE or a blank status with TRT01P "Screen Failure"
        -> screen_failure, ONGOING -> empty with an issue, any other -> discontinued),
        discontinuation_reason (DCSREAS, else DCREASCD, else DCDECOD, for subjects not
        completed), age (AGE), sex (SEX), randomization_date (RANDDT), site_id (SITEID),
        extra ``race`` (RACE).
        ``measurements`` (index = record number in its BDS file; the extra column
        ``dataset`` tells datasets apart): the selected records (`analysis_flag`, DTYPE,
        randomised subjects; the others counted in one notice per dataset), with
        subject_id (USUBJID), visit (AVISIT), day (ADY), endpoint (PARAMCD via
        `endpoints`), value (AVAL), unit (AVALU, else PARAMU), body_site (AFEYE, else
        ALOC, else STUDYEYE), extras base, chg, pchg, ablfl, anl01fl, dtype, avisitn,
        param when present.
        ``adverse_events`` from ADAE and ``deviations`` from ADDV (see
        :mod:`efficacy.io._adam_events`). The manifest is synthesised (design parallel,
        arms from TRT01P, visits from AVISIT as in
        :func:`efficacy.io._adam_visits.visit_schedule`, ``raw["trial"]["baseline_day"]
        = 1``, ``data_endpoints`` one per parameter); ``raw["adam"]`` records where every
        value came from. ``issues`` hold, in ADaM terms (``table`` = dataset name,
        ``column`` = variable, ``row`` = record number): ABLFL set twice, BASE or CHG
        differing from recomputation, ADY outside the record's AWLO-AWHI, a parameter
        without baseline (kind ``excluded``), and the records left out.

    Raises
    ------
    InputError
        A file that cannot be read, or that lacks USUBJID (ADSL) or USUBJID / PARAMCD
        / AVAL (BDS).
    EfficacyError
        `control`, `baseline_visit`, `endpoints` or `primary` names a value absent from
        the data.

    Notes
    -----
    Checked against the CDISC Pilot 01 ADSL, ADQSCIBC and ADADAS (tests/reference/adam):
    254 subjects (Placebo 86, Xanomeline Low Dose 84, Xanomeline High Dose 84); CIBIC+
    has no baseline record, so it is not analysed.

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
    (254, '')
    >>> [(e.id, e.analysable) for e in trial.manifest.data_endpoints]
    [('cibicval', False)]
    """
    adsl_data = _read_adam_file(adsl)
    options = AdamOptions(
        control=control,
        baseline_visit=baseline_visit,
        include_derived=include_derived,
        study_title=study_title,
        endpoints=endpoints,
        analysis_flag=analysis_flag,
        primary=primary,
    )
    events = [_read_adam_file(p) if p is not None else None for p in (adae, addv)]
    return adam_trial(adsl_data, _read_bds(bds), events[0], events[1], options)


@dataclass(frozen=True)
class AdamOptions:
    """How ADaM datasets map onto a trial (the keyword arguments of :func:`read_adam`)."""

    control: str | Sequence[str] | None = None
    baseline_visit: str | None = None
    include_derived: bool = False
    study_title: str | None = None
    endpoints: Mapping[str, str] | None = None
    analysis_flag: str | None = "ANL01FL"
    primary: str | None = None


def adam_trial(
    adsl_data: AdamFile,
    datasets: Sequence[AdamFile],
    adae: AdamFile | None,
    addv: AdamFile | None,
    options: AdamOptions,
    notices: Sequence[pd.DataFrame] = (),
) -> Trial:
    """Build the Trial from ADaM datasets already read (see :func:`read_adam`).

    `notices` are extra issues (e.g. files of a folder that were not read).
    """
    o = options
    adsl_frame = adsl_data.frame
    _require(adsl_data.path, adsl_frame, ("USUBJID",), "ADSL")
    for data in datasets:
        _require(data.path, data.frame, ("USUBJID", "PARAMCD", "AVAL"), "ADaM BDS")
    arms = _arms(adsl_frame)
    controls, control_how = _control_arms(adsl_frame, arms, o.control, adsl_data.path)
    codes = _endpoints(datasets, o.endpoints)
    subjects_txt, subject_how, ongoing = subjects_text(adsl_frame, arms)
    subjects, subjects_source, subject_issues = build_table(
        "subjects", subjects_txt, adsl_data.path, adsl_data.fmt
    )
    first = first_rows(subjects)
    in_arm = first["randomized"].fillna(False).astype(bool) & first["arm"].notna()
    randomised = set(first["subject_id"][in_arm.to_numpy(bool)].dropna())
    selected = _Bds(datasets, o.analysis_flag, o.include_derived, randomised, o.baseline_visit)
    measurements, m_source, m_issues = selected.measurements(codes)
    frames, event_sources, event_issues, event_how = _events(adae, addv, randomised)
    adam = {
        "adsl": str(adsl_data.path),
        "bds": [str(d.path) for d in datasets],
        "datasets": [adsl_data.name, *(d.name for d in datasets)],
        "subjects": subject_how,
        "control": control_how,
        "endpoints": codes,
        "primary": o.primary,
        "analysis_flag": o.analysis_flag,
        "include_derived": o.include_derived,
        "excluded": selected.excluded,
        **event_how,
    }
    read = [(adsl_data, "subjects"), *((d, "measurements") for d in datasets)]
    read += [(f, t) for f, t in ((adae, "adverse_events"), (addv, "deviations")) if f is not None]
    if any(f.fmt in ("datasetjson", "ndjson", "dsjc") for f, _ in read):
        adam[PROBLEMS_KEY] = [r for f, t in read for r in problem_records(f.problems, t)]
    manifest, manifest_issues = _manifest(
        adsl_frame, selected, arms, controls, o.baseline_visit, o.study_title, adam
    )
    sources = {
        "subjects": subjects_source,
        "measurements": m_source,
        "pro_responses": TableSource("pro_responses", None, None, 0),
        **event_sources,
    }
    issues = [manifest_issues, *notices, ongoing, subject_issues, selected.issues, m_issues]
    return Trial(
        manifest=manifest,
        subjects=subjects,
        measurements=measurements,
        pro_responses=empty_table("pro_responses"),
        adverse_events=frames["adverse_events"],
        deviations=frames["deviations"],
        sources=sources,
        issues=concat_issues([*issues, *event_issues]),
    )
