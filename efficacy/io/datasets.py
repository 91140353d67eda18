"""One entry point for an ADaM dataset in any format: read it typed, with its metadata.

:func:`read_dataset` reads SAS XPORT v5 (``.xpt``), Dataset-JSON v1.1 (``.json``,
``.ndjson``, ``.dsjc``), CSV and Parquet into the same three things: a typed DataFrame,
a :class:`~efficacy.io.datasetjson.DatasetMetadata` and a tuple of
:class:`~efficacy.io.datasetjson.DatasetProblem` (conformance problems; only
Dataset-JSON files have any). :func:`dataset_bytes` writes a frame and its metadata as
XPT v5 or Dataset-JSON, after :func:`xpt_problems` has found nothing that XPT v5 cannot
hold.
"""

from __future__ import annotations

import datetime as _dt
import os
import re
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from efficacy.errors import EfficacyError, InputError
from efficacy.io._dsj_meta import Column, DatasetMetadata, DatasetProblem
from efficacy.io._dsj_values import STRING
from efficacy.io._files import read_text
from efficacy.io.datasetjson import FORMS, datasetjson_bytes, read_datasetjson

__all__ = [
    "DATASET_FORMATS",
    "as_text_frame",
    "dataset_bytes",
    "metadata_for",
    "read_dataset",
    "xpt_problems",
]

#: File extension -> format name, for every format :func:`read_dataset` reads.
DATASET_FORMATS: dict[str, str] = {
    ".xpt": "xpt",
    **FORMS,
    ".csv": "csv",
    ".parquet": "parquet",
}
_DATE_FORMATS = ("DATE", "YYMMDD", "E8601DA", "MMDDYY", "DDMMYY", "B8601DA", "IS8601DA")
_DATETIME_FORMATS = ("DATETIME", "E8601DT", "B8601DT", "IS8601DT")
_TIME_FORMATS = ("TIME", "E8601TM", "B8601TM", "IS8601TM", "TOD", "HHMM")
_XPT_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,7}$")
_CREATED = "1970-01-01T00:00:00"


def _format_kind(fmt: str | None) -> str | None:
    if not fmt:
        return None
    stem = re.sub(r"[\d.]+$", "", fmt.upper())
    for kind, names in (
        ("datetime", _DATETIME_FORMATS),
        ("date", _DATE_FORMATS),
        ("time", _TIME_FORMATS),
    ):
        if stem in names:
            return kind
    return None


def _numeric(values: pd.Series) -> tuple[Any, str]:
    """Return a float column as Int64 when every value is whole ("integer"), else float."""
    floats = values.to_numpy(dtype=float, na_value=np.nan)
    finite = floats[~np.isnan(floats)]
    if finite.size and np.all(np.mod(finite, 1.0) == 0) and np.all(np.abs(finite) < 2**53):
        return pd.arrays.IntegerArray(np.nan_to_num(floats).astype(np.int64), np.isnan(floats)), (
            "integer"
        )
    return floats, "float" if finite.size or not len(floats) else "integer"


def _times(values: pd.Series, kind: str) -> Any:
    if kind == "time":
        secs = [
            np.nan if v is None or pd.isna(v) else v.hour * 3600 + v.minute * 60 + v.second
            for v in values.astype(object)
        ]
        return pd.to_timedelta(np.asarray(secs, dtype=float), unit="s").astype("timedelta64[s]")
    return pd.to_datetime(values.astype(object).to_numpy()).astype("datetime64[s]")


def _read_xpt(path: Path) -> tuple[pd.DataFrame, DatasetMetadata]:
    import pyreadstat

    try:
        frame, meta = pyreadstat.read_xport(str(path))
    except (pyreadstat.ReadstatError, pyreadstat.PyreadstatError, OSError, ValueError) as exc:
        raise InputError(
            f"{path}: not a readable SAS XPORT file ({exc}); export it as XPORT version 5"
        ) from None
    name = (meta.table_name or path.stem).upper()
    labels = dict(zip(meta.column_names, meta.column_labels or [], strict=False))
    formats = meta.original_variable_types or {}
    widths = meta.variable_storage_width or {}
    data: dict[str, Any] = {}
    columns = []
    for var in frame.columns:
        series = frame[var]
        fmt = formats.get(var) or None
        kind = _format_kind(fmt)
        target = None
        if meta.readstat_variable_types.get(var) == "string":
            data[var], dtype = pd.array(series.astype(object).to_numpy(), dtype=STRING), "string"
        elif kind is not None:
            data[var], dtype, target = _times(series, kind), kind, "integer"
        else:
            data[var], dtype = _numeric(series)
        columns.append(
            Column(
                item_oid=f"IT.{name}.{var}",
                name=var,
                label=labels.get(var) or "",
                data_type=dtype,
                target_data_type=target,
                length=widths.get(var) if dtype == "string" else None,
                display_format=fmt if target else None,
            )
        )
    out = pd.DataFrame(data, index=pd.RangeIndex(1, len(frame) + 1, name="row"))
    return out, DatasetMetadata(
        name=name,
        label=meta.file_label or "",
        columns=tuple(columns),
        item_group_oid=f"IG.{name}",
        records=len(out),
        created=_CREATED,
    )


