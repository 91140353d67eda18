"""Findings: one problem in the data, located to the table, column and row.

Rules build findings **column-wise**: a check selects the offending rows of a table with a
boolean mask and turns that sub-frame into a findings frame in one vectorised step
(:func:`at_rows`), so a million bad rows cost one frame, not a million Python objects.
:class:`Finding` objects are only made when a caller asks for them
(:attr:`efficacy.validation.ValidationReport.findings`).
"""

from __future__ import annotations

import gc
from dataclasses import asdict, dataclass
from types import EllipsisType
from typing import Any, NamedTuple

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

__all__ = [
    "FINDING_COLUMNS",
    "PATTERN",
    "TEXT",
    "CouldNotRun",
    "Finding",
    "FindingGroup",
    "NotApplicable",
    "Part",
    "as_text",
    "at_rows",
    "at_trial",
    "empty_frame",
    "frame_columns",
    "frame_records",
    "group_codes",
    "group_findings",
    "text_by",
    "text_counts",
]

#: Columns of :meth:`ValidationReport.to_frame`, in order (fixed, whatever the options).
FINDING_COLUMNS: tuple[str, ...] = (
    "rule_id",
    "severity",
    "category",
    "table",
    "column",
    "subject_id",
    "visit",
    "row",
    "value",
    "message",
)

#: Internal column of a findings frame: the cause a finding shares with others (the
#: message without its per-row details); not one of :data:`FINDING_COLUMNS`.
PATTERN = "pattern"

#: What a rule's check returns: findings frames (from :func:`at_rows`) and single
#: findings (from :func:`at_trial`), in any mix.
Part = pd.DataFrame | dict[str, Any]


class NotApplicable(Exception):  # noqa: N818 - control flow, not an error
    """Raised by a check when the rule does not apply to this trial (reason in args)."""


class CouldNotRun(Exception):  # noqa: N818 - control flow, not an error
    """Raised by a check when data it needs is missing (reason in args)."""


class Finding(NamedTuple):
    """One problem found by a validation rule (immutable).

    A named tuple rather than a dataclass so that a report with millions of findings can
    materialise them quickly; compare and hash like tuples.

    Attributes
    ----------
    rule_id : str
        Stable id of the rule, e.g. ``"INT-006"`` or ``"ISO-DUR"``.
    severity : {"error", "warning", "notice"}
    category : str
        Rule family: schema, integrity, design, pro, consort, standard.
    table : str
        ``subjects``, ``measurements``, ``pro_responses``, ``adverse_events`` or
        ``manifest`` (``trial.toml``).
    column : str or None
        Column (or manifest key) at fault.
    subject_id, visit : str or None
        Participant and visit the finding concerns, where there is one.
    row : int or None
        1-based data row in the table's file (header not counted); None for findings
        about a table, a subject, a group of rows or the whole trial.
    value : str or None
        The offending value as text.
    message : str
        One line: what is wrong and how to fix it.
    """

    rule_id: str
    severity: str
    category: str
    table: str
    column: str | None
    subject_id: str | None
    visit: str | None
    row: int | None
    value: str | None
    message: str

    def to_dict(self) -> dict[str, Any]:
        """Plain-data form (JSON-serialisable)."""
        return dict(zip(FINDING_COLUMNS, self, strict=True))


TEXT = pd.StringDtype("pyarrow")


def _text_array(texts: list[Any], codes: np.ndarray) -> Any:
    """Arrow string array ``texts[code]`` per code (code -1 = the last entry)."""
    if len(texts) == 1:  # one text (or None) for every row: repeat it, no take
        return pd.arrays.ArrowStringArray(
            pa.repeat(pa.scalar(texts[0], pa.large_string()), len(codes))
        )
    idx = np.where(codes < 0, len(texts) - 1, codes)
    taken = pa.array(texts, type=pa.large_string()).take(pa.array(idx))
    return pd.arrays.ArrowStringArray(taken)  # of dtype TEXT, wrapping the Arrow array


