"""In-memory simulated bundle and the atomic bundle writer.

A :class:`SimulatedBundle` is what the simulator returns: the manifest as a nested dict
(the content of ``trial.toml`` without ``[tables]``) and the four canonical tables as
data frames whose columns are exactly the file columns. :func:`write_bundle` turns it
into a bundle folder in CSV, Parquet or Excel.

Determinism: CSV and Parquet output depends only on the bundle's content (same seed,
same bytes, on the same pandas/pyarrow versions). Excel files embed zip timestamps, so
``.xlsx`` bundles are equal in content, not in bytes.
"""

from __future__ import annotations

import copy
import os
import shutil
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any, Literal

import numpy as np
import pandas as pd

from efficacy._tabular import safe_frame
from efficacy.errors import EfficacyError
from efficacy.sim._columns import text_column
from efficacy.sim._pro import SYNTHETIC_FACEQ_FILE, synthetic_faceq_conversion
from efficacy.sim._toml import dumps

__all__ = ["TABLE_NAMES", "SimulatedBundle", "write_bundle"]

#: The tables a simulated bundle may hold, in the order they are written (the four
#: canonical tables, then the optional ``deviations``).
TABLE_NAMES: tuple[str, ...] = (
    "subjects",
    "measurements",
    "pro_responses",
    "adverse_events",
    "deviations",
)

BundleFormat = Literal["csv", "parquet", "xlsx"]
_EXTENSIONS: Mapping[str, str] = {"csv": ".csv", "parquet": ".parquet", "xlsx": ".xlsx"}


@dataclass(frozen=True)
class SimulatedBundle:
    """A simulated trial before it is written.

    Attributes
    ----------
    manifest : dict
        ``trial.toml`` content. ``[tables]`` is filled in by :func:`write_bundle`; a
        ``"tables"`` entry here overrides the path *written into the manifest* for a
        table (used to plant manifest defects; see :func:`write_bundle`).
    tables : dict of str to pandas.DataFrame
        ``subjects``, ``measurements``, ``pro_responses``, ``adverse_events``; columns
        as written to the file. The index labels identify rows while defects are
        planted and are not written.
    truth : dict
        Simulation parameters and true effects (for tests and documentation).
    """

    manifest: dict[str, Any]
    tables: dict[str, pd.DataFrame]
    truth: dict[str, Any] = field(default_factory=dict)

    def copy(self) -> SimulatedBundle:
        """Return a deep copy (tables copied, manifest deep-copied)."""
        return SimulatedBundle(
            manifest=copy.deepcopy(self.manifest),
            tables={k: v.copy() for k, v in self.tables.items()},
            truth=copy.deepcopy(self.truth),
        )


def _is_inside(relpath: str) -> bool:
    path = PurePosixPath(relpath.replace("\\", "/"))
    return (
        not path.is_absolute()
        and ".." not in path.parts
        and len(path.parts) > 0
        and ":" not in relpath
    )


def _csv_frame(frame: pd.DataFrame) -> pd.DataFrame:
    """Return a copy with flags as lower-case true/false text."""
    out = frame.copy()
    for i, (_, series) in enumerate(frame.items()):
        if series.dtype == np.bool_ and len(series):  # as ``map`` below, without its lookups
            out.isetitem(i, text_column(("false", "true"), series.to_numpy().astype(np.intp)))
        elif pd.api.types.is_bool_dtype(series.dtype):  # nullable: missing stays missing
            out.isetitem(i, series.map({True: "true", False: "false"}).array)
    return out


def _write_table(frame: pd.DataFrame, path: Path, fmt: str) -> None:
    frame = frame.reset_index(drop=True)
    path.parent.mkdir(parents=True, exist_ok=True)
    if fmt == "csv":  # text cells neutralised against spreadsheet formulas, as every writer
        csv = safe_frame(_csv_frame(frame))
        csv.to_csv(path, index=False, lineterminator="\n", encoding="utf-8")
    elif fmt == "parquet":
        frame.to_parquet(path, index=False, engine="pyarrow")
    else:
        safe_frame(frame).to_excel(path, index=False, sheet_name=path.stem, engine="openpyxl")


def _prepare_target(folder: Path) -> None:
    if folder.exists() and not folder.is_dir():
        raise EfficacyError(f"folder={str(folder)!r} exists and is not a folder; pass a new path")
    if folder.is_dir() and any(folder.iterdir()) and not (folder / "trial.toml").exists():
        raise EfficacyError(
            f"folder={str(folder)!r} is not empty and holds no trial.toml; refusing to "
            "replace it: pass an empty or new folder, or an existing bundle"
        )


