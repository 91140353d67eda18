"""Findings: one problem in the data, located to the table, column and row.

Rules build findings **column-wise**: a check selects the offending rows of a table with a
boolean mask and turns that sub-frame into a findings frame in one vectorised step
(:func:`at_rows`), so a million bad rows cost one frame, not a million Python objects.
:class:`Finding` objects are only made when a caller asks for them
(:attr:`efficacy.validate.ValidationReport.findings`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

__all__ = [
    "FINDING_COLUMNS",
    "CouldNotRun",
    "Finding",
    "NotApplicable",
    "Part",
    "as_text",
    "at_rows",
    "at_trial",
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

#: What a rule's check returns: findings frames (from :func:`at_rows`) and single
#: findings (from :func:`at_trial`), in any mix.
Part = pd.DataFrame | dict[str, Any]


class NotApplicable(Exception):  # noqa: N818 - control flow, not an error
    """Raised by a check when the rule does not apply to this trial (reason in args)."""


class CouldNotRun(Exception):  # noqa: N818 - control flow, not an error
    """Raised by a check when data it needs is missing (reason in args)."""


@dataclass(frozen=True)
class Finding:
    """One problem found by a validation rule.

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
        return {c: getattr(self, c) for c in FINDING_COLUMNS}


def as_text(values: pd.Series) -> pd.Series:
    """Values as text (object dtype), missing values as None; floats print like ``repr``."""
    out = values.astype(object)
    missing = values.isna().to_numpy()
    if values.dtype.kind == "f":
        out = pd.Series(
            np.where(missing, None, values.map(_num_text).to_numpy(dtype=object)),
            index=values.index,
            dtype=object,
        )
        return out
    out = out.map(str, na_action="ignore")
    return out.where(~missing, None)


def _num_text(x: float) -> str:
    return str(int(x)) if float(x).is_integer() and abs(x) < 1e15 else repr(float(x))


def at_rows(
    rows: pd.DataFrame,
    *,
    table: str,
    column: str | None,
    message: str | pd.Series,
    value: pd.Series | str | None = ...,  # type: ignore[assignment]
    severity: str | None = None,
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
        One message for all rows, or one per row (aligned on the index).
    value : pandas.Series, str or None, optional
        Offending values; by default ``rows[column]`` as text.
    severity : str, optional
        Overrides the rule's severity for these findings.

    Returns
    -------
    pandas.DataFrame
        Columns ``severity, table, column, subject_id, visit, row, value, message``.
    """
    n = len(rows)
    if value is ...:
        value = as_text(rows[column]) if column in rows.columns else None
    elif isinstance(value, pd.Series):
        value = as_text(value)

    def col(name: str) -> Any:
        return as_text(rows[name]).to_numpy() if name in rows.columns else None

    return pd.DataFrame(
        {
            "severity": severity,
            "table": table,
            "column": column,
            "subject_id": col("subject_id"),
            "visit": col("visit"),
            "row": pd.array(rows.index.to_numpy(), dtype="Int64"),
            "value": value.to_numpy() if isinstance(value, pd.Series) else value,
            "message": message.to_numpy() if isinstance(message, pd.Series) else message,
        },
        index=pd.RangeIndex(n),
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
) -> dict[str, Any]:
    """One finding about a table, a subject, a group of rows or the whole trial."""
    return {
        "severity": severity,
        "table": table,
        "column": column,
        "subject_id": _opt_text(subject_id),
        "visit": _opt_text(visit),
        "row": None if row is None or pd.isna(row) else int(row),
        "value": _opt_text(value),
        "message": message,
    }


def _opt_text(x: Any) -> str | None:
    if x is None or (not isinstance(x, str) and pd.isna(x)):
        return None
    if isinstance(x, float):
        return _num_text(x)
    return str(x)