def _list_text(values: list[Any]) -> Any:
    """``pd.array(values, dtype=TEXT)``, built by Arrow directly when all are str or None.

    pandas' own path first makes each value text (``str``, NaN and NA to missing) and
    then builds the same Arrow array; a list of texts and None needs neither step.
    """
    if all(v is None or type(v) is str for v in values):
        return pd.arrays.ArrowStringArray(pa.array(values, type=pa.large_string()))
    return pd.array(values, dtype=TEXT)


def text_counts(values: Any) -> dict[str, int]:
    """How many times each text occurs in the text array `values` (missing not counted).

    ``Series(values).value_counts().to_dict()`` with int counts, counted by Arrow
    without building a Series and its index.
    """
    counted = pc.value_counts(pa.array(values)).to_pylist()
    return {c["values"]: c["counts"] for c in counted if c["values"] is not None}


def as_text(values: pd.Series) -> pd.Series:
    """Values as (Arrow-backed) text, missing as NA; numbers print like ``repr``.

    Each distinct value is formatted once (factorize, format the uniques, take), so a
    million rows holding a few distinct values cost a few string conversions.
    """
    if isinstance(values.dtype, pd.StringDtype):
        return values.astype(TEXT)
    codes, uniques = pd.factorize(values, use_na_sentinel=True)
    texts = [_value_text(u) for u in uniques]
    return pd.Series(_text_array([*texts, None], codes), index=values.index)


def _num_text(x: float) -> str:
    return str(int(x)) if float(x).is_integer() and abs(x) < 1e15 else repr(float(x))


def _value_text(x: Any) -> str:
    if isinstance(x, float | np.floating):
        return _num_text(float(x))
    if isinstance(x, np.integer):
        return str(int(x))
    return str(x)


def text_by(values: pd.Series, render: Any, na_text: str = "(empty)") -> pd.Series:
    """``render(value)`` for every element, computed once per distinct value.

    Missing values become `na_text` (`render` is not called for them). The result is an
    Arrow-backed string Series, so concatenating it with other pieces is vectorised.
    """
    codes, uniques = pd.factorize(values, use_na_sentinel=True)
    texts = [*(render(u) for u in uniques), na_text]
    return pd.Series(_text_array(texts, codes), index=values.index)


def _text_column(x: Any, n: int) -> Any:
    """Build a findings column from a scalar, None or a Series (by position)."""
    if isinstance(x, pd.Series):
        if x.dtype == TEXT:  # already text: a new array over its (immutable) Arrow data
            return x.array.copy()
        return as_text(x).array  # a new array (cast or built from the values)
    return _text_array([x], np.zeros(n, dtype=np.int64))


def at_rows(
    rows: pd.DataFrame,
    *,
    table: str,
    column: str | None,
    message: str | pd.Series,
    value: pd.Series | str | EllipsisType | None = ...,
    severity: str | None = None,
    pattern: str | None = None,
) -> pd.DataFrame:
    """Turn the offending rows of a table into a findings frame, column-wise.

    Parameters
    ----------
    rows : pandas.DataFrame
        The offending rows (a boolean-mask selection of a canonical table), indexed by
        the 1-based file row. ``subject_id`` and ``visit`` are taken from it when present.
    table, column : str
        Where the problem is.
    message : str or pandas.Series
        One message for all rows, or one per row (aligned by position).
    value : pandas.Series, str or None, optional
        Offending values; by default ``rows[column]`` as text.
    severity : str, optional
        Overrides the rule's severity for these findings.
    pattern : str, optional
        The cause these rows share, as one message without the per-row details (e.g.
        ``"subject_id is not in the subjects table; ..."`` for messages that each quote
        their id): findings of one rule with the same table, column and pattern are
        shown as one group (:func:`group_findings`). Default: `message` when it is one
        text for all rows; per-row messages without a pattern group only when equal.

    Returns
    -------
    pandas.DataFrame
        Columns ``severity, table, column, subject_id, visit, row, value, message,
        pattern`` (Arrow-backed text and a nullable-integer ``row``).
    """
    n = len(rows)
    if value is ...:
        value = rows[column] if column in rows.columns else None
    pattern_col = _text_column(message if pattern is None else pattern, n)
    return pd.DataFrame(
        {
            "severity": _text_column(severity, n),
            "table": _text_column(table, n),
            "column": _text_column(column, n),
            "subject_id": _text_column(rows.get("subject_id"), n),
            "visit": _text_column(rows.get("visit"), n),
            "row": pd.array(rows.index.to_numpy(), dtype=pd.Int64Dtype()),
            "value": _text_column(value, n),
            "message": _text_column(message, n),
            PATTERN: pattern_col,
        },
        index=pd.RangeIndex(n),
        copy=False,  # every column is a new array (see _text_column): no copy needed
    )


