"""CDISC Dataset-JSON v1.1: read and write all three forms, and check conformance.

Forms (by file extension):

* ``.json``: one JSON object, the dataset attributes, ``columns`` and ``rows``;
* ``.ndjson``: the same object without ``rows`` on the first line, then one record (a JSON
  array) per line;
* ``.dsjc``: NDJSON compressed as one zLib stream (the CDISC examples of v1.1 are
  gzip-framed; both framings are read, zLib is written, as the specification says).

:func:`read_datasetjson` returns the data as a pandas DataFrame (typed columns, see
:mod:`efficacy.io._dsj_values`; index ``row`` = 1-based record number), the metadata as
a :class:`DatasetMetadata`, and every conformance problem as a :class:`DatasetProblem`
(rules :data:`DATASET_JSON_RULES`). A file that is not Dataset-JSON at all (not UTF-8,
not JSON, corrupt compression, not an object) raises :class:`~efficacy.errors.InputError`
instead, with one line naming the file, the line and the fix.
:func:`datasetjson_bytes` / :func:`write_datasetjson` write a frame back; a file read and
written again is the same JSON data (checked on every CDISC v1.1 example).
"""

from __future__ import annotations

import functools
import json
import os
import zlib
from collections.abc import Sequence
from importlib import resources
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from efficacy._atomic import write_file
from efficacy._gc import gc_paused
from efficacy.errors import EfficacyError, InputError
from efficacy.io._dsj_meta import (
    DATA_TYPES,
    DATASET_JSON_RULES,
    Column,
    DatasetMetadata,
    DatasetProblem,
    DatasetRule,
    SourceSystem,
    value_text,
)
from efficacy.io._dsj_values import from_json_values, to_json_values

__all__ = [
    "DATASET_JSON_RULES",
    "DATA_TYPES",
    "FORMS",
    "Column",
    "DatasetMetadata",
    "DatasetProblem",
    "DatasetRule",
    "SourceSystem",
    "datasetjson_bytes",
    "read_datasetjson",
    "write_datasetjson",
]

#: File extension -> Dataset-JSON form.
FORMS: dict[str, str] = {".json": "json", ".ndjson": "ndjson", ".dsjc": "dsjc"}
_SCHEMA = "dataset-json-1.1.schema.json"
_TARGETS = {"decimal": ("decimal",), "integer": ("date", "datetime", "time")}


def _form(path: Path, form: str | None) -> str:
    if form is not None:
        if form not in FORMS.values():
            raise EfficacyError(f"form={form!r}: use one of {sorted(set(FORMS.values()))}")
        return form
    found = FORMS.get(path.suffix.lower())
    if found is None:
        raise InputError(
            f"{path}: not a Dataset-JSON file name; use the extension .json, .ndjson or .dsjc"
        )
    return found


# --- reading -------------------------------------------------------------------------


def _decode(path: Path, data: bytes, form: str) -> str:
    if form == "dsjc":
        try:  # wbits 47 = 32 + 15: zLib or gzip framing, detected from the header
            data = zlib.decompressobj(47).decompress(data)
        except zlib.error as exc:
            raise InputError(
                f"{path}: not a zLib-compressed Dataset-NDJSON file ({exc}); re-create it "
                "(DSJC is NDJSON compressed with zLib) or give the .ndjson file"
            ) from None
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        raise InputError(
            f"{path} line {line}: not UTF-8 text (byte 0x{data[exc.start]:02x}); Dataset-JSON "
            "is UTF-8: re-export the dataset as UTF-8"
        ) from None
    return text[1:] if text.startswith("\ufeff") else text


def _json_error(path: Path, exc: json.JSONDecodeError, line_offset: int = 0) -> InputError:
    return InputError(
        f"{path} line {exc.lineno + line_offset} column {exc.colno}: not valid JSON "
        f"({exc.msg}); fix the file or re-export it"
    )


def _nested(path: Path) -> InputError:
    return InputError(
        f"{path}: JSON nested too deeply to be a dataset (records are arrays of plain "
        "values); check the file is Dataset-JSON"
    )


def _parse_json(path: Path, text: str) -> tuple[dict[str, Any], list[Any], str]:
    try:
        doc = json.loads(text)
    except json.JSONDecodeError as exc:
        raise _json_error(path, exc) from None
    except RecursionError:
        raise _nested(path) from None
    if not isinstance(doc, dict):
        raise InputError(
            f"{path}: the JSON is a {type(doc).__name__}, not a Dataset-JSON object; "
            "is this a Dataset-JSON file?"
        )
    rows = doc.get("rows", [])
    return doc, rows, "rows"


