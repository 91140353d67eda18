"""Findings on ADaM input, told in ADaM terms: dataset, variable, record number.

Validation rules speak the canonical tables (``measurements``, column ``value``, "add
a column headed 'unit'"). For a trial read from ADaM datasets, :func:`speak_adam`
rewrites each finding's location to the source: ``table`` becomes the dataset
(ADSL, ADADAS, ADAE, ...), ``column`` the ADaM variable the canonical column came from
(AVAL, AVISIT, ITTFL ...), and the message starts with the file and record
(``adadas.xpt row 17 (USUBJID 01-701-1015, AVISIT Week 8), AVAL: ...``); fixes that
only make sense for a bundle (``trial.toml`` tables, column headers) are reworded.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from efficacy.trial import Trial

__all__ = ["ADAM_VARIABLES", "speak_adam"]

#: Canonical column -> the ADaM variable(s) it is read from, per canonical table.
ADAM_VARIABLES: Mapping[str, Mapping[str, str]] = {
    "subjects": {
        "subject_id": "USUBJID",
        "arm": "TRT01P",
        "randomized": "RANDFL",
        "itt": "ITTFL",
        "per_protocol": "PPROTFL",
        "safety": "SAFFL",
        "disposition": "EOSSTT / DCDECOD",
        "discontinuation_reason": "DCSREAS / DCREASCD",
        "age": "AGE",
        "sex": "SEX",
        "randomization_date": "RANDDT",
        "site_id": "SITEID",
    },
    "measurements": {
        "subject_id": "USUBJID",
        "visit": "AVISIT",
        "day": "ADY",
        "endpoint": "PARAMCD",
        "value": "AVAL",
        "unit": "AVALU / PARAMU",
        "body_site": "AFEYE / ALOC / STUDYEYE",
    },
    "adverse_events": {
        "subject_id": "USUBJID",
        "term": "AEDECOD",
        "pt": "AEDECOD",
        "soc": "AEBODSYS",
        "severity": "AESEV",
        "serious": "AESER",
        "related": "AEREL",
        "onset_day": "ASTDY",
        "led_to_discontinuation": "AEACN",
        "fatal": "AESDTH / AEOUT",
    },
    "deviations": {
        "subject_id": "USUBJID",
        "category": "DVCAT",
        "description": "DVTERM",
        "major": "DVSCAT",
        "day": "ADY",
    },
}

_REWORD: tuple[tuple[re.Pattern[str], str], ...] = (
    (
        re.compile(r"add it to \[tables\] in trial\.toml"),
        "an ADaM folder has no dataset for it (a cosmetic-standard bundle table)",
    ),
    (
        re.compile(r"add it to trial\.toml"),
        "attest it in a trial.toml beside the ADaM datasets ([consort] section)",
    ),
    (re.compile(r"the bundle has no"), "the ADaM input has no"),
    (re.compile(r"has no (required|optional) column '"), r"has no \1 variable for '"),
    (re.compile(r"\[\[arms\]\] control = true"), "TRT01PN = 0, or --control ARM"),
)
_HEADED = re.compile(r"add a column headed '(\w+)'")


def _datasets(trial: Trial, adam: Mapping[str, Any]) -> dict[str, str]:
    """Canonical table -> dataset name (the BDS one is per record)."""
    names = list(adam.get("datasets", []))
    out = {"subjects": names[0] if names else "ADSL"}
    for table, default in (("adverse_events", "ADAE"), ("deviations", "ADDV")):
        info = adam.get(table)
        if isinstance(info, Mapping) and info.get("dataset"):
            out[table] = Path(str(info["dataset"])).stem.upper()
        else:
            out[table] = default
    return out


def _variable(table: str, column: object, adam: Mapping[str, Any]) -> str | None:
    if not isinstance(column, str):
        return None
    if table == "subjects":
        how = adam.get("subjects", {})
        if isinstance(how, Mapping) and column in how:
            return str(how[column]).split(" ")[0]
    if table in ("adverse_events", "deviations"):
        how = adam.get(table, {})
        if isinstance(how, Mapping) and column in how and column != "dataset":
            return str(how[column]).split(" ")[0]
    return ADAM_VARIABLES.get(table, {}).get(column)


def _reword(message: str, table: str) -> str:
    def headed(match: re.Match[str]) -> str:
        name = match.group(1)
        variable = ADAM_VARIABLES.get(table, {}).get(name)
        return (
            f"add {variable} to the dataset"
            if variable
            else (f"ADaM has no standard variable for {name!r} (a cosmetic-standard item)")
        )

    message = _HEADED.sub(headed, message)
    for pattern, text in _REWORD:
        message = pattern.sub(text, message)
    return message


def _bds_location(trial: Trial, frame: pd.DataFrame, rows: np.ndarray) -> pd.DataFrame:
    """Dataset and file of measurement findings, matched on (row, subject, visit)."""
    m = trial.measurements
    if "dataset" not in m:
        return pd.DataFrame(index=frame.index[rows], columns=["dataset"])
    keys = pd.DataFrame(
        {
            "row": m.index.to_numpy(),
            "subject_id": m["subject_id"].astype(object).to_numpy(),
            "visit": m["visit"].astype(object).to_numpy(),
            "dataset": m["dataset"].astype(object).to_numpy(),
        }
    ).drop_duplicates(["row", "subject_id", "visit"])
    sub = frame.loc[frame.index[rows], ["row", "subject_id", "visit"]].astype(object)
    sub["row"] = pd.to_numeric(sub["row"], errors="coerce")
    keys["row"] = pd.to_numeric(keys["row"], errors="coerce")
    merged = sub.reset_index().merge(keys, on=["row", "subject_id", "visit"], how="left")
    return merged.set_index("index")[["dataset"]]


def speak_adam(trial: Trial, frame: pd.DataFrame) -> pd.DataFrame:
    """Return the findings `frame` told in ADaM terms (unchanged for a bundle).

    ``table`` -> dataset name (a measurement finding: the BDS dataset of its record),
    ``column`` -> ADaM variable, and the message reworded where it gave a bundle's fix
    (a column header, a ``[tables]`` entry). Findings already about a dataset (the
    ADaM reader's own) are kept as they are.
    """
    adam = trial.manifest.raw.get("adam")
    if not isinstance(adam, Mapping) or frame.empty:
        return frame
    out = frame.astype(object).copy()
    datasets = _datasets(trial, adam)
    bds_names = [str(n) for n in adam.get("datasets", [])[1:]]
    tables = out["table"].to_numpy(object)
    is_bds = tables == "measurements"
    bds = _bds_location(trial, out, np.flatnonzero(is_bds)) if is_bds.any() else None
    col = {name: list(out.columns).index(name) for name in ("table", "column", "message")}
    for i in range(len(out)):
        table = str(tables[i])
        if table in ("manifest", "pro_responses"):  # nothing to rename: reword the fix
            out.iat[i, col["message"]] = _reword(str(out.iat[i, col["message"]]), table)
            continue
        if table not in ADAM_VARIABLES:
            continue
        dataset = datasets.get(table, table)
        if table == "measurements":
            found = bds["dataset"].get(out.index[i]) if bds is not None else None
            dataset = str(found) if isinstance(found, str) else "/".join(bds_names) or "BDS"
        variable = _variable(table, out.iat[i, col["column"]], adam)
        message = _reword(str(out.iat[i, col["message"]]), table)
        if message.startswith(table):  # "measurements has no ..." -> "ADADAS has no ..."
            message = dataset + message[len(table) :]
        out.iat[i, col["message"]] = message
        out.iat[i, col["table"]] = dataset
        if variable:
            out.iat[i, col["column"]] = variable
    return out
