"""Data checks of the checklist: where the data, the protocol or the analysis cover an entry.

Each check takes the :class:`Inputs` and returns an :class:`Evidence` (where, and whether
that covers the whole entry) or None when the data say nothing about it. The checks do
not know the report's layout: an evidence names the kind of result that shows it
(:data:`REPORT_PARTS`: the participant flow, the baseline table, the estimates, the
sensitivity analyses, the harms tables) and the report maps that to its own section.
An entry is covered by the estimates or the sensitivity analyses only when the analysis
was actually run (an :class:`~efficacy.AnalysisResult` with ``analysed`` True).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING

import pandas as pd

from efficacy.consort.flow import Flow
from efficacy.protocol import AnalysisPlan, Protocol
from efficacy.trial import Trial

if TYPE_CHECKING:
    from efficacy.analysis import AnalysisResult

__all__ = ["DATA_CHECKS", "REPORT_PARTS", "Evidence", "Inputs"]

#: The kinds of result an evidence can be shown in (``Evidence.shown_in``): the
#: participant flow, the baseline table, the treatment estimates with their confidence
#: intervals, the sensitivity analyses, the harms tables.
REPORT_PARTS: tuple[str, ...] = ("flow", "baseline", "estimates", "sensitivity", "harms")


@dataclass(frozen=True)
class Inputs:
    """What the checks look at."""

    trial: Trial
    protocol: Protocol | None
    flow: Flow
    analysis: AnalysisResult | None


@dataclass(frozen=True)
class Evidence:
    """Where an entry is shown; ``complete`` False when only part of it is.

    ``where`` names the data (table, column, protocol key) or the result; ``shown_in``
    the kind of result that shows it (one of :data:`REPORT_PARTS`), or None.
    """

    where: str
    complete: bool
    missing: str = ""
    shown_in: str | None = None

    def __post_init__(self) -> None:
        if self.shown_in is not None and self.shown_in not in REPORT_PARTS:
            raise ValueError(f"shown_in={self.shown_in!r}: use one of {REPORT_PARTS}")


def _plan(x: Inputs) -> AnalysisPlan | None:
    return x.protocol.analysis if x.protocol is not None else None


def _not_analysed(x: Inputs) -> str:
    """Why there are no estimates, or empty when the analysis was run."""
    if x.analysis is None:
        return "efficacy analysis not run"
    if not x.analysis.analysed:
        why = "; ".join(x.analysis.notes)
        return "efficacy analysis not performed" + (f": {why}" if why else "")
    if x.analysis.estimates.empty:
        return "the efficacy analysis produced no estimates (see its skipped analyses)"
    return ""


def _title(x: Inputs) -> Evidence | None:
    title = x.trial.manifest.title or ""
    if "randomi" in title.lower():
        return Evidence("trial.toml [trial] title names a randomised trial", True)
    return None


def _design(x: Inputs) -> Evidence:
    ratio = ":".join(str(a.allocated.n) for a in x.flow.arms)
    arms = ", ".join(a.arm for a in x.flow.arms)
    return Evidence(
        f"trial.toml design = {x.trial.manifest.design}; arms {arms}; allocated {ratio}",
        False,
        "the framework (superiority, equivalence, ...) is not in the data",
        shown_in="flow",
    )


def _sites(x: Inputs) -> Evidence | None:
    ids = x.trial.subjects["site_id"].dropna()
    if ids.empty:
        return None
    return Evidence(
        f"{ids.nunique()} study site(s) in subjects.site_id",
        False,
        "settings and countries are not in the data",
    )


def _arms(x: Inputs) -> Evidence | None:
    arms = x.trial.manifest.arms
    if not arms:
        return None
    return Evidence(
        "trial.toml [[arms]]: " + "; ".join(f"{a.id} = {a.label}" for a in arms),
        False,
        "replicable detail of the interventions is not in the data",
    )


def _outcomes(x: Inputs) -> Evidence | None:
    plan = _plan(x)
    if plan is None or x.protocol is None:
        return None
    key = ", ".join(plan.key_secondary)
    final = x.trial.manifest.final_visit
    at = f"{final.id} (week {final.week:g})" if final else "the final visit"
    return Evidence(
        f"protocol {x.protocol.id} [analysis]: primary {plan.primary}"
        + (f"; key secondary {key}" if key else "")
        + f"; change from baseline at {at}, mean per arm",
        True,
    )


def _harms_collected(x: Inputs) -> Evidence | None:
    if x.trial.sources.get("adverse_events") is None or (
        x.trial.sources["adverse_events"].path is None
    ):
        return None
    return Evidence(
        "adverse_events table: term, severity, seriousness, relatedness, body site",
        False,
        "how harms were assessed (systematically or not) is not in the data",
    )


def _analysis_plan(x: Inputs) -> Evidence | None:
    plan = _plan(x)
    design = x.trial.manifest.design
    if plan is None or x.protocol is None or design not in ("parallel", "split_face"):
        return None
    model = plan.model(design)
    return Evidence(
        f"protocol {x.protocol.id} [analysis.{design}]: MMRM, covariance "
        f"{model.covariance}, {model.method.upper()}, df {model.df}; "
        f"multiplicity {plan.multiplicity}",
        True,
    )


def _populations(x: Inputs) -> Evidence | None:
    plan = _plan(x)
    if plan is None:
        return None
    pops = ", ".join(plan.populations)
    return Evidence(
        f"protocol [analysis] populations {pops} (subjects flags itt, per_protocol), "
        f"harms: {plan.harms_population}; by randomised group",
        True,
    )


def _missing_data(x: Inputs) -> Evidence | None:
    plan = _plan(x)
    if plan is None:
        return None
    tip = (
        "delta-adjusted multiple imputation (tipping point)"
        if plan.sensitivity.tipping_point
        else ""
    )
    return Evidence(
        "protocol [analysis]: MMRM under missing at random" + (f"; {tip}" if tip else ""),
        True,
    )


def _sensitivity_plan(x: Inputs) -> Evidence | None:
    plan = _plan(x)
    if plan is None or not plan.sensitivity.tipping_point:
        return None
    return Evidence(
        "protocol [analysis.sensitivity]: prespecified tipping-point analysis",
        False,
        "post hoc analyses, if any, are not in the data",
    )


def _flow(x: Inputs) -> Evidence:
    unit = " and body sites" if x.flow.split_face else ""
    note = "" if x.flow.ok else f"; {len(x.flow.mismatches)} arithmetic mismatch(es) listed"
    return Evidence(f"flow of participants{unit} from subjects{note}", True, shown_in="flow")


def _flow_losses(x: Inputs) -> Evidence:
    unknown = sum(
        n
        for a in x.flow.arms
        for t in (a.lost_to_follow_up, a.discontinued)
        for r, n in t.reasons
        if r == "reason not recorded"
    )
    if unknown:
        return Evidence(
            "losses per arm",
            False,
            f"{unknown} loss(es) without a reason in subjects.discontinuation_reason",
            shown_in="flow",
        )
    return Evidence("losses and exclusions per arm, with reasons", True, shown_in="flow")


def _recruitment(x: Inputs) -> Evidence | None:
    dates = pd.to_datetime(x.trial.subjects["randomization_date"], errors="coerce").dropna()
    if dates.empty:
        return None
    weeks = x.trial.manifest.planned_weeks
    follow = f"; planned follow-up {weeks:g} weeks" if weeks is not None else ""
    return Evidence(
        f"subjects.randomization_date {dates.min():%Y-%m-%d} to {dates.max():%Y-%m-%d}{follow}",
        False,
        "the end date of follow-up is not in the data",
    )


def _baseline(x: Inputs) -> Evidence:
    unit = " (participants; endpoint values per body-site group)" if x.flow.split_face else ""
    return Evidence(f"baseline table by arm{unit}", True, shown_in="baseline")


def _estimation(x: Inputs) -> Evidence:
    why = _not_analysed(x)
    plan = _plan(x)
    if why or x.analysis is None or plan is None:
        return Evidence("numbers analysed per arm", False, why, shown_in="flow")
    pct = f"{100 * plan.confidence_level:g}"
    return Evidence(f"estimates with {pct}% CI per outcome", True, shown_in="estimates")


def _harms(x: Inputs) -> Evidence:
    sites = " and body site" if x.flow.split_face else ""
    return Evidence(f"adverse events by arm{sites}", True, shown_in="harms")


def _ancillary(x: Inputs) -> Evidence:
    why = _not_analysed(x)
    if why or x.analysis is None:
        return Evidence("", False, why)
    est = x.analysis.estimates
    if (
        not x.analysis.sensitivity
        and not x.analysis.reference_based
        and not (est["population"] != "itt").any()
    ):
        return Evidence("", False, "no sensitivity analysis in the plan")
    return Evidence("sensitivity analyses", True, shown_in="sensitivity")


def _body_sites(x: Inputs) -> Evidence | None:
    if not x.flow.split_face or x.flow.randomised.sites is None:
        return None
    return Evidence(
        f"subjects.allocation: {x.flow.randomised.sites} body sites of "
        f"{x.flow.randomised.n} participants",
        False,
        "the rationale for a within-person design is not in the data",
    )


def _outcome_level(x: Inputs) -> Evidence | None:
    if _plan(x) is None:
        return None
    return Evidence(
        "measured per body site; the estimand is the per-participant difference (treated "
        "minus control site; protocol [analysis.split_face])",
        True,
    )


def _site_allocation(x: Inputs) -> Evidence | None:
    if not x.flow.split_face:
        return None
    return Evidence(
        "subjects.allocation (site = arm per participant)",
        False,
        "how sites were randomised is not in the data",
    )


def _paired(x: Inputs) -> Evidence | None:
    if _plan(x) is None:
        return None
    return Evidence(
        "protocol [analysis.split_face]: MMRM of within-participant differences (sites of "
        "one person never treated as independent)",
        True,
    )


def _pro_instruments(x: Inputs) -> Evidence | None:
    instruments = sorted(x.trial.pro_responses["instrument"].dropna().unique().tolist())
    if not instruments:
        return None
    return Evidence(
        "pro_responses: " + ", ".join(map(str, instruments)),
        False,
        "validity evidence and mode of administration are not in the data",
    )


#: Data check per ``data`` name of the checklist file.
DATA_CHECKS: Mapping[str, Callable[[Inputs], Evidence | None]] = {
    "title": _title,
    "design": _design,
    "sites": _sites,
    "arms": _arms,
    "outcomes": _outcomes,
    "harms_collected": _harms_collected,
    "analysis_plan": _analysis_plan,
    "populations": _populations,
    "missing_data": _missing_data,
    "sensitivity_plan": _sensitivity_plan,
    "flow": _flow,
    "flow_losses": _flow_losses,
    "recruitment": _recruitment,
    "baseline": _baseline,
    "estimation": _estimation,
    "harms": _harms,
    "ancillary": _ancillary,
    "body_sites": _body_sites,
    "outcome_level": _outcome_level,
    "site_allocation": _site_allocation,
    "paired_analysis": _paired,
    "pro_instruments": _pro_instruments,
}
