"""The keys ``[analysis]`` and its sub-tables accept: types, defaults, meanings.

One table of :class:`~efficacy.protocol.params.ParamSpec` per section, read by
:func:`efficacy.protocol.analysis_params.check_analysis` (which re-exports the public
ones) and listed by ``efficacy protocols show``.
"""

from __future__ import annotations

from collections.abc import Mapping

from efficacy.protocol.params import ParamSpec

#: Multiplicity procedures for the key secondary family.
MULTIPLICITY_METHODS: tuple[str, ...] = ("holm", "hochberg", "fixed-sequence", "none")
_COVARIANCES = ("us", "cs", "csh", "ar1", "ar1h", "toep", "toeph", "ad", "adh")
#: ``vcov`` of the MMRM (efficacy.mmrm.spec.VCOV_METHODS; the protocol layer does not
#: import the engine).
_VCOV = ("model-based", "empirical", "empirical-jackknife", "empirical-bias-reduced")
_DF = ("kenward-roger", "kenward-roger-linear", "satterthwaite", "residual", "between-within")
_POPULATIONS = ("itt", "per_protocol")
_PRO_PREFIXES = ("skindex16_", "faceq_")
_SUBTABLES = ("parallel", "split_face", "sensitivity", "subgroups")

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
    "vcov": ParamSpec(
        "str",
        "model-based",
        "Coefficient covariance: model-based, or R mmrm's robust sandwich estimators "
        "empirical (CR0), empirical-jackknife (CR3), empirical-bias-reduced (CR2); "
        "these need df satterthwaite, residual or between-within.",
        choices=_VCOV,
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
    "imputation": ParamSpec(
        "str",
        "MAR",
        "Imputation of the tipping point: MAR by arm, or J2R (jump to reference; delta "
        "added on top).",
        choices=("MAR", "J2R"),
    ),
    "scale": ParamSpec(
        "str",
        "additive",
        "Tipping-point delta: additive (in the endpoint's unit) or multiplicative (a "
        "fraction of each imputed value's magnitude, grid 0 to 1).",
        choices=("additive", "multiplicative"),
    ),
    "ancova": ParamSpec(
        "bool",
        False,
        "ANCOVA of the primary endpoint at the estimand's visit (change ~ baseline + "
        "covariates + arm, observed cases) as a sensitivity analysis of the MMRM.",
    ),
}

#: Subgroup variables ``[analysis.subgroups] by`` may name: subjects-table columns, and
#: ``age_band`` (age cut at ``age_bands``).
SUBGROUP_VARIABLES: tuple[str, ...] = ("fitzpatrick", "sex", "age_band")

#: Keys of ``[analysis.subgroups]`` (the primary estimate by subgroup, ITT).
SUBGROUP_PARAMETERS: Mapping[str, ParamSpec] = {
    "by": ParamSpec(
        "str_list",
        SUBGROUP_VARIABLES,
        "Subgroup variables, in report order (an empty list: no subgroup analyses).",
        choices=SUBGROUP_VARIABLES,
    ),
    "age_bands": ParamSpec(
        "number_list",
        (35.0, 50.0),
        "Ages (years) where the age bands are cut, increasing: [35, 50] gives <35, "
        "35 to <50 and >=50.",
    ),
    "min_per_arm": ParamSpec(
        "int",
        5,
        "Fewest participants per arm (split-face: in all) with a final-visit value for a "
        "subgroup to be estimated; smaller subgroups are reported as not estimable.",
        minimum=2,
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