def _parse_ndjson(path: Path, text: str) -> tuple[dict[str, Any], list[Any], str]:
    """First line: metadata; then one record per line (blank lines ignored)."""
    first, _, body = text.partition("\n")
    try:
        head = json.loads(first)
    except json.JSONDecodeError as exc:
        raise _json_error(path, exc) from None
    except RecursionError:
        raise _nested(path) from None
    if not isinstance(head, dict):
        raise InputError(
            f"{path} line 1: a {type(head).__name__}, not the Dataset-JSON metadata object; "
            "is this a Dataset-NDJSON file?"
        )
    body = body.replace("\r\n", "\n").strip()
    if "\n\n" in body or "\n " in body:
        lines = [ln for ln in body.split("\n") if ln.strip()]
        body = "\n".join(lines)
    n_lines = body.count("\n") + 1 if body else 0
    try:  # one parse of all records: a record never holds a raw line break
        rows = json.loads("[" + body.replace("\n", ",") + "]")
    except json.JSONDecodeError:
        rows = None
    except RecursionError:
        raise _nested(path) from None
    if rows is None or len(rows) != n_lines:
        rows = _parse_lines(path, text)
    return head, rows, "rows"


def _parse_lines(path: Path, text: str) -> list[Any]:
    """Parse record lines one by one, naming the first line that is not one JSON value."""
    rows = []
    for number, line in enumerate(text.split("\n")[1:], start=2):
        if not line.strip():
            continue
        try:
            rows.append(json.loads(line))
        except RecursionError:
            raise _nested(path) from None
        except json.JSONDecodeError as exc:
            raise InputError(
                f"{path} line {number} column {exc.colno}: not one JSON record ({exc.msg}); "
                "each line after the first holds one record as a JSON array"
            ) from None
    return rows


@functools.cache
def _validator() -> Any:
    import jsonschema

    schema = json.loads(
        resources.files("efficacy.io").joinpath("_schemas", _SCHEMA).read_text("utf-8")
    )
    return jsonschema.Draft201909Validator(schema)


def _pointer(parts: Sequence[Any]) -> str:
    return "".join("/" + str(p).replace("~", "~0").replace("/", "~1") for p in parts)


def _problem(rule_id: str, file: str, pointer: str, message: str, **where: Any) -> DatasetProblem:
    return DatasetProblem(
        rule_id=rule_id,
        severity=where.pop("severity", DATASET_JSON_RULES[rule_id].severity),
        file=file,
        pointer=pointer,
        row=where.get("row"),
        column=where.get("column"),
        value=where.get("value"),
        message=message,
    )


def _schema_problems(file: str, meta: dict[str, Any], names: list[str]) -> list[DatasetProblem]:
    """DSJ-001 on the metadata (the rows are checked apart, column by column)."""
    out = []
    errors = sorted(_validator().iter_errors(meta), key=lambda e: list(map(str, e.path)))
    for err in errors:
        parts = list(err.absolute_path)
        column = None
        if len(parts) >= 2 and parts[0] == "columns" and isinstance(parts[1], int):
            column = names[parts[1]] if parts[1] < len(names) else None
        value = None if err.validator in ("required", "additionalProperties") else err.instance
        out.append(
            _problem(
                "DSJ-001",
                file,
                _pointer(parts),
                f"{err.message} (schema: {err.validator}); correct the attribute",
                column=column,
                value=None if value is None else value_text(value),
            )
        )
    return out


def _column_problems(file: str, meta: DatasetMetadata) -> list[DatasetProblem]:
    """DSJ-006: unique names and key sequence, supported targetDataType combinations."""
    out = []
    seen: dict[str, int] = {}
    keys: dict[int, str] = {}
    for i, c in enumerate(meta.columns):
        if c.name in seen:
            out.append(
                _problem(
                    "DSJ-006",
                    file,
                    f"/columns/{i}/name",
                    f"column name {c.name!r} is also column {seen[c.name] + 1}; rename one",
                    column=c.name,
                    value=value_text(c.name),
                )
            )
        seen.setdefault(c.name, i)
        allowed = _TARGETS.get(c.target_data_type or "")
        if allowed is not None and c.data_type not in allowed:
            out.append(
                _problem(
                    "DSJ-006",
                    file,
                    f"/columns/{i}/targetDataType",
                    f"targetDataType {c.target_data_type!r} is not supported for dataType "
                    f"{c.data_type!r} (only for {', '.join(allowed)}); correct the column",
                    column=c.name,
                    value=value_text(c.target_data_type),
                )
            )
        if c.key_sequence is not None:
            if c.key_sequence in keys:
                out.append(
                    _problem(
                        "DSJ-006",
                        file,
                        f"/columns/{i}/keySequence",
                        f"keySequence {c.key_sequence} is also that of {keys[c.key_sequence]}; "
                        "give each key variable its own position",
                        column=c.name,
                        value=str(c.key_sequence),
                    )
                )
            keys.setdefault(c.key_sequence, c.name)
    return out


