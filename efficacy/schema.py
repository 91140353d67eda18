"""The canonical tables of a trial: their columns, kinds and meanings (public contract).

:data:`TABLE_SCHEMAS` is the one definition of every table a bundle may hold, read by the
readers (:mod:`efficacy.io`), validation (the schema rules) and the README. Four tables
carry the trial (``subjects``, ``measurements``, ``pro_responses``, ``adverse_events``);
:data:`OPTIONAL_TABLES` may be absent without a finding (``deviations``,
``intercurrent_events``): the stage that reads one says when it was not supplied.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal

__all__ = [
    "CLAIM_CATEGORIES",
    "DESIGNS",
    "DISPOSITIONS",
    "OPTIONAL_TABLES",
    "TABLE_SCHEMAS",
    "Column",
    "ColumnKind",
]

ColumnKind = Literal["str", "float", "int", "bool", "date", "fitzpatrick"]

#: Allowed values of ``[trial] design``.
DESIGNS: tuple[str, ...] = ("parallel", "split_face")

#: Allowed values of ``subjects.disposition``.
DISPOSITIONS: tuple[str, ...] = (
    "completed",
    "discontinued",
    "lost_to_follow_up",
    "screen_failure",
)

#: Claim categories a trial may declare in ``[[claims]]`` (``category``); rule packs name
#: the categories each requirement bears on. Defined here, beside the other allowed
#: values, so that a protocol loads without pandas; :mod:`efficacy.trial` re-exports it.
CLAIM_CATEGORIES: tuple[str, ...] = (
    "anti_wrinkle",
    "moisturising",
    "firming",
    "elasticity",
    "barrier_repair",
    "appearance",
    "quality_of_life",
)


@dataclass(frozen=True)
class Column:
    """One column of a canonical table.

    Parameters
    ----------
    name : str
        snake_case column name, as it must appear in the file header.
    kind : {"str", "float", "int", "bool", "date", "fitzpatrick"}
        Target type. ``bool`` reads true/false, Y/N, yes/no and 1/0 (any case);
        ``date`` reads ISO 8601 dates; ``fitzpatrick`` reads I-VI or 1-6 and is stored as
        the Roman numeral string.
    required : bool
        A file lacking a required column is a schema *error*; lacking an optional one is
        a *notice* (rules that need it report ``could_not_run``).
    description : str
        One line for the README and ``efficacy protocols show``.
    noted_when_absent : bool
        Whether validation notes an absent optional column (SCH-003). False for columns
        whose absence the stage reading them states itself (e.g. uncoded adverse events:
        the harms section says the AEs are not coded by organ class).
    """

    name: str
    kind: ColumnKind
    required: bool
    description: str
    noted_when_absent: bool = True


def _cols(*specs: tuple[str, ColumnKind, bool, str]) -> tuple[Column, ...]:
    return tuple(Column(*s) for s in specs)


def _quiet(*specs: tuple[str, ColumnKind, bool, str]) -> tuple[Column, ...]:
    return tuple(Column(*s, noted_when_absent=False) for s in specs)


#: Canonical schema of each table (public contract, documented in the README).
TABLE_SCHEMAS: Mapping[str, tuple[Column, ...]] = {
    "subjects": _cols(
        ("subject_id", "str", True, "Unique participant id (screened people included)."),
        ("arm", "str", False, "Arm id from [[arms]] (parallel design; empty if not randomised)."),
        (
            "allocation",
            "str",
            False,
            "Split-face only: body site to arm, e.g. 'left_cheek=TRT;right_cheek=CTL'.",
        ),
        ("randomized", "bool", True, "Was the person randomised."),
        ("itt", "bool", True, "Member of the intention-to-treat population."),
        ("per_protocol", "bool", False, "Member of the per-protocol population."),
        ("safety", "bool", False, "Member of the safety population."),
        (
            "disposition",
            "str",
            True,
            "completed | discontinued | lost_to_follow_up | screen_failure.",
        ),
        ("discontinuation_reason", "str", False, "Reason for screen failure or discontinuation."),
        ("age", "float", False, "Age in years at screening."),
        ("sex", "str", False, "Sex (F / M or female / male)."),
        ("fitzpatrick", "fitzpatrick", False, "Fitzpatrick skin phototype I-VI."),
        ("randomization_date", "date", False, "Date of randomisation (ISO 8601)."),
        ("site_id", "str", False, "Study site (centre) id."),
    )
    + _quiet(
        (
            "pp_exclusion_reason",
            "str",
            False,
            "Why the participant is not in the per-protocol population (empty when in it).",
        ),
    ),
    "measurements": _cols(
        ("subject_id", "str", True, "Participant id (subjects.subject_id)."),
        ("visit", "str", True, "Visit id from [[visits]]."),
        ("day", "int", True, "Study day of the measurement."),
        ("endpoint", "str", True, "Endpoint id from the catalogue, e.g. cutometer_r2."),
        ("value", "float", True, "Measured value, in `unit`."),
        ("unit", "str", True, "Unit string: mm, um (µm), mm3, ratio, a.u., g/m2/h."),
        ("body_site", "str", True, "Body site, e.g. left_cheek."),
        ("device", "str", False, "Instrument make and model, e.g. 'Cutometer MPA 580'."),
        ("device_settings", "str", False, "Settings, e.g. 'probe=2mm;suction=450mbar'."),
        ("temperature_c", "float", False, "Room temperature (°C)."),
        ("humidity_pct", "float", False, "Room relative humidity (%)."),
    ),
    "pro_responses": _cols(
        ("subject_id", "str", True, "Participant id."),
        ("visit", "str", True, "Visit id."),
        ("day", "int", False, "Study day of completion."),
        ("instrument", "str", True, "skindex16 | faceq."),
        ("scale", "str", True, "Scale id within the instrument (Skindex-16: its domain)."),
        ("item", "int", True, "Item number within the instrument (Skindex-16: 1-16)."),
        ("response", "float", False, "Item response; empty when not answered."),
    ),
    "adverse_events": _cols(
        ("subject_id", "str", True, "Participant id."),
        ("term", "str", True, "Adverse event term (e.g. MedDRA preferred term)."),
        ("severity", "str", True, "mild | moderate | severe."),
        ("serious", "bool", True, "Serious adverse event."),
        ("related", "bool", False, "Judged related to the product."),
        ("onset_day", "int", False, "Study day of onset."),
        ("body_site", "str", False, "Body site affected, if local."),
    )
    + _quiet(
        ("soc", "str", False, "Coded system organ class (e.g. MedDRA SOC; never shipped)."),
        ("pt", "str", False, "Coded preferred term (e.g. MedDRA PT; never shipped)."),
        ("led_to_discontinuation", "bool", False, "The event led to stopping the product."),
        ("fatal", "bool", False, "The event was fatal."),
    ),
    "deviations": _cols(
        ("subject_id", "str", True, "Participant id."),
        ("category", "str", True, "Deviation category, e.g. 'prohibited product use'."),
        ("description", "str", False, "What happened."),
        ("major", "bool", True, "Major (important) deviation."),
        ("day", "int", False, "Study day of the deviation."),
    ),
    "intercurrent_events": _cols(
        ("subject_id", "str", True, "Participant id."),
        ("visit", "str", False, "Visit id of the first visit the event affects."),
        ("day", "int", False, "Study day of the event (when no visit is given)."),
        (
            "event",
            "str",
            True,
            "discontinued_product | prohibited_product | rescue_treatment | ...",
        ),
    ),
}

#: Tables a bundle may leave out without a validation finding.
OPTIONAL_TABLES: tuple[str, ...] = ("deviations", "intercurrent_events")
