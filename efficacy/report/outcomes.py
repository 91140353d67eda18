"""Report sections 6 (efficacy) and 7 (PROs): the extension point for the analysis.

The report is built without an analysis today. When the analysis plan
(:func:`efficacy.analyze`, issue 5) returns an ``AnalysisResult``, pass it to
:func:`efficacy.report.build_report` as ``analysis=``; :func:`outcome_sections` turns it
into the JSON of sections 6 and 7 and the HTML template renders that JSON.

Contract assumed of ``AnalysisResult`` (the only thing this module relies on): a
``to_dict()`` method returning JSON-ready data (numbers, strings, lists, dicts). Until
dedicated tables are written against its final fields, sections 6 and 7 render that
dict generically: every list of records becomes a table, every scalar a row, so every
number shown is in the JSON. Keys starting with ``pro`` (or ``faceq`` / ``skindex``) go
to section 7, the rest to section 6.

Without an analysis, both sections say plainly that the efficacy analysis was not run,
and carry no numbers.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any, Protocol, runtime_checkable

from efficacy.errors import EfficacyError

__all__ = ["NOT_RUN", "AnalysisLike", "outcome_sections"]

#: The text sections 6 and 7 show when no analysis result is given.
NOT_RUN = (
    "Efficacy analysis not run: no analysis result was given to the report, so this "
    "section has no estimates. Run the analysis plan (efficacy analyze) and pass its "
    "result to build the efficacy and PRO sections."
)
_PRO_KEYS = ("pro", "faceq", "skindex")


@runtime_checkable
class AnalysisLike(Protocol):
    """What the report needs of an analysis result: a JSON-ready ``to_dict()``."""

    def to_dict(self) -> Mapping[str, Any]:
        """Return the result as plain data."""
        ...


def _plain(value: Any) -> Any:
    """Return `value` as plain JSON data: NaN / inf become None; other types are refused."""
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    if isinstance(value, float) and not math.isfinite(value):
        return None  # JSON has no NaN / inf: shown as "-"
    if value is None or isinstance(value, bool | int | float | str):
        return value
    raise EfficacyError(
        f"analysis.to_dict() holds a {type(value).__name__}; it must return plain data "
        "(numbers, strings, lists, dicts)"
    )


def outcome_sections(analysis: Any | None) -> dict[str, Any]:
    """Build sections 6 and 7 (JSON-ready) from an analysis result, or say it was not run.

    Returns
    -------
    dict
        ``{"efficacy": {...}, "pros": {...}}``, each with ``status`` ("run" / "not_run"),
        ``message`` and ``result`` (the analysis data of that section, or None).

    Raises
    ------
    EfficacyError
        If `analysis` has no ``to_dict()`` or it returns something that is not plain data.
    """
    if analysis is None:
        empty = {"status": "not_run", "message": NOT_RUN, "result": None}
        return {"efficacy": dict(empty), "pros": dict(empty)}
    if not isinstance(analysis, AnalysisLike):
        raise EfficacyError(
            f"analysis must be an AnalysisResult (with to_dict()), not {type(analysis).__name__}"
        )
    data = _plain(analysis.to_dict())
    if not isinstance(data, Mapping):
        raise EfficacyError("analysis.to_dict() must return a mapping")
    pros = {k: v for k, v in data.items() if k.lower().startswith(_PRO_KEYS)}
    rest = {k: v for k, v in data.items() if k not in pros}
    return {
        "efficacy": {"status": "run", "message": "", "result": rest},
        "pros": {
            "status": "run" if pros else "not_run",
            "message": "" if pros else "The analysis result has no PRO results.",
            "result": pros or None,
        },
    }
