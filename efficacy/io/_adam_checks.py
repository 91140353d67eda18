"""Select the analysed records of a BDS dataset and check its baseline derivations.

Everything here speaks ADaM: issues name the dataset (``table``), the variable
(``column``) and the record number in the file (``row``); their text cites the file
(``adadas.xpt row 17``). Validation reports them as findings (problems under SCH-004,
records left out under SCH-013).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from efficacy.io._adam_files import AdamFile
from efficacy.io._convert import concat_issues, issues_frame

__all__ = ["Parameter", "baseline_issues", "first_visit", "parameters", "select_records"]

#: Relative tolerance of the BASE / CHG recomputation (values stored as text round-trip).
_TOL = 1e-9


def _per_row(
    table: str,
    column: str,
    rows: Sequence[object],
    values: Sequence[object],
    problems: Sequence[str],
) -> pd.DataFrame:
    """Issues with one problem text per row (vectorised :func:`issues_frame`)."""
    frame = issues_frame(table, column, list(rows), list(values), "")
    frame["problem"] = np.asarray(list(problems), dtype=object)
    return frame


def _number(values: pd.Series) -> np.ndarray:
    return pd.to_numeric(values, errors="coerce").to_numpy(dtype=float, na_value=np.nan)


def _is_y(frame: pd.DataFrame, variable: str) -> np.ndarray:
    return frame[variable].str.upper().eq("Y").fillna(False).to_numpy(dtype=bool)


def select_records(
    data: AdamFile,
    analysis_flag: str | None,
    include_derived: bool,
    randomised: Iterable[str] | None,
    derived_ok: bool = True,
) -> tuple[pd.DataFrame, pd.DataFrame, dict[str, int]]:
    """Keep the records an analysis uses; count the others in one notice.

    Left out, in this order: records whose `analysis_flag` (e.g. ANL01FL) is not "Y"
    (when the dataset has that variable), derived records (DTYPE non-blank) unless
    `include_derived`, and records of subjects not in `randomised` (screen failures:
    not randomised or no planned arm), when `randomised` is given.

    Returns
    -------
    kept : pandas.DataFrame
        The selected records (index = record number in the file).
    notice : pandas.DataFrame
        One issue of kind ``excluded`` (empty when nothing was left out).
    counts : dict
        Cause -> number of records left out.
    """
    frame = data.frame
    keep = np.ones(len(frame), dtype=bool)
    counts: dict[str, int] = {}
    if analysis_flag is not None and analysis_flag in frame:
        flagged = _is_y(frame, analysis_flag)
        counts[f"{analysis_flag} not 'Y'"] = int((keep & ~flagged).sum())
        keep &= flagged
    if derived_ok and "DTYPE" in frame and not include_derived:
        derived = frame["DTYPE"].notna().to_numpy(dtype=bool)
        for value, n in frame["DTYPE"][keep & derived].value_counts().sort_index().items():
            counts[f"DTYPE {value} (derived, not observed)"] = int(n)
        keep &= ~derived
    if randomised is not None:
        ok = frame["USUBJID"].isin(list(randomised)).fillna(False).to_numpy(dtype=bool)
        counts["subject not randomised or without a planned arm (ADSL)"] = int((keep & ~ok).sum())
        keep &= ok
    counts = {k: v for k, v in counts.items() if v}
    if not counts:
        return frame, concat_issues([]), {}
    detail = "; ".join(f"{n} with {cause}" for cause, n in counts.items())
    problem = f"{data.label}: {sum(counts.values())} of {len(frame)} records left out ({detail})"
    notice = issues_frame(data.name, None, [None], [None], problem, kind="excluded")
    return frame[keep], notice, counts


@dataclass(frozen=True)
class Parameter:
    """One BDS parameter (PARAMCD) of a dataset, after record selection.

    Attributes
    ----------
    paramcd : str
    label : str
        PARAM (the PARAMCD when PARAM is absent).
    dataset : str
    n_records : int
    n_baseline : int
        Subjects with a baseline record (ABLFL = "Y").
    baseline_visits : tuple of str
        AVISIT values of the baseline records, most frequent first.
    visits : tuple of str
        Every AVISIT value of the parameter's records.
    """

    paramcd: str
    label: str
    dataset: str
    n_records: int
    n_baseline: int
    baseline_visits: tuple[str, ...]
    visits: tuple[str, ...] = ()


def parameters(
    data: AdamFile, kept: pd.DataFrame, baseline_visit: str | None = None
) -> tuple[tuple[Parameter, ...], pd.DataFrame]:
    """Return the parameters of the selected records, and a notice per one lacking baseline.

    A parameter without a record flagged ABLFL = "Y" has no baseline: its change from
    baseline is undefined, so it is not analysed (never a post-baseline visit taken as
    baseline); one issue of kind ``excluded`` says so. In a dataset without an ABLFL
    variable, the records at `baseline_visit` (named by the user) are the baseline.
    """
    out: list[Parameter] = []
    issues: list[pd.DataFrame] = []
    has_visit = "AVISIT" in kept
    if "ABLFL" in kept:
        ablfl = _is_y(kept, "ABLFL")
    elif baseline_visit and has_visit:
        ablfl = kept["AVISIT"].eq(baseline_visit).fillna(False).to_numpy(dtype=bool)
    else:
        ablfl = np.zeros(len(kept), dtype=bool)
    labels = kept["PARAM"] if "PARAM" in kept else kept["PARAMCD"]
    for code, positions in kept.groupby("PARAMCD", sort=True).indices.items():
        idx = np.asarray(positions, dtype=np.int64)
        base = idx[ablfl[idx]]
        visits: tuple[str, ...] = ()
        if has_visit and base.size:
            visits = tuple(str(v) for v in kept["AVISIT"].iloc[base].value_counts().index)
        label = str(labels.iloc[idx[0]]) if pd.notna(labels.iloc[idx[0]]) else str(code)
        n_base = int(kept["USUBJID"].iloc[base].nunique())
        every = tuple(map(str, kept["AVISIT"].iloc[idx].dropna().unique())) if has_visit else ()
        out.append(Parameter(str(code), label, data.name, int(idx.size), n_base, visits, every))
        if n_base == 0:
            why = "no ABLFL variable" if "ABLFL" not in kept else "no record has ABLFL = 'Y'"
            issues.append(
                issues_frame(
                    data.name,
                    "ABLFL",
                    [None],
                    [str(code)],
                    f"{data.label}: {code} ({label}) has no baseline record ({why}); change "
                    "from baseline is undefined, so it is not analysed",
                    kind="excluded",
                )
            )
    return tuple(out), concat_issues(issues)


def _key_columns(kept: pd.DataFrame) -> list[str]:
    return ["USUBJID", "PARAMCD", *(["BASETYPE"] if "BASETYPE" in kept else [])]


def baseline_issues(data: AdamFile, kept: pd.DataFrame) -> pd.DataFrame:
    """Check ABLFL, BASE and CHG of the selected records against recomputation.

    * ABLFL = "Y" on more than one record of a subject and parameter (and BASETYPE);
    * BASE differing from AVAL of the subject's baseline record;
    * CHG differing from AVAL - BASE (post-baseline records);
    * a second selected record for a subject, parameter and AVISIT;
    * ADY outside the record's own window AWLO-AWHI (when given; observed records only:
      a derived record such as LOCF keeps the day of the record it carries forward).
    """
    if "ABLFL" not in kept or kept.empty:
        return concat_issues([_repeat_issues(data, kept), _window_issues(data, kept)])
    issues: list[pd.DataFrame] = []
    keys = _key_columns(kept)
    flagged = kept[_is_y(kept, "ABLFL")]
    twice = flagged.duplicated(keys, keep="first").to_numpy(dtype=bool)
    if twice.any():
        first = flagged[~twice].reset_index().set_index(keys)["row"]
        for row, rec in flagged[twice].iterrows():
            key = tuple(rec[k] for k in keys)
            issues.append(
                issues_frame(
                    data.name,
                    "ABLFL",
                    [row],
                    ["Y"],
                    f"{data.label} row {row}: ABLFL='Y' twice for {rec['USUBJID']} "
                    f"{rec['PARAMCD']} (first at row {first.loc[key]}); flag one baseline "
                    "record per subject and parameter",
                )
            )
    base_aval = (
        flagged[~twice].assign(_aval=_number(flagged["AVAL"][~twice])).set_index(keys)["_aval"]
    )
    index = pd.MultiIndex.from_frame(kept[keys]) if len(keys) > 1 else kept[keys[0]]
    expected = base_aval.reindex(index).to_numpy(dtype=float)
    if "BASE" in kept:
        issues += _mismatch(
            data,
            kept,
            "BASE",
            _number(kept["BASE"]),
            expected,
            "AVAL of the subject's baseline record (ABLFL = 'Y')",
        )
    if "CHG" in kept and "BASE" in kept:
        post = ~_is_y(kept, "ABLFL")
        recomputed = np.where(post, _number(kept["AVAL"]) - _number(kept["BASE"]), np.nan)
        issues += _mismatch(data, kept, "CHG", _number(kept["CHG"]), recomputed, "AVAL - BASE")
    again = _repeat_issues(data, kept.drop(index=flagged.index[twice]))  # one cause, one issue
    return concat_issues([*issues, again, _window_issues(data, kept)])


def _repeat_issues(data: AdamFile, kept: pd.DataFrame) -> pd.DataFrame:
    """Report selected records that repeat a subject, parameter and AVISIT (body site).

    The analysis takes one record per subject, parameter and visit: a repeat means the
    analysis flag (ANL01FL) does not select one record, which validation could not see
    in a dataset without a body site (INT-002 needs one).
    """
    if "AVISIT" not in kept or kept.empty:
        return concat_issues([])
    keys = [
        v
        for v in ("USUBJID", "PARAMCD", "AVISIT", "BASETYPE", "AFEYE", "ALOC", "DTYPE")
        if v in kept
    ]
    usable = kept[kept["AVISIT"].notna().to_numpy(dtype=bool)]
    again = usable.duplicated(keys, keep="first").to_numpy(dtype=bool)
    if not again.any():
        return concat_issues([])
    first = usable[~again].reset_index().drop_duplicates(keys).set_index(keys)["row"]
    rows, problems = [], []
    for row, rec in usable[again].iterrows():
        key = tuple(rec[k] for k in keys)
        rows.append(row)
        problems.append(
            f"{data.label} row {row}: a second selected record for {rec['USUBJID']} "
            f"{rec['PARAMCD']} at AVISIT {rec['AVISIT']} (first at row {first.loc[key]}); "
            "flag one record per subject, parameter and visit for analysis (ANL01FL)"
        )
    return _per_row(data.name, "AVISIT", rows, [None] * len(rows), problems)


def _mismatch(
    data: AdamFile,
    kept: pd.DataFrame,
    variable: str,
    given: np.ndarray,
    expected: np.ndarray,
    what: str,
) -> list[pd.DataFrame]:
    both = ~np.isnan(given) & ~np.isnan(expected)
    with np.errstate(invalid="ignore"):
        bad = both & (np.abs(given - expected) > _TOL * np.maximum(1.0, np.abs(expected)))
    rows = kept.index.to_numpy()[bad]
    sids = kept["USUBJID"].to_numpy(object)[bad]
    codes = kept["PARAMCD"].to_numpy(object)[bad]
    problems = [
        f"{data.label} row {row}: {variable} {g:.10g} for {sid} {code} differs from "
        f"{what}, {e:.10g}; check the derivation"
        for row, g, e, sid, code in zip(rows, given[bad], expected[bad], sids, codes, strict=True)
    ]
    return [_per_row(data.name, variable, rows, [f"{g:.10g}" for g in given[bad]], problems)]


def _window_issues(data: AdamFile, kept: pd.DataFrame) -> pd.DataFrame:
    if "ADY" not in kept or not ({"AWLO", "AWHI"} & set(kept.columns)):
        return concat_issues([])
    day = _number(kept["ADY"])
    lo = _number(kept["AWLO"]) if "AWLO" in kept else np.full(len(kept), np.nan)
    hi = _number(kept["AWHI"]) if "AWHI" in kept else np.full(len(kept), np.nan)
    with np.errstate(invalid="ignore"):
        bad = ~np.isnan(day) & ((day < lo) | (day > hi))
    if "DTYPE" in kept:  # a derived record (LOCF ...) keeps the day of the carried record
        bad &= kept["DTYPE"].isna().to_numpy(dtype=bool)
    if not bad.any():
        return concat_issues([])
    visit = kept["AVISIT"] if "AVISIT" in kept else pd.Series("", index=kept.index)
    rows = kept.index.to_numpy()[bad]
    problems = []
    for row, d, a, b, v in zip(
        rows, day[bad], lo[bad], hi[bad], visit.to_numpy(object)[bad], strict=True
    ):
        span = f"{'' if np.isnan(a) else f'{a:g}'}-{'' if np.isnan(b) else f'{b:g}'}"
        problems.append(
            f"{data.label} row {row}: ADY {d:g} is outside the record's analysis window "
            f"AWLO-AWHI {span} of AVISIT {v}; check the windowing"
        )
    return _per_row(data.name, "ADY", rows, [f"{d:g}" for d in day[bad]], problems)


def first_visit(params: Sequence[Parameter]) -> tuple[str, Mapping[str, int]]:
    """Return the AVISIT most parameters have their baseline at, and the count per AVISIT."""
    counts: dict[str, int] = {}
    for p in params:
        for v in p.baseline_visits:
            counts[v] = counts.get(v, 0) + 1
    if not counts:
        return "", {}
    return max(counts, key=lambda v: counts[v]), counts
