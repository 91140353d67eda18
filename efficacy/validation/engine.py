"""Run every rule over a trial and collect the findings into a report."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import replace
from types import MappingProxyType
from typing import Any

import numpy as np
import pandas as pd

from efficacy.errors import EfficacyError
from efficacy.protocol import DEFAULT_PROTOCOL, Protocol, load_protocol
from efficacy.trial import Trial
from efficacy.validation._cache import Reads, Stored, rule_cache, value_of
from efficacy.validation.context import Context
from efficacy.validation.findings import (
    FINDING_COLUMNS,
    PATTERN,
    TEXT,
    CouldNotRun,
    NotApplicable,
    Part,
    _list_text,
    _text_array,
    empty_frame,
    text_counts,
)
from efficacy.validation.registry import Rule, rules_for
from efficacy.validation.report import RuleStatus, Status, ValidationReport

__all__ = ["validate"]


def validate(
    trial: Trial,
    protocol: Protocol | str | None = None,
    *,
    max_findings_per_rule: int | None = None,
) -> ValidationReport:
    """Validate `trial` against `protocol` and return every finding.

    Never raises on problems in the data: each problem is a finding, and every rule ends
    with a status (passed, failed, not_applicable, could_not_run). A rule that crashes is
    reported as could_not_run with the exception text, and the other rules still run.

    Parameters
    ----------
    trial : Trial
        The trial, from :func:`efficacy.read_trial` (or built in memory).
    protocol : Protocol, str or None
        A protocol, a built-in id or a protocol TOML path; default the built-in
        proposed standard ``"iso-efficacy-2025"``.
    max_findings_per_rule : int, optional
        Keep at most this many findings per rule and replace the rest by one summarising
        finding (same rule and severity, ``row`` None, message "... N more ..."). Counts
        in :attr:`ValidationReport.rules` and :attr:`ValidationReport.counts` always
        include every finding. Default: keep all (findings are stored column-wise, so a
        million of them cost one DataFrame, not a million objects).

    Returns
    -------
    ValidationReport
        A new report (and a new findings frame) on every call.

    Notes
    -----
    Each rule runs once per trial and per distinct value of what it reads of the
    protocol (and of the bundle's reference files): validating the same trial again, or
    against a rule pack that shares rules with an earlier protocol, reuses those rules'
    results, stored on the trial (:mod:`efficacy.validation._cache` says why a reuse is
    exact). The trial's tables are read-only by convention: validate a changed copy
    (a new :class:`Trial`), not a trial changed in place.

    Raises
    ------
    efficacy.errors.EfficacyError
        Misuse only: `trial` is not a Trial, the protocol cannot be loaded
        (:class:`~efficacy.errors.ProtocolError`), or `max_findings_per_rule` < 1.

    Examples
    --------
    >>> import efficacy
    >>> from efficacy._examples import repo_path
    >>> trial = efficacy.read_trial(repo_path("sample_data", "parallel_12wk"))
    >>> report = efficacy.validate(trial)
    >>> report.ok, len(report.findings)
    (True, 0)
    >>> list(report.to_frame().columns)  # doctest: +NORMALIZE_WHITESPACE
    ['rule_id', 'severity', 'category', 'table', 'column', 'subject_id', 'visit', 'row',
     'value', 'message']
    """
    if not isinstance(trial, Trial):
        raise EfficacyError(
            f"trial= must be an efficacy Trial (from efficacy.read_trial), "
            f"not {type(trial).__name__}"
        )
    if max_findings_per_rule is not None and (
        isinstance(max_findings_per_rule, bool)
        or not isinstance(max_findings_per_rule, int)
        or max_findings_per_rule < 1
    ):
        raise EfficacyError(
            f"max_findings_per_rule={max_findings_per_rule!r} must be a positive integer or None"
        )
    proto = load_protocol(protocol if protocol is not None else DEFAULT_PROTOCOL)
    cache = rule_cache(trial)
    ctx = Context(trial, proto, cache.views)
    now = value_of(proto, trial)
    statuses: dict[str, RuleStatus] = {}
    frames: list[pd.DataFrame] = []
    for rule in rules_for(proto):
        stored = cache.find(rule.cache_key, now)
        if stored is None:
            reads = Reads(now)
            ctx.track(reads)
            try:
                status, frame = _run(rule, ctx)
            finally:
                ctx.track(None)
            if not status.reason.startswith(_CRASHED):  # a crash runs again next time
                cache.store(rule.cache_key, Stored(MappingProxyType(reads.seen), status, frame))
        else:
            status, frame = stored.status, stored.frame
        status, frame = _cap(rule, status, frame, max_findings_per_rule)
        statuses[rule.id] = status
        if frame is not None and len(frame):
            frames.append(frame)
    frame = pd.concat(frames, ignore_index=True) if frames else empty_frame()
    if "adam" in trial.manifest.raw:  # ADaM input: findings name datasets and variables
        from efficacy.io.adam_speak import speak_adam

        frame = speak_adam(trial, frame)
    return ValidationReport(
        trial_id=str(trial.manifest.id or ""),
        protocol_id=proto.id,
        protocol_version=proto.version,
        rules=statuses,
        frame=_typed(frame),
        max_findings_per_rule=max_findings_per_rule,
    )


_CRASHED = "rule crashed: "


def _run(rule: Rule, ctx: Context) -> tuple[RuleStatus, pd.DataFrame | None]:
    """Run `rule`: its status and every finding (``n_listed`` counts them all)."""

    def status(state: Status, reason: str = "", /, **counts: int) -> RuleStatus:
        return RuleStatus(
            rule.id,
            rule.title,
            rule.category,
            rule.severity,
            rule.source,
            state,
            reason,
            **counts,
        )

    try:
        frame = _collect(rule, rule.check(ctx))
    except NotApplicable as exc:
        return status("not_applicable", str(exc)), None
    except CouldNotRun as exc:
        return status("could_not_run", str(exc)), None
    except Exception as exc:
        return status("could_not_run", f"{_CRASHED}{type(exc).__name__}: {exc}"), None
    if frame is None or frame.empty:
        return status("passed"), None
    sev = text_counts(frame["severity"].array)
    counts = {f"n_{s}": sev.get(s, 0) for s in ("error", "warning", "notice")}
    return status("failed", n_listed=len(frame), **counts), frame


def _cap(
    rule: Rule, status: RuleStatus, frame: pd.DataFrame | None, cap: int | None
) -> tuple[RuleStatus, pd.DataFrame | None]:
    """Apply the findings cap to a rule's result (the counts keep every finding)."""
    if frame is None or cap is None or len(frame) <= cap:
        return status, frame
    frame = _capped(rule, frame, cap)
    return replace(status, n_listed=len(frame)), frame


def _collect(rule: Rule, parts: Iterable[Part]) -> pd.DataFrame | None:
    """Return the findings frame of a rule's parts: frames in order, then single findings."""
    frames: list[pd.DataFrame] = []
    singles: list[dict[str, Any]] = []
    for part in parts or ():
        if isinstance(part, pd.DataFrame):
            if len(part):
                frames.append(part)
        else:
            singles.append(part)
    if not frames and not singles:
        return None
    # one part keeps its index; parts put together are numbered from 0
    alone = len(frames) == 1 and not singles
    done = [_complete(rule, f, f.index if alone else None) for f in frames]
    if singles:
        done.append(_complete(rule, _records(singles), None))
    return done[0] if len(done) == 1 else pd.concat(done, ignore_index=True)


#: The dtype of each column of a findings frame: Arrow-backed text, nullable-integer row.
_TYPES = {c: (pd.Int64Dtype() if c == "row" else TEXT) for c in (*FINDING_COLUMNS, PATTERN)}


def _records(singles: list[dict[str, Any]]) -> dict[str, Any]:
    """Return single findings (:func:`~efficacy.validation.findings.at_trial`) as columns.

    Only the findings columns are kept, each cast to its type from the list of values
    (as casting a frame built from the records would, without that object frame): the
    columns :func:`_complete` reads, by name, like a frame's.
    """
    keys = [k for k in dict.fromkeys(k for d in singles for k in d) if k in _TYPES]
    return {k: _cast([d.get(k) for d in singles], _TYPES[k]) for k in keys}


def _cast(values: Any, dtype: Any) -> Any:
    """Return `values` (a list, a column or an array of `dtype`) as an array of `dtype`."""
    if isinstance(values, list):
        return _list_rows(values) if isinstance(dtype, pd.Int64Dtype) else _list_text(values)
    if values.dtype == dtype:
        return values.array if isinstance(values, pd.Series) else values
    return values.astype(dtype).array


#: Whole numbers up to this size are exact as floats (a records frame's row column).
_EXACT = 2**53


def _list_rows(values: list[Any]) -> Any:
    """Return the row numbers `values` (int or None) as a nullable-integer array.

    Typed as a records frame types them (float with NaN, then ``Int64``); a list of
    ints within float precision and None is built directly, with the same values.
    """
    if all(v is None or (type(v) is int and -_EXACT <= v <= _EXACT) for v in values):
        missing = np.fromiter((v is None for v in values), dtype=bool, count=len(values))
        ints = np.fromiter((0 if v is None else v for v in values), np.int64, len(values))
        return pd.arrays.IntegerArray(ints, missing)
    return pd.Series(values).astype(pd.Int64Dtype()).array


def _complete(
    rule: Rule, frame: pd.DataFrame | dict[str, Any], index: pd.Index | None
) -> pd.DataFrame:
    """Return `frame` with only the typed findings columns, filled in for `rule`.

    The rule's id and category; its severity where the finding sets none; the message as
    the pattern where the finding gives none. `frame` is a findings frame or the columns
    of :func:`_records`; `index` None numbers the rows from 0.
    """
    n = len(frame) if isinstance(frame, pd.DataFrame) else len(next(iter(frame.values())))
    if index is None:
        index = pd.RangeIndex(n)
    cols: dict[str, Any] = {}
    for c, dtype in _TYPES.items():
        if c == "rule_id" or c == "category":
            text = rule.id if c == "rule_id" else rule.category
            cols[c] = _text_array([text], np.zeros(n, dtype=np.int64))
        elif c == "severity":
            cols[c] = _filled(_cast(frame["severity"], dtype), rule.severity)
        elif c == PATTERN:
            message = cols["message"]
            given = PATTERN in frame
            pattern = _filled(_cast(frame[PATTERN], dtype), message) if given else message
            cols[c] = pattern.copy() if pattern is message else pattern  # no shared array
        else:
            cols[c] = _cast(frame[c], dtype)
    # no copy: each array is new or the part's own (a rule's part is its new frame)
    return pd.DataFrame(cols, index=index, copy=False)


def _filled(values: Any, fill: Any) -> Any:
    """Return the text array `values` with its missing cells from `fill` (text or array)."""
    missing = np.asarray(values.isna(), dtype=bool)
    if not missing.any():
        return values
    if isinstance(fill, str):
        if missing.all():
            return _text_array([fill], np.zeros(len(values), dtype=np.int64))
        return pd.Series(values).fillna(fill).array
    return pd.Series(values).fillna(pd.Series(fill)).array


def _typed(frame: pd.DataFrame) -> pd.DataFrame:
    """Select the findings columns and the pattern: Arrow-backed text, nullable-integer row."""
    columns = [*FINDING_COLUMNS, PATTERN]
    # `frame` is the validation's own new frame: selecting what it already is would copy
    out = frame if frame.columns.tolist() == columns else frame[columns]
    dtypes = out.dtypes.tolist()  # once: each ``out.dtypes`` builds a Series
    if all(t == dtypes[i] for i, t in enumerate(_TYPES.values())):
        return out  # already typed: astype would copy only
    return out.astype(_TYPES)


def _capped(rule: Rule, frame: pd.DataFrame, cap: int) -> pd.DataFrame:
    """Keep the first `cap` findings and add one that says how many were left out."""
    rest = frame.iloc[cap:]
    worst = next(s for s in ("error", "warning", "notice") if (rest["severity"] == s).any())
    tables = ", ".join(sorted(rest["table"].dropna().unique()))
    summary = {
        "rule_id": rule.id,
        "severity": worst,
        "category": rule.category,
        "table": tables,
        "column": None,
        "subject_id": None,
        "visit": None,
        "row": None,
        "value": None,
        "message": (
            f"... and {len(rest)} more {rule.id} findings not listed "
            f"(the listing is capped at {cap} per rule); rerun without the cap to list them all"
        ),
    }
    summary[PATTERN] = summary["message"]
    return pd.concat([frame.iloc[:cap], _typed(pd.DataFrame([summary]))], ignore_index=True)
