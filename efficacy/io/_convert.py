"""Vectorised text -> typed conversion of table columns, with per-cell issues.

Every reader in :mod:`efficacy.io` first turns a file into *text* columns (Arrow string
arrays, one per header cell) and then calls :func:`build_table`, so CSV, Parquet, Excel
and CDISC ADaM input give identical frames for identical content.

All work is done by Arrow compute kernels or numpy on whole columns; there is no Python
loop over rows (1M measurement rows convert in well under a second).
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from efficacy.schema import TABLE_SCHEMAS, Column, ColumnKind
from efficacy.trial import ISSUE_COLUMNS, TableSource, empty_issues

__all__ = [
    "DATE_DTYPE",
    "STRING_DTYPE",
    "TextTable",
    "build_table",
    "clean_text",
    "empty_table",
    "issues_frame",
]

#: dtype of ``str`` and ``fitzpatrick`` columns (missing = ``pd.NA``).
STRING_DTYPE = pd.StringDtype("pyarrow")
#: dtype of ``date`` columns (pandas 3 default resolution for parsed strings).
DATE_DTYPE = "datetime64[us]"

_NULL_STR = pa.scalar(None, pa.string())
# Plain decimal numbers with an optional exponent: "3", "-0.5", ".5", "1e-3", "+2.".
# Not accepted: "nan", "inf", "1,5" (decimal comma), "1 000", "NA".
_NUMBER = r"^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$"
_ISO_DATE = r"^\d{4}-\d{2}-\d{2}([T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?)?$"
_TRUE = pa.array(["true", "t", "yes", "y", "1"])
_FALSE = pa.array(["false", "f", "no", "n", "0"])
_ROMAN = ("I", "II", "III", "IV", "V", "VI")
_FITZ_KEYS = pa.array([r.lower() for r in _ROMAN] + [str(i) for i in range(1, 7)])
_FITZ_VALUES = pa.array(list(_ROMAN) * 2)
_MAX_EXACT_INT = 2.0**53

_PROBLEMS = {
    "float": "not a number (use digits with '.' as decimal separator; leave empty if missing)",
    "int": "not a whole number (leave the cell empty if missing)",
    "bool": "not a flag: use true/false, yes/no, y/n or 1/0 (leave empty if missing)",
    "date": "not an ISO 8601 date: write YYYY-MM-DD (leave empty if missing)",
    "fitzpatrick": "not a Fitzpatrick phototype: use I-VI or 1-6 (leave empty if missing)",
}


@dataclass(frozen=True)
class TextTable:
    """A file read as text: header names and one Arrow string column per name.

    Attributes
    ----------
    names : tuple of str
        Header names, surrounding whitespace stripped, unique, non-empty.
    columns : tuple of pyarrow.ChunkedArray
        String columns (nulls allowed), same length.
    rows : numpy.ndarray or None
        1-based data row number of each record (header not counted); None means
        ``1..n`` (a file without gaps).
    """

    names: tuple[str, ...]
    columns: tuple[pa.ChunkedArray, ...]
    rows: np.ndarray | None = None

    @property
    def n_rows(self) -> int:
        """Number of records."""
        return (
            len(self.columns[0]) if self.columns else (0 if self.rows is None else len(self.rows))
        )


def clean_text(values: pa.ChunkedArray | pa.Array) -> pa.ChunkedArray:
    """Strip surrounding whitespace; empty or whitespace-only cells become null."""
    if not isinstance(values, pa.ChunkedArray):
        values = pa.chunked_array([values])
    if values.type != pa.string():
        values = values.cast(pa.string())
    trimmed = pc.utf8_trim_whitespace(values)
    return pc.if_else(pc.equal(pc.binary_length(trimmed), 0), _NULL_STR, trimmed)


def issues_frame(
    table: str,
    column: str | None,
    rows: Sequence[object],
    values: Sequence[object],
    problem: str,
    kind: str = "problem",
) -> pd.DataFrame:
    """Return an issues frame (:data:`efficacy.trial.ISSUE_COLUMNS`, object dtype).

    `kind` is ``"problem"`` or ``"excluded"`` (see :data:`efficacy.trial.ISSUE_KINDS`).
    """
    n = len(rows)
    data = {
        "table": np.full(n, table, dtype=object),
        "column": np.full(n, column, dtype=object),
        "row": np.asarray(rows, dtype=object) if n else np.empty(0, dtype=object),
        "value": np.asarray(values, dtype=object) if n else np.empty(0, dtype=object),
        "problem": np.full(n, problem, dtype=object),
        "kind": np.full(n, kind, dtype=object),
    }
    return pd.DataFrame(data, columns=list(ISSUE_COLUMNS))


def _bad_mask(text: pa.ChunkedArray, ok: pa.ChunkedArray) -> np.ndarray:
    """Cells that hold text (not null) but did not convert."""
    bad = pc.and_(pc.is_valid(text), pc.invert(pc.fill_null(ok, False)))
    return np.asarray(bad.to_numpy(zero_copy_only=False), dtype=bool)


def _parse_float(text: pa.ChunkedArray) -> tuple[pa.ChunkedArray, pa.ChunkedArray]:
    """Parse numbers; returns (float64 values, ok flags; null where text is null).

    Fast path: Arrow's cast succeeds when every cell is a number; it also accepts
    "nan"/"inf", which the finiteness test then rejects. If any cell fails, cells are
    first screened with the :data:`_NUMBER` pattern.
    """
    try:
        values = pc.cast(text, pa.float64())
    except pa.ArrowInvalid:
        shaped = pc.match_substring_regex(text, _NUMBER)
        values = pc.cast(pc.if_else(shaped, text, _NULL_STR), pa.float64())
    ok = pc.is_finite(values)  # "nan", "inf", "1e999" (overflow): not usable numbers
    ok = pc.if_else(pc.is_valid(text), pc.fill_null(ok, False), pa.scalar(None, pa.bool_()))
    return pc.if_else(ok, values, pa.scalar(None, pa.float64())), ok


def _to_float(text: pa.ChunkedArray) -> tuple[object, pa.ChunkedArray]:
    values, ok = _parse_float(text)
    return values.to_numpy(zero_copy_only=False).astype(np.float64, copy=False), ok


def _to_int(text: pa.ChunkedArray) -> tuple[object, pa.ChunkedArray]:
    values, ok = _parse_float(text)
    whole = pc.and_(
        pc.equal(pc.floor(values), values), pc.less_equal(pc.abs(values), _MAX_EXACT_INT)
    )
    ok = pc.and_kleene(ok, pc.fill_null(whole, False))
    ints = pc.cast(pc.if_else(ok, values, pa.scalar(None, pa.float64())), pa.int64())
    return pd.array(ints, dtype="Int64"), ok


def _to_bool(text: pa.ChunkedArray) -> tuple[object, pa.ChunkedArray]:
    low = pc.utf8_lower(text)
    is_true = pc.is_in(low, value_set=_TRUE)
    is_false = pc.is_in(low, value_set=_FALSE)
    ok = pc.if_else(pc.is_valid(text), pc.or_(is_true, is_false), pa.scalar(None, pa.bool_()))
    values = pc.if_else(ok, is_true, pa.scalar(None, pa.bool_()))
    return pd.array(values, dtype="boolean"), ok


def _to_fitzpatrick(text: pa.ChunkedArray) -> tuple[object, pa.ChunkedArray]:
    index = pc.index_in(pc.utf8_lower(text), value_set=_FITZ_KEYS)
    ok = pc.if_else(pc.is_valid(text), pc.is_valid(index), pa.scalar(None, pa.bool_()))
    values = pc.take(_FITZ_VALUES, index)
    return pd.array(values, dtype=STRING_DTYPE), ok


def _to_date(text: pa.ChunkedArray) -> tuple[object, pa.ChunkedArray]:
    shaped = pc.match_substring_regex(text, _ISO_DATE)
    candidates = pd.Series(pd.array(pc.if_else(shaped, text, _NULL_STR), dtype=STRING_DTYPE))
    parsed = pd.to_datetime(candidates, format="ISO8601", errors="coerce")  # 2025-02-30 -> NaT
    valid = pa.chunked_array([pa.array(parsed.notna().to_numpy())])
    ok = pc.if_else(pc.is_valid(text), valid, pa.scalar(None, pa.bool_()))
    return parsed.to_numpy(dtype=DATE_DTYPE), ok


def _to_str(text: pa.ChunkedArray) -> tuple[object, pa.ChunkedArray]:
    return pd.array(text, dtype=STRING_DTYPE), pc.is_valid(text)


_CONVERTERS = {
    "str": _to_str,
    "float": _to_float,
    "int": _to_int,
    "bool": _to_bool,
    "date": _to_date,
    "fitzpatrick": _to_fitzpatrick,
}


def _missing_column(kind: str, n: int) -> object:
    if kind == "float":
        return np.full(n, np.nan)
    if kind == "int":
        return pd.array([pd.NA] * n, dtype="Int64")
    if kind == "bool":
        return pd.array([pd.NA] * n, dtype="boolean")
    if kind == "date":
        return np.full(n, np.datetime64("NaT"), dtype=DATE_DTYPE)
    return pd.array([pd.NA] * n, dtype=STRING_DTYPE)


def _convert(
    table: str, col: Column, text: pa.ChunkedArray, rows: np.ndarray
) -> tuple[object, pd.DataFrame | None]:
    """Convert one text column to its kind; return (values, issues or None)."""
    values, ok = _CONVERTERS[col.kind](text)
    if col.kind == "str":
        return values, None
    bad = _bad_mask(text, ok)
    if not bad.any():
        return values, None
    where = np.flatnonzero(bad)
    bad_text = pc.take(text, pa.array(where)).to_pylist()
    return values, issues_frame(
        table, col.name, rows[where].tolist(), bad_text, _PROBLEMS[col.kind]
    )


def _normalise(name: str) -> str:
    return re.sub(r"[^0-9a-z]+", "_", name.lower()).strip("_")


def suggest_renames(missing: Sequence[str], unmatched: Sequence[str]) -> dict[str, str]:
    """Map each missing schema column to the unmatched header that looks like it.

    A header matches when it equals the column name after lower-casing and turning runs
    of other characters into ``_`` ("Subject ID" -> subject_id), or failing that when
    :func:`difflib.get_close_matches` rates it at least 0.8 ("randomised" ->
    randomized). Each header is suggested at most once.
    """
    free = {_normalise(h): h for h in reversed(unmatched)}
    out: dict[str, str] = {}
    for name in missing:
        key = name if name in free else None
        if key is None:
            close = difflib.get_close_matches(name, list(free), n=1, cutoff=0.8)
            key = close[0] if close else None
        if key is not None:
            out[name] = free.pop(key)
    return out


def empty_table(table: str) -> pd.DataFrame:
    """Return a zero-row canonical frame with the schema's columns and dtypes."""
    data = {c.name: _missing_column(c.kind, 0) for c in TABLE_SCHEMAS[table]}
    return pd.DataFrame(data, index=pd.RangeIndex(1, 1, name="row"))


