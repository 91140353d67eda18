"""The ``[analysis]`` section of a protocol: the prespecified statistical analysis plan.

Read by :func:`efficacy.analysis.analyze`. Like ``[scoring]`` the section is optional
(a protocol without it validates data but cannot be analysed); when present it is
checked completely at load time, every problem reported at once, unknown keys are errors,
and omitted keys take the defaults of :data:`ANALYSIS_PARAMETERS` and its sub-tables.
A protocol that ``extends`` another merges the section key by key (sub-tables
``[analysis.parallel]``, ``[analysis.split_face]`` and ``[analysis.sensitivity]`` key by
key too; ``[[analysis.responders]]`` replaces the list).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from efficacy.instruments.catalogue import ENDPOINTS
from efficacy.protocol.params import ParamSpec, normalise_parameters

__all__ = [
    "ANALYSIS_PARAMETERS",
    "MODEL_PARAMETERS",
    "MULTIPLICITY_METHODS",
    "RESPONDER_PARAMETERS",
    "SENSITIVITY_PARAMETERS",
    "check_analysis",
    "merge_analysis",
]

#: Multiplicity procedures for the key secondary family.
MULTIPLICITY_METHODS: tuple[str, ...] = ("holm", "hochberg", "fixed-sequence", "none")
_COVARIANCES = ("us", "cs", "csh", "ar1", "ar1h", "toep", "toeph", "ad", "adh")
_DF = ("kenward-roger", "kenward-roger-linear", "satterthwaite", "residual", "between-within")
_POPULATIONS = ("itt", "per_protocol")
_PRO_PREFIXES = ("skindex16_", "faceq_")
_SUBTABLES = ("parallel", "split_face", "sensitivity")

#: Scalar keys of ``[analysis]``.
ANALYSIS_PARAMETERS: Mapping[str, ParamSpec] = {
    "primary": ParamSpec("str", None, "Primary endpoint id (catalogue or PRO endpoint)."),
    "key_secondary": ParamSpec(
        "str_list", (), "Key secondary endpoints, in testing order (multiplicity family)."
    ),
    "secondary": ParamSpec("str_list", (), "Other secondary endpoints (unadjusted)."),
    "populations": ParamSpec(
        "str_list", _POPULATIONS, "Efficacy populations analysed.", choices=_POPULATIONS
    ),
    "harms_population": ParamSpec(
        "str", "safety", "Population for harms (adverse events).", choices=("safety",)
    ),
    "alpha": ParamSpec("number", 0.05, "Two-sided significance level.", minimum=1e-6, maximum=0.5),
    "multiplicity": ParamSpec(
        "str", "holm", "Procedure for the key secondary family.", choices=MULTIPLICITY_METHODS
    ),
    "min_final_week": ParamSpec(
        "number", 12, "The estimand's visit is the final one and at least this week.", minimum=0
    ),
    "final_visit": ParamSpec(
        "str", "last", "Visit id of the estimand, or 'last' (the last scheduled visit)."
    ),
    "covariates": ParamSpec(
        "str_list", (), "Prespecified subject-level covariates (subjects table columns)."
    ),
    "confidence_level": ParamSpec(
        "number", 0.95, "Confidence level of intervals.", minimum=0.5, maximum=0.999
    ),
}

#: Keys of ``[analysis.parallel]`` and ``[analysis.split_face]`` (model per design).
MODEL_PARAMETERS: Mapping[str, ParamSpec] = {
    "covariance": ParamSpec("str", "us", "Within-subject covariance.", choices=_COVARIANCES),
    "fallback": ParamSpec(
        "str_list",
        ("toeph", "ar1h", "cs"),
        "Structures tried in order when the covariance does not converge.",
        choices=_COVARIANCES,
    ),
    "df": ParamSpec("str", "kenward-roger", "Denominator degrees of freedom.", choices=_DF),
    "method": ParamSpec("str", "reml", "Estimation method.", choices=("reml", "ml")),
    "adjust_baseline": ParamSpec(
        "bool", True, "Adjust for the baseline value (split-face: baseline difference)."
    ),
}

#: Keys of ``[analysis.sensitivity]`` (missing-data sensitivity of the primary endpoint).
SENSITIVITY_PARAMETERS: Mapping[str, ParamSpec] = {
    "tipping_point": ParamSpec(
        "bool", True, "Delta-adjusted multiple-imputation tipping-point analysis."
    ),
    "imputations": ParamSpec("int", 50, "Number of imputations.", minimum=2, maximum=10000),
    "seed": ParamSpec("int", 20250101, "Seed of the imputations.", minimum=0),
    "delta_steps": ParamSpec("int", 21, "Grid points from 0 to the largest delta.", minimum=2),
    "delta_max_sd": ParamSpec(
        "number",
        2.0,
        "Largest delta, in SDs of the observed change at the final visit.",
        minimum=0,
        maximum=100,
    ),
}

#: Keys of each ``[[analysis.responders]]`` table.
RESPONDER_PARAMETERS: Mapping[str, ParamSpec] = {
    "endpoint": ParamSpec("str", None, "Endpoint id."),
    "kind": ParamSpec(
        "str",
        None,
        "Responder definition.",
        choices=("absolute", "percent", "half_baseline_sd"),
    ),
    "threshold": ParamSpec("number", 0, "Positive magnitude (omit for half_baseline_sd)."),
    "direction": ParamSpec(
        "str", "catalogue", "higher | lower | catalogue.", choices=("higher", "lower", "catalogue")
    ),
    "logistic": ParamSpec("bool", False, "Also fit a baseline-adjusted logistic model."),
}


def _endpoint_problems(plan: Mapping[str, Any]) -> list[str]:
    problems: list[str] = []
    named = [plan.get("primary")] if isinstance(plan.get("primary"), str) else []
    for key in ("key_secondary", "secondary"):
        value = plan.get(key, ())
        named += list(value) if isinstance(value, tuple) else []
    unknown = [e for e in named if e not in ENDPOINTS and not e.startswith(_PRO_PREFIXES)]
    if unknown:
        problems.append(
            f"[analysis] endpoints {unknown} are neither catalogue endpoints nor PRO "
            "endpoints (skindex16_<domain>, faceq_<scale>)"
        )
    dupes = sorted({e for e in named if named.count(e) > 1})
    if dupes:
        problems.append(f"[analysis] endpoints {dupes} are listed more than once")
    if not plan.get("populations", _POPULATIONS):
        problems.append("[analysis] 'populations' must name at least one population")
    return problems


def _check_responders(rules: Any) -> tuple[tuple[dict[str, Any], ...], list[str]]:
    if not isinstance(rules, list | tuple):
        return (), ["[analysis] 'responders' must be a list of tables ([[analysis.responders]])"]
    out, problems = [], []
    for i, rule in enumerate(rules, start=1):
        where = f"[analysis] responders #{i}"
        if not isinstance(rule, Mapping):
            problems.append(f"{where} must be a table")
            continue
        values, errs = normalise_parameters(where, RESPONDER_PARAMETERS, rule)
        problems += errs
        half = values.get("kind") == "half_baseline_sd"
        if half and "threshold" in rule:
            problems.append(f"{where}: omit threshold for kind 'half_baseline_sd'")
        if not half and not errs and not values["threshold"] > 0:
            problems.append(f"{where}: threshold must be a positive number")
        out.append(values)
    return tuple(out), problems


def check_analysis(section: Any) -> tuple[dict[str, Any], list[str]]:
    """Check an ``[analysis]`` table; return (normalised plan, every problem).

    An empty section stays empty (the protocol has no analysis plan). Otherwise the plan
    is complete: scalar keys of :data:`ANALYSIS_PARAMETERS`, the sub-tables
    ``parallel`` and ``split_face`` (:data:`MODEL_PARAMETERS`), ``sensitivity``
    (:data:`SENSITIVITY_PARAMETERS`) and ``responders`` (a tuple of tables of
    :data:`RESPONDER_PARAMETERS`), defaults filled in.
    """
    if not isinstance(section, Mapping):
        return {}, ["[analysis] must be a table"]
    if not section:
        return {}, []
    scalars = {k: v for k, v in section.items() if k not in (*_SUBTABLES, "responders")}
    plan, problems = normalise_parameters("[analysis]", ANALYSIS_PARAMETERS, scalars)
    specs = {"parallel": MODEL_PARAMETERS, "split_face": MODEL_PARAMETERS}
    specs["sensitivity"] = SENSITIVITY_PARAMETERS
    for name, spec in specs.items():
        sub = section.get(name, {})
        if not isinstance(sub, Mapping):
            problems.append(f"[analysis.{name}] must be a table")
            sub = {}
        plan[name], errs = normalise_parameters(f"[analysis.{name}]", spec, sub)
        problems += errs
    plan["responders"], errs = _check_responders(section.get("responders", ()))
    problems += errs
    if not problems:
        problems += _endpoint_problems(plan)
    return plan, problems


def merge_analysis(base: Mapping[str, Any], override: Mapping[str, Any]) -> dict[str, Any]:
    """Merge an extending protocol's ``[analysis]`` over its base's (sub-tables key-wise)."""
    merged = dict(base)
    for key, value in override.items():
        old = merged.get(key)
        if key in _SUBTABLES and isinstance(old, Mapping) and isinstance(value, Mapping):
            merged[key] = {**old, **value}
        else:
            merged[key] = value
    return merged
