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
from pandas.arrays import ArrowStringArray, BooleanArray, IntegerArray

from efficacy.schema import TABLE_SCHEMAS, Column, ColumnKind
from efficacy.trial import ISSUE_COLUMNS, TableSource, empty_issues

__all__ = [
    "DATE_DTYPE",
    "STRING_DTYPE",
    "TextTable",
    "build_table",
    "clean_text",
    "empty_table",
    "grouped_issues",
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
_TRUE = ("true", "t", "yes", "y", "1")
_FALSE = ("false", "f", "no", "n", "0")
_FLAGS = pa.array(_TRUE + _FALSE)  # index < len(_TRUE): true
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


def _parse_numbers(text: pa.ChunkedArray) -> np.ndarray:
    """Parse numbers; float64 values, NaN where a cell is empty or not a plain number.

    Fast path: Arrow's cast succeeds when every cell is a number; it also accepts
    "nan"/"inf", which the callers' finiteness tests then reject. If any cell fails,
    cells are first screened with the :data:`_NUMBER` pattern.
    """
    try:
        values = pc.cast(text, pa.float64())
    except pa.ArrowInvalid:
        shaped = pc.match_substring_regex(text, _NUMBER)
        values = pc.cast(pc.if_else(shaped, text, _NULL_STR), pa.float64())
    return np.asarray(values.to_numpy(zero_copy_only=False), dtype=np.float64)


# Each converter takes a cleaned text column and its non-null mask (numpy) and returns
# (values, bad): the column's values in its kind's dtype (missing where the text is
# missing or did not convert) and the cells that hold text but did not convert.


def _to_float(text: pa.ChunkedArray, given: np.ndarray) -> tuple[object, np.ndarray]:
    values = _parse_numbers(text)
    ok = np.isfinite(values)  # "nan", "inf", "1e999" (overflow): not usable numbers
    return np.where(ok, values, np.nan), given & ~ok


def _to_int(text: pa.ChunkedArray, given: np.ndarray) -> tuple[object, np.ndarray]:
    values = _parse_numbers(text)
    ok = np.isfinite(values) & (np.floor(values) == values) & (np.abs(values) <= _MAX_EXACT_INT)
    ints = np.where(ok, values, 0.0).astype(np.int64)
    return IntegerArray(ints, ~ok), given & ~ok


def _to_bool(text: pa.ChunkedArray, given: np.ndarray) -> tuple[object, np.ndarray]:
    index = pc.index_in(pc.utf8_lower(text), value_set=_FLAGS)
    spelling = np.asarray(pc.fill_null(index, -1).to_numpy(zero_copy_only=False))
    ok = spelling >= 0
    return BooleanArray(ok & (spelling < len(_TRUE)), ~ok), given & ~ok


def _to_fitzpatrick(text: pa.ChunkedArray, given: np.ndarray) -> tuple[object, np.ndarray]:
    index = pc.index_in(pc.utf8_lower(text), value_set=_FITZ_KEYS)
    ok = np.asarray(index.is_valid().to_numpy(zero_copy_only=False), dtype=bool)
    return ArrowStringArray(pc.take(_FITZ_VALUES, index)), given & ~ok


def _to_date(text: pa.ChunkedArray, given: np.ndarray) -> tuple[object, np.ndarray]:
    shaped = pc.match_substring_regex(text, _ISO_DATE)
    candidates = pd.Series(ArrowStringArray(pc.if_else(shaped, text, _NULL_STR)))
    parsed = pd.to_datetime(candidates, format="ISO8601", errors="coerce")  # 2025-02-30 -> NaT
    return parsed.to_numpy(dtype=DATE_DTYPE), given & parsed.isna().to_numpy()


def _to_str(text: pa.ChunkedArray, given: np.ndarray) -> tuple[object, np.ndarray]:
    return ArrowStringArray(text), np.zeros(len(given), dtype=bool)


_CONVERTERS = {
    "str": _to_str,
    "float": _to_float,
    "int": _to_int,
    "bool": _to_bool,
    "date": _to_date,
    "fitzpatrick": _to_fitzpatrick,
}


def _missing_column(kind: str, n: int) -> object:
    """Return an all-missing column of `kind` with `n` rows."""
    if kind == "float":
        return np.full(n, np.nan)
    if kind == "int":
        return IntegerArray(np.zeros(n, dtype=np.int64), np.ones(n, dtype=bool))
    if kind == "bool":
        return BooleanArray(np.zeros(n, dtype=bool), np.ones(n, dtype=bool))
    if kind == "date":
        return np.full(n, np.datetime64("NaT"), dtype=DATE_DTYPE)
    return ArrowStringArray(pa.chunked_array([pa.nulls(n, pa.string())]))


def _clean_columns(columns: Sequence[pa.ChunkedArray]) -> list[pa.ChunkedArray]:
    """Return :func:`clean_text` of each column (as large_string), from one pass.

    The columns are laid end to end (no copy: the chunks are shared), cleaned by one
    call and sliced apart again, so a table pays the Arrow call overhead once rather
    than once per column (the cleaning is cell by cell, so this is exact).
    """
    chunks: list[pa.Array] = []
    for column in columns:
        if not isinstance(column, pa.ChunkedArray):
            column = pa.chunked_array([column])
        if column.type != pa.string():
            column = column.cast(pa.string())
        chunks.extend(column.chunks)
    # large_string: the type pandas' string arrays hold (each would cast its column)
    whole = clean_text(pa.chunked_array(chunks, pa.string())).cast(pa.large_string())
    out, start = [], 0
    for column in columns:
        out.append(whole.slice(start, len(column)))
        start += len(column)
    return out


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


#: One zero-row frame per table, built on first use; :func:`empty_table` hands out copies.
_EMPTY_TABLES: dict[str, pd.DataFrame] = {}


def empty_table(table: str) -> pd.DataFrame:
    """Return a zero-row canonical frame with the schema's columns and dtypes."""
    template = _EMPTY_TABLES.get(table)
    if template is None:
        data = {c.name: _missing_column(c.kind, 0) for c in TABLE_SCHEMAS[table]}
        template = pd.DataFrame(data, index=pd.RangeIndex(1, 1, name="row"))
        _EMPTY_TABLES[table] = template
    return template.copy()


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
    schema = TABLE_SCHEMAS[table]
    schema_names = {c.name for c in schema}
    missing = tuple(c.name for c in schema if c.name not in text.names)
    extra = tuple(h for h in text.names if h not in schema_names)
    kinds = dict(extra_kinds or {})
    present = [c for c in schema if c.name in text.names]
    present += [Column(name, kinds.get(name, "str"), False, "") for name in extra]
    by_name = dict(zip(text.names, text.columns, strict=True))
    cleaned = _clean_columns([by_name[c.name] for c in present])
    given = _given(cleaned)
    converted: dict[str, object] = {}
    found: list[tuple[str, np.ndarray, list[object], str]] = [
        (
            column,
            np.array([None], dtype=object),
            [header],
            f"column {header!r} looks like {column!r}: rename it",
        )
        for column, header in suggest_renames(missing, extra).items()
    ]
    for i, (col, cells) in enumerate(zip(present, cleaned, strict=True)):
        values, bad = _CONVERTERS[col.kind](cells, given[i * n : (i + 1) * n])
        converted[col.name] = values
        if bad.any():
            where = np.flatnonzero(bad)
            bad_text = pc.take(cells, pa.array(where)).to_pylist()
            found.append((col.name, rows[where], bad_text, _PROBLEMS[col.kind]))
    data = {c.name: converted.pop(c.name, None) for c in schema}
    for c in schema:
        if data[c.name] is None:
            data[c.name] = _missing_column(c.kind, n)
    data.update(converted)
    frame = pd.DataFrame(data, index=pd.Index(rows, name="row"), copy=False)
    source = TableSource(table, path, fmt, n, missing, extra)
    return frame, source, grouped_issues(table, found)


def _given(cleaned: Sequence[pa.ChunkedArray]) -> np.ndarray:
    """Non-null mask of the cleaned columns laid end to end (one numpy array)."""
    if not cleaned:
        return np.zeros(0, dtype=bool)
    flat = pa.chunked_array([ch for c in cleaned for ch in c.chunks], pa.large_string())
    return np.asarray(flat.is_valid().to_numpy(zero_copy_only=False), dtype=bool)


def grouped_issues(
    table: str, found: Sequence[tuple[str, np.ndarray, list[object], str]]
) -> pd.DataFrame:
    """Return one issues frame for (column, rows, values, problem) groups, in order.

    The same frame as :func:`concat_issues` of one :func:`issues_frame` per group
    (``kind`` "problem"), built at once, when each group's values are text or the group
    has one value: every column object, None kept (no text dtype inferred).
    """
    if not found:
        return empty_issues()
    sizes = [len(r) for _, r, _, _ in found]
    data = {
        "table": np.full(sum(sizes), table, dtype=object),
        "column": np.repeat(np.array([c for c, _, _, _ in found], dtype=object), sizes),
        "row": np.concatenate([r.astype(object) for _, r, _, _ in found]),
        "value": np.array([v for _, _, values, _ in found for v in values], dtype=object),
        "problem": np.repeat(np.array([p for _, _, _, p in found], dtype=object), sizes),
        "kind": np.full(sum(sizes), "problem", dtype=object),
    }
    return pd.DataFrame(data, columns=list(ISSUE_COLUMNS), dtype=object)


def concat_issues(parts: Sequence[pd.DataFrame]) -> pd.DataFrame:
    """Concatenate issue frames (an empty list gives an empty frame), object dtype."""
    parts = [p for p in parts if len(p)]
    if not parts:
        return empty_issues()
    out = pd.concat(parts, ignore_index=True)
    return out.astype(object)
