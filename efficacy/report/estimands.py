"""The report's *Estimands* section: the ICH E9(R1) attributes of every planned estimand.

For the primary and each key secondary endpoint (and any other endpoint the protocol
gives an estimand): the treatment compared, the population with its N per arm, the
variable (endpoint and visit), each intercurrent event with its strategy and how many
participants had it per arm, and the population-level summary. The estimands come from
the protocol's plan (:mod:`efficacy.protocol.estimands`: declared, or the defaults that
describe the analysis), the events from the analysis result when there is one, else
from :func:`efficacy.analysis.intercurrent.intercurrent_events` (the same function).
The section's ``tables`` are table shells (``notes/SHELLS.md``): every cell a string.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import pandas as pd

from efficacy._cells import is_missing
from efficacy.analysis import AnalysisResult
from efficacy.analysis.data import population
from efficacy.analysis.intercurrent import intercurrent_events
from efficacy.errors import EfficacyError
from efficacy.instruments import get_endpoint
from efficacy.protocol import Protocol
from efficacy.protocol.estimands import Estimand
from efficacy.report._endpoints import endpoint_meta
from efficacy.report._lists import isin
from efficacy.report.shells import id_part
from efficacy.trial import Trial

__all__ = ["estimands_section"]

_POPULATION = {
    "itt": "ITT / full analysis set: all randomised participants",
    "per_protocol": "Per protocol: randomised participants flagged per_protocol",
}
_STRATEGY = {
    "treatment_policy": "Treatment policy",
    "hypothetical": "Hypothetical",
    "composite": "Composite",
    "while_on_treatment": "While on treatment",
}


def _label(endpoint: str) -> str:
    try:
        return str(get_endpoint(endpoint).label)
    except (EfficacyError, KeyError):
        # PRO scales (FACE-Q, Skindex-16) are not catalogue endpoints: the report's label
        return str(endpoint_meta(endpoint)["label"])


#: The default estimands' wording covers both designs; the report prints this design's.
_BOTH_DESIGNS = " (each active arm vs the control arm; split-face: treated vs control site)"
_ONE_DESIGN = {
    "parallel": " (each active arm vs the control arm)",
    "split_face": " (the treated vs the control site of each participant)",
}


def _worded(estimand: Estimand, endpoint: str, design: str) -> tuple[str, str]:
    """Name and description of `estimand` for a reader: labels, not ids; one design.

    Only the defaults are reworded (a declared estimand is printed as declared): they
    name an endpoint the catalogue lacks by its id, and describe both designs.
    """
    name, text = estimand.name, estimand.description
    if estimand.declared:
        return name, text
    label = _label(endpoint)
    if name.endswith(f": {endpoint}"):
        name = name[: -len(endpoint)] + label
    text = text.replace(f"of {endpoint} at", f"of {label} at")
    return name, text.replace(_BOTH_DESIGNS, _ONE_DESIGN.get(design, _BOTH_DESIGNS))


def _npct(n: int, total: int) -> str:
    return f"{n} ({100.0 * n / total:.1f})" if total else str(n)


def _visit(protocol: Protocol, trial: Trial, estimand: Estimand) -> str:
    if estimand.visit != "final":
        return estimand.visit
    plan = protocol.analysis
    if plan is not None and plan.final_visit != "last":
        return plan.final_visit
    final = trial.manifest.final_visit
    return str(final.id) if final is not None else "the final visit"


def _columns(trial: Trial, subjects: pd.DataFrame) -> list[tuple[str, list[Any]]]:
    """(column label id, subject ids) per arm; split-face: all participants in one."""
    ids = subjects["subject_id"].tolist()
    if trial.manifest.design == "split_face":
        return [("All participants", ids)]
    arms = subjects["arm"].tolist()
    return [
        (a.id, [s for s, arm in zip(ids, arms, strict=True) if not is_missing(arm) and arm == a.id])
        for a in trial.manifest.arms
    ]


def _treatment(trial: Trial, estimand: Estimand) -> str:
    arms = trial.manifest.arms
    control = [a.id for a in arms if a.control]
    actives = [a.id for a in arms if not a.control]
    if estimand.intervention_ids:
        actives = [a for a in actives if a in estimand.intervention_ids]
    what = " and ".join(actives) or "the active arm"
    against = " / ".join(control) or "control"
    if trial.manifest.design == "split_face":
        return f"{what} applied to one body site vs {against} on the other (within person)"
    return f"{what} vs {against} (control), as randomised"


def _distinct(values: Iterable[Any]) -> int:
    """Count the distinct non-missing values (``Series.nunique``)."""
    return len({v for v in values if not is_missing(v)})


def _one(
    trial: Trial,
    protocol: Protocol,
    estimand: Estimand,
    role: str,
    events: pd.DataFrame,
    supporting: list[str],
) -> tuple[dict[str, Any], dict[str, Any]]:
    """(estimand record, its table shell)."""
    subjects, _definition = population(trial, estimand.analysis_population_id)
    cols = _columns(trial, subjects)
    ns = [_distinct(ids) for _, ids in cols]
    visit = _visit(protocol, trial, estimand)
    endpoint = estimand.variable_of_interest_id
    variable = f"{_label(endpoint)}: change from baseline at {visit}"
    if estimand.responder:
        variable = f"{_label(endpoint)}: responder status at {visit}"
    elif trial.manifest.design == "split_face":
        variable = (
            f"{_label(endpoint)}: within-person difference (treated minus control site) in "
            f"change from baseline at {visit}"
        )
    # the population's events as plain lists: counted in Python, no frame filter per cell
    every_subject = events["subject_id"].tolist()
    inside = isin(every_subject, subjects["subject_id"].tolist())
    mine_subject = [s for s, keep in zip(every_subject, inside, strict=True) if keep]
    mine_event = [e for e, keep in zip(events["event"].tolist(), inside, strict=True) if keep]
    members = [set(ids) for _, ids in cols]
    ice: list[dict[str, Any]] = []
    per_event: list[list[int]] = []
    for e in estimand.intercurrent_events:
        hit = [
            s
            for s, name in zip(mine_subject, mine_event, strict=True)
            if isinstance(name, str) and name == e.name
        ]
        counts = [_distinct(x for x in hit if x in ids) for ids in members]
        per_event.append(counts)
        ice.append(
            {
                "name": e.name,
                "description": e.description,
                "text": e.text,
                "strategy": e.strategy,
                "strategy_label": _STRATEGY[e.strategy],
                "counts": {c: n for (c, _), n in zip(cols, counts, strict=True)},
                "total": _distinct(hit),
            }
        )
    name, description = _worded(estimand, endpoint, trial.manifest.design)
    named = {e.name for e in estimand.intercurrent_events}
    other = sorted(set(mine_event) - named)
    record = {
        "id": estimand.id,
        "name": name,
        "label": estimand.label,
        "description": description,
        "declared": estimand.declared,
        "role": role,
        "endpoint": endpoint,
        "endpoint_label": _label(endpoint),
        "visit": visit,
        "variable": variable,
        "treatment": _treatment(trial, estimand),
        "population": estimand.analysis_population_id,
        "population_label": _POPULATION[estimand.analysis_population_id],
        "n": {c: n for (c, _), n in zip(cols, ns, strict=True)},
        "n_total": int(subjects["subject_id"].nunique()),
        "summary": estimand.population_summary,
        "intercurrent_events": ice,
        "other_events": other,
        "sensitivity": supporting,
    }
    header = [
        "Attribute",
        "Definition",
        *(f"{c} (N={n})" for (c, _), n in zip(cols, ns, strict=True)),
    ]
    blank = [""] * len(cols)
    rows = [
        ["Treatment", record["treatment"], *blank],
        ["Population", record["population_label"], *(str(n) for n in ns)],
        ["Variable", variable, *blank],
    ]
    for x, e, counts in zip(ice, estimand.intercurrent_events, per_event, strict=True):
        rows.append(
            [
                f"Intercurrent event: {e.name.replace('_', ' ')}",
                f"{x['strategy_label']} strategy: {e.text}",
                *(_npct(k, n) for k, n in zip(counts, ns, strict=True)),
            ]
        )
    rows.append(["Population-level summary", _summary_text(estimand, trial, visit), *blank])
    rows.append(["Sensitivity analyses", "; ".join(supporting) or "none in the analysis", *blank])
    footnotes = [
        "n (%) = participants with the event; % of N (the population's participants).",
        f"Estimand id {estimand.id} (the estimand column of the analysis results).",
    ]
    if other:
        footnotes.append(
            f"Events in the data this estimand does not name ({', '.join(other)}): their "
            "post-event values are used as observed."
        )
    table = {
        "id": "estimand_" + id_part(estimand.id),
        "title": name,
        "header": header,
        "rows": rows,
        "footnotes": footnotes,
    }
    return record, table


def _supporting(analysis: AnalysisResult | None, estimand: Estimand) -> list[str]:
    """One line per sensitivity or supportive analysis whose rows name `estimand`.

    Read from the result: the tipping points (:meth:`AnalysisResult.supported_estimand`),
    the reference-based analyses, and the estimate rows of other analyses or
    populations whose ``estimand`` is the estimand's id (or ``<id>@<population>``).
    """
    if analysis is None or not analysis.analysed:
        return []

    def mine(ident: str) -> bool:
        return ident == estimand.id or ident.startswith(f"{estimand.id}@")

    def pop(p: str) -> str:
        return {"itt": "ITT", "per_protocol": "per protocol"}.get(p, p)

    lines: list[str] = []
    main = "responder_difference" if estimand.responder else "mmrm"
    est = analysis.estimates
    columns = ("estimand", "analysis", "population", "model", "comparison")
    for ident, analysed, in_pop, model, comparison in zip(
        est["estimand"].astype(str).tolist(), *(est[c].tolist() for c in columns[1:]), strict=True
    ):
        if not mine(ident):
            continue
        if analysed == main and in_pop != estimand.analysis_population_id:
            lines.append(f"The primary analysis in the {pop(str(in_pop))} population; {comparison}")
        elif analysed not in (main, "reference_based"):
            lines.append(f"{model} ({analysed}); {pop(str(in_pop))}, {comparison}")
    for a in analysis.reference_based:
        for row in a.rows:
            if mine(str(row["estimand"])):
                lines.append(
                    f"Reference-based multiple imputation ({a.spec.label}); "
                    f"{pop(a.population)}, {row['comparison']}"
                )
    for tp in analysis.sensitivity:
        if mine(analysis.supported_estimand(tp)):
            how = tp.notes[0] if tp.notes else f"{tp.imputations} imputations"
            lines.append(
                f"Delta-adjusted tipping point ({how}); {pop(tp.population)}, {tp.comparison}"
            )
    return list(dict.fromkeys(lines))


def _roles(analysis: AnalysisResult) -> dict[str, str]:
    """Endpoint -> role (``primary``, ``key secondary``, ...) as the analysis rows give it."""
    est = analysis.estimates
    out: dict[str, str] = {}
    for endpoint, role in zip(est["endpoint"].tolist(), est["role"].tolist(), strict=True):
        out.setdefault(str(endpoint), str(role))
    return out


def _summary_text(estimand: Estimand, trial: Trial, visit: str) -> str:
    order = (
        "treated minus control site"
        if trial.manifest.design == "split_face"
        else ("active minus control")
    )
    return f"{estimand.population_summary} at {visit} ({order})"


def estimands_section(
    trial: Trial, protocol: Protocol, analysis: AnalysisResult | None = None
) -> dict[str, Any]:
    """Build the *Estimands* section data (JSON-ready).

    Parameters
    ----------
    trial : Trial
    protocol : Protocol
        Whose ``[analysis]`` plan declares (or defaults) the estimands.
    analysis : AnalysisResult, optional
        When it was analysed, its ``estimands`` (ADaM data endpoints replace the
        protocol's) and ``intercurrent`` events are shown (computed once), and the roles
        its rows give.

    Returns
    -------
    dict
        ``status`` (``"shown"``, ``"no plan"``, or ``"none"``: the analysis estimated
        none), ``message`` (why not shown),
        ``declared`` (the protocol declares its estimands; False: the defaults),
        ``events_source`` (``intercurrent_events table`` or ``disposition``),
        ``estimands`` (one record per estimand: ``id``, ``name``, ``label``,
        ``description``, ``role``, ``endpoint``, ``visit``, ``variable``,
        ``treatment``, ``population``, ``population_label``, ``n`` per column,
        ``n_total``, ``summary``, ``intercurrent_events`` (``name``, ``strategy``,
        ``text``, ``counts`` per column, ``total``), ``other_events``, ``sensitivity``
        (one line per sensitivity or supportive analysis of the result that names the
        estimand: other populations, tipping points, reference-based imputations)) and
        ``tables``
        (table shells, one per estimand).
    """
    plan = protocol.analysis
    if plan is None:
        return {
            "status": "no plan",
            "message": "The protocol has no [analysis] plan: no estimands are defined.",
            "declared": False,
            "events_source": "",
            "estimands": [],
            "tables": [],
        }
    roles = {plan.primary: "primary", **dict.fromkeys(plan.key_secondary, "key secondary")}
    if analysis is not None and analysis.analysed:
        # the estimands the analysis estimated (ADaM data endpoints replace the protocol's)
        events, estimands = analysis.intercurrent, analysis.estimands
        roles |= _roles(analysis)  # an endpoint without rows keeps the plan's role
    else:
        events, estimands = intercurrent_events(trial), plan.estimands
    if not estimands:  # ADaM data endpoints, none named primary: all are secondary
        return {
            "status": "none",
            "message": "No estimand: the data name no primary endpoint, so every parameter "
            "is analysed as a secondary endpoint. Name the primary PARAMCD ([adam] primary "
            "in trial.toml, or read_adam(..., primary=...)) to define its estimand.",
            "declared": False,
            "events_source": "",
            "estimands": [],
            "tables": [],
        }
    source = trial.sources.get("intercurrent_events")
    supplied = (source is not None and source.path is not None) or len(trial.intercurrent_events)
    records, tables = [], []
    for e in estimands:
        supporting = _supporting(analysis, e)
        record, table = _one(
            trial, protocol, e, roles.get(e.endpoint, "secondary"), events, supporting
        )
        records.append(record)
        tables.append(table)
    return {
        "status": "shown",
        "message": "",
        "declared": any(e.declared for e in estimands),
        "events_source": "intercurrent_events table" if supplied else "disposition",
        "estimands": records,
        "tables": tables,
    }
