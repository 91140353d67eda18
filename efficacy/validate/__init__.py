"""Validation: every problem in a trial, located to the row, against a protocol.

:func:`validate` runs every registered data rule (schema, integrity, design, pro,
consort) and every requirement of the protocol (standard) over a
:class:`~efficacy.trial.Trial` and returns a :class:`ValidationReport`. It never raises on
data problems; each rule ends passed, failed, not_applicable or could_not_run.

Rule ids are public and stable (see :data:`RULES` and the protocol's requirement ids).
"""

from __future__ import annotations

from efficacy.validate import (  # noqa: F401 - importing registers the data rules
    rules_consort,
    rules_cutometer,
    rules_design,
    rules_integrity,
    rules_pro,
    rules_schema,
)
from efficacy.validate.engine import validate
from efficacy.validate.findings import FINDING_COLUMNS, Finding
from efficacy.validate.registry import CATEGORIES, RULES, Rule, rules_for
from efficacy.validate.report import (
    STATUSES,
    RuleStatus,
    ValidationFailedError,
    ValidationReport,
)

__all__ = [
    "CATEGORIES",
    "FINDING_COLUMNS",
    "RULES",
    "STATUSES",
    "Finding",
    "Rule",
    "RuleStatus",
    "ValidationFailedError",
    "ValidationReport",
    "rules_for",
    "validate",
]
