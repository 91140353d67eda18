"""ADAE -> adverse_events and ADDV -> deviations (canonical text columns).

Inputs are ADaM datasets read as text (:class:`~efficacy.io._adam_files.AdamFile`);
outputs are :class:`~efficacy.io._convert.TextTable` objects converted like a bundle
table, plus provenance (canonical column -> ADaM variable) and a notice of the records
left out.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence

import numpy as np
import pandas as pd
import pyarrow as pa

from efficacy.io._adam_files import AdamFile
from efficacy.io._convert import STRING_DTYPE, TextTable, concat_issues, issues_frame

__all__ = ["adae_text", "addv_text"]

#: AEREL values meaning the event was judged related to the product (any case).
RELATED = ("POSSIBLE", "PROBABLE", "RELATED", "DEFINITE", "Y", "YES")
#: AEREL values meaning not related.
NOT_RELATED = ("NONE", "NOT RELATED", "REMOTE", "UNLIKELY", "UNRELATED", "N", "NO")
#: AEACN value meaning the product was withdrawn (CDISC ACN controlled terms).
WITHDRAWN = "DRUG WITHDRAWN"


def _arrow(values: pd.Series) -> pa.ChunkedArray:
    text = values.astype(STRING_DTYPE)
    cells = text.to_numpy(dtype=object, na_value=None)  # type: ignore[call-overload]
    return pa.chunked_array([pa.array(cells, pa.string())])


def _yn(mask: np.ndarray, known: np.ndarray, index: pd.Index) -> pd.Series:
    out = pd.Series(np.where(mask, "Y", "N"), index=index, dtype=STRING_DTYPE)
    return out.where(known)


def _upper(frame: pd.DataFrame, variable: str) -> pd.Series:
    return frame[variable].str.upper()


def _text(columns: Mapping[str, pd.Series], index: pd.Index) -> TextTable:
    return TextTable(tuple(columns), tuple(_arrow(s) for s in columns.values()), index.to_numpy())


def _excluded(data: AdamFile, counts: Mapping[str, int], table: str) -> pd.DataFrame:
    counts = {k: v for k, v in counts.items() if v}
    if not counts:
        return concat_issues([])
    detail = "; ".join(f"{n} with {cause}" for cause, n in counts.items())
    problem = (
        f"{data.label}: {sum(counts.values())} of {len(data.frame)} records left out of "
        f"{table} ({detail})"
    )
    return issues_frame(data.name, None, [None], [None], problem, kind="excluded")


def _randomised(frame: pd.DataFrame, randomised: Iterable[str]) -> np.ndarray:
    return frame["USUBJID"].isin(list(randomised)).fillna(False).to_numpy(dtype=bool)


def adae_text(
    data: AdamFile, randomised: Iterable[str]
) -> tuple[TextTable, dict[str, str], pd.DataFrame]:
    """Map ADAE onto adverse_events.

    Treatment-emergent records only (TRTEMFL = "Y", when the variable is present), of
    randomised subjects. term and pt from AEDECOD (else AETERM), soc from AEBODSYS,
    severity from AESEV (lower case), serious from AESER, related from AEREL
    (:data:`RELATED` / :data:`NOT_RELATED`; other values stay blank), onset_day from
    ASTDY, led_to_discontinuation from AEACN = "DRUG WITHDRAWN", fatal from AESDTH = "Y"
    or AEOUT = "FATAL".
    """
    frame = data.frame
    keep = np.ones(len(frame), dtype=bool)
    counts: dict[str, int] = {}
    if "TRTEMFL" in frame:
        teae = _upper(frame, "TRTEMFL").eq("Y").fillna(False).to_numpy(dtype=bool)
        counts["TRTEMFL not 'Y' (not treatment-emergent)"] = int((~teae).sum())
        keep &= teae
    ok = _randomised(frame, randomised)
    counts["subject not randomised or without a planned arm (ADSL)"] = int((keep & ~ok).sum())
    keep &= ok
    f = frame[keep]
    cols: dict[str, pd.Series] = {"subject_id": f["USUBJID"]}
    how: dict[str, str] = {"subject_id": "USUBJID"}
    term = next((v for v in ("AEDECOD", "AETERM") if v in f), None)
    if term is not None:
        cols["term"], how["term"] = f[term], term
    for canonical, variable in (("pt", "AEDECOD"), ("soc", "AEBODSYS"), ("onset_day", "ASTDY")):
        if variable in f:
            cols[canonical], how[canonical] = f[variable], variable
    if "AESEV" in f:
        cols["severity"], how["severity"] = f["AESEV"].str.lower(), "AESEV"
    if "AESER" in f:
        cols["serious"], how["serious"] = f["AESER"], "AESER"
    if "AEREL" in f:
        rel = _upper(f, "AEREL")
        yes = rel.isin(RELATED).fillna(False).to_numpy(dtype=bool)
        no = rel.isin(NOT_RELATED).fillna(False).to_numpy(dtype=bool)
        cols["related"], how["related"] = _yn(yes, yes | no, f.index), "AEREL"
    if "AEACN" in f:
        acn = _upper(f, "AEACN")
        withdrawn = acn.eq(WITHDRAWN).fillna(False).to_numpy(dtype=bool)
        known = acn.notna().to_numpy(dtype=bool)  # a blank AEACN is unknown, not "no"
        cols["led_to_discontinuation"] = _yn(withdrawn, known, f.index)
        how["led_to_discontinuation"] = f"AEACN = {WITHDRAWN!r} (blank: unknown)"
    fatal_vars = [v for v in ("AESDTH", "AEOUT") if v in f]
    if fatal_vars:
        fatal = np.zeros(len(f), dtype=bool)
        known = np.zeros(len(f), dtype=bool)
        for variable, value in (("AESDTH", "Y"), ("AEOUT", "FATAL")):
            if variable in f:
                text = _upper(f, variable)
                fatal |= text.eq(value).fillna(False).to_numpy(dtype=bool)
                known |= text.notna().to_numpy(dtype=bool)
        cols["fatal"] = _yn(fatal, known, f.index)
        how["fatal"] = " or ".join(
            {"AESDTH": "AESDTH = 'Y'", "AEOUT": "AEOUT = 'FATAL'"}[v] for v in fatal_vars
        )
    return _text(cols, f.index), how, _excluded(data, counts, "adverse_events")


def _major(f: pd.DataFrame) -> tuple[pd.Series | None, str]:
    """Major deviation flag: a Y/N flag variable, else DVSCAT / DVCAT naming MAJOR/MINOR."""
    for flag in ("DVMAJFL", "MAJDVFL", "AMAJFL"):
        if flag in f:
            return f[flag], flag
    for variable in ("DVSCAT", "DVCLASS", "DVCAT"):
        if variable in f:
            text = _upper(f, variable)
            major = text.str.contains("MAJOR").fillna(False).to_numpy(dtype=bool)
            minor = text.str.contains("MINOR").fillna(False).to_numpy(dtype=bool)
            if (major | minor).any():
                return _yn(major, major | minor, f.index), f"{variable} names MAJOR / MINOR"
    return None, ""


def addv_text(
    data: AdamFile, randomised: Iterable[str], day_variables: Sequence[str] = ("ADY", "ASTDY")
) -> tuple[TextTable, dict[str, str], pd.DataFrame]:
    """Map ADDV onto deviations.

    category from DVCAT (else DVDECOD), description from DVTERM (else DVDECOD), major
    from a flag (DVMAJFL) or DVSCAT / DVCLASS / DVCAT containing MAJOR or MINOR, day
    from ADY (else ASTDY); records of subjects not randomised are left out.
    """
    frame = data.frame
    ok = _randomised(frame, randomised)
    f = frame[ok]
    cols: dict[str, pd.Series] = {"subject_id": f["USUBJID"]}
    how: dict[str, str] = {"subject_id": "USUBJID"}
    for canonical, variables in (
        ("category", ("DVCAT", "DVDECOD")),
        ("description", ("DVTERM", "DVDECOD")),
        ("day", tuple(day_variables)),
    ):
        source = next((v for v in variables if v in f), None)
        if source is not None:
            cols[canonical], how[canonical] = f[source], source
    major, major_how = _major(f)
    if major is not None:
        cols["major"], how["major"] = major, major_how
    counts = {"subject not randomised or without a planned arm (ADSL)": int((~ok).sum())}
    return _text(cols, f.index), how, _excluded(data, counts, "deviations")
