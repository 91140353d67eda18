"""The analysis plan of one trial: the protocol's ``[analysis]`` resolved against the trial.

:class:`TrialPlan` fixes what :func:`efficacy.analysis.analyze` does: the endpoints and
their roles, the arms (control first), the post-baseline visits in schedule order, the
estimand's visit, and the model settings of the trial's design.
"""

from __future__ import annotations

from dataclasses import dataclass

from efficacy.errors import EfficacyError, ProtocolError
from efficacy.protocol import AnalysisPlan, Protocol
from efficacy.protocol.analysis_params import ModelSettings
from efficacy.trial import Trial

__all__ = ["ROLES", "TrialPlan", "resolve_plan"]

#: Endpoint roles, in report order.
ROLES: tuple[str, ...] = ("primary", "key secondary", "secondary")


@dataclass(frozen=True)
class TrialPlan:
    """The protocol's analysis plan resolved against one trial (read-only).

    Attributes
    ----------
    design : {"parallel", "split_face"}
    endpoints : tuple of (endpoint, role)
        Primary, then key secondary (testing order), then secondary.
    control : str
        Control arm id.
    actives : tuple of str
        Active arm ids (manifest order).
    visits : tuple of str
        Post-baseline scheduled visits in schedule order.
    final_visit : str
        The estimand's visit.
    final_week : float
    populations : tuple of str
    model : ModelSettings
        ``covariance``, ``fallback``, ``df``, ``method``, ``adjust_baseline`` of the design.
    settings : AnalysisPlan
        The whole ``[analysis]`` plan (alpha, multiplicity, sensitivity, responders...).
    notes : tuple of str
        Things the reader must know about the plan (e.g. an estimand before week 12).
    """

    design: str
    endpoints: tuple[tuple[str, str], ...]
    control: str
    actives: tuple[str, ...]
    visits: tuple[str, ...]
    final_visit: str
    final_week: float
    populations: tuple[str, ...]
    model: ModelSettings
    settings: AnalysisPlan
    notes: tuple[str, ...]

    @property
    def alpha(self) -> float:
        """Two-sided significance level."""
        return self.settings.alpha

    @property
    def level(self) -> float:
        """Confidence level of intervals."""
        return self.settings.confidence_level

    @property
    def primary(self) -> str:
        """The primary endpoint id."""
        return self.endpoints[0][0]


def _arms(trial: Trial) -> tuple[str, tuple[str, ...]]:
    m = trial.manifest
    controls = [a.id for a in m.arms if a.control]
    if len(controls) != 1:
        raise EfficacyError(
            f"{m.path or 'trial.toml'}: the analysis needs exactly one control arm "
            f"([[arms]] control = true), found {len(controls)}"
        )
    actives = tuple(a.id for a in m.arms if not a.control)
    if not actives:
        raise EfficacyError(f"{m.path or 'trial.toml'}: no active arm to compare with control")
    return controls[0], actives


def _visits(trial: Trial, settings: AnalysisPlan) -> tuple[tuple[str, ...], str, float, list[str]]:
    m = trial.manifest
    by_id = {v.id: v for v in m.visits}
    if m.baseline_visit not in by_id:
        raise EfficacyError(
            f"{m.path or 'trial.toml'}: baseline_visit {m.baseline_visit!r} is not a scheduled "
            "visit; the change from baseline cannot be analysed"
        )
    base_day = by_id[m.baseline_visit].day
    post = tuple(v for v in m.visit_order if by_id[v].day > base_day)
    if not post:
        raise EfficacyError(f"{m.path or 'trial.toml'}: no post-baseline visit is scheduled")
    final = post[-1] if settings.final_visit == "last" else settings.final_visit
    if final not in post:
        raise ProtocolError(
            f"[analysis] final_visit = {final!r} is not a post-baseline visit of the trial; "
            f"use one of {', '.join(post)} or 'last'"
        )
    week = float(by_id[final].week - by_id[m.baseline_visit].week)
    notes = []
    if week < settings.min_final_week:
        notes.append(
            f"the estimand's visit {final} is week {week:g}, before the week "
            f"{settings.min_final_week:g} the plan asks (min_final_week)"
        )
    return post[: post.index(final) + 1], final, week, notes


def data_plan(trial: Trial, settings: AnalysisPlan) -> tuple[AnalysisPlan, str] | None:
    """Return the plan on the data's own endpoints (ADaM parameters), or None.

    Used when the trial declares data endpoints (:attr:`Manifest.data_endpoints`) and
    none of the protocol's endpoints is among them: every parameter with baseline
    records is analysed with the protocol's model; the named primary (if any) first.
    The one decision of which endpoints a trial's analysis runs on: :func:`resolve_plan`
    and the report's baseline table read it.

    Raises
    ------
    EfficacyError
        No parameter has baseline records.
    """
    declared = trial.manifest.data_endpoints
    planned = {settings.primary, *settings.key_secondary, *settings.secondary}
    if not declared or planned & {e.id for e in declared}:
        return None
    usable = [e for e in declared if e.analysable]
    if not usable:
        raise EfficacyError(
            "no BDS parameter has baseline records (ABLFL = 'Y'): change from baseline "
            "cannot be analysed; " + "; ".join(f"{e.source}: {e.reason}" for e in declared[:5])
        )
    primary = next((e.id for e in usable if e.role == "primary"), "")
    secondary = tuple(e.id for e in usable if e.id != primary)
    left = [e.source for e in declared if not e.analysable]
    note = (
        f"the protocol's endpoints are not in the data: the {len(usable)} parameters with "
        "baseline records are analysed with the protocol's model"
        + (f", {primary} as primary" if primary else ", none named primary (all secondary)")
        + (f"; not analysed (no baseline record): {', '.join(left)}" if left else "")
    )
    return settings.for_data_endpoints(primary, secondary), note


def resolve_plan(trial: Trial, protocol: Protocol) -> TrialPlan:
    """Resolve `protocol`'s ``[analysis]`` section for `trial`.

    Raises
    ------
    ProtocolError
        The protocol has no ``[analysis]`` section, or names a visit or covariate the
        trial lacks.
    EfficacyError
        A design other than parallel / split_face, or no usable control arm.
    """
    settings = protocol.analysis
    if settings is None:
        raise ProtocolError(
            f"protocol {protocol.id!r} has no [analysis] section; "
            'add one or extend "iso-efficacy-2025", which ships a default plan'
        )
    design = trial.manifest.design
    if design not in ("parallel", "split_face"):
        raise EfficacyError(
            f"trial design {design!r} cannot be analysed; [trial] design must be "
            "'parallel' or 'split_face'"
        )
    control, actives = _arms(trial)
    visits, final, week, notes = _visits(trial, settings)
    unknown = [c for c in settings.covariates if c not in trial.subjects.columns]
    if unknown:
        raise ProtocolError(
            f"[analysis] covariates {unknown} are not columns of the subjects table; "
            f"use some of {', '.join(map(str, trial.subjects.columns))}"
        )
    on_data = data_plan(trial, settings)
    if on_data is not None:
        settings, data_note = on_data
        notes.append(data_note)
    endpoints = [(settings.primary, "primary")] if settings.primary else []
    endpoints += [(e, "key secondary") for e in settings.key_secondary]
    endpoints += [(e, "secondary") for e in settings.secondary]
    return TrialPlan(
        design=design,
        endpoints=tuple(endpoints),
        control=control,
        actives=actives,
        visits=visits,
        final_visit=final,
        final_week=week,
        populations=settings.populations,
        model=settings.model(design),
        settings=settings,
        notes=tuple(notes),
    )
