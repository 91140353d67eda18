"""Dataset-JSON values <-> typed pandas columns, checking each value's JSON type.

Reading works column by column: the JSON values of a column are classified in one C-level
pass (:func:`pandas.api.types.infer_dtype`) and converted in one vectorised step; only a
column that fails the check is looked at value by value, to name each offending record.

dtypes (reading; writing takes the same dtypes back):

==========================================  ============================================
dataType (targetDataType)                   pandas dtype
==========================================  ============================================
string, URI; date/datetime/time without     ``string[pyarrow]`` (null = ``pd.NA``, ``""``
targetDataType (ISO 8601 text, e.g. SDTM)   kept apart from null)
integer                                     ``Int64`` (``float64`` if a value has a fraction)
float, double                               ``float64`` (null = NaN)
boolean                                     ``boolean``
decimal (decimal)                           object: :class:`decimal.Decimal` (exact)
date (integer)                              ``datetime64[s]`` (midnight)
datetime (integer)                          ``datetime64[s]``
time (integer)                              ``timedelta64[s]``
==========================================  ============================================

A column whose values do not all fit its dataType keeps the values as parsed (object
dtype; a date that is not a complete ``YYYY-MM-DD`` stays text), so nothing is lost, and
each offending value is a :class:`DatasetProblem` (rule DSJ-004).
"""

from __future__ import annotations

import datetime as _dt
import decimal
import math
import re
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from efficacy.errors import EfficacyError
from efficacy.io._dsj_meta import Column, DatasetProblem, value_text

__all__ = ["STRING", "from_json_values", "to_json_values"]

STRING = pd.StringDtype("pyarrow")
_TEXT_TYPES = ("string", "URI", "date", "datetime", "time", "decimal")
_ISO = {
    "date": (r"^\d{4}-\d{2}-\d{2}$", "%Y-%m-%d"),
    "datetime": (r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}$", "%Y-%m-%dT%H:%M:%S"),
    "time": (r"^\d{2}:\d{2}:\d{2}$", "%H:%M:%S"),
}
_DECIMAL = r"^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$"
_MAX_EXACT = 2**53


def _objects(values: Sequence[Any]) -> np.ndarray:
    return np.fromiter(values, dtype=object, count=len(values))


class _Checker:
    """Collects DSJ-004 problems of one column."""

    def __init__(self, file: str, rows_key: str, position: int, column: Column) -> None:
        self.file, self.rows_key, self.position, self.column = file, rows_key, position, column
        self.problems: list[DatasetProblem] = []

    def bad(self, values: np.ndarray, ok: Callable[[Any], bool], what: str, sev: str) -> None:
        """One problem per value for which `ok` is false (a Python loop: error path only)."""
        self.at([i for i, v in enumerate(values) if v is not None and not ok(v)], values, what, sev)

    def at(self, positions: Sequence[int], values: np.ndarray, what: str, sev: str) -> None:
        """One problem per position; the message is the same for all (the value apart)."""
        c = self.column
        kind = f"dataType {c.data_type}" + (
            f", targetDataType {c.target_data_type}" if c.target_data_type else ""
        )
        message = f"{c.name} ({kind}) holds {what}"
        for i in positions:
            v = values[i]
            self.problems.append(
                DatasetProblem(
                    rule_id="DSJ-004",
                    severity=sev,
                    file=self.file,
                    pointer=f"/{self.rows_key}/{i}/{self.position}",
                    row=i + 1,
                    column=c.name,
                    value=repr(v) if isinstance(v, float) else value_text(v),
                    message=message,
                )
            )


def _is_str(v: Any) -> bool:
    return isinstance(v, str)


def _is_number(v: Any) -> bool:
    return isinstance(v, int | float) and not isinstance(v, bool)


def _text(values: np.ndarray, check: _Checker) -> tuple[Any, bool]:
    try:  # Arrow refuses any value that is not a str (or None)
        return pd.array(pa.array(values, type=pa.string()), dtype=STRING), True
    except (pa.ArrowTypeError, pa.ArrowInvalid):
        pass
    check.bad(values, _is_str, "a value that is not a JSON string; write it as text", "error")
    return values, False