def _replace_folder(tmp: Path, folder: Path) -> None:
    """Swap `tmp` into place as `folder` with renames (the old bundle is removed last)."""
    backup: Path | None = None
    if folder.exists():
        backup = Path(tempfile.mkdtemp(prefix=f".{folder.name}.old-", dir=folder.parent))
        backup.rmdir()
        os.replace(folder, backup)
    try:
        os.replace(tmp, folder)
    except OSError:
        if backup is not None:
            os.replace(backup, folder)
        raise
    if backup is not None:
        shutil.rmtree(backup)


def write_bundle(
    bundle: SimulatedBundle,
    folder: str | os.PathLike[str],
    format: BundleFormat = "csv",
    *,
    extra_files: Mapping[str, str] | None = None,
) -> Path:
    """Write `bundle` as a bundle folder: ``trial.toml`` plus one file per table.

    The bundle is assembled in a temporary sibling folder and renamed into place, so a
    reader never sees a half-written bundle; an existing bundle at `folder` is replaced.

    Parameters
    ----------
    bundle : SimulatedBundle
        What :func:`~efficacy.sim.simulate_parallel` / ``simulate_split_face`` return.
    folder : path
        Target folder; created, or replaced if it already holds a ``trial.toml``.
    format : {"csv", "parquet", "xlsx"}
        Table file format. Files are named ``<table>.<ext>``.
    extra_files : mapping of str to str, optional
        Additional text files (relative name -> content), e.g. a ``README.md``.

    Returns
    -------
    pathlib.Path
        The bundle folder.

    Notes
    -----
    A bundle with FACE-Q responses also gets :data:`SYNTHETIC_FACEQ_FILE`, an
    obviously fake linear conversion table (see :func:`synthetic_faceq_conversion`),
    named as ``[tables] faceq_conversion``; real tables are licensed and never shipped.
    A path given in ``bundle.manifest["tables"]`` is written into ``trial.toml``
    verbatim; the table's data goes to that path when it is a relative path inside the
    folder, otherwise to ``<table>.<ext>`` (a path leaving the folder is never written
    to: that is how the ``flawed_manifest`` sample is made).

    Raises
    ------
    efficacy.errors.EfficacyError
        Unknown `format`, or `folder` is a non-empty folder that is not a bundle.
    """
    if format not in _EXTENSIONS:
        raise EfficacyError(f"format={format!r} is not supported; use 'csv', 'parquet' or 'xlsx'")
    folder = Path(folder)
    _prepare_target(folder)
    folder.parent.mkdir(parents=True, exist_ok=True)
    ext = _EXTENSIONS[format]
    overrides: Mapping[str, str] = bundle.manifest.get("tables", {})
    manifest = {k: v for k, v in bundle.manifest.items() if k not in ("tables", "consort")}
    table_paths: dict[str, str] = {}
    file_paths: dict[str, str] = {}
    for name in TABLE_NAMES:
        if name not in bundle.tables:
            continue
        declared = overrides.get(name, f"{name}{ext}")
        table_paths[name] = declared
        file_paths[name] = declared if _is_inside(declared) else f"{name}{ext}"
    files = dict(extra_files or {})
    conversion = synthetic_faceq_conversion(bundle.tables.get("pro_responses"))
    if conversion is not None and "faceq_conversion" not in overrides:
        table_paths["faceq_conversion"] = SYNTHETIC_FACEQ_FILE
        files[SYNTHETIC_FACEQ_FILE] = conversion
    manifest["tables"] = table_paths
    if "consort" in bundle.manifest:
        manifest["consort"] = bundle.manifest["consort"]
    tmp = Path(tempfile.mkdtemp(prefix=f".{folder.name}.tmp-", dir=folder.parent))
    try:
        (tmp / "trial.toml").write_text(dumps(manifest), encoding="utf-8", newline="\n")
        for name, relpath in file_paths.items():
            _write_table(bundle.tables[name], tmp / relpath, format)
        for relpath, text in files.items():
            if not _is_inside(relpath):
                raise EfficacyError(f"extra_files key {relpath!r} leaves the bundle folder")
            (tmp / relpath).write_text(text, encoding="utf-8", newline="\n")
        os.chmod(tmp, 0o755)
        _replace_folder(tmp, folder)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return folder
