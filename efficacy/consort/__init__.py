"""CONSORT: participant and body-site flow from the data, and the 2025 checklist.

:func:`consort_flow` counts the flow diagram from the subjects table;
:func:`evaluate_checklist` says, for each CONSORT 2025 entry (and the within-person and
PRO extension items where they apply), whether the data or the bundle's attested
``[consort]`` metadata covers it, and where.
"""

from __future__ import annotations

from efficacy.consort._flowdata import allocated_units  # noqa: F401
from efficacy.consort.checklist import (
    STATUSES,  # noqa: F401
    Checklist,
    ChecklistEntry,
    checklist_items,  # noqa: F401
    evaluate_checklist,
)
from efficacy.consort.flow import DEFINITIONS, ArmFlow, Check, Flow, Tally, consort_flow  # noqa: F401

#: What a user calls; the parts of a Flow and the definitions stay importable.
__all__ = [
    "Checklist",
    "ChecklistEntry",
    "Flow",
    "consort_flow",
    "evaluate_checklist",
]