def _iso(values: np.ndarray, check: _Checker, arr: Any) -> Any:
    """date/datetime/time with targetDataType integer: datetime64 / timedelta64 or text."""
    dtype = check.column.data_type
    pattern, fmt = _ISO[dtype]
    text = pa.array(values, type=pa.string())
    matched = pc.match_substring_regex(text, pattern)
    if pc.all(pc.or_kleene(matched, pc.is_null(text))).as_py() is False:  # empty: None
        what = f"a value that is not a complete ISO 8601 {dtype} ({fmt.replace('%', '')})"
        check.bad(
            values,
            lambda v: isinstance(v, str) and re.fullmatch(pattern, v) is not None,
            what + ", which targetDataType integer needs; kept as text",
            "error",
        )
        return arr
    if dtype == "time":
        return pd.to_timedelta(pd.Series(values, dtype=object)).astype("timedelta64[s]").array
    try:
        stamps = pc.strptime(text, format=fmt, unit="s")
    except pa.ArrowInvalid:  # e.g. 2021-02-30: matched the pattern, not a calendar date
        check.bad(
            values,
            _valid_calendar(fmt),
            f"a value that is not a valid {dtype}; kept as text",
            "error",
        )
        return arr
    return pd.array(stamps.to_pandas(), dtype="datetime64[s]")


def _valid_calendar(fmt: str) -> Callable[[Any], bool]:
    def ok(v: Any) -> bool:
        try:
            _dt.datetime.strptime(v, fmt)
        except (TypeError, ValueError):
            return False
        return True

    return ok


def _decimal(values: np.ndarray, check: _Checker, arr: Any) -> Any:
    text = pa.array(values, type=pa.string())
    matched = pc.match_substring_regex(text, _DECIMAL)
    if pc.all(pc.or_kleene(matched, pc.is_null(text))).as_py() is False:  # empty: None
        check.bad(
            values,
            lambda v: decimal.Decimal(v).is_finite() if _decimal_ok(v) else False,
            "a value that is not a decimal number (digits, '.' as separator); kept as text",
            "error",
        )
        return arr
    return pd.array([None if v is None else decimal.Decimal(v) for v in values], dtype=object)


def _decimal_ok(v: Any) -> bool:
    try:
        decimal.Decimal(v)
    except (decimal.InvalidOperation, TypeError, ValueError):
        return False
    return True


def _floats(values: np.ndarray) -> np.ndarray:
    out = values.copy()
    out[pd.isna(values)] = math.nan
    return out.astype(float)


def _ints(values: np.ndarray) -> Any:
    missing = pd.isna(values)
    filled = values.copy()
    filled[missing] = 0
    try:
        return pd.arrays.IntegerArray(filled.astype(np.int64), missing)
    except OverflowError:  # beyond int64: exact as Python ints
        return values


def _numbers(values: np.ndarray, check: _Checker, integer: bool) -> Any:
    kind = pd.api.types.infer_dtype(values, skipna=True)
    if kind == "empty":
        return pd.array(np.full(len(values), None), dtype="Int64" if integer else "float64")
    if kind == "integer":
        return _ints(values) if integer else _floats(values)
    if kind in ("floating", "mixed-integer-float"):
        floats = _floats(values)
        if not integer:
            return floats
        whole = np.isnan(floats) | (np.mod(floats, 1.0) == 0)
        if whole.all():
            return pd.arrays.IntegerArray(np.nan_to_num(floats).astype(np.int64), np.isnan(floats))
        check.at(
            np.flatnonzero(~whole).tolist(),
            values,
            "a number with a fraction; the column is read as float",
            "warning",
        )
        return floats
    check.bad(values, _is_number, "a value that is not a JSON number; write a number", "error")
    return values