def _all_numbers(col: pa.ChunkedArray) -> pd.Series | None:
    """Return text column `col` as floats when every non-blank cell is a number, else None.

    None also for a column of blanks only, and for one with a leading zero ("007" is an
    identifier, not 7).
    """
    stripped = pc.utf8_trim_whitespace(col)
    present = pc.not_equal(stripped, "")
    leading_zero = pc.any(pc.match_substring_regex(stripped, r"^[+-]?0\d")).as_py()
    if not pc.any(present).as_py() or leading_zero:
        return None
    numbers = pc.if_else(present, stripped, pa.scalar(None, pa.string()))
    try:
        floats = numbers.cast(pa.float64())
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):  # a cell that is not a number
        return None
    return pd.Series(floats.to_numpy(zero_copy_only=False))


def _read_table(path: Path) -> tuple[pd.DataFrame, DatasetMetadata]:
    """CSV / Parquet: text columns (the bundle reader), then numbers where all parse."""
    text, _fmt = read_text(path)
    name = path.stem.upper()
    data: dict[str, Any] = {}
    columns = []
    for var, col in zip(text.names, text.columns, strict=True):
        floats = _all_numbers(col)
        values: Any
        if floats is None:  # a column that is not all numbers stays text
            values, dtype = pd.array(col, dtype=STRING), "string"
        else:
            values, dtype = _numeric(floats)
        data[var] = values
        columns.append(Column(item_oid=f"IT.{name}.{var}", name=var, label="", data_type=dtype))
    rows = text.rows if text.rows is not None else np.arange(1, text.n_rows + 1)
    out = pd.DataFrame(data, index=pd.Index(rows, name="row"))
    return out, DatasetMetadata(
        name=name,
        label="",
        columns=tuple(columns),
        item_group_oid=f"IG.{name}",
        records=len(out),
        created=_CREATED,
    )


def read_dataset(
    path: str | os.PathLike[str],
) -> tuple[pd.DataFrame, DatasetMetadata, tuple[DatasetProblem, ...]]:
    """Read one dataset, whatever its format, as a typed frame with its metadata.

    Parameters
    ----------
    path : str or path-like
        ``.xpt`` (SAS XPORT v5, pyreadstat), ``.json`` / ``.ndjson`` / ``.dsjc``
        (Dataset-JSON v1.1), ``.csv`` (UTF-8) or ``.parquet``. Only read.

    Returns
    -------
    frame : pandas.DataFrame
        Variables as in the file; index ``row`` = 1-based record number. Types: text
        ``string[pyarrow]`` (XPT blanks stay ``""``: XPT has no missing text), whole
        numbers ``Int64``, other numbers ``float64``, dates and datetimes
        ``datetime64[s]``, times ``timedelta64[s]`` (XPT: by SAS format, e.g. DATE9.;
        Dataset-JSON: dataType with targetDataType integer). CSV/Parquet columns are
        numbers when every non-blank value is one and none has a leading zero ("007" is an
        identifier), else text.
    metadata : DatasetMetadata
        Dataset name and label, and per column itemOID, name, label, dataType,
        targetDataType, length, displayFormat, keySequence. XPT: member name, labels,
        character lengths and formats from the file. CSV/Parquet: the file stem
        (upper case) and the inferred data types, labels empty.
    problems : tuple of DatasetProblem
        Dataset-JSON conformance problems (see
        :func:`~efficacy.io.datasetjson.read_datasetjson`); empty for other formats.

    Raises
    ------
    InputError
        Unsupported extension, missing or unreadable file: one line naming the file
        and the fix.

    Examples
    --------
    The same CDISC pilot ADSL as SAS XPORT and as Dataset-JSON:

    >>> from efficacy._examples import repo_path
    >>> from efficacy.io.datasets import read_dataset
    >>> folder = repo_path("tests", "reference", "datasetjson")
    >>> xpt, xmeta, _ = read_dataset(folder / "adsl.xpt")
    >>> dsj, jmeta, _ = read_dataset(folder / "adsl.dsjc")
    >>> xmeta.name, xmeta.column("TRT01P").length, xmeta.column("TRTSDT").data_type
    ('ADSL', 20, 'date')
    >>> bool((xpt["AGE"] == dsj["AGE"]).all()), str(xpt["AGE"].dtype)
    (True, 'Int64')
    """
    path = Path(path)
    fmt = DATASET_FORMATS.get(path.suffix.lower())
    if fmt is None:
        raise InputError(
            f"{path}: unsupported dataset type {path.suffix!r}; give a .xpt, .json, .ndjson, "
            ".dsjc, .csv or .parquet file"
        )
    if not path.is_file():
        raise InputError(f"{path}: no such file; give the path of a dataset file")
    if fmt in FORMS.values():
        return read_datasetjson(path)
    frame, meta = _read_xpt(path) if fmt == "xpt" else _read_table(path)
    return frame, meta, ()