def at_trial(
    *,
    table: str,
    message: str,
    column: str | None = None,
    subject_id: Any = None,
    visit: Any = None,
    row: Any = None,
    value: Any = None,
    severity: str | None = None,
    pattern: str | None = None,
) -> dict[str, Any]:
    """One finding about a table, a subject, a group of rows or the whole trial.

    `pattern`: the cause without this finding's details (see :func:`at_rows`);
    default `message`.
    """
    return {
        "severity": severity,
        "table": table,
        "column": column,
        "subject_id": _opt_text(subject_id),
        "visit": _opt_text(visit),
        "row": None if row is None or pd.isna(row) else int(row),
        "value": _opt_text(value),
        "message": message,
        PATTERN: message if pattern is None else pattern,
    }


def _opt_text(x: Any) -> str | None:
    if not pd.api.types.is_scalar(x):  # a TOML array or table quoted in a manifest finding
        return str(x)
    if x is None or (not isinstance(x, str) and pd.isna(x)):
        return None
    if isinstance(x, float):
        return _num_text(x)
    return str(x)


def frame_columns(frame: pd.DataFrame) -> list[list[Any]]:
    """Columns of a findings frame as Python lists (None for missing, int rows)."""
    # pandas-stubs omit None from to_numpy's na_value, which pandas accepts (any scalar)
    return [
        frame[c].to_numpy(dtype=object, na_value=None).tolist()  # type: ignore[call-overload]
        for c in FINDING_COLUMNS
    ]


def frame_records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    """Convert a findings frame to plain dicts (None for missing, int rows)."""
    if frame.empty:
        return []
    columns = frame_columns(frame)
    enabled = gc.isenabled()
    gc.disable()  # millions of small dicts: avoid repeated full collections
    try:
        return [dict(zip(FINDING_COLUMNS, v, strict=True)) for v in zip(*columns, strict=True)]
    finally:
        if enabled:
            gc.enable()


def _empty() -> pd.DataFrame:
    return pd.DataFrame(
        {c: pd.Series(dtype="Int64" if c == "row" else TEXT) for c in (*FINDING_COLUMNS, PATTERN)}
    )


_EMPTY = _empty()


def empty_frame() -> pd.DataFrame:
    """Return a findings frame with no rows: the fixed columns and the pattern.

    A new frame on every call (a copy of one built once: building it costs more).
    """
    return _EMPTY.copy()


@dataclass(frozen=True)
class FindingGroup:
    """Findings of one rule with one cause: same severity, table, column and pattern.

    Attributes
    ----------
    rule_id, severity, table : str
    column : str or None
    message : str
        The findings' message when they all say the same, else their pattern (the
        message without per-row details, as the rule declared it).
    count : int
        Findings in the group.
    rows : tuple of int
        The first data rows (1-based, file order), at most the number asked for.
    subjects : tuple of str
        The first distinct subject ids (for findings about subjects without a row).
    values : tuple of str
        The first distinct offending values, when the messages differ (else empty).
    first : int
        Position (0-based) of the group's first finding in the findings frame.
    """

    rule_id: str
    severity: str
    table: str
    column: str | None
    message: str
    count: int
    rows: tuple[int, ...]
    subjects: tuple[str, ...]
    values: tuple[str, ...]
    first: int

    def to_dict(self) -> dict[str, Any]:
        """Plain-data form (JSON-serialisable)."""
        return asdict(self) | {k: list(getattr(self, k)) for k in ("rows", "subjects", "values")}


