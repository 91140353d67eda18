"""Validation: every problem in a trial, located to the row, against a protocol.

:func:`validate` runs every registered data rule (schema, integrity, design, pro,
consort) and every requirement of the protocol (standard) over a
:class:`~efficacy.trial.Trial` and returns a :class:`ValidationReport`. It never raises on
data problems; each rule ends passed, failed, not_applicable or could_not_run.

Rule ids are public and stable (see :data:`RULES` and the protocol's requirement ids).

Findings at scale
-----------------
Every check is vectorised over whole columns (columns are factorized once per run and
lookups work on the distinct values), and findings are built column-wise: a rule turns
its offending rows into one findings DataFrame with Arrow-backed text, whose messages
are formatted once per distinct value. A report with millions of findings is therefore
one frame (``report.to_frame()``); the tuple of :class:`Finding` objects
(``report.findings``) is made only when first asked for. ``validate(...,
max_findings_per_rule=N)`` (CLI ``--max-findings N``) keeps N findings per rule plus one
summarising finding, while the per-rule and per-severity counts stay complete.

Measured on the 2-core CI machine with ``benchmarks/bench_validate.py`` (simulated
parallel trial, 1.01M measurement and 1.28M PRO rows): validate takes about 1.5 s of CPU
on clean data and about 4 s with 2.5M findings.
"""

from __future__ import annotations

from efficacy.validation.engine import validate
from efficacy.validation.findings import FINDING_COLUMNS, Finding, FindingGroup  # noqa: F401
from efficacy.validation.registry import CATEGORIES, RULES, Rule, rules_for  # noqa: F401
from efficacy.validation.report import (
    STATUSES,  # noqa: F401
    RuleStatus,
    ValidationFailedError,  # noqa: F401
    ValidationReport,
)

#: What a user calls; the other imported names stay importable from here
#: (ValidationFailedError lives in :mod:`efficacy.errors`).
__all__ = [
    "RULES",
    "Finding",
    "FindingGroup",
    "RuleStatus",
    "ValidationReport",
    "rules_for",
    "validate",
]