def as_text_frame(frame: pd.DataFrame, metadata: DatasetMetadata) -> pd.DataFrame:
    """Return the frame of :func:`read_dataset` as the cleaned text the ADaM mapping reads.

    Variable names upper-cased; every column ``string[pyarrow]``, stripped, blank = NA;
    numbers as Arrow prints them (``63``, ``25.1``, shortest round-trip digits), dates
    ``YYYY-MM-DD``, datetimes ``YYYY-MM-DDThh:mm:ss``, times ``hh:mm:ss``; the index kept.

    Examples
    --------
    >>> import pandas as pd
    >>> frame = pd.DataFrame({"usubjid": [" S1 ", ""], "aval": [63.0, 2.5],
    ...                       "adt": pd.to_datetime(["2014-01-02", None]).astype("M8[s]")})
    >>> text = as_text_frame(frame, metadata_for(frame, "ADX", ""))
    >>> text.to_dict("list")
    {'USUBJID': ['S1', None], 'AVAL': ['63', '2.5'], 'ADT': ['2014-01-02', None]}
    """
    from efficacy.io._convert import clean_text
    from efficacy.io._dsj_values import to_json_values

    columns: dict[str, Any] = {}
    for c in metadata.columns:
        series = frame[c.name]
        if pd.api.types.is_datetime64_any_dtype(series) or pd.api.types.is_timedelta64_dtype(
            series
        ):
            values = pa.array(to_json_values(series, c), type=pa.string())
        elif pd.api.types.is_float_dtype(series):
            values = pa.array(series.to_numpy(dtype=float, na_value=np.nan), from_pandas=True)
        else:
            values = pa.array(series.astype(object).where(series.notna(), None).tolist())
        text = clean_text(values if values.type == pa.string() else values.cast(pa.string()))
        columns[c.name.upper()] = pd.array(text, dtype=STRING)
    return pd.DataFrame(columns, index=frame.index)


def metadata_for(
    frame: pd.DataFrame,
    name: str,
    label: str,
    labels: dict[str, str] | None = None,
    keys: Sequence[str] = (),
    created: str = _CREATED,
) -> DatasetMetadata:
    """Dataset-JSON metadata describing `frame` (data types from its dtypes).

    Text columns get ``length`` = their longest value in characters (at least 1), dates
    and datetimes targetDataType integer with ``DATE9.`` / ``DATETIME20.``, and `keys`
    their keySequence in order.
    """
    labels = labels or {}
    columns = []
    for var in frame.columns:
        series = frame[var]
        target = fmt = length = None
        if pd.api.types.is_datetime64_any_dtype(series):
            times = series.dropna()
            whole = bool((times == times.dt.normalize()).all())
            dtype, target, fmt = (
                ("date", "integer", "DATE9.") if whole else ("datetime", "integer", "DATETIME20.")
            )
        elif pd.api.types.is_bool_dtype(series):
            dtype = "boolean"
        elif pd.api.types.is_integer_dtype(series):
            dtype = "integer"
        elif pd.api.types.is_float_dtype(series):
            dtype = "float"
        else:
            dtype = "string"
            longest = series.astype(STRING).str.len().max()
            length = max(1, int(longest)) if pd.notna(longest) else 1
        columns.append(
            Column(
                item_oid=f"IT.{name}.{var}",
                name=str(var),
                label=labels.get(str(var), ""),
                data_type=dtype,
                target_data_type=target,
                length=length,
                display_format=fmt,
                key_sequence=list(keys).index(var) + 1 if var in keys else None,
            )
        )
    return DatasetMetadata(
        name=name,
        label=label,
        columns=tuple(columns),
        item_group_oid=f"IG.{name}",
        records=len(frame),
        created=created,
    )


