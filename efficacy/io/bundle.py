"""Read a trial bundle (``trial.toml`` plus CSV / Parquet / Excel tables) into a Trial."""

from __future__ import annotations

import errno
import os
from pathlib import Path

import pandas as pd

from efficacy.errors import InputError
from efficacy.io._convert import build_table, concat_issues, empty_table
from efficacy.io._files import read_text
from efficacy.io._manifest import parse_manifest, refuse_duplicate_ids
from efficacy.io._toml import load_toml
from efficacy.trial import REFERENCE_FILES, TABLE_SCHEMAS, TableSource, Trial

__all__ = ["read_trial", "resolve_table_path"]

MANIFEST_NAME = "trial.toml"


def os_reason(exc: Exception) -> str:
    """Return the operating system's reason for a failed path operation, in a few words."""
    if isinstance(exc, RuntimeError):  # Path.resolve() on a symbolic-link loop (3.11)
        return os.strerror(errno.ELOOP)
    if isinstance(exc, OSError) and exc.strerror:
        return exc.strerror
    return str(exc) or type(exc).__name__


def _printable(path: Path) -> str:
    text = str(path)
    return text if text.isprintable() else repr(text)


#: What a path operation on a hostile name can raise: OSError (ENAMETOOLONG, EACCES,
#: ELOOP, EIO, ...), ValueError (an embedded NUL byte), RuntimeError (a symbolic-link
#: loop met by Path.resolve on Python 3.11).
PATH_ERRORS = (OSError, ValueError, RuntimeError)


def _locate(path: str | os.PathLike[str]) -> tuple[Path, Path]:
    """Return (manifest file, bundle folder) for a bundle folder or its manifest."""
    given = Path(path)
    try:
        return _locate_checked(given)
    except PATH_ERRORS as exc:
        if isinstance(exc, InputError):
            raise
        raise InputError(f"{_printable(given)}: cannot be used ({os_reason(exc)})") from None


def _locate_checked(given: Path) -> tuple[Path, Path]:
    if given.is_dir():
        manifest = given / MANIFEST_NAME
        if not manifest.is_file():
            raise InputError(
                f"{given}: no {MANIFEST_NAME} in this folder; a bundle is a folder with "
                f"{MANIFEST_NAME} and its tables"
            )
        return manifest, given
    if given.is_file():
        return given, given.parent
    raise InputError(
        f"{given}: no such file or folder; give a bundle folder or its {MANIFEST_NAME}"
    )


def resolve_table_path(
    bundle: Path, table: str, spec: str, manifest: Path | None = None
) -> tuple[Path, Path, str | None]:
    """Resolve a ``[tables]`` entry safely.

    Parameters
    ----------
    bundle : pathlib.Path
        The bundle folder.
    table : str
        Table name (for messages).
    spec : str
        The entry as written: a relative path, optionally ``file.xlsx#Sheet``.
    manifest : pathlib.Path, optional
        The manifest file (for messages).

    Returns
    -------
    shown : pathlib.Path
        ``bundle / spec`` as written (used in messages and :class:`TableSource`).
    real : pathlib.Path
        The fully resolved file (symbolic links followed), inside the bundle.
    sheet : str or None
        The sheet named after ``#`` for .xlsx files; None means the first sheet.

    Raises
    ------
    InputError
        The path is absolute, leaves the bundle folder (with ``..`` or through a
        symbolic link), does not exist or is not a file.
    """
    file_part, sheet = spec, None
    head, sep, tail = spec.rpartition("#")
    if sep and head.lower().endswith(".xlsx"):
        file_part, sheet = head, (tail.strip() or None)
    where = f"{manifest or bundle}: [tables] {table} = {spec!r}"
    rel = Path(file_part)
    if rel.is_absolute():
        raise InputError(f"{where} is an absolute path; give a path relative to the bundle folder")
    shown = bundle / rel
    try:
        return _check_table_path(bundle, rel, shown, sheet, where)
    except PATH_ERRORS as exc:
        if isinstance(exc, InputError):
            raise
        raise InputError(
            f"{where}: {_printable(shown)}: cannot be used ({os_reason(exc)}); "
            "fix the path or the file"
        ) from None


