"""CONSORT: participant and body-site flow from the data, and the 2025 checklist.

:func:`consort_flow` counts the flow diagram from the subjects table;
:func:`evaluate_checklist` says, for each CONSORT 2025 entry (and the within-person and
PRO extension items where they apply), whether the data or the bundle's attested
``[consort]`` metadata covers it, and where.
"""

from __future__ import annotations

from efficacy.consort._flowdata import allocated_units
from efficacy.consort.checklist import (
    STATUSES,
    Checklist,
    ChecklistEntry,
    checklist_items,
    evaluate_checklist,
)
from efficacy.consort.flow import DEFINITIONS, ArmFlow, Check, Flow, Tally, consort_flow

__all__ = [
    "DEFINITIONS",
    "STATUSES",
    "ArmFlow",
    "Check",
    "Checklist",
    "ChecklistEntry",
    "Flow",
    "Tally",
    "allocated_units",
    "checklist_items",
    "consort_flow",
    "evaluate_checklist",
]
