"""ADaM variables -> canonical text columns (subjects from ADSL, measurements from BDS).

Inputs are ADaM datasets already read as cleaned text (string dtype, upper-case names,
NA for blank). Outputs are :class:`~efficacy.io._convert.TextTable` objects that
:func:`~efficacy.io._convert.build_table` converts exactly like a bundle table.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd
import pyarrow as pa

from efficacy.io._convert import STRING_DTYPE, TextTable, issues_frame
from efficacy.schema import ColumnKind

__all__ = [
    "BDS_EXTRA_KINDS",
    "Y_OR_NULL_FLAGS",
    "bds_text",
    "concat_text",
    "exclusion_issue",
    "subjects_text",
]

#: First variable present wins, per canonical subjects column.
SUBJECT_VARIABLES: Mapping[str, tuple[str, ...]] = {
    "subject_id": ("USUBJID",),
    "itt": ("ITTFL", "FASFL"),
    "per_protocol": ("PPROTFL", "EFFFL"),
    "safety": ("SAFFL",),
    "age": ("AGE",),
    "sex": ("SEX",),
    "randomization_date": ("RANDDT",),
    "site_id": ("SITEID",),
    "race": ("RACE",),
}
#: Variables naming the body site of a BDS record, in order of preference.
SITE_VARIABLES = ("AFEYE", "ALOC", "STUDYEYE")
#: BDS variables carried as extra measurement columns (lower-cased) when present.
BDS_EXTRAS = ("BASE", "CHG", "PCHG", "ABLFL", "ANL01FL", "DTYPE", "AVISITN", "PARAM")
#: Kinds of the typed extras (others, and site variables, stay text).
BDS_EXTRA_KINDS: Mapping[str, ColumnKind] = {
    "base": "float",
    "chg": "float",
    "pchg": "float",
    "avisitn": "float",
    "ablfl": "bool",
    "anl01fl": "bool",
}
#: ADaM flags that are "Y" or null (ADaMIG): null means not flagged (False).
Y_OR_NULL_FLAGS = ("ablfl", "anl01fl")
_LOST = ("LOST TO FOLLOW-UP", "LOST TO FOLLOW UP", "LOST TO FOLLOWUP")
_REASONS = ("DCSREAS", "DCREASCD", "DCDECOD")


def _arrow(values: pd.Series) -> pa.ChunkedArray:
    text = values.astype(STRING_DTYPE)
    # pandas-stubs types na_value as a non-None scalar; pandas accepts None (missing -> None).
    cells = text.to_numpy(dtype=object, na_value=None)  # type: ignore[call-overload]
    return pa.chunked_array([pa.array(cells, pa.string())])


def _first(frame: pd.DataFrame, names: Sequence[str]) -> str | None:
    return next((n for n in names if n in frame.columns), None)


def _flag(mask: np.ndarray, index: pd.Index) -> pd.Series:
    return pd.Series(np.where(mask, "Y", "N"), index=index, dtype=STRING_DTYPE)


def _randomized(adsl: pd.DataFrame, arm: pd.Series) -> tuple[pd.Series, str]:
    """RANDFL, else ITTFL, else RANDDT present, else TRT01P is an arm."""
    source = _first(adsl, ("RANDFL", "ITTFL"))
    if source is not None:
        return adsl[source], source
    if "RANDDT" in adsl:
        return _flag(adsl["RANDDT"].notna().to_numpy(), adsl.index), "RANDDT present"
    return _flag(arm.notna().to_numpy(), adsl.index), "TRT01P is an arm"


def _disposition(adsl: pd.DataFrame) -> tuple[pd.Series, np.ndarray, str]:
    """Disposition from DCDECOD (else EOSSTT); returns it, ONGOING mask, source."""
    code = pd.Series(pd.NA, index=adsl.index, dtype=STRING_DTYPE)
    used = [v for v in ("DCDECOD", "EOSSTT") if v in adsl]
    for variable in reversed(used):  # DCDECOD wins where both are given
        code = adsl[variable].str.upper().fillna(code)
    code_np = code.to_numpy(dtype=object, na_value="")
    screen = np.zeros(len(adsl), dtype=bool)
    if "TRT01P" in adsl:
        screen = adsl["TRT01P"].str.lower().eq("screen failure").fillna(False).to_numpy(bool)
    ongoing = code_np == "ONGOING"
    disposition = np.select(
        [
            code_np == "COMPLETED",
            np.isin(code_np, _LOST),
            (code_np == "SCREEN FAILURE") | ((code_np == "") & screen),
            ongoing | (code_np == ""),
        ],
        ["completed", "lost_to_follow_up", "screen_failure", ""],
        default="discontinued",
    )
    out = pd.Series(disposition, index=adsl.index, dtype=STRING_DTYPE).replace("", pd.NA)
    return out, ongoing, "/".join(used) or "none"


def subjects_text(
    adsl: pd.DataFrame, arms: Sequence[str]
) -> tuple[TextTable, dict[str, str], pd.DataFrame]:
    """Map ADSL onto the subjects table.

    Returns
    -------
    text : TextTable
        Canonical subjects columns as text, plus ``race``.
    provenance : dict
        Canonical column -> ADaM variable(s) it came from.
    issues : pandas.DataFrame
        One issue per subject whose EOSSTT/DCDECOD is ONGOING (no disposition yet).
    """
    columns: dict[str, pd.Series] = {}
    how: dict[str, str] = {}
    for canonical, variables in SUBJECT_VARIABLES.items():
        source = _first(adsl, variables)
        if source is not None:
            columns[canonical], how[canonical] = adsl[source], source
    if "TRT01P" in adsl:
        columns["arm"] = adsl["TRT01P"].where(adsl["TRT01P"].isin(list(arms)))
        how["arm"] = "TRT01P"
    arm = columns.get("arm", pd.Series(pd.NA, index=adsl.index, dtype=STRING_DTYPE))
    columns["randomized"], how["randomized"] = _randomized(adsl, arm)
    if "TRT01P" in adsl and how["randomized"] != "TRT01P is an arm":
        # a screen failure (no planned arm) is not randomised, whatever the flag says
        flagged = columns["randomized"]
        columns["randomized"] = flagged.where(arm.notna(), "N")
        how["randomized"] += " and TRT01P is an arm"
    disposition, ongoing, how["disposition"] = _disposition(adsl)
    columns["disposition"] = disposition
    reason_vars = [v for v in _REASONS if v in adsl]
    if reason_vars:
        reason = pd.Series(pd.NA, index=adsl.index, dtype=STRING_DTYPE)
        for variable in reversed(reason_vars):
            reason = adsl[variable].fillna(reason)
        not_completed = disposition.ne("completed").fillna(True)
        columns["discontinuation_reason"] = reason.where(not_completed)
        how["discontinuation_reason"] = " else ".join(reason_vars)
    rows = adsl.index.to_numpy()[ongoing]
    issues = issues_frame(
        "subjects",
        "disposition",
        rows.tolist(),
        ["ONGOING"] * len(rows),
        "ongoing at the data cut-off (ONGOING): disposition left empty",
    )
    text = TextTable(
        tuple(columns), tuple(_arrow(s) for s in columns.values()), adsl.index.to_numpy()
    )
    return text, how, issues


def bds_text(
    bds: pd.DataFrame, dataset: str, endpoints: Mapping[str, str], include_derived: bool
) -> tuple[TextTable, dict[str, int]]:
    """Map one BDS dataset onto measurements; return it and derived-record counts.

    Records with DTYPE non-blank (LOCF, WOCF, AVERAGE ... : derived, not observed) are
    left out unless `include_derived`; the counts per DTYPE value are returned so the
    caller can record the exclusion.
    """
    derived = bds["DTYPE"].notna() if "DTYPE" in bds else pd.Series(False, index=bds.index)
    counts = (
        {str(k): int(v) for k, v in bds["DTYPE"][derived].value_counts().items()}
        if derived.any()
        else {}
    )
    kept = bds if include_derived else bds[~derived.to_numpy()]
    columns: dict[str, pd.Series] = {
        "subject_id": kept["USUBJID"],
        "endpoint": kept["PARAMCD"].map(dict(endpoints)).astype(STRING_DTYPE),
        "value": kept["AVAL"],
    }
    for canonical, variables in {
        "visit": ("AVISIT",),
        "day": ("ADY",),
        "unit": ("AVALU", "PARAMU"),
        "body_site": SITE_VARIABLES,
    }.items():
        source = _first(kept, variables)
        if source is not None:
            columns[canonical] = kept[source]
    site = _first(kept, SITE_VARIABLES)
    for variable in (*BDS_EXTRAS, *SITE_VARIABLES):
        if variable in kept and variable != site:
            columns[variable.lower()] = kept[variable]
    columns["dataset"] = pd.Series(dataset, index=kept.index, dtype=STRING_DTYPE)
    text = TextTable(
        tuple(columns), tuple(_arrow(s) for s in columns.values()), kept.index.to_numpy()
    )
    return text, (counts if not include_derived else {})


def exclusion_issue(dataset: str, counts: Mapping[str, int]) -> pd.DataFrame:
    """One table-level issue saying how many derived records were left out, by DTYPE."""
    total = sum(counts.values())
    detail = ", ".join(f"{k}: {v}" for k, v in sorted(counts.items()))
    problem = (
        f"{total} derived records in {dataset} (DTYPE {detail}) excluded: imputed, not "
        "observed; pass include_derived=True to keep them"
    )
    return issues_frame("measurements", "DTYPE", [None], [detail], problem, kind="excluded")


def concat_text(tables: Sequence[TextTable]) -> TextTable:
    """Stack text tables; a column absent from one table is null in its records."""
    names = list(dict.fromkeys(n for t in tables for n in t.names))
    columns = []
    for name in names:
        chunks: list[pa.Array] = []
        for t in tables:
            if name in t.names:
                chunks.extend(t.columns[t.names.index(name)].chunks)
            else:
                chunks.append(pa.nulls(t.n_rows, pa.string()))
        columns.append(pa.chunked_array(chunks, pa.string()))
    rows = np.concatenate([t.rows for t in tables if t.rows is not None]) if tables else None
    return TextTable(tuple(names), tuple(columns), rows)
