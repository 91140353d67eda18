"""One entry point for every input a command accepts: :func:`read_input`.

* a trial bundle: a folder with ``trial.toml`` and its tables (:func:`read_trial`);
* a folder of CDISC ADaM datasets: ``adsl.*`` plus BDS datasets, and ``adae.*`` /
  ``addv.*`` when present (:func:`read_adam_folder`);
* an ADaM bundle: a folder whose ``trial.toml`` points ``[tables]`` at ADaM datasets
  (``adsl``, ``bds``, ``adae``, ``addv``) and adds only what data cannot show: the
  ``[trial]`` id and title, attested ``[consort]`` facts, and ``[adam]`` options
  (``control``, ``primary``, ``analysis_flag``, ``include_derived``, ``endpoints``: a
  PARAMCD-to-endpoint table).
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pandas as pd

from efficacy.errors import InputError
from efficacy.io._adam_files import ADAM_SUFFIXES, AdamFile, find_adam_datasets
from efficacy.io._convert import issues_frame
from efficacy.io._toml import load_toml
from efficacy.io.adam import AdamOptions, _read_adam_file, adam_trial
from efficacy.io.bundle import MANIFEST_NAME, read_trial, resolve_table_path
from efficacy.trial import Trial

__all__ = ["ADAM_KEYS", "read_adam_folder", "read_input"]

#: ``[adam]`` keys of an ADaM bundle's trial.toml and their types.
ADAM_KEYS: Mapping[str, type | tuple[type, ...]] = {
    "control": str,
    "primary": str,
    "analysis_flag": str,
    "include_derived": bool,
    "endpoints": dict,
    "baseline_visit": str,
}
_TABLE_KEYS = ("adsl", "bds", "adae", "addv")


def _notice(dataset: str, problem: str) -> pd.DataFrame:
    return issues_frame(dataset, None, [None], [None], problem, kind="excluded")


def _is_bds(data: AdamFile) -> str:
    """Why a dataset is not analysed as BDS measurements ("" when it is BDS)."""
    lacking = [v for v in ("USUBJID", "PARAMCD", "AVAL") if v not in data.frame]
    if lacking:
        return f"no {', '.join(lacking)}: not a BDS dataset"
    if "CNSR" in data.frame:
        return "CNSR present: a time-to-event dataset (ADTTE), not repeated measurements"
    return ""


def read_adam_folder(folder: str | os.PathLike[str], options: AdamOptions | None = None) -> Trial:
    """Read a folder of ADaM datasets (see :func:`~efficacy.io._adam_files.find_adam_datasets`).

    Every ``ad*`` dataset other than ADSL, ADAE and ADDV with USUBJID, PARAMCD and AVAL
    is a BDS dataset; the others (and files holding a dataset already read in another
    form) are named in one notice each.

    Raises
    ------
    InputError
        No ``adsl.*`` in the folder, or a dataset that cannot be read.
    """
    folder = Path(folder)
    found = find_adam_datasets(folder)
    if found is None:
        raise InputError(
            f"{folder}: no adsl.* dataset in this folder; an ADaM folder holds adsl.* plus "
            f"BDS datasets ({', '.join(ADAM_SUFFIXES)})"
        )
    notices = [_notice(p.stem.upper(), f"{p.name} not read: {why}") for p, why in found.ignored]
    bds: list[AdamFile] = []
    for path in found.others:
        data = _read_adam_file(path)
        why = _is_bds(data)
        if why:
            notices.append(_notice(data.name, f"{path.name} not read as measurements: {why}"))
        else:
            bds.append(data)
    adae = _read_adam_file(found.adae) if found.adae is not None else None
    addv = _read_adam_file(found.addv) if found.addv is not None else None
    return adam_trial(
        _read_adam_file(found.adsl), bds, adae, addv, options or AdamOptions(), notices
    )


def _adam_options(
    raw: Mapping[str, Any], manifest: Path | None, given: Mapping[str, Any]
) -> AdamOptions:
    """Defaults, then the trial.toml ``[adam]`` table, then the command line (`given`)."""
    section = raw.get("adam", {})
    if not isinstance(section, Mapping):
        raise InputError(f"{manifest}: [adam] must be a table of options")
    unknown = sorted(set(section) - set(ADAM_KEYS))
    if unknown:
        raise InputError(
            f"{manifest}: [adam] keys {unknown} are not options; use {', '.join(ADAM_KEYS)}"
        )
    for key, value in section.items():
        if not isinstance(value, ADAM_KEYS[key]):
            raise InputError(f"{manifest}: [adam] {key} = {value!r} has the wrong type")
    endpoints = section.get("endpoints")
    if endpoints is not None and not all(isinstance(v, str) for v in endpoints.values()):
        raise InputError(f'{manifest}: [adam] endpoints must map PARAMCD = "endpoint id"')
    merged = {**section, **{k: v for k, v in given.items() if v is not None}}
    if str(merged.get("analysis_flag", "")).lower() == "none":
        merged["analysis_flag"] = None
    return AdamOptions(**merged)


def _adam_bundle(raw: Mapping[str, Any], manifest: Path, given: Mapping[str, Any]) -> Trial:
    tables = raw.get("tables", {})
    bundle = manifest.parent

    def resolve(key: str, spec: object) -> Path:
        if not isinstance(spec, str):
            raise InputError(f"{manifest}: [tables] {key} must be a relative file path")
        return resolve_table_path(bundle, key, spec, manifest)[1]

    unknown = sorted(set(tables) - set(_TABLE_KEYS))
    if unknown:
        raise InputError(
            f"{manifest}: [tables] {unknown} are not ADaM tables; an ADaM bundle names "
            f"{', '.join(_TABLE_KEYS)}"
        )
    bds_specs = tables.get("bds", [])
    bds_specs = [bds_specs] if isinstance(bds_specs, str) else bds_specs
    if not isinstance(bds_specs, list):
        raise InputError(f"{manifest}: [tables] bds must be a file path or a list of them")
    opts = _adam_options(raw, manifest, given)
    trial_section = raw.get("trial", {})
    if isinstance(trial_section, Mapping) and isinstance(trial_section.get("title"), str):
        opts = dataclasses.replace(opts, study_title=trial_section["title"])
    adae, addv = (
        _read_adam_file(resolve(k, tables[k])) if k in tables else None for k in ("adae", "addv")
    )
    trial = adam_trial(
        _read_adam_file(resolve("adsl", tables["adsl"])),
        [_read_adam_file(resolve("bds", s)) for s in bds_specs],
        adae,
        addv,
        opts,
    )
    m = trial.manifest
    consort = raw.get("consort", {})
    study_id = trial_section.get("id") if isinstance(trial_section, Mapping) else None
    manifest_obj = dataclasses.replace(
        m,
        id=study_id if isinstance(study_id, str) else m.id,
        consort=dict(consort) if isinstance(consort, Mapping) else {},
        path=manifest,
        raw={**m.raw, "consort": consort, "manifest": str(manifest)},
    )
    return dataclasses.replace(trial, manifest=manifest_obj)


def read_input(
    path: str | os.PathLike[str],
    *,
    control: str | None = None,
    analysis_flag: str | None = None,
) -> Trial:
    """Read what a command was given: a bundle, an ADaM folder or an ADaM bundle.

    Parameters
    ----------
    path : str or path-like
        A bundle folder (or its ``trial.toml``), or a folder of ADaM datasets.
    control : str, optional
        ADaM: TRT01P of the control arm (default: TRT01PN = 0, else an arm named
        placebo / vehicle / control). Wins over an ADaM bundle's ``[adam] control``.
    analysis_flag : str, optional
        ADaM: the record-selection flag (default ANL01FL; ``"none"`` keeps every
        record). Wins over ``[adam] analysis_flag``.

    Both are ignored for a bundle of tables.

    Raises
    ------
    InputError
        Nothing usable at `path`, with what a bundle or an ADaM folder holds.

    Examples
    --------
    >>> from efficacy._examples import repo_path
    >>> trial = read_input(repo_path("sample_data", "parallel_12wk"))
    >>> trial.manifest.id
    'SIM-PARALLEL-12W'
    """
    given = Path(path)
    options = {"control": control, "analysis_flag": analysis_flag}
    if given.is_file() and given.suffix.lower() in ADAM_SUFFIXES:
        raise InputError(
            f"{given}: a single dataset file; give the folder that holds adsl.* and the "
            "BDS datasets (or a bundle folder with trial.toml)"
        )
    manifest = given if given.is_file() else given / MANIFEST_NAME
    if given.is_dir() and not manifest.is_file():
        if find_adam_datasets(given) is not None:
            return read_adam_folder(given, _adam_options({}, None, options))
        raise InputError(
            f"{given}: no {MANIFEST_NAME} and no adsl.* dataset in this folder; give a "
            f"bundle (a folder with {MANIFEST_NAME} and its tables) or a folder of ADaM "
            "datasets (adsl.* plus BDS datasets)"
        )
    if manifest.is_file():
        raw = load_toml(manifest)
        tables = raw.get("tables")
        if isinstance(tables, Mapping) and "adsl" in tables:
            return _adam_bundle(raw, manifest, options)
    return read_trial(given)