def xpt_problems(frame: pd.DataFrame, metadata: DatasetMetadata) -> list[str]:
    """List what SAS XPORT v5 cannot hold, one line each naming dataset, variable and fix.

    Limits: dataset and variable names of 1-8 letters, digits or underscores (not
    starting with a digit); dataset and variable labels of at most 40 characters; ASCII
    names, labels and text values; text values of at most 200 bytes. pyreadstat
    truncates or mis-writes such data without a word, so a writer checks first.
    """
    ds = metadata.name
    out = []
    if not _XPT_NAME.match(ds):
        out.append(f"dataset name {ds!r} is not 1-8 letters, digits or _; rename the dataset")
    if len(metadata.label) > 40 or not metadata.label.isascii():
        out.append(
            f"{ds}: dataset label {metadata.label!r} is longer than 40 characters or not "
            "ASCII; shorten it to 40 ASCII characters"
        )
    for c in metadata.columns:
        where = f"{ds}.{c.name}"
        if not _XPT_NAME.match(c.name):
            out.append(
                f"{where}: variable name is not 1-8 letters, digits or _ (XPT v5); rename it"
            )
        if len(c.label) > 40 or not c.label.isascii():
            out.append(
                f"{where}: label {c.label!r} is longer than 40 characters or not ASCII; "
                "shorten it to 40 ASCII characters"
            )
        series = frame[c.name]
        if not (pd.api.types.is_string_dtype(series) or series.dtype == object):
            continue
        text = pa.array(series.astype(STRING).array)
        if not pc.all(pc.fill_null(pc.string_is_ascii(text), True)).as_py():
            first = next(v for v in series.dropna() if not str(v).isascii())
            out.append(
                f"{where}: value {first!r} is not ASCII (XPT v5 holds ASCII text); transliterate it"
            )
        longest = pc.max(pc.binary_length(text)).as_py()
        if longest is not None and longest > 200:
            out.append(
                f"{where}: a value is {longest} bytes (XPT v5 holds at most 200); shorten "
                "the values or split the variable"
            )
    return out


def _xpt_bytes(frame: pd.DataFrame, metadata: DatasetMetadata) -> bytes:
    import pyreadstat

    problems = xpt_problems(frame, metadata)
    if problems:
        more = f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""
        raise EfficacyError(f"cannot write XPT v5: {problems[0]}{more}")
    data: dict[str, Any] = {}
    formats: dict[str, str] = {}
    for c in metadata.columns:
        series = frame[c.name]
        if pd.api.types.is_datetime64_any_dtype(series):
            if c.data_type == "date":
                data[c.name] = [None if pd.isna(v) else v.date() for v in series]
            else:
                data[c.name] = series.astype("datetime64[us]")
            formats[c.name] = c.display_format or (
                "DATE9." if c.data_type == "date" else "DATETIME20."
            )
        elif pd.api.types.is_numeric_dtype(series) and not pd.api.types.is_bool_dtype(series):
            data[c.name] = series.to_numpy(dtype=float, na_value=np.nan)
        else:
            data[c.name] = series.astype(object).where(series.notna(), "").astype(str).tolist()
    out = pd.DataFrame(data, columns=list(metadata.names))
    with tempfile.TemporaryDirectory(prefix="efficacy-xpt-") as tmp:
        target = Path(tmp) / f"{metadata.name.lower()}.xpt"
        pyreadstat.write_xport(
            out,
            str(target),
            file_label=metadata.label,
            column_labels=[c.label for c in metadata.columns],
            table_name=metadata.name,
            file_format_version=5,
            variable_format=formats,
        )
        return target.read_bytes()


def dataset_bytes(frame: pd.DataFrame, metadata: DatasetMetadata, fmt: str) -> bytes:
    """Return `frame` with `metadata` as a file of format `fmt` (xpt or Dataset-JSON).

    `fmt` is ``xpt``, ``json``, ``ndjson`` or ``dsjc``.

    Raises
    ------
    EfficacyError
        XPT: the first of :func:`xpt_problems` (with the count of the others); any
        format: frame columns that differ from the metadata's.
    """
    if fmt == "xpt":
        return _xpt_bytes(frame, metadata)
    if fmt in FORMS.values():
        return datasetjson_bytes(frame, metadata, fmt)
    raise EfficacyError(f"format {fmt!r}: use xpt, json, ndjson or dsjc")


def utc_now() -> str:
    """Return the current time as ``datasetJSONCreationDateTime`` (``SOURCE_DATE_EPOCH`` wins)."""
    epoch = os.environ.get("SOURCE_DATE_EPOCH")
    when = (
        _dt.datetime.fromtimestamp(int(epoch), _dt.UTC)
        if epoch and epoch.isdigit()
        else _dt.datetime.now(_dt.UTC)
    )
    return when.strftime("%Y-%m-%dT%H:%M:%S")
