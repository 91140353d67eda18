"""Parameter schemas: what each requirement *check* and the ``[validation]`` section accept.

A protocol is data, but the code that evaluates it needs typed, known parameters: a
misspelt key must be an error, never a silently weakened check. Each requirement names a
``check`` (the family of code that evaluates it) and that check's :class:`ParamSpec`
table lists the parameters it accepts, their types, limits and defaults.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Literal

from efficacy.instruments.catalogue import ENDPOINTS, MODALITIES

__all__ = [
    "CHECKS",
    "CONFIDENCES",
    "CONSORT_ITEMS",
    "PRO_INSTRUMENTS",
    "SCORING_KEYS",
    "SEVERITIES",
    "VALIDATION_PARAMETERS",
    "ParamSpec",
    "check_scoring",
    "normalise_parameters",
]

#: Finding severities, most severe first.
SEVERITIES: tuple[str, ...] = ("error", "warning", "notice")

#: How firmly a requirement's source backs it (a requirement's ``confidence``).
CONFIDENCES: tuple[str, ...] = ("stated", "reported", "practice")

#: PRO instruments the package knows (FACTS.md sections 2 and 3).
PRO_INSTRUMENTS: tuple[str, ...] = ("skindex16", "faceq")

ParamType = Literal["number", "int", "bool", "str", "str_list", "range", "number_list"]


@dataclass(frozen=True)
class ParamSpec:
    """One accepted parameter.

    Parameters
    ----------
    type : {"number", "int", "bool", "str", "str_list", "range", "number_list"}
        ``number`` accepts int or float; ``range`` is a two-number list ``[low, high]``
        with ``low <= high``; ``str_list`` a list of strings; ``number_list`` a list of
        numbers (normalised to a tuple of floats).
    default : Any
        Value used when the protocol omits the parameter; ``None`` makes it required.
    description : str
        One line for ``efficacy protocols show`` and the README.
    minimum, maximum : float, optional
        Inclusive bounds for numbers.
    choices : tuple of str, optional
        Allowed values for ``str`` (and for each element of ``str_list``).
    """

    type: ParamType
    default: Any
    description: str
    minimum: float | None = None
    maximum: float | None = None
    choices: tuple[str, ...] | None = None


def _is_number(v: Any) -> bool:
    return isinstance(v, int | float) and not isinstance(v, bool) and math.isfinite(v)


def _check_value(name: str, spec: ParamSpec, value: Any) -> tuple[Any, list[str]]:
    """Return (normalised value, problems) for one parameter value."""
    t = spec.type
    if t == "bool":
        return value, ([] if isinstance(value, bool) else [f"{name} must be true or false"])
    if t == "str":
        if not isinstance(value, str) or not value.strip():
            return value, [f"{name} must be a non-empty string"]
        if spec.choices and value not in spec.choices:
            return value, [f"{name} = {value!r} is not one of {', '.join(spec.choices)}"]
        return value, []
    if t == "str_list":
        if not isinstance(value, list | tuple) or not all(isinstance(v, str) for v in value):
            return value, [f"{name} must be a list of strings"]
        allowed = spec.choices or ()
        bad = [v for v in value if allowed and v not in allowed]
        if bad:
            return value, [f"{name} has unknown values {bad}; allowed: {', '.join(allowed)}"]
        return tuple(value), []
    if t == "number_list":
        if not isinstance(value, list | tuple) or not all(map(_is_number, value)):
            return value, [f"{name} must be a list of numbers"]
        return tuple(float(v) for v in value), []
    if t == "range":
        ok = isinstance(value, list | tuple) and len(value) == 2 and all(map(_is_number, value))
        if not ok or value[0] > value[1]:
            return value, [f"{name} must be a list [low, high] of two numbers with low <= high"]
        return (float(value[0]), float(value[1])), []
    if t == "int" and not (isinstance(value, int) and not isinstance(value, bool)):
        return value, [f"{name} must be an integer"]
    if not _is_number(value):
        return value, [f"{name} must be a number"]
    if spec.minimum is not None and value < spec.minimum:
        return value, [f"{name} = {value} is below its minimum {spec.minimum}"]
    if spec.maximum is not None and value > spec.maximum:
        return value, [f"{name} = {value} is above its maximum {spec.maximum}"]
    return value, []


def normalise_parameters(
    where: str, specs: Mapping[str, ParamSpec], given: Mapping[str, Any]
) -> tuple[dict[str, Any], list[str]]:
    """Check `given` against `specs`, fill defaults, and return (values, problems).

    Every problem is collected (unknown keys, wrong types, missing required values);
    `where` prefixes each message (e.g. ``"requirement ISO-DUR parameter"``).
    """
    problems: list[str] = []
    values: dict[str, Any] = {}
    for key in given:
        if key not in specs:
            problems.append(
                f"{where} {key!r} is unknown; known: {', '.join(sorted(specs)) or 'none'}"
            )
    for key, spec in specs.items():
        if key not in given:
            if spec.default is None:
                problems.append(f"{where} {key!r} is required ({spec.description})")
            else:
                values[key] = spec.default
            continue
        value, errs = _check_value(f"{where} {key!r}", spec, given[key])
        problems.extend(errs)
        values[key] = value
    return values, problems


def _endpoints_of(modality: str) -> tuple[str, ...]:
    return tuple(e.id for e in ENDPOINTS.values() if e.modality == modality)


def _check_instrumental(values: Mapping[str, Any]) -> list[str]:
    """Cross-parameter checks of an ``instrumental`` requirement."""
    modality = values.get("modality")
    if modality not in MODALITIES:
        return []
    allowed = _endpoints_of(modality)
    wrong = [e for e in values.get("endpoints", ()) if e not in allowed]
    if wrong:
        return [
            f"endpoints {wrong} do not measure modality {modality!r}; "
            f"choose among {', '.join(allowed)}"
        ]
    return []


@dataclass(frozen=True)
class CheckKind:
    """A family of requirement checks: accepted parameters plus cross-checks."""

    name: str
    description: str
    parameters: Mapping[str, ParamSpec]
    cross_check: Callable[[Mapping[str, Any]], list[str]] | None = None


_ENDPOINT_IDS = tuple(ENDPOINTS)

#: Requirement check families and the parameters each accepts.
_ISO_CHECKS: Mapping[str, CheckKind] = {
    "duration": CheckKind(
        "duration",
        "Planned and observed follow-up of at least min_weeks.",
        {
            "min_weeks": ParamSpec("number", None, "Minimum follow-up in weeks.", minimum=0),
            "check_observed": ParamSpec(
                "bool",
                True,
                "Also require completers' observed follow-up (median last measurement day "
                "minus baseline day) to reach min_weeks.",
            ),
            "observed_tolerance_days": ParamSpec(
                "number",
                7,
                "Days the median observed follow-up may fall short of min_weeks * 7 "
                "(visit windows make a 12-week visit happen on day 77-91).",
                minimum=0,
            ),
        },
    ),
    "instrumental": CheckKind(
        "instrumental",
        "An instrumental modality measured at baseline and the final visit, with the "
        "device and its settings named.",
        {
            "modality": ParamSpec(
                "str", None, "Catalogue modality the endpoints measure.", choices=MODALITIES
            ),
            "endpoints": ParamSpec(
                "str_list",
                (),
                "Catalogue endpoint ids that satisfy the requirement (empty: every "
                "endpoint of the modality).",
                choices=_ENDPOINT_IDS,
            ),
            "require_device": ParamSpec(
                "bool", True, "Every counted measurement names its device."
            ),
            "require_settings": ParamSpec(
                "bool", True, "Every counted measurement names its device settings."
            ),
            "exclude_devices": ParamSpec(
                "str_list",
                (),
                "Device names (case-insensitive substrings) that cannot satisfy the "
                "requirement, e.g. 2D imaging systems for 3D wrinkle depth.",
            ),
        },
        _check_instrumental,
    ),
    "pro": CheckKind(
        "pro",
        "A validated patient-reported outcome answered at baseline and the final visit.",
        {
            "instrument": ParamSpec("str", None, "PRO instrument id.", choices=PRO_INSTRUMENTS),
            "scales": ParamSpec(
                "str_list",
                (),
                "Scales that must be answered (empty: any scale of the instrument).",
            ),
        },
    ),
    "controlled": CheckKind(
        "controlled",
        "Randomised with a concurrent control arm or control body site.",
        {
            "require_randomised": ParamSpec(
                "bool", True, "At least one randomised participant in each arm."
            ),
            "control": ParamSpec(
                "str",
                "arm_or_body_site",
                "Which control counts: a control arm (parallel), a control body site "
                "(split-face) or either.",
                choices=("arm_or_body_site", "arm", "body_site"),
            ),
        },
    ),
    "consort_checklist": CheckKind(
        "consort_checklist",
        "The CONSORT 2025 checklist is complete: every item is shown by the data or "
        "attested in trial.toml. Judged by the conformance report on its checklist "
        "(which needs the analysis results), not by efficacy validate.",
        {
            "allow_partial": ParamSpec("bool", False, "Count items reported in part as reported."),
            "extensions": ParamSpec(
                "bool",
                False,
                "Also require the items of the CONSORT extensions that apply (CONSORT-PRO, "
                "within-person).",
            ),
        },
    ),
}


def _check_between(values: Mapping[str, Any]) -> list[str]:
    low, high = values.get("min_weeks"), values.get("max_weeks")
    if isinstance(low, int | float) and isinstance(high, int | float) and low > high:
        return [f"min_weeks = {low} is above max_weeks = {high}"]
    return []


_ENDPOINTS_PARAM = ParamSpec(
    "str_list",
    (),
    "Catalogue endpoint ids the check reads (empty: the endpoints of the trial's "
    "declared claims in the requirement's claim categories).",
    choices=_ENDPOINT_IDS,
)

#: Check families of the jurisdiction rule packs (cn-nmpa-2021, kr-mfds, eu-655-2013,
#: us-fda), evaluated by :mod:`efficacy.validation.rules_packs`; reusable in any protocol.
PACK_CHECKS: Mapping[str, CheckKind] = {
    "min_valid_subjects": CheckKind(
        "min_valid_subjects",
        "At least min_n valid subjects: randomised, with the endpoint measured at baseline "
        "and at the final visit.",
        {
            "min_n": ParamSpec("int", None, "Minimum number of valid subjects.", minimum=1),
            "per_arm": ParamSpec(
                "bool", False, "Count each arm (or body-site product) apart, not the total."
            ),
            "endpoints": _ENDPOINTS_PARAM,
        },
    ),
    "duration_weeks_between": CheckKind(
        "duration_weeks_between",
        "Planned follow-up (final visit minus baseline, in weeks) within [min_weeks, max_weeks].",
        {
            "min_weeks": ParamSpec("number", None, "Shortest follow-up in weeks.", minimum=0),
            "max_weeks": ParamSpec("number", None, "Longest follow-up in weeks.", minimum=0),
        },
        _check_between,
    ),
    "instrument_named_for_endpoint": CheckKind(
        "instrument_named_for_endpoint",
        "Every measurement of the endpoints names a device of the named instruments.",
        {
            "endpoints": ParamSpec(
                "str_list", None, "Catalogue endpoint ids the rule covers.", choices=_ENDPOINT_IDS
            ),
            "devices": ParamSpec(
                "str_list",
                None,
                "Accepted instruments: case-insensitive fragments of the device name "
                "(e.g. Corneometer).",
            ),
        },
    ),
    "environment_conditions": CheckKind(
        "environment_conditions",
        "Room temperature and humidity of every measurement of the endpoints within the "
        "ranges, and the acclimatisation time stated in trial.toml [methods].",
        {
            "temperature_c": ParamSpec("range", None, "Room temperature window (degrees C)."),
            "humidity_pct": ParamSpec("range", None, "Relative humidity window (%)."),
            "min_acclimatisation_min": ParamSpec(
                "number",
                0,
                "Minimum acclimatisation in minutes stated as [methods] "
                "acclimatisation_min in trial.toml (0: not checked).",
                minimum=0,
            ),
            "endpoints": _ENDPOINTS_PARAM,
        },
    ),
    "p_threshold": CheckKind(
        "p_threshold",
        "Significance at two-sided p < max_p: the analysis plan's alpha is at most max_p "
        "(the claims matrix applies max_p to each claim's estimate).",
        {
            "max_p": ParamSpec(
                "number", None, "Largest p-value that counts as significant.", minimum=0, maximum=1
            ),
        },
    ),
    "design_stated": CheckKind(
        "design_stated",
        "The design's statements (e.g. blinding, randomisation method) are given in "
        "trial.toml [consort].",
        {
            "items": ParamSpec(
                "str_list",
                None,
                "[consort] keys that must be stated (non-empty text).",
            ),
        },
    ),
    "claim_evidence": CheckKind(
        "claim_evidence",
        "Every declared claim rests on an endpoint measured at baseline and at the final "
        "visit (the claims matrix then compares its estimate with min_effect).",
        {
            "require_claims": ParamSpec(
                "bool", False, "A trial that declares no [[claims]] fails the rule."
            ),
        },
    ),
    "claim_wording": CheckKind(
        "claim_wording",
        "No declared claim's text contains a term that presents the product as acting on "
        "the structure or function of the body (a drug claim by intended use).",
        {
            "drug_terms": ParamSpec(
                "str_list",
                None,
                "Case-insensitive word fragments that mark a structure/function claim.",
            ),
        },
    ),
}

#: Requirement check families and the parameters each accepts: the proposed standard's
#: (duration, instrumental, pro, controlled) and the rule packs' (:data:`PACK_CHECKS`).
CHECKS: Mapping[str, CheckKind] = {**_ISO_CHECKS, **PACK_CHECKS}

#: Default items of ``[consort]`` that CON-005 expects (contract, CON-005).
CONSORT_ITEMS: tuple[str, ...] = (
    "registration_id",
    "registration_registry",
    "registration_date",
    "protocol_location",
    "sap_location",
    "blinding",
    "randomisation_method",
    "allocation_concealment",
    "funding",
    "data_sharing",
)

#: Parameters of the ``[validation]`` section, used by the non-requirement rules.
VALIDATION_PARAMETERS: Mapping[str, ParamSpec] = {
    "pro_min_answered_fraction": ParamSpec(
        "number",
        0.5,
        "PRO-004 and scoring: missing-item rule f. A Skindex-16 domain is scorable when at "
        "least f of its items are answered (project convention, FACTS.md 2); a FACE-Q "
        "scale when fewer than 1 - f are missing (FACTS.md 3: exactly half missing is not "
        "scored).",
        minimum=0,
        maximum=1,
    ),
    "temperature_c": ParamSpec(
        "range",
        (18.0, 26.0),
        "INT-011: room temperature window in degrees C (QB/T 4256 asks 20-22; the wider "
        "window is a project heuristic).",
    ),
    "humidity_pct": ParamSpec(
        "range",
        (30.0, 70.0),
        "INT-011: room relative humidity window in % (QB/T 4256 asks 40-60; the wider "
        "window is a project heuristic).",
    ),
    "cutometer_rel_tol": ParamSpec(
        "number",
        0.01,
        "INT-008: relative tolerance when comparing Cutometer parameters with their amplitudes.",
        minimum=0,
        maximum=1,
    ),
    "consort_items": ParamSpec(
        "str_list",
        CONSORT_ITEMS,
        "CON-005: [consort] items that must be attested.",
    ),
}


#: Keys of the optional ``[scoring]`` section (read by
#: :meth:`efficacy.instruments.ScoringOptions.from_protocol`).
SCORING_KEYS: tuple[str, ...] = ("skindex16_overall", "cutometer_curves", "responders")
_RESPONDER_KEYS = ("endpoint", "kind", "threshold", "direction")


def check_scoring(section: Any) -> tuple[dict[str, Any], list[str]]:
    """Check a ``[scoring]`` table; return (normalised values, every problem).

    ``skindex16_overall`` is a flag; ``cutometer_curves`` a list of positive whole
    numbers (the replicate curves averaged); ``responders`` a list of tables with
    ``endpoint``, ``kind``, ``threshold``, ``direction`` checked as
    :class:`efficacy.instruments.derive.ResponderRule` checks them. Omitted keys stay
    omitted (the scorer's defaults apply).
    """
    if not isinstance(section, Mapping):
        return {}, ["[scoring] must be a table"]
    problems = [
        f"[scoring] key {k!r} is unknown; known: {', '.join(SCORING_KEYS)}"
        for k in section
        if k not in SCORING_KEYS
    ]
    out: dict[str, Any] = {}
    if "skindex16_overall" in section:
        value, errs = _check_value(
            "[scoring] 'skindex16_overall'",
            ParamSpec("bool", False, ""),
            section["skindex16_overall"],
        )
        problems += errs
        out["skindex16_overall"] = value
    if "cutometer_curves" in section:
        curves = section["cutometer_curves"]
        ok = isinstance(curves, list | tuple) and all(
            isinstance(c, int) and not isinstance(c, bool) and c >= 1 for c in curves
        )
        if not ok or not curves:
            problems.append("[scoring] 'cutometer_curves' must be a list of whole numbers >= 1")
        out["cutometer_curves"] = tuple(curves) if ok else curves
    if "responders" in section:
        rules, errs = _check_responders(section["responders"])
        problems += errs
        out["responders"] = rules
    return out, problems


def _check_responders(rules: Any) -> tuple[tuple[dict[str, Any], ...], list[str]]:
    from efficacy.errors import EfficacyError
    from efficacy.instruments.derive import ResponderRule

    if not isinstance(rules, list | tuple):
        return (), ["[scoring] 'responders' must be a list of tables ([[scoring.responders]])"]
    problems: list[str] = []
    out = []
    for i, rule in enumerate(rules, start=1):
        where = f"[scoring] responders #{i}"
        if not isinstance(rule, Mapping):
            problems.append(f"{where} must be a table")
            continue
        extra = sorted(set(rule) - set(_RESPONDER_KEYS))
        if extra:
            problems.append(f"{where}: unknown keys {extra}; known: {', '.join(_RESPONDER_KEYS)}")
        try:
            ResponderRule(
                rule.get("endpoint", ""),
                rule.get("kind", ""),
                rule.get("threshold"),
                rule.get("direction"),
            )
        except EfficacyError as exc:
            problems.append(f"{where}: {exc}")
        out.append(dict(rule))
    return tuple(out), problems