def build_table(
    table: str,
    text: TextTable,
    path: Path | None = None,
    fmt: str | None = None,
    extra_kinds: Mapping[str, ColumnKind] | None = None,
) -> tuple[pd.DataFrame, TableSource, pd.DataFrame]:
    """Turn a text table into a canonical frame, its source record and its issues.

    Parameters
    ----------
    table : str
        Table name, a key of :data:`efficacy.trial.TABLE_SCHEMAS`.
    text : TextTable
        Header names and text columns as read.
    path : pathlib.Path or None
        Source file, recorded in the returned :class:`~efficacy.trial.TableSource`.
    fmt : str or None
        Source format ("csv", "parquet", "xlsx", "xport").
    extra_kinds : mapping, optional
        Kinds for extra columns the caller knows (ADaM BASE, CHG ...); other extra
        columns stay text.

    Returns
    -------
    frame : pandas.DataFrame
        Schema columns first (schema order, dtypes per kind), then extra columns in
        file order as text (string dtype) unless `extra_kinds` types them; index
        ``row`` = 1-based data row.
    source : TableSource
        With ``missing_columns`` (schema columns absent from the header) and
        ``extra_columns``.
    issues : pandas.DataFrame
        :data:`efficacy.trial.ISSUE_COLUMNS`: one row per cell that failed conversion
        and one per near-miss header (``row`` None).
    """
    n = text.n_rows
    rows = text.rows if text.rows is not None else np.arange(1, n + 1, dtype=np.int64)
    by_name = dict(zip(text.names, text.columns, strict=True))
    schema = TABLE_SCHEMAS[table]
    schema_names = {c.name for c in schema}
    data: dict[str, object] = {}
    issues: list[pd.DataFrame] = []
    for col in schema:
        if col.name in by_name:
            values, bad = _convert(table, col, clean_text(by_name[col.name]), rows)
            data[col.name] = values
            if bad is not None:
                issues.append(bad)
        else:
            data[col.name] = _missing_column(col.kind, n)
    missing = tuple(c.name for c in schema if c.name not in by_name)
    extra = tuple(h for h in text.names if h not in schema_names)
    kinds = dict(extra_kinds or {})
    for name in extra:
        column = Column(name, kinds.get(name, "str"), False, "")
        data[name], bad = _convert(table, column, clean_text(by_name[name]), rows)
        if bad is not None:
            issues.append(bad)
    renames = [
        issues_frame(
            table, column, [None], [header], f"column {header!r} looks like {column!r}: rename it"
        )
        for column, header in suggest_renames(missing, extra).items()
    ]
    frame = pd.DataFrame(data, index=pd.Index(rows, name="row"))
    source = TableSource(table, path, fmt, n, missing, extra)
    return frame, source, concat_issues(renames + issues)


def concat_issues(parts: Sequence[pd.DataFrame]) -> pd.DataFrame:
    """Concatenate issue frames (an empty list gives an empty frame), object dtype."""
    parts = [p for p in parts if len(p)]
    if not parts:
        return empty_issues()
    out = pd.concat(parts, ignore_index=True)
    return out.astype(object)