def group_codes(frame: pd.DataFrame) -> np.ndarray:
    """Group number of every finding of `frame` (0, 1, ... in order of first appearance).

    The key is (rule, severity, table, column, pattern); a frame without a pattern
    column (e.g. built by hand) groups by the message instead.
    """
    pattern = frame[PATTERN] if PATTERN in frame.columns else frame["message"]
    columns = [frame[c] for c in ("rule_id", "severity", "table", "column")] + [pattern]
    codes = np.zeros(len(frame), dtype=np.int64)
    for col in columns:  # combine column codes, renumbering after each (no overflow)
        c, uniques = pd.factorize(col, use_na_sentinel=False)
        codes, _ = pd.factorize(codes * (len(uniques) + 1) + c)
    return np.asarray(codes, dtype=np.int64)


def group_findings(frame: pd.DataFrame, first: int = 5) -> tuple[FindingGroup, ...]:
    """Group the findings of `frame` by cause, in order of each group's first finding.

    Parameters
    ----------
    frame : pandas.DataFrame
        A findings frame (:attr:`efficacy.validation.ValidationReport.frame`).
    first : int
        How many rows, subjects and values each group quotes.

    Returns
    -------
    tuple of FindingGroup
    """
    if frame.empty:
        return ()
    codes = group_codes(frame)
    order = np.argsort(codes, kind="stable")
    split = np.flatnonzero(np.diff(codes[order])) + 1
    # column-wise: each text column factorized once; a group reads codes, never objects
    coded = {c: _Coded(frame[c]) for c in ("message", "subject_id", "value")}
    head = frame.iloc[order[np.r_[0, split]]]  # each group's first finding
    pattern = head[PATTERN] if PATTERN in head.columns else head["message"]
    keys = ("rule_id", "severity", "table", "column", "message")
    firsts = [
        dict(zip((*keys, "pattern"), v, strict=True))
        for v in zip(*(_objects(head[c]) for c in keys), _objects(pattern), strict=True)
    ]
    rows = frame["row"].to_numpy(dtype=float, na_value=np.nan)
    groups = []
    for idx, f in zip(np.split(order, split), firsts, strict=True):
        same = coded["message"].n_distinct(idx) == 1
        r = rows[idx]
        r = pd.unique(r[~np.isnan(r)])[:first]
        groups.append(
            FindingGroup(
                rule_id=f["rule_id"],
                severity=f["severity"],
                table=f["table"] or "",
                column=f["column"],
                message=f["message"] if same else (f["pattern"] or f["message"]),
                count=len(idx),
                rows=tuple(int(x) for x in r),
                subjects=coded["subject_id"].first(idx, first),
                values=() if same else coded["value"].first(idx, first),
                first=int(idx[0]),
            )
        )
    return tuple(sorted(groups, key=lambda g: g.first))


def _objects(col: pd.Series) -> list[Any]:
    """Return a text column as Python objects, None for missing."""
    values: list[Any] = col.astype(object).where(col.notna(), None).tolist()
    return values


class _Coded:
    """A text column factorized once: distinct values of any selection of its rows."""

    def __init__(self, col: pd.Series) -> None:
        self.codes, uniques = pd.factorize(col, use_na_sentinel=True)
        self.uniques = np.asarray(uniques, dtype=object)

    def n_distinct(self, idx: np.ndarray) -> int:
        """Distinct values (missing counted as one) at positions `idx`."""
        return len(pd.unique(self.codes[idx]))

    def first(self, idx: np.ndarray, k: int) -> tuple[str, ...]:
        """Return the first `k` distinct non-missing values at positions `idx`, in order."""
        seen = pd.unique(self.codes[idx])
        return tuple(str(x) for x in self.uniques[seen[seen >= 0][:k]])
