"""The ``[analysis]`` section of a protocol: the prespecified statistical analysis plan.

Read by :func:`efficacy.analysis.analyze`. Like ``[scoring]`` the section is optional
(a protocol without it validates data but cannot be analysed); when present it is
checked completely at load time, every problem reported at once, unknown keys are errors,
and omitted keys take the defaults of :data:`ANALYSIS_PARAMETERS` and its sub-tables.
A protocol that ``extends`` another merges the section key by key (sub-tables
``[analysis.parallel]``, ``[analysis.split_face]`` and ``[analysis.sensitivity]`` key by
key too; ``[[analysis.responders]]`` and ``[[analysis.estimands]]`` replace the list).
Estimands: :mod:`efficacy.protocol.estimands`.
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping
from dataclasses import dataclass, field, fields, replace
from typing import Any

from efficacy.errors import ProtocolError
from efficacy.instruments.catalogue import ENDPOINTS
from efficacy.protocol._analysis_specs import (
    _POPULATIONS,
    _PRO_PREFIXES,
    _SUBTABLES,
    _VCOV,
    ANALYSIS_PARAMETERS,
    MODEL_PARAMETERS,
    MULTIPLICITY_METHODS,
    RESPONDER_PARAMETERS,
    SENSITIVITY_PARAMETERS,
    SUBGROUP_PARAMETERS,
    SUBGROUP_VARIABLES,
)
from efficacy.protocol.estimands import Estimand, check_estimands, default_estimands
from efficacy.protocol.params import normalise_parameters
from efficacy.protocol.reference_based import ReferenceBasedSpec, check_reference_based

__all__ = [
    "ANALYSIS_PARAMETERS",
    "MODEL_PARAMETERS",
    "MULTIPLICITY_METHODS",
    "RESPONDER_PARAMETERS",
    "SENSITIVITY_PARAMETERS",
    "SUBGROUP_PARAMETERS",
    "SUBGROUP_VARIABLES",
    "AnalysisPlan",
    "ModelSettings",
    "ResponderSpec",
    "SensitivitySettings",
    "SubgroupSettings",
    "check_analysis",
    "merge_analysis",
]


def _endpoint_problems(plan: Mapping[str, Any]) -> list[str]:
    problems: list[str] = []
    primary = plan.get("primary")
    named: list[str] = [primary] if isinstance(primary, str) else []
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


def _check_subgroups(sub: Any) -> tuple[dict[str, Any], list[str]]:
    """Check ``[analysis.subgroups]`` (:data:`SUBGROUP_PARAMETERS`); ages increasing."""
    where = "[analysis.subgroups]"
    if not isinstance(sub, Mapping):
        return {}, [f"{where} must be a table"]
    values, problems = normalise_parameters(where, SUBGROUP_PARAMETERS, sub)
    bands = values.get("age_bands")
    increasing = isinstance(bands, tuple) and all(b < c for b, c in itertools.pairwise(bands))
    if isinstance(bands, tuple) and (not bands or not increasing):
        problems.append(f"{where} 'age_bands' must be increasing ages, e.g. [35, 50]")
    return values, problems


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
    lists = ("responders", "estimands")
    scalars = {k: v for k, v in section.items() if k not in (*_SUBTABLES, *lists)}
    plan, problems = normalise_parameters("[analysis]", ANALYSIS_PARAMETERS, scalars)
    specs = {"parallel": MODEL_PARAMETERS, "split_face": MODEL_PARAMETERS}
    specs["sensitivity"] = SENSITIVITY_PARAMETERS
    plan["subgroups"], errs = _check_subgroups(section.get("subgroups", {}))
    problems += errs
    rb_raw: Any = ()
    for name, spec in specs.items():
        sub = section.get(name, {})
        if not isinstance(sub, Mapping):
            problems.append(f"[analysis.{name}] must be a table")
            sub = {}
        if name == "sensitivity":  # [[analysis.sensitivity.reference_based]]: checked below
            rb_raw = sub.get("reference_based", ())
            sub = {k: v for k, v in sub.items() if k != "reference_based"}
        plan[name], errs = normalise_parameters(f"[analysis.{name}]", spec, sub)
        problems += errs
    problems += _vcov_problems(plan)
    plan["responders"], errs = _check_responders(section.get("responders", ()))
    problems += errs
    if not problems:
        problems += _endpoint_problems(plan)
    if not problems:
        plan["sensitivity"]["reference_based"], problems = check_reference_based(rb_raw, plan)
    if not problems:
        plan["estimands"], problems = check_estimands(section.get("estimands", ()), plan)
    else:
        plan["estimands"] = ()
    return plan, problems


def _vcov_problems(plan: Mapping[str, Any]) -> list[str]:
    """Return the problems of an empirical ``vcov`` with Kenward-Roger df (R mmrm's rule)."""
    out = []
    for name in ("parallel", "split_face"):
        sub = plan.get(name) or {}
        vcov, df = sub.get("vcov", "model-based"), sub.get("df")
        if vcov in _VCOV[1:] and df in ("kenward-roger", "kenward-roger-linear"):
            out.append(
                f"[analysis.{name}] vcov = {vcov!r} cannot go with df = {df!r} (Kenward-Roger "
                "adjusts the covariance itself); set df = 'satterthwaite', 'residual' or "
                "'between-within'"
            )
    return out


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


@dataclass(frozen=True)
class ModelSettings:
    """The MMRM of one design (``[analysis.parallel]`` or ``[analysis.split_face]``).

    Attributes
    ----------
    covariance : str
        Within-subject covariance structure (``us``, ``cs``, ``ar1``, ...).
    fallback : tuple of str
        Structures tried in order when `covariance` does not converge.
    df : str
        Denominator degrees of freedom (``kenward-roger``, ``satterthwaite``, ...).
    method : {"reml", "ml"}
    adjust_baseline : bool
        Adjust for the baseline value (split-face: the baseline difference).
    vcov : str
        Coefficient covariance of ``fit_mmrm`` (``model-based``, ``empirical``,
        ``empirical-jackknife``, ``empirical-bias-reduced``).
    """

    covariance: str
    fallback: tuple[str, ...]
    df: str
    method: str
    adjust_baseline: bool
    vcov: str = "model-based"


@dataclass(frozen=True)
class SensitivitySettings:
    """``[analysis.sensitivity]``: the missing-data sensitivity of the primary endpoint.

    Attributes
    ----------
    tipping_point : bool
        Run the delta-adjusted multiple-imputation tipping-point analysis.
    imputations, seed, delta_steps : int
    delta_max_sd : float
        Largest delta, in SDs of the observed change at the final visit.
    imputation : {"MAR", "J2R"}
        Imputation of the tipping point (J2R: jump to reference, delta on top).
    scale : {"additive", "multiplicative"}
        Tipping-point delta scale.
    reference_based : tuple of ReferenceBasedSpec
        The ``[[analysis.sensitivity.reference_based]]`` analyses
        (:mod:`efficacy.protocol.reference_based`).
    ancova : bool
        Also run the ANCOVA of the primary endpoint at the estimand's visit
        (``analysis = "ancova"`` rows of the result).
    """

    tipping_point: bool
    imputations: int
    seed: int
    delta_steps: int
    delta_max_sd: float
    imputation: str = "MAR"
    scale: str = "additive"
    reference_based: tuple[ReferenceBasedSpec, ...] = ()
    ancova: bool = False


@dataclass(frozen=True)
class SubgroupSettings:
    """``[analysis.subgroups]``: the primary estimate by subgroup (:data:`SUBGROUP_PARAMETERS`).

    Attributes
    ----------
    by : tuple of str
        Subgroup variables (:data:`SUBGROUP_VARIABLES`), in report order.
    age_bands : tuple of float
        Increasing ages where the age bands are cut (``(35, 50)``: <35, 35 to <50, >=50).
    min_per_arm : int
        Fewest participants per arm with a final-visit value for a subgroup estimate.
    """

    by: tuple[str, ...] = SUBGROUP_VARIABLES
    age_bands: tuple[float, ...] = (35.0, 50.0)
    min_per_arm: int = 5


@dataclass(frozen=True)
class ResponderSpec:
    """One ``[[analysis.responders]]`` table.

    Attributes
    ----------
    endpoint : str
    kind : {"absolute", "percent", "half_baseline_sd"}
    threshold : float
        Positive magnitude; 0 (unused) for ``half_baseline_sd``.
    direction : {"higher", "lower", "catalogue"}
    logistic : bool
        Also fit a baseline-adjusted logistic model.
    """

    endpoint: str
    kind: str
    threshold: float
    direction: str
    logistic: bool

    def to_dict(self) -> dict[str, Any]:
        """Plain data, as the TOML table would give it (no threshold for half an SD)."""
        out: dict[str, Any] = {"endpoint": self.endpoint, "kind": self.kind}
        if self.kind != "half_baseline_sd":
            out["threshold"] = self.threshold
        return out | {"direction": self.direction, "logistic": self.logistic}


@dataclass(frozen=True)
class AnalysisPlan:
    """A protocol's ``[analysis]`` section: the prespecified statistical analysis plan.

    Built by :meth:`from_mapping` from a section checked by :func:`check_analysis`
    (complete, defaults filled in); read by :func:`efficacy.analysis.analyze`, the
    report and the CONSORT checklist. Keys and defaults: :data:`ANALYSIS_PARAMETERS`,
    :data:`MODEL_PARAMETERS`, :data:`SENSITIVITY_PARAMETERS`,
    :data:`RESPONDER_PARAMETERS`.

    Attributes
    ----------
    primary : str
        Primary endpoint id.
    key_secondary : tuple of str
        Key secondary endpoints in testing order (the multiplicity family).
    secondary : tuple of str
    populations : tuple of str
        ``itt`` and / or ``per_protocol``.
    harms_population : str
    alpha : float
        Two-sided significance level.
    multiplicity : str
        One of :data:`MULTIPLICITY_METHODS`.
    min_final_week : float
    final_visit : str
        Visit id of the estimand, or ``"last"``.
    covariates : tuple of str
    confidence_level : float
    parallel, split_face : ModelSettings
    sensitivity : SensitivitySettings
    responders : tuple of ResponderSpec
    estimands : tuple of Estimand
        The ``[[analysis.estimands]]`` declared, or when none are, the defaults of
        :func:`~efficacy.protocol.estimands.default_estimands` (their ``declared`` is
        False) for the primary and every key secondary endpoint.
    subgroups : SubgroupSettings

    Examples
    --------
    >>> from efficacy.protocol import load_protocol
    >>> plan = load_protocol("iso-efficacy-2025").analysis
    >>> plan.primary, plan.multiplicity, plan.model("parallel").covariance
    ('cutometer_r2', 'holm', 'us')
    """

    primary: str
    key_secondary: tuple[str, ...]
    secondary: tuple[str, ...]
    populations: tuple[str, ...]
    harms_population: str
    alpha: float
    multiplicity: str
    min_final_week: float
    final_visit: str
    covariates: tuple[str, ...]
    confidence_level: float
    parallel: ModelSettings
    split_face: ModelSettings
    sensitivity: SensitivitySettings
    responders: tuple[ResponderSpec, ...]
    estimands: tuple[Estimand, ...] = ()
    subgroups: SubgroupSettings = field(default_factory=SubgroupSettings)

    def estimand_of(self, endpoint: str) -> Estimand | None:
        """Return the estimand whose variable is `endpoint`, or None."""
        for e in self.estimands:
            if e.variable_of_interest_id == endpoint:
                return e
        return None

    def model(self, design: str) -> ModelSettings:
        """Return the model settings of `design` (``parallel`` or ``split_face``)."""
        if design == "parallel":
            return self.parallel
        if design == "split_face":
            return self.split_face
        raise ValueError(f"design={design!r}: use 'parallel' or 'split_face'")

    @classmethod
    def from_mapping(cls, section: Mapping[str, Any]) -> AnalysisPlan:
        """Build the plan from an ``[analysis]`` table (checked, defaults filled in).

        Raises
        ------
        ProtocolError
            Listing every problem of the section (as :func:`check_analysis`).
        """
        plan, problems = check_analysis(section)
        if problems or not plan:
            raise ProtocolError(
                "[analysis]", problems or ["the section is empty: there is no plan"]
            )

        def model(sub: Mapping[str, Any]) -> ModelSettings:
            return ModelSettings(
                covariance=str(sub["covariance"]),
                fallback=tuple(sub["fallback"]),
                df=str(sub["df"]),
                method=str(sub["method"]),
                adjust_baseline=bool(sub["adjust_baseline"]),
                vcov=str(sub["vcov"]),
            )

        sens = plan["sensitivity"]
        return cls(
            primary=str(plan["primary"]),
            key_secondary=tuple(plan["key_secondary"]),
            secondary=tuple(plan["secondary"]),
            populations=tuple(plan["populations"]),
            harms_population=str(plan["harms_population"]),
            alpha=float(plan["alpha"]),
            multiplicity=str(plan["multiplicity"]),
            min_final_week=float(plan["min_final_week"]),
            final_visit=str(plan["final_visit"]),
            covariates=tuple(plan["covariates"]),
            confidence_level=float(plan["confidence_level"]),
            parallel=model(plan["parallel"]),
            split_face=model(plan["split_face"]),
            sensitivity=SensitivitySettings(
                tipping_point=bool(sens["tipping_point"]),
                imputations=int(sens["imputations"]),
                seed=int(sens["seed"]),
                delta_steps=int(sens["delta_steps"]),
                delta_max_sd=float(sens["delta_max_sd"]),
                imputation=str(sens["imputation"]),
                scale=str(sens["scale"]),
                reference_based=tuple(
                    ReferenceBasedSpec.from_checked(t) for t in sens.get("reference_based", ())
                ),
                ancova=bool(sens["ancova"]),
            ),
            responders=tuple(
                ResponderSpec(
                    endpoint=str(r["endpoint"]),
                    kind=str(r["kind"]),
                    threshold=float(r["threshold"]),
                    direction=str(r["direction"]),
                    logistic=bool(r["logistic"]),
                )
                for r in plan["responders"]
            ),
            estimands=tuple(Estimand.from_checked(e) for e in plan["estimands"])
            or default_estimands(str(plan["primary"]), tuple(plan["key_secondary"])),
            subgroups=SubgroupSettings(
                by=tuple(plan["subgroups"]["by"]),
                age_bands=tuple(plan["subgroups"]["age_bands"]),
                min_per_arm=int(plan["subgroups"]["min_per_arm"]),
            ),
        )

    def for_data_endpoints(self, primary: str, secondary: tuple[str, ...]) -> AnalysisPlan:
        """Return this plan run on endpoints the data define (ADaM parameters).

        Model, populations, alpha and sensitivity settings are kept; the endpoints are
        replaced (`primary` may be ``""``: none named), the key secondary family and the
        responder rules (written for catalogue endpoints) are dropped. The estimands are
        the defaults of the new endpoints (:func:`default_estimands`: the primary's, none
        when no primary is named): the protocol's, declared or default, describe its
        catalogue endpoints, which the data do not have. Not checked against the
        catalogue: the data declare these endpoints (:class:`efficacy.trial.DataEndpoint`).

        Examples
        --------
        >>> from efficacy.protocol import load_protocol
        >>> iso = load_protocol("iso-efficacy-2025").analysis
        >>> plan = iso.for_data_endpoints("", ("actot",))
        >>> plan.primary, plan.key_secondary, plan.secondary, plan.parallel.covariance
        ('', (), ('actot',), 'us')
        >>> [(e.id, e.endpoint) for e in iso.for_data_endpoints("actot", ()).estimands]
        [('primary', 'actot')]
        """
        return replace(
            self,
            primary=primary,
            key_secondary=(),
            secondary=secondary,
            responders=(),
            estimands=default_estimands(primary, ()) if primary else (),
        )

    def to_dict(self) -> dict[str, Any]:
        """Plain-data form (JSON-serialisable): the ``[analysis]`` table it was built from.

        ``AnalysisPlan.from_mapping(plan.to_dict()) == plan``.
        """
        out: dict[str, Any] = {}
        for f in fields(self):
            value = getattr(self, f.name)
            if f.name == "responders":
                out[f.name] = [r.to_dict() for r in value]
            elif f.name == "estimands":  # the declared ones only: defaults follow the plan
                declared = [e.to_dict() for e in value if e.declared]
                if declared:
                    out[f.name] = declared
            elif isinstance(value, ModelSettings | SensitivitySettings | SubgroupSettings):
                out[f.name] = {k.name: _plain(getattr(value, k.name)) for k in fields(value)}
            else:
                out[f.name] = _plain(value)
        return out


def _plain(value: Any) -> Any:
    if isinstance(value, tuple):
        return [v.to_dict() if isinstance(v, ReferenceBasedSpec) else v for v in value]
    return value