def _check_table_path(
    bundle: Path, rel: Path, shown: Path, sheet: str | None, where: str
) -> tuple[Path, Path, str | None]:
    real = shown.resolve()
    if not real.is_relative_to(bundle.resolve()):
        how = "through a symbolic link" if ".." not in rel.parts else "with '..'"
        raise InputError(
            f"{where} leaves the bundle folder ({how}); copy the file into {bundle} "
            "and give its relative path"
        )
    if not real.exists():
        raise InputError(f"{where}: file {shown} not found; fix the name or remove the entry")
    if not real.is_file():
        raise InputError(f"{where}: {shown} is not a file; name the table's file")
    return shown, real, sheet


def _read_one(
    bundle: Path, manifest_path: Path, table: str, spec: str | None
) -> tuple[pd.DataFrame, TableSource, pd.DataFrame]:
    if spec is None:
        return empty_table(table), TableSource(table, None, None, 0), concat_issues([])
    shown, real, sheet = resolve_table_path(bundle, table, spec, manifest_path)
    try:
        text, fmt = read_text(real, sheet)
    except OSError as exc:  # permission, I/O error, the file vanished: name key and path
        raise InputError(
            f"{manifest_path}: [tables] {table} = {spec!r}: {_printable(shown)}: cannot be "
            f"read ({os_reason(exc)}); fix the path or the file"
        ) from None
    return build_table(table, text, shown, fmt)


def read_trial(path: str | os.PathLike[str]) -> Trial:
    """Read a trial bundle into a :class:`~efficacy.trial.Trial`.

    Parameters
    ----------
    path : str or path-like
        The bundle folder, or its ``trial.toml``.

    Returns
    -------
    Trial
        Manifest, the canonical tables (see :data:`efficacy.trial.TABLE_SCHEMAS`;
        a table not named in ``[tables]`` is empty, with ``sources[name].path`` None),
        their sources, and ``issues``: manifest problems (``table = "manifest"``,
        ``column`` = key path such as ``visits[2].day``, numbered from 1), cells that
        could not be converted (table, column, 1-based data row, text, problem), and
        header near-misses (``column 'Subject ID' looks like 'subject_id': rename it``).

    Raises
    ------
    InputError
        Unusable input: no bundle or manifest, invalid TOML, a ``[tables]`` path that is
        absolute, leaves the bundle (incl. via a symbolic link) or does not exist, an
        unsupported extension, two ``[[arms]]`` or ``[[visits]]`` with the same id, a
        file that cannot be parsed (ragged or non-UTF-8 CSV,
        corrupt Parquet or .xlsx, missing sheet), duplicate header names. The message is
        one line naming the file (and line) and the fix.

    Notes
    -----
    Tables are read as text and converted per column kind (vectorised): empty and
    whitespace-only cells are missing; text is stripped; flags accept true/false, t/f,
    yes/no, y/n, 1/0 in any case; dates are ISO 8601 (YYYY-MM-DD, optionally with a
    time); Fitzpatrick types I-VI or 1-6. A cell that cannot be converted becomes
    missing and is listed in ``issues``. Headers are stripped and matched exactly; a
    near miss is not renamed (the column counts as missing, and an issue suggests the
    rename). Extra columns are kept as text. Excel tables: the first sheet, or
    ``file.xlsx#Sheet`` in ``[tables]``. Input files are only read, never written.

    Examples
    --------
    >>> import efficacy
    >>> from efficacy._examples import repo_path  # sample_data/ of a source checkout
    >>> trial = efficacy.read_trial(repo_path("sample_data", "parallel_12wk"))
    >>> trial.manifest.id, trial.manifest.design, [a.id for a in trial.manifest.arms]
    ('SIM-PARALLEL-12W', 'parallel', ['ACTIVE', 'VEHICLE'])
    >>> trial.subjects.shape, trial.measurements.shape, trial.issues.empty
    ((150, 15), (9860, 11), True)
    """
    manifest_path, bundle = _locate(path)
    manifest, manifest_issues = parse_manifest(load_toml(manifest_path), manifest_path)
    refuse_duplicate_ids(manifest, manifest_path)
    frames: dict[str, pd.DataFrame] = {}
    sources: dict[str, TableSource] = {}
    issues = [manifest_issues]
    for table in TABLE_SCHEMAS:
        frame, source, table_issues = _read_one(
            bundle, manifest_path, table, manifest.tables.get(table)
        )
        frames[table] = frame
        sources[table] = source
        issues.append(table_issues)
    for key in REFERENCE_FILES:  # path-checked now; read by the stage that needs it
        if manifest.tables.get(key):
            resolve_table_path(bundle, key, manifest.tables[key], manifest_path)
    return Trial(manifest=manifest, sources=sources, issues=concat_issues(issues), **frames)
