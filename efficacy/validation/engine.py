"""Run every rule over a trial and collect the findings into a report."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import replace
from types import MappingProxyType
from typing import Any

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
    empty_frame,
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
            reads = Reads()
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
    sev = frame["severity"].value_counts()
    counts = {f"n_{s}": int(sev.get(s, 0)) for s in ("error", "warning", "notice")}
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
    frames: list[pd.DataFrame] = []
    singles: list[dict[str, Any]] = []
    for part in parts or ():
        if isinstance(part, pd.DataFrame):
            if len(part):
                frames.append(part)
        else:
            singles.append(part)
    if singles:
        frames.append(pd.DataFrame.from_records(singles))
    if not frames:
        return None
    frame = pd.concat(frames, ignore_index=True) if len(frames) > 1 else frames[0]
    frame = frame.assign(rule_id=rule.id, category=rule.category)
    if PATTERN not in frame.columns:  # a frame built without at_rows: group by message
        frame = frame.assign(**{PATTERN: frame["message"]})
    else:
        frame[PATTERN] = frame[PATTERN].fillna(frame["message"])
    return _typed(frame.assign(severity=frame["severity"].fillna(rule.severity)))


def _typed(frame: pd.DataFrame) -> pd.DataFrame:
    """Select the findings columns and the pattern: Arrow-backed text, nullable-integer row."""
    columns = (*FINDING_COLUMNS, PATTERN)
    types = {c: ("Int64" if c == "row" else TEXT) for c in columns}
    out = frame[list(columns)]
    if all(out[c].dtype == t for c, t in types.items()):
        return out  # already typed (a selection is a new frame): astype would copy only
    return out.astype(types)


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