def _records(
    file: str, rows: Any, names: Sequence[str], form: str
) -> tuple[list[list[Any]], list[DatasetProblem]]:
    """Rows as lists of len(names); DSJ-001 for a non-array record, DSJ-003 for lengths."""
    problems: list[DatasetProblem] = []
    if not isinstance(rows, list):
        problems.append(
            _problem(
                "DSJ-001",
                file,
                "/rows",
                "'rows' is not an array; give the records as an array of arrays",
                value=value_text(rows),
            )
        )
        return [], problems
    n = len(names)
    if all(type(r) is list for r in rows) and all(len(r) == n for r in rows):
        return rows, problems
    out = []
    index = {name: k for k, name in enumerate(names)}
    for i, r in enumerate(rows):
        where = f"/rows/{i}"
        if isinstance(r, dict) and form != "json":  # DSJC allows a record as an object
            unknown = [k for k in r if k not in index]
            if unknown:
                problems.append(
                    _problem(
                        "DSJ-003",
                        file,
                        where,
                        f"record names unknown columns {unknown}",
                        row=i + 1,
                        value=value_text(unknown),
                    )
                )
            r = [r.get(name) for name in names]
        elif not isinstance(r, list):
            problems.append(
                _problem(
                    "DSJ-001",
                    file,
                    where,
                    "a record is not a JSON array; write each record as an array of values",
                    row=i + 1,
                    value=value_text(r),
                )
            )
            r = [None] * n
        if len(r) != n:
            problems.append(
                _problem(
                    "DSJ-003",
                    file,
                    where,
                    f"record has {len(r)} values for {n} columns; give one value per column "
                    "(null when missing)",
                    row=i + 1,
                    value=str(len(r)),
                )
            )
            r = (list(r) + [None] * n)[:n]
        out.append(r)
    return out, problems


def _length_problems(file: str, frame: pd.DataFrame, meta: DatasetMetadata) -> list[DatasetProblem]:
    """DSJ-005: one problem per column with text longer than its length (count, first)."""
    out = []
    for i, c in enumerate(meta.columns):
        series = frame.iloc[:, i]
        if c.length is None or not isinstance(series.dtype, pd.StringDtype):
            continue
        longest = pc.max(pc.utf8_length(pa.array(series.array))).as_py()
        if longest is None or longest <= c.length:
            continue
        lengths = series.str.len()
        over = (lengths > c.length).fillna(False).to_numpy(bool)
        if not over.any():
            continue
        first = int(over.argmax())
        out.append(
            _problem(
                "DSJ-005",
                file,
                f"/rows/{first}/{i}",
                f"{int(over.sum())} value(s) of {c.name} are longer than its length "
                f"{c.length} (longest {int(lengths.max())}; first at record {first + 1}); "
                "raise the length or shorten the values",
                row=first + 1,
                column=c.name,
                value=value_text(series.iloc[first]),
            )
        )
    return out


def read_datasetjson(
    path: str | os.PathLike[str],
) -> tuple[pd.DataFrame, DatasetMetadata, tuple[DatasetProblem, ...]]:
    """Read a Dataset-JSON v1.1 file (.json, .ndjson or .dsjc) and check its conformance.

    Parameters
    ----------
    path : str or path-like
        The file; its extension gives the form. Only read, never modified.

    Returns
    -------
    frame : pandas.DataFrame
        One column per metadata column (same names and order), typed by dataType (see
        :mod:`efficacy.io._dsj_values`: ``string[pyarrow]``, ``Int64``, ``float64``,
        ``boolean``, ``datetime64[s]`` for ADaM dates, ``Decimal`` objects); index
        ``row`` = 1-based record number.
    metadata : DatasetMetadata
        Every dataset and column attribute of the file.
    problems : tuple of DatasetProblem
        Conformance problems (rules :data:`DATASET_JSON_RULES`), empty for a conforming
        file: metadata against the v1.1 JSON Schema (DSJ-001), record count (DSJ-002),
        record length (DSJ-003), value types (DSJ-004), text lengths (DSJ-005), column
        definitions (DSJ-006).

    Raises
    ------
    InputError
        The file is missing, not UTF-8, not JSON, not an object, or its compression is
        corrupt: one line naming the file (and line) and the fix.

    Examples
    --------
    The CDISC pilot's ADSL as compressed NDJSON (tests/reference/datasetjson):

    >>> from efficacy._examples import repo_path
    >>> from efficacy.io.datasetjson import read_datasetjson
    >>> frame, meta, problems = read_datasetjson(
    ...     repo_path("tests", "reference", "datasetjson", "adsl.dsjc"))
    >>> meta.name, meta.label, meta.records, len(meta.columns), problems
    ('ADSL', 'Subject-Level Analysis', 254, 49, ())
    >>> meta.column("USUBJID").key_sequence, str(frame["TRTSDT"].dtype)
    (1, 'datetime64[s]')
    >>> frame.loc[1, "USUBJID"], int(frame.loc[1, "AGE"]), frame.loc[1, "TRT01P"]
    ('01-701-1015', 63, 'Placebo')
    """
    path = Path(path)
    form = _form(path, None)
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise InputError(f"{path}: no such file; give the path of a Dataset-JSON file") from None
    except IsADirectoryError:
        raise InputError(f"{path}: is a folder; give the path of a Dataset-JSON file") from None
    text = _decode(path, data, form)
    parse = _parse_json if form == "json" else _parse_ndjson
    with gc_paused():  # many small lists: no full collections while they are built
        raw, rows, rows_key = parse(path, text)
        frame, meta, problems = _build(str(path), raw, rows, rows_key, form)
    return frame, meta, tuple(problems)


