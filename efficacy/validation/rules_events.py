"""Intercurrent-event rules (ICE-*): the optional ``intercurrent_events`` table.

The table (subject_id, visit or day, event) feeds the estimands' strategies
(:func:`efficacy.analysis.intercurrent.intercurrent_events`); a row these rules flag is
left out of the analysis, so each is an error. Absent table: not applicable (events are
then derived from disposition).
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np

from efficacy.validation._rule import Rule, rule
from efficacy.validation.context import Context
from efficacy.validation.findings import Part, at_rows, text_by

_SOURCE = "ICH E9(R1) addendum A.3.1 (intercurrent events); bundle format (schema.py)"
_TABLE = "intercurrent_events"


@rule(
    "ICE-001",
    "Intercurrent event of a listed subject",
    "integrity",
    "error",
    _SOURCE,
    "An intercurrent_events row names a subject_id absent from the subjects table.",
)
def check_event_subjects(ctx: Context) -> Iterator[Part]:
    """Find intercurrent events of unknown subjects."""
    t = ctx.need(_TABLE, "subject_id")
    ctx.need("subjects", "subject_id")
    bad = ~ctx.blank(_TABLE, "subject_id") & ~ctx.isin(_TABLE, "subject_id", ctx.subject_ids)
    if bad.any():
        rows = t[bad]
        yield at_rows(
            rows,
            table=_TABLE,
            column="subject_id",
            message="subject_id "
            + text_by(rows["subject_id"], repr)
            + " is not in the subjects table; add the subject or correct the id",
        )


@rule(
    "ICE-002",
    "Intercurrent event at a scheduled visit",
    "integrity",
    "error",
    _SOURCE,
    "An intercurrent_events row names a visit that is not in the trial's visit schedule.",
)
def check_event_visits(ctx: Context) -> Iterator[Part]:
    """Find intercurrent events at unknown visits."""
    t = ctx.need(_TABLE, "visit")
    known = list(ctx.visits)
    bad = ~ctx.blank(_TABLE, "visit") & ~ctx.isin(_TABLE, "visit", known)
    if bad.any():
        rows = t[bad]
        yield at_rows(
            rows,
            table=_TABLE,
            column="visit",
            message="visit "
            + text_by(rows["visit"], repr)
            + f" is not a scheduled visit ({', '.join(known)}); use one of them or give the day",
        )


@rule(
    "ICE-003",
    "Intercurrent event has a visit or a day",
    "integrity",
    "error",
    _SOURCE,
    "An intercurrent_events row gives neither the visit it first affects nor its study day.",
)
def check_event_timing(ctx: Context) -> Iterator[Part]:
    """Find intercurrent events with neither visit nor day."""
    t = ctx.need(_TABLE)
    n = len(t)
    no_visit = ctx.blank(_TABLE, "visit") if "visit" in t else np.ones(n, dtype=bool)
    no_day = t["day"].isna().to_numpy(bool) if "day" in t else np.ones(n, dtype=bool)
    bad = no_visit & no_day
    if bad.any():
        yield at_rows(
            t[bad],
            table=_TABLE,
            column="visit",
            value="",
            message="the event has neither a visit nor a day; give the first visit it "
            "affects (visit) or its study day (day)",
        )


#: The intercurrent-event rules, in report order.
RULES: tuple[Rule, ...] = (check_event_subjects, check_event_visits, check_event_timing)
