"""Read one ADaM dataset file as cleaned text, and find the datasets of an ADaM folder.

:func:`read_adam_file` is the one place an ADaM dataset file is opened, whatever its
form: SAS XPORT v5 (``.xpt``, pyreadstat), CSV, Parquet or Excel (the bundle readers of
:mod:`efficacy.io._files`), and CDISC Dataset-JSON v1.1 (``.json``, ``.ndjson``,
``.dsjc``). :func:`find_adam_datasets` picks ADSL, ADAE, ADDV and the other ``ad*``
datasets of a folder.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, replace
from pathlib import Path

import pandas as pd
import pyarrow as pa

from efficacy.errors import InputError
from efficacy.io._convert import STRING_DTYPE, clean_text
from efficacy.io._dsj_meta import DatasetProblem
from efficacy.io._files import as_text, read_text
from efficacy.io._kept import KeptReads
from efficacy.io.datasets import as_text_frame, read_dataset

__all__ = [
    "ADAM_SUFFIXES",
    "AdamFile",
    "AdamFolder",
    "find_adam_datasets",
    "read_adam_file",
]

#: File forms of an ADaM dataset, in order of preference when a folder holds one
#: dataset in several forms (the CDISC Dataset-JSON examples ship adsl.xpt, adsl.json,
#: adsl.ndjson and adsl.dsjc side by side).
ADAM_SUFFIXES: tuple[str, ...] = (".xpt", ".json", ".ndjson", ".dsjc", ".parquet", ".csv", ".xlsx")
_JSON_FORMS = {".json": "datasetjson", ".ndjson": "ndjson", ".dsjc": "dsjc"}
_NAME = re.compile(r"^ad[a-z0-9]*$")


@dataclass(frozen=True)
class AdamFile:
    """One ADaM dataset read as text.

    Attributes
    ----------
    path : pathlib.Path
    frame : pandas.DataFrame
        Upper-case variable names, string dtype (stripped; blank = NA), index ``row`` =
        1-based record number.
    fmt : str
        ``xport``, ``datasetjson``, ``ndjson``, ``dsjc``, ``csv``, ``parquet`` or ``xlsx``.
    name : str
        Dataset name (XPT member or Dataset-JSON ``name``, else the file's ``ad*`` word),
        upper case.
    problems : tuple of DatasetProblem
        Dataset-JSON conformance problems (schema, declared types) of the file; empty
        for other formats. Validation reports them (rules DSJ-001 to DSJ-006).
    """

    path: Path
    frame: pd.DataFrame
    fmt: str
    name: str
    problems: tuple[DatasetProblem, ...] = ()

    @property
    def label(self) -> str:
        """The file name, as messages cite it (``adadas.xpt``)."""
        return self.path.name


def _text_frame(columns: Mapping[str, pa.ChunkedArray]) -> pd.DataFrame:
    data = {name: pd.array(col, dtype=STRING_DTYPE) for name, col in columns.items()}
    n = len(next(iter(columns.values()))) if columns else 0
    return pd.DataFrame(data, index=pd.RangeIndex(1, n + 1, name="row"))


def _stem_name(path: Path) -> str:
    words = [w for w in re.split(r"[_\-. ]+", path.stem.lower()) if _NAME.match(w)]
    return (words[0] if words else path.stem).upper()


#: XPT files read: their cleaned text columns (immutable Arrow arrays, shared) and the
#: member name, by the SHA-256 of the file's bytes.
_XPT_KEPT: KeptReads[tuple[tuple[tuple[str, pa.ChunkedArray], ...], str]] = KeptReads(8)


def _xport(path: Path) -> tuple[dict[str, pa.ChunkedArray], str]:
    columns, member = _XPT_KEPT.read(path, ".xpt", lambda: _read_xport(path))
    return dict(columns), (member or _stem_name(path)).upper()


def _read_xport(path: Path) -> tuple[tuple[tuple[str, pa.ChunkedArray], ...], str]:
    """Return the cleaned text columns (upper-case names) and the member name ('' if none).

    pyreadstat's ``dict`` output (one list of Python values per variable) is what its
    DataFrame is built from; Arrow infers the same types from it (double, date32,
    timestamp, string; null for a variable with no value) and casts them to the same
    text.
    """
    import pyreadstat  # here, not at import: a CSV or Parquet bundle never needs it

    try:
        data, meta = pyreadstat.read_xport(str(path), output_format="dict")
    except (pyreadstat.ReadstatError, pyreadstat.PyreadstatError, OSError, ValueError) as exc:
        raise InputError(
            f"{path}: not a readable SAS XPORT file ({exc}); export it as XPORT version 5"
        ) from None
    columns = tuple(
        (name.strip().upper(), clean_text(as_text(path, name, pa.chunked_array([pa.array(v)]))))
        for name, v in data.items()
    )
    return columns, meta.table_name or ""


#: Dataset-JSON files read, by the SHA-256 of the bytes and the path as given (the
#: problems name the file); each caller gets a copy-on-write copy of the frame.
_JSON_KEPT: KeptReads[AdamFile] = KeptReads(8)


def _json_form(path: Path, fmt: str) -> AdamFile:
    """Read a Dataset-JSON file with the full v1.1 reader and its conformance checks."""
    frame, meta, problems = read_dataset(path)
    upper = [c.name.upper() for c in meta.columns]
    if len(set(upper)) != len(upper):
        raise InputError(f"{path}: variable names repeat when upper-cased; rename them")
    name = (meta.name or _stem_name(path)).upper()
    return AdamFile(path, as_text_frame(frame, meta), fmt, name, problems)


def read_adam_file(path: str | Path) -> AdamFile:
    """Read one ADaM dataset file, whatever its form (see :data:`ADAM_SUFFIXES`).

    Raises
    ------
    InputError
        No such file, an unsupported extension, a file that cannot be parsed, or
        variable names that repeat when upper-cased.
    """
    path = Path(path)
    suffix = path.suffix.lower()
    if not path.is_file():
        raise InputError(
            f"{path}: no such file; give the path of an ADaM dataset ({', '.join(ADAM_SUFFIXES)})"
        )
    if suffix == ".xpt":
        columns, name = _xport(path)
        return AdamFile(path, _text_frame(columns), "xport", name)
    if suffix in _JSON_FORMS:
        kept = _JSON_KEPT.read(path, str(path), lambda: _json_form(path, _JSON_FORMS[suffix]))
        return replace(kept, frame=kept.frame.copy(deep=False))  # copy-on-write: the caller's
    if suffix not in ADAM_SUFFIXES:
        raise InputError(
            f"{path}: unsupported file type {path.suffix!r}; give an ADaM dataset as "
            f"{', '.join(ADAM_SUFFIXES)}"
        )
    text, fmt = read_text(path)
    upper = [n.upper() for n in text.names]
    if len(set(upper)) != len(upper):
        raise InputError(f"{path}: variable names repeat when upper-cased; rename them")
    columns = {u: clean_text(c) for u, c in zip(upper, text.columns, strict=True)}
    return AdamFile(path, _text_frame(columns), fmt, _stem_name(path))


@dataclass(frozen=True)
class AdamFolder:
    """The ADaM datasets of a folder.

    Attributes
    ----------
    adsl : pathlib.Path
    others : tuple of pathlib.Path
        Every other ``ad*`` dataset (BDS candidates), in name order.
    adae, addv : pathlib.Path or None
    ignored : tuple of (pathlib.Path, str)
        Dataset files not read, with the reason (the same dataset in a less preferred
        form).
    """

    adsl: Path
    others: tuple[Path, ...]
    adae: Path | None
    addv: Path | None
    ignored: tuple[tuple[Path, str], ...]


def find_adam_datasets(folder: Path) -> AdamFolder | None:
    """Return the ADaM datasets of `folder`, or None when it holds no ADSL.

    A file is a dataset when its extension is one of :data:`ADAM_SUFFIXES` and a word of
    its name (split at ``_ - .`` and blanks) starts with ``ad``: ``adsl.xpt``,
    ``cdiscpilot01_adsl.xpt`` and ``pharmaverseadam_adbcva_derived.xpt`` name ADSL and
    ADBCVA. One dataset in several forms is read from the first form of
    :data:`ADAM_SUFFIXES`; the others are listed in ``ignored``.

    Raises
    ------
    InputError
        Two different files name ADSL (or ADAE, ADDV) in the same form.
    """
    by_name: dict[str, list[Path]] = {}
    for path in sorted(folder.iterdir()):
        if path.suffix.lower() not in ADAM_SUFFIXES or not path.is_file():
            continue
        words = [w for w in re.split(r"[_\-. ]+", path.stem.lower()) if _NAME.match(w)]
        if words:
            by_name.setdefault(words[0], []).append(path)
    if "adsl" not in by_name:
        return None
    chosen: dict[str, Path] = {}
    ignored: list[tuple[Path, str]] = []
    for name, paths in by_name.items():
        ranked = sorted(paths, key=lambda p: ADAM_SUFFIXES.index(p.suffix.lower()))
        if len(ranked) > 1 and ranked[0].suffix.lower() == ranked[1].suffix.lower():
            raise InputError(
                f"{folder}: {ranked[0].name} and {ranked[1].name} are both {name.upper()}; "
                "keep one per folder"
            )
        chosen[name] = ranked[0]
        ignored += [(p, f"{ranked[0].name} holds the same dataset") for p in ranked[1:]]
    special = ("adsl", "adae", "addv")
    return AdamFolder(
        adsl=chosen["adsl"],
        others=tuple(p for n, p in sorted(chosen.items()) if n not in special),
        adae=chosen.get("adae"),
        addv=chosen.get("addv"),
        ignored=tuple(ignored),
    )