def _boolean(values: np.ndarray, check: _Checker) -> Any:
    kind = pd.api.types.infer_dtype(values, skipna=True)
    if kind in ("boolean", "empty"):
        return pd.array(values, dtype="boolean")
    check.bad(values, lambda v: isinstance(v, bool), "a value that is not true or false", "error")
    return values


def from_json_values(
    values: Sequence[Any], column: Column, position: int, file: str, rows_key: str
) -> tuple[Any, list[DatasetProblem]]:
    """Convert one column's JSON values to a typed array; return it and DSJ-004 problems.

    `position` is the 0-based column index, `rows_key` the JSON Pointer segment of the
    records (``"rows"``).
    """
    check = _Checker(file, rows_key, position, column)
    obj = _objects(values)
    dtype, target = column.data_type, column.target_data_type
    if dtype in _TEXT_TYPES:
        arr, ok = _text(obj, check)
        if ok and dtype in _ISO and target == "integer":
            arr = _iso(obj, check, arr)
        elif ok and dtype == "decimal":
            arr = _decimal(obj, check, arr)
    elif dtype in ("integer", "float", "double"):
        arr = _numbers(obj, check, dtype == "integer")
    elif dtype == "boolean":
        arr = _boolean(obj, check)
    else:  # not a dataType of the specification (DSJ-001 says so): values as parsed
        arr = obj
    return arr, check.problems


# --- writing -------------------------------------------------------------------------


def _whole(x: float) -> Any:
    """Return a float as JSON: whole numbers as integers (as SAS writes them), NaN as null."""
    if math.isnan(x):
        return None
    if math.isinf(x):
        raise ValueError(x)
    if x.is_integer() and abs(x) < _MAX_EXACT:
        return int(x)
    return x


def _format_times(series: pd.Series, fmt: str) -> list[Any]:
    if isinstance(series.dtype, pd.DatetimeTZDtype) or pd.api.types.is_datetime64_dtype(series):
        text = series.dt.strftime(fmt)
    elif pd.api.types.is_timedelta64_dtype(series):
        secs = series.dt.total_seconds()
        text = secs.map(
            lambda s: (
                None
                if pd.isna(s)
                else f"{int(s) // 3600:02d}:{int(s) % 3600 // 60:02d}:{int(s) % 60:02d}"
            )
        )
    else:
        return _plain(series)
    out: list[Any] = text.astype(object).where(series.notna(), None).tolist()
    return out


def _plain(series: pd.Series) -> list[Any]:
    """Python values of an object/text/boolean column, missing as None."""
    dtype = series.dtype
    if isinstance(dtype, pd.StringDtype | pd.BooleanDtype | pd.Int64Dtype):
        out: list[Any] = pa.array(series.array).to_pylist()  # str / bool / int, None
        return out
    values = series.astype(object).where(series.notna(), None).tolist()
    return [_py(v) for v in values]


def _py(v: Any) -> Any:
    if isinstance(v, np.generic):
        v = v.item()
    if isinstance(v, decimal.Decimal):
        return str(v)
    if isinstance(v, float):
        return _whole(v)
    return v


def to_json_values(series: pd.Series, column: Column) -> list[Any]:
    """Return the JSON values of one column (inverse of :func:`from_json_values`).

    Raises
    ------
    EfficacyError
        An infinite number (JSON has none), naming the column and record.
    """
    dtype = column.data_type
    try:
        if dtype in _ISO and column.target_data_type == "integer":
            return _format_times(series, _ISO[dtype][1])
        if pd.api.types.is_float_dtype(series) and not isinstance(series.dtype, pd.ArrowDtype):
            return [_whole(x) for x in series.to_numpy(dtype=float, na_value=math.nan).tolist()]
        return _plain(series)
    except ValueError:
        values = series.to_numpy(dtype=float, na_value=math.nan)
        where = int(np.flatnonzero(np.isinf(values))[0])
        raise EfficacyError(
            f"column {column.name}: record {where + 1} is {values[where]}, which JSON cannot "
            "hold; replace it by a finite number or a missing value"
        ) from None