def _build(
    file: str, raw: dict[str, Any], rows: Any, rows_key: str, form: str
) -> tuple[pd.DataFrame, DatasetMetadata, list[DatasetProblem]]:
    """Metadata, checks and the typed frame of a parsed document."""
    meta_doc = {k: v for k, v in raw.items() if k != "rows"}
    meta = DatasetMetadata.from_dict(meta_doc)
    names = list(meta.names)
    problems = _schema_problems(file, meta_doc, names)
    problems += _column_problems(file, meta)
    records, row_problems = _records(file, rows, names, form)
    problems += row_problems
    if meta.records != len(records) and isinstance(raw.get("records"), int):
        problems.append(
            _problem(
                "DSJ-002",
                file,
                "/records",
                f"'records' is {meta.records} but the file holds {len(records)} records; "
                "correct 'records'",
                value=str(meta.records),
            )
        )
    columns = list(zip(*records, strict=False)) if records else [()] * len(names)
    data_cols: dict[int, Any] = {}
    for i, (values, column) in enumerate(zip(columns, meta.columns, strict=True)):
        data_cols[i], found = from_json_values(values, column, i, file, rows_key)
        problems += found
    frame = pd.DataFrame(data_cols, index=pd.RangeIndex(1, len(records) + 1, name="row"))
    frame.columns = pd.Index(names)
    problems += _length_problems(file, frame, meta)
    return frame, meta, problems


# --- writing -------------------------------------------------------------------------


def _dumps(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"), allow_nan=False)


def datasetjson_bytes(frame: pd.DataFrame, metadata: DatasetMetadata, form: str = "json") -> bytes:
    """Serialise `frame` with `metadata` as Dataset-JSON v1.1 in `form`.

    Parameters
    ----------
    frame : pandas.DataFrame
        Columns named and ordered as ``metadata.columns``, typed as
        :func:`read_datasetjson` returns them (text, ``Int64``/int, float, boolean,
        ``datetime64`` for dates with targetDataType integer, ``Decimal``).
    metadata : DatasetMetadata
        Written as given, except ``records``, which is set to ``len(frame)``.
    form : {"json", "ndjson", "dsjc"}
        ``dsjc`` is NDJSON compressed with zLib (level 9, as the specification
        recommends).

    Returns
    -------
    bytes
        UTF-8 JSON without insignificant white space; whole floats are written as
        integers (as SAS writes them), missing values as null.

    Raises
    ------
    EfficacyError
        Frame columns that differ from the metadata's, or a value JSON cannot hold.
    """
    form = _form(Path(f"x.{form}"), form)
    names = list(metadata.names)
    if list(map(str, frame.columns)) != names:
        raise EfficacyError(
            f"the frame's columns {list(frame.columns)[:8]} differ from the metadata's "
            f"{names[:8]}; give one metadata column per frame column, in order"
        )
    head = metadata.to_dict()
    head["records"] = len(frame)
    values = [to_json_values(frame.iloc[:, i], c) for i, c in enumerate(metadata.columns)]
    rows = [list(r) for r in zip(*values, strict=True)] if values else [[]] * len(frame)
    if form == "json":
        return _dumps({**head, "rows": rows}).encode("utf-8")
    lines = [_dumps(head), *map(_dumps, rows)]
    text = ("\n".join(lines) + "\n").encode("utf-8")
    return zlib.compress(text, 9) if form == "dsjc" else text


def write_datasetjson(
    path: str | os.PathLike[str], frame: pd.DataFrame, metadata: DatasetMetadata
) -> Path:
    """Write `frame` as a Dataset-JSON file, atomically; the extension gives the form.

    See :func:`datasetjson_bytes`. Returns the path written.
    """
    target = Path(path)
    payload = datasetjson_bytes(frame, metadata, _form(target, None))
    return write_file(target, payload)
