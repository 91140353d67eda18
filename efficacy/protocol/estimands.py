"""Estimands as data: the ``[[analysis.estimands]]`` tables of a protocol (ICH E9(R1)).

An estimand states what the trial estimates through its five attributes (ICH E9(R1)
addendum, section A.3.2): the **population**, the **treatment** condition compared with
control, the **variable** (an endpoint at a visit), the **intercurrent events** with a
strategy each, and the **population-level summary**. A protocol declares them as::

    [[analysis.estimands]]
    id = "primary"                          # the `estimand` column of the results
    name = "Primary estimand"
    label = "Elasticity at week 12, hypothetical strategy"
    description = "Effect of the serum on gross elasticity had everyone kept using it"
    variableOfInterestId = "cutometer_r2"   # endpoint id
    visit = "final"                         # the plan's final_visit (or that visit's id)
    analysisPopulationId = "itt"            # itt | per_protocol
    interventionIds = []                    # active arms compared (empty: every active arm)
    populationSummary = "difference in LS mean change from baseline"

    [[analysis.estimands.intercurrentEvents]]
    name = "discontinued_product"           # an `event` of the intercurrent_events table
    description = "Stopped applying the product before the visit"
    text = "Data after stopping are not used; MMRM under MAR models them"
    strategy = "hypothetical"               # treatment_policy | hypothetical | composite
                                            # | while_on_treatment

Field names follow the CDISC Unified Study Definitions Model (USDM) class ``Estimand``
where one exists: ``id``, ``name``, ``label``, ``description``, ``analysisPopulationId``,
``interventionIds``, ``variableOfInterestId``, ``populationSummary`` and
``intercurrentEvents`` (USDM v4 names); each ``IntercurrentEvent`` has ``name``,
``description``, ``text`` and ``strategy``. Checked against the public model sources of
cdisc-org/usdm (``src/usdm_model/estimand.py``: ``variableOfInterestId``,
``intercurrentEvents``, the earlier ``summaryMeasure`` / ``treatmentId`` that v3-v4
renamed ``populationSummary`` / ``interventionIds``; ``intercurrent_event.py``: an
event's name, description and strategy). ``visit`` is this package's own key (USDM
places the timing in the Endpoint), as are the strategy codes (USDM's ``strategy`` is
free text). Principal stratum strategies are refused: they need a model of stratum
membership the package does not fit.

A protocol without estimands gets defaults that describe what the analysis does
(:func:`default_estimands`): the primary and every key secondary endpoint, ITT,
hypothetical strategy for discontinuation of the product (MMRM under missing at
random), difference in LS mean change from baseline at the final visit.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from efficacy.instruments.catalogue import ENDPOINTS
from efficacy.protocol.params import ParamSpec, normalise_parameters

__all__ = [
    "ESTIMAND_PARAMETERS",
    "EVENT_PARAMETERS",
    "INTERCURRENT_EVENTS",
    "STRATEGIES",
    "SUMMARIES",
    "SUMMARY_MEANS",
    "SUMMARY_RESPONDERS",
    "Estimand",
    "IntercurrentEventSpec",
    "check_estimands",
    "default_estimands",
]

#: Strategies for intercurrent events (ICH E9(R1) A.3.1), as codes.
STRATEGIES: tuple[str, ...] = (
    "treatment_policy",
    "hypothetical",
    "composite",
    "while_on_treatment",
)
#: Intercurrent events the package names (the ``event`` column may hold others).
INTERCURRENT_EVENTS: tuple[str, ...] = (
    "discontinued_product",
    "prohibited_product",
    "rescue_treatment",
)
#: Population-level summary of an MMRM estimand.
SUMMARY_MEANS = "difference in LS mean change from baseline"
#: Population-level summary of a responder (composite) estimand.
SUMMARY_RESPONDERS = "difference in responder proportions"
#: Population-level summaries the analysis can estimate.
SUMMARIES: tuple[str, ...] = (SUMMARY_MEANS, SUMMARY_RESPONDERS)
_POPULATIONS = ("itt", "per_protocol")

#: Keys of each ``[[analysis.estimands]]`` table (USDM ``Estimand`` names).
ESTIMAND_PARAMETERS: Mapping[str, ParamSpec] = {
    "id": ParamSpec("str", None, "Estimand id (the `estimand` column of the results)."),
    "name": ParamSpec("str", "", "Short name (default: the id)."),
    "label": ParamSpec("str", "", "Label for display."),
    "description": ParamSpec("str", "", "The clinical question, in words."),
    "variableOfInterestId": ParamSpec("str", None, "Endpoint id (the variable)."),
    "visit": ParamSpec("str", "final", "Visit of the variable: 'final' or a visit id."),
    "analysisPopulationId": ParamSpec("str", "itt", "Analysis population.", choices=_POPULATIONS),
    "interventionIds": ParamSpec(
        "str_list", (), "Active arms compared with control (empty: every active arm)."
    ),
    "populationSummary": ParamSpec(
        "str", "", "Population-level summary (default from the strategies).", choices=SUMMARIES
    ),
}

#: Keys of each ``[[analysis.estimands.intercurrentEvents]]`` table.
EVENT_PARAMETERS: Mapping[str, ParamSpec] = {
    "name": ParamSpec("str", None, "Event, as the intercurrent_events table's `event`."),
    "description": ParamSpec("str", "", "What the event is."),
    "text": ParamSpec("str", "", "How the strategy handles it, in words."),
    "strategy": ParamSpec("str", None, "Strategy.", choices=STRATEGIES),
}

_PRINCIPAL = ("principal_stratum", "principal stratum", "principal-stratum")
_EVENT_TEXT = {
    "treatment_policy": "values after the event are used as observed; missing values are "
    "modelled by the MMRM under missing at random (MAR), as is conventional",
    "hypothetical": "values after the event are not used; the MMRM under missing at "
    "random (MAR) estimates the outcome had the event not occurred",
    "while_on_treatment": "values after the event are excluded; the outcome is the "
    "response while on treatment",
    "composite": "the event counts as non-response (responder variable)",
}


@dataclass(frozen=True)
class IntercurrentEventSpec:
    """One intercurrent event of an estimand and its strategy (USDM ``IntercurrentEvent``).

    Attributes
    ----------
    name : str
        The event, as the ``event`` column of the intercurrent_events table names it
        (e.g. ``discontinued_product``).
    description : str
    text : str
        How the strategy handles the event, in words (a default says it when omitted).
    strategy : str
        One of :data:`STRATEGIES`.
    """

    name: str
    description: str
    text: str
    strategy: str

    def to_dict(self) -> dict[str, Any]:
        """Return the ``[[analysis.estimands.intercurrentEvents]]`` table."""
        out = {"name": self.name, "description": self.description, "text": self.text}
        return {k: v for k, v in out.items() if v} | {"strategy": self.strategy}


@dataclass(frozen=True)
class Estimand:
    """An estimand of the analysis plan (ICH E9(R1); USDM ``Estimand``).

    Attributes
    ----------
    id : str
        Its id; result rows that estimate it carry it in their ``estimand`` column
        (``<id>@<population>`` for the same analysis in another population).
    name, label, description : str
    variable_of_interest_id : str
        The endpoint (USDM ``variableOfInterestId``).
    visit : str
        ``"final"`` (the plan's final visit) or a visit id.
    analysis_population_id : str
        ``itt`` or ``per_protocol`` (USDM ``analysisPopulationId``).
    intervention_ids : tuple of str
        Active arms compared with control; empty: every active arm (USDM
        ``interventionIds``).
    population_summary : str
        One of :data:`SUMMARIES` (USDM ``populationSummary``).
    intercurrent_events : tuple of IntercurrentEventSpec
    declared : bool
        False for the defaults of :func:`default_estimands`.

    Examples
    --------
    >>> from efficacy.protocol import load_protocol
    >>> e = load_protocol("iso-efficacy-2025").analysis.estimands[0]
    >>> e.id, e.variable_of_interest_id, e.strategy("discontinued_product")
    ('primary', 'cutometer_r2', 'hypothetical')
    """

    id: str
    name: str
    label: str
    description: str
    variable_of_interest_id: str
    visit: str
    analysis_population_id: str
    intervention_ids: tuple[str, ...]
    population_summary: str
    intercurrent_events: tuple[IntercurrentEventSpec, ...]
    declared: bool = True

    @property
    def endpoint(self) -> str:
        """The endpoint id (:attr:`variable_of_interest_id`)."""
        return self.variable_of_interest_id

    @property
    def responder(self) -> bool:
        """Whether the summary is a difference in responder proportions."""
        return self.population_summary == SUMMARY_RESPONDERS

    def strategy(self, event: str) -> str | None:
        """Return the strategy for `event`, or None when the estimand does not name it."""
        for ice in self.intercurrent_events:
            if ice.name == event:
                return ice.strategy
        return None

    def to_dict(self) -> dict[str, Any]:
        """Return the ``[[analysis.estimands]]`` table (USDM names), without ``declared``."""
        texts = {"label": self.label, "description": self.description}
        return {
            "id": self.id,
            "name": self.name,
            **{k: v for k, v in texts.items() if v},
            "variableOfInterestId": self.variable_of_interest_id,
            "visit": self.visit,
            "analysisPopulationId": self.analysis_population_id,
            "interventionIds": list(self.intervention_ids),
            "populationSummary": self.population_summary,
            "intercurrentEvents": [e.to_dict() for e in self.intercurrent_events],
        }

    @classmethod
    def from_checked(cls, table: Mapping[str, Any], *, declared: bool = True) -> Estimand:
        """Build from a table normalised by :func:`check_estimands`."""
        return cls(
            id=str(table["id"]),
            name=str(table["name"]),
            label=str(table["label"]),
            description=str(table["description"]),
            variable_of_interest_id=str(table["variableOfInterestId"]),
            visit=str(table["visit"]),
            analysis_population_id=str(table["analysisPopulationId"]),
            intervention_ids=tuple(table["interventionIds"]),
            population_summary=str(table["populationSummary"]),
            intercurrent_events=tuple(
                IntercurrentEventSpec(
                    name=str(e["name"]),
                    description=str(e["description"]),
                    text=str(e["text"]),
                    strategy=str(e["strategy"]),
                )
                for e in table["intercurrentEvents"]
            ),
            declared=declared,
        )


def _check_events(where: str, raw: Any) -> tuple[list[dict[str, Any]], list[str]]:
    if not isinstance(raw, list | tuple):
        return [], [
            f"{where} 'intercurrentEvents' must be a list of tables "
            "([[analysis.estimands.intercurrentEvents]])"
        ]
    out: list[dict[str, Any]] = []
    problems: list[str] = []
    for j, event in enumerate(raw, start=1):
        here = f"{where} intercurrentEvents #{j}"
        if not isinstance(event, Mapping):
            problems.append(f"{here} must be a table")
            continue
        strategy = event.get("strategy")
        if isinstance(strategy, str) and strategy.strip().lower() in _PRINCIPAL:
            problems.append(
                f"{here} strategy = {strategy!r} is not supported (a principal stratum needs "
                "a model of stratum membership that this package does not fit); use "
                + ", ".join(STRATEGIES)
            )
            continue
        values, errs = normalise_parameters(here, EVENT_PARAMETERS, event)
        problems += errs
        if not errs and not values["text"]:
            values["text"] = _EVENT_TEXT[values["strategy"]]
        out.append(values)
    names = [e.get("name") for e in out]
    dupes = sorted({str(n) for n in names if names.count(n) > 1})
    if dupes:
        problems.append(
            f"{where} intercurrentEvents name {dupes} more than once: one strategy each"
        )
    return out, problems


def _cross_checks(where: str, values: dict[str, Any], plan: Mapping[str, Any]) -> list[str]:
    """Check against the rest of the plan (endpoints, populations, responder rules)."""
    problems: list[str] = []
    endpoint = values.get("variableOfInterestId")
    named = [plan.get("primary"), *plan.get("key_secondary", ()), *plan.get("secondary", ())]
    if isinstance(endpoint, str) and endpoint not in named:
        problems.append(
            f"{where} variableOfInterestId = {endpoint!r} is not an endpoint of the plan; "
            "use the primary, a key secondary or a secondary endpoint"
        )
    pop = values.get("analysisPopulationId")
    pops = plan.get("populations", _POPULATIONS)
    if isinstance(pop, str) and pop in _POPULATIONS and pop not in pops:
        problems.append(
            f"{where} analysisPopulationId = {pop!r} is not one of the plan's populations "
            f"({', '.join(pops)}); add it to [analysis] populations"
        )
    strategies = {e.get("strategy") for e in values.get("intercurrentEvents", [])}
    summary = values.get("populationSummary")
    responders = {r.get("endpoint") for r in plan.get("responders", ())}
    if "composite" in strategies and summary == SUMMARY_MEANS:
        problems.append(
            f"{where}: a composite strategy needs a responder variable; set populationSummary "
            f"= {SUMMARY_RESPONDERS!r}"
        )
    elif summary == SUMMARY_RESPONDERS and endpoint not in responders:
        what = "a composite strategy" if "composite" in strategies else "a responder summary"
        problems.append(
            f"{where}: {what} needs a responder definition; add [[analysis.responders]] "
            f"for {endpoint!r}"
        )
    return problems


def _check_one(
    where: str, table: Mapping[str, Any], plan: Mapping[str, Any]
) -> tuple[dict[str, Any], list[str]]:
    scalars = {k: v for k, v in table.items() if k != "intercurrentEvents"}
    values, problems = normalise_parameters(where, ESTIMAND_PARAMETERS, scalars)
    events, errs = _check_events(where, table.get("intercurrentEvents", []))
    values["intercurrentEvents"] = events
    problems += errs
    if not problems:
        if not values["name"]:
            values["name"] = values["id"]
        if not values["populationSummary"]:
            composite = any(e["strategy"] == "composite" for e in events)
            values["populationSummary"] = SUMMARY_RESPONDERS if composite else SUMMARY_MEANS
        problems += _cross_checks(where, values, plan)
    return values, problems


def check_estimands(
    raw: Any, plan: Mapping[str, Any]
) -> tuple[tuple[dict[str, Any], ...], list[str]]:
    """Check ``[[analysis.estimands]]``; return (normalised tables, every problem).

    `plan` is the rest of the checked ``[analysis]`` section (endpoints, populations and
    responder rules). Declared estimands must cover the primary and every key secondary
    endpoint, one estimand per endpoint.
    """
    if not isinstance(raw, list | tuple):
        return (), ["[analysis] 'estimands' must be a list of tables ([[analysis.estimands]])"]
    out: list[dict[str, Any]] = []
    problems: list[str] = []
    for i, table in enumerate(raw, start=1):
        ident = table.get("id") if isinstance(table, Mapping) else None
        where = f"[analysis.estimands] #{i}" + (f" ({ident!r})" if isinstance(ident, str) else "")
        if not isinstance(table, Mapping):
            problems.append(f"{where} must be a table")
            continue
        values, errs = _check_one(where, table, plan)
        problems += errs
        out.append(values)
    if problems or not out:
        return tuple(out), problems
    ids = [e["id"] for e in out]
    for dup in sorted({i for i in ids if ids.count(i) > 1}):
        problems.append(f"[analysis.estimands] id {dup!r} is used more than once; ids are unique")
    endpoints = [e["variableOfInterestId"] for e in out]
    for dup in sorted({e for e in endpoints if endpoints.count(e) > 1}):
        problems.append(
            f"[analysis.estimands] variableOfInterestId {dup!r} has more than one estimand; "
            "declare one estimand per endpoint"
        )
    needed = [plan.get("primary"), *plan.get("key_secondary", ())]
    for endpoint in needed:
        if endpoint not in endpoints:
            problems.append(
                f"[analysis.estimands] no estimand for {endpoint!r} (primary and key secondary "
                f"endpoints need one); add one with variableOfInterestId = {endpoint!r} or "
                "declare no estimands to use the defaults"
            )
    return tuple(out), problems


def default_estimands(primary: str, key_secondary: Sequence[str]) -> tuple[Estimand, ...]:
    """Return the estimands of a plan that declares none: what the analysis does.

    One per endpoint, primary then key secondary: ITT, every active arm against control,
    the endpoint at the final visit, hypothetical strategy for discontinuation of the
    product (MMRM under missing at random), difference in LS mean change from baseline.
    Ids as :func:`efficacy.analysis.result.estimand_id` gives them (``primary``,
    ``key_secondary:<endpoint>``).

    Examples
    --------
    >>> [e.id for e in default_estimands("cutometer_r2", ["corneometer"])]
    ['primary', 'key_secondary:corneometer']
    """
    out = []
    for endpoint in (primary, *key_secondary):
        is_primary = endpoint == primary
        ident = "primary" if is_primary else f"key_secondary:{endpoint}"
        role = "Primary" if is_primary else "Key secondary"
        known = ENDPOINTS.get(endpoint)
        label = str(known.label) if known is not None else endpoint
        out.append(
            Estimand(
                id=ident,
                name=f"{role} estimand: {label}",
                label="MMRM under MAR",
                description=(
                    "Difference between the product and its control (each active arm vs "
                    "the control arm; split-face: treated vs control site) in the mean change "
                    f"from baseline of {label} at the final visit, in all randomised "
                    "participants, had they all continued the product"
                ),
                variable_of_interest_id=endpoint,
                visit="final",
                analysis_population_id="itt",
                intervention_ids=(),
                population_summary=SUMMARY_MEANS,
                intercurrent_events=(
                    IntercurrentEventSpec(
                        name="discontinued_product",
                        description="Discontinuation of the product (from the disposition "
                        "data unless an intercurrent_events table is supplied)",
                        text=_EVENT_TEXT["hypothetical"],
                        strategy="hypothetical",
                    ),
                ),
                declared=False,
            )
        )
    return tuple(out)
