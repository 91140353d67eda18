"""`analyze`: run a protocol's analysis plan over every endpoint and population."""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cache, partial
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, TypeAlias

import numpy as np
import pandas as pd

from efficacy.analysis._data_endpoints import data_endpoint_rows
from efficacy.analysis.ancova import ancova_rows
from efficacy.analysis.data import ModelData, model_data, split_by_endpoint
from efficacy.analysis.guard import guarded, run_into
from efficacy.analysis.intercurrent import ICE_COLUMNS, intercurrent_events
from efficacy.analysis.models import MODEL_COLUMNS, EndpointFit, fit_endpoint
from efficacy.analysis.plan import TrialPlan, resolve_plan
from efficacy.analysis.reference import (
    ReferenceBasedAnalysis,
    check_references_fit,
    reference_based_analysis,
)
from efficacy.analysis.responders import responder_rows, responder_rules
from efficacy.analysis.result import (
    EFFECT_COLUMNS,
    LSMEANS_COLUMNS,
    RESULT_COLUMNS,
    SKIPPED_COLUMNS,
    AnalysisResult,
    row_estimand,
)
from efficacy.analysis.stats import adjust_pvalues, hedges_g
from efficacy.analysis.strategies import apply_strategies, check_estimands_fit
from efficacy.analysis.subgroups import SUBGROUP_COLUMNS, subgroup_rows
from efficacy.analysis.tipping import TippingPoint, tipping_point
from efficacy.errors import EfficacyError
from efficacy.instruments import ScoredTrial, ScoringOptions, score_trial
from efficacy.mmrm import MMRMResult
from efficacy.protocol import Protocol, load_protocol
from efficacy.protocol.analysis_params import ResponderSpec
from efficacy.trial import Trial

if TYPE_CHECKING:
    from efficacy.validation import ValidationReport

__all__ = ["Progress", "analyze"]

#: A progress hook: called with one line saying what the run starts next (the CLI shows
#: it on a terminal; the library never prints).
Progress: TypeAlias = Callable[[str], None]

_POP_TEXT = {
    "itt": "itt = all randomised participants with data",
    "per_protocol": "per_protocol = randomised and flagged per_protocol, with data",
}


def _score(
    trial: Trial, protocol: Protocol, plan_rules: Sequence[ResponderSpec]
) -> tuple[ScoredTrial, tuple[str, ...]]:
    """Score the trial once, with the protocol's options and the plan's responder rules."""
    options = ScoringOptions.from_protocol(protocol)
    mine = responder_rules(plan_rules)
    names = {r.endpoint for r in mine}
    keep = tuple(r for r in options.responders if r.endpoint not in names)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        scored = score_trial(trial, options=options.with_(responders=keep + mine))
    return scored, tuple(str(w.message) for w in caught)


def _model_name(plan: TrialPlan, fit: EndpointFit) -> str:
    kind = "MMRM" if plan.design == "parallel" else "within-subject MMRM"
    m = plan.model
    vcov = "" if m.vcov == "model-based" else f", {m.vcov} covariance"
    return f"{kind} {fit.formula}; {m.method.upper()}, {m.df} df{vcov}"


#: Hedges' g, its interval, the reason when not estimable, n active and n control.
_Effect: TypeAlias = tuple[float, float, float, str, int, int]


def _effect(data: ModelData, plan: TrialPlan) -> tuple[dict[str, _Effect], str]:
    f = data.frame
    change = f["change"].to_numpy(float)
    final = (f["visit"] == plan.final_visit).to_numpy(bool) & ~np.isnan(change)
    out: dict[str, _Effect] = {}
    if plan.design == "parallel":
        arm = f["arm"]
        ctl = change[final & (arm == plan.control).to_numpy(bool)]
        for a in plan.actives:
            act = change[final & (arm == a).to_numpy(bool)]
            out[f"{a} vs {plan.control}"] = (*hedges_g(act, ctl, plan.level), act.size, ctl.size)
    else:
        x = change[final]
        comp = f"{'/'.join(plan.actives)} site vs {plan.control} site"
        out[comp] = (*hedges_g(x, None, plan.level), x.size, x.size)
    return out, f"observed cases at {plan.final_visit}"


def _endpoint_rows(
    endpoint: str,
    role: str,
    pop: str,
    data: ModelData,
    fit: EndpointFit,
    plan: TrialPlan,
    estimand_notes: Sequence[str] = (),
) -> tuple[list[dict[str, Any]], list[tuple[Any, ...]]]:
    effects, basis = _effect(data, plan)
    rows, eff_rows = [], []
    base_notes = [*data.notes, *fit.notes]
    declared = plan.settings.estimand_of(endpoint)
    model = _model_name(plan, fit)
    converged = fit.fit is not None and fit.fit.converged
    for r in fit.contrast_records():
        visit = r["visit"]
        final = visit == plan.final_visit
        notes = list(base_notes)
        g = math.nan
        active = str(r["active_arm"])
        estimand = row_estimand(declared, role, endpoint, pop, active) if final else ""
        if final:
            notes.insert(0, f"estimand: difference in change from baseline at {visit}")
            if estimand:
                notes[1:1] = estimand_notes
            e = effects.get(str(r["comparison"]))
            if e is not None:
                g = e[0]
                if math.isfinite(g):
                    notes.append(f"Hedges' g {e[0]:.3f} ({e[1]:.3f} to {e[2]:.3f}), {basis}")
                else:
                    notes.append(f"{e[3]} ({basis})")
                eff_rows.append((endpoint, pop, visit, r["comparison"], *e[:3], e[4], e[5], e[3]))
        rows.append(
            {
                "endpoint": endpoint,
                "role": role,
                "population": pop,
                "visit": visit,
                "comparison": r["comparison"],
                "estimate": r["estimate"],
                "std_error": r["std_error"],
                "df": r["df"],
                "conf_low": r["conf_low"],
                "conf_high": r["conf_high"],
                "p_value": r["p_value"],
                "p_adjusted": math.nan,  # key secondary family: set by _multiplicity
                "effect_size": g,
                "n_active": r["n_active"],
                "n_control": r["n_control"],
                "model": model,
                "covariance": fit.covariance,
                "converged": converged,
                "notes": "; ".join(notes),
                "estimand": estimand,
                "analysis": "mmrm",
                "active_arm": r["active_arm"],
                "control_arm": r["control_arm"],
                "adjustment": "",
            }
        )
    return rows, eff_rows


def _multiplicity(rows: list[dict[str, Any]], plan: TrialPlan) -> None:
    """Adjust the key secondary family per population and comparison (testing order).

    The final-visit MMRM rows of `rows` are grouped by population and active arm; each
    adjusted row is replaced by a copy with ``p_adjusted``, ``adjustment`` and its notes
    filled in.
    """
    method, alpha = plan.settings.multiplicity, plan.alpha
    order = [e for e, r in plan.endpoints if r == "key secondary"]
    groups: dict[tuple[Any, Any], list[int]] = {}
    for i, row in enumerate(rows):
        if row["visit"] == plan.final_visit and row["analysis"] == "mmrm":
            groups.setdefault((row["population"], row["active_arm"]), []).append(i)
    for members in groups.values():
        prim = [rows[i]["p_value"] for i in members if rows[i]["role"] == "primary"]
        # one row per endpoint (the plan names each endpoint once)
        fam = {rows[i]["endpoint"]: i for i in members if rows[i]["role"] == "key secondary"}
        ordered = [e for e in order if e in fam]
        if not ordered:
            continue
        # untestable members (skipped) are NaN: Holm/Hochberg adjust among the tested
        # ones; a fixed sequence stops there
        p = np.array([rows[fam[e]]["p_value"] if e in fam else math.nan for e in order], float)
        padj, _ = adjust_pvalues(p, method, alpha)
        gate = (
            ""
            if (prim and prim[0] <= alpha)
            else (
                "; the primary test is not significant: key secondary results are not confirmatory"
            )
        )
        how = f"{method} across {len(ordered)} key secondary endpoints"
        if method == "fixed-sequence":
            how += " (running maximum of p in testing order)"
        how += gate
        for ep in ordered:
            i = fam[ep]
            rows[i] = {
                **rows[i],
                "p_adjusted": padj[order.index(ep)],
                "adjustment": how,
                "notes": str(rows[i]["notes"]) + f"; p_adjusted: {how}",
            }


def _validation(trial: Trial, protocol: Protocol, report: ValidationReport | None) -> int:
    """Error findings of `report`, or of validating the trial now when it is None."""
    if report is None:
        from efficacy.validation import validate

        report = validate(trial, protocol)
    else:
        report.check_of(trial.manifest.id, protocol.id)
    if trial.manifest.data_endpoints:
        return _data_errors(report)
    return int(report.counts["error"])


# -- ADaM input analysed on its own parameters (Manifest.data_endpoints) -------------------

#: Rules whose errors say the data are not a cosmetic-standard bundle (absent catalogue
#: endpoints, columns or tables), not that the data are wrong: with data endpoints they
#: are the conformance verdict and do not stop the analysis of the data's parameters.
CONTRACT_RULES: tuple[str, ...] = ("SCH-002", "SCH-005", "SCH-006", "SCH-010")


def _data_errors(report: ValidationReport) -> int:
    """Errors that stop analysing data endpoints: all but the standard's and its contract's."""
    return sum(
        s.n_error
        for rule_id, s in report.rules.items()
        if s.category != "standard" and rule_id not in CONTRACT_RULES
    )


@cache
def _empty_of(columns: tuple[str, ...]) -> pd.DataFrame:
    return pd.DataFrame({c: pd.Series(dtype=object) for c in columns})


def _empty(columns: Sequence[str]) -> pd.DataFrame:
    """Return an empty frame with `columns` (object dtype), a copy of one built once."""
    return _empty_of(tuple(columns)).copy()


def _frame(rows: list[Any], columns: Sequence[str]) -> pd.DataFrame:
    return pd.DataFrame(rows, columns=list(columns)) if rows else _empty(columns)


def _lsmeans_frame(parts: list[dict[str, list[Any]]]) -> pd.DataFrame:
    """Return the run's LS-means table: each fit's columns in turn, one construction."""
    if not any(part["visit"] for part in parts):
        return _empty(LSMEANS_COLUMNS)
    return pd.DataFrame({c: [v for part in parts for v in part[c]] for c in LSMEANS_COLUMNS})


@dataclass
class _Acc:
    """What the run collects, endpoint by endpoint (private, mutable while running)."""

    rows: list[dict[str, Any]] = field(default_factory=list)
    effects: list[tuple[Any, ...]] = field(default_factory=list)
    lsmeans: list[dict[str, list[Any]]] = field(default_factory=list)  # columns per fit
    fits: dict[tuple[str, str], MMRMResult] = field(default_factory=dict)
    models: list[dict[str, Any]] = field(default_factory=list)
    sensitivity: list[TippingPoint] = field(default_factory=list)
    skipped: list[tuple[str, str, str, str]] = field(default_factory=list)
    model_notes: dict[tuple[str, str], tuple[str, ...]] = field(default_factory=dict)
    subgroups: list[dict[str, Any]] = field(default_factory=list)
    scored: ScoredTrial | None = None
    progress: Progress | None = None
    events: pd.DataFrame = field(default_factory=lambda: _empty(ICE_COLUMNS))
    reference_based: list[ReferenceBasedAnalysis] = field(default_factory=list)

    def say(self, text: str) -> None:
        """Report progress, when a hook was given."""
        if self.progress is not None:
            self.progress(text)


def _run_endpoint(
    trial: Trial,
    derived: Mapping[str, pd.DataFrame],
    plan: TrialPlan,
    key: tuple[str, str, str],
    events: pd.DataFrame,
    acc: _Acc,
) -> None:
    endpoint, role, pop = key
    try:
        data = model_data(trial, derived, endpoint, pop, plan)
    except EfficacyError as exc:
        acc.skipped.append((endpoint, pop, "MMRM", str(exc)))
        return
    estimand = plan.settings.estimand_of(endpoint)
    est_notes: list[str] = []
    if estimand is not None and not estimand.responder:
        data, est_notes = apply_strategies(data, events, estimand, trial.manifest.visit_order)
    if pd.isna(data.frame["change"].to_numpy()).all():
        acc.skipped.append((endpoint, pop, "MMRM", "no post-baseline change values"))
        return
    fit = fit_endpoint(data, plan)
    acc.models.append({"endpoint": endpoint, "population": pop, **fit.spec(plan.model)})
    if fit.fit is None:
        acc.skipped.append((endpoint, pop, "MMRM", "; ".join(fit.notes)))
        return
    acc.fits[(endpoint, pop)] = fit.fit
    acc.model_notes[(endpoint, pop)] = (*data.notes, *fit.notes)
    rows, eff = _endpoint_rows(endpoint, role, pop, data, fit, plan, est_notes)
    acc.rows += rows
    acc.effects += eff
    lsm = fit.lsmeans_columns()
    n_lsm = len(lsm["visit"])
    acc.lsmeans.append({**lsm, "endpoint": [endpoint] * n_lsm, "population": [pop] * n_lsm})
    if role == "primary" and plan.settings.sensitivity.tipping_point:
        acc.say(f"tipping point of {endpoint} ({pop}): multiple imputation")
        sens = plan.settings.sensitivity
        tips, why = guarded(
            lambda: tipping_point(
                data, plan, endpoint, pop, imputation=sens.imputation, scale=sens.scale
            )
        )
        if tips is None:
            acc.skipped.append((endpoint, pop, "tipping point", why))
        else:
            acc.sensitivity += tips
    if role == "primary" and plan.settings.sensitivity.ancova:
        found, why = guarded(lambda: ancova_rows(data, plan, endpoint, role, pop))
        anc_rows, why = found if found is not None else ([], why)
        if why:
            acc.skipped.append((endpoint, pop, "ANCOVA", why))
        acc.rows += anc_rows
    _run_reference_based(trial, data, plan, key, (events, fit.covariance), acc)


def _run_reference_based(
    trial: Trial,
    data: ModelData,
    plan: TrialPlan,
    key: tuple[str, str, str],
    how: tuple[pd.DataFrame, str],
    acc: _Acc,
) -> None:
    """Run the declared reference-based analyses of this endpoint and population (guarded)."""
    endpoint, _, pop = key
    order = list(trial.manifest.visit_order)
    for spec in plan.settings.sensitivity.reference_based:
        if (spec.endpoint, spec.population) != (endpoint, pop):
            continue
        acc.say(f"reference-based imputation of {endpoint} ({pop}): {spec.label}")
        done, why = guarded(partial(reference_based_analysis, data, plan, spec, key, *how, order))
        if done is None:
            acc.skipped.append((endpoint, pop, f"reference-based ({spec.label})", why))
        else:
            acc.reference_based.append(done)
            acc.rows += list(done.rows)


def _run_plan(trial: Trial, protocol: Protocol, plan: TrialPlan, acc: _Acc) -> list[str]:
    """Run every endpoint x population and the responder analyses; return notes."""
    acc.say("scoring the PROs and deriving the endpoints")
    acc.scored, messages = _score(trial, protocol, plan.settings.responders)
    acc.events = intercurrent_events(trial)
    derived = acc.scored.endpoints
    by_endpoint = split_by_endpoint(derived)
    by_endpoint.update(data_endpoint_rows(trial))  # ADaM parameters: baseline from ABLFL
    keys = [(e, role, pop) for pop in plan.populations for e, role in plan.endpoints]
    for i, key in enumerate(keys, start=1):
        endpoint, _, pop = key
        acc.say(f"fitting {endpoint} ({pop}), model {i} of {len(keys)}")
        why = run_into(acc, partial(_run_endpoint, trial, by_endpoint, plan, key, acc.events))
        if why:  # a computation error: the endpoint is not estimable, the plan goes on
            acc.skipped.append((endpoint, pop, "MMRM", why))
    rows, skipped = responder_rows(derived, trial, plan, dict(plan.endpoints), acc.events)
    acc.rows += rows
    acc.skipped += skipped
    sub_rows, sub_skipped = subgroup_rows(trial, by_endpoint, plan)  # the primary, by subgroup
    acc.subgroups += sub_rows
    acc.skipped += sub_skipped
    return list(messages)


def _status(n_err: int, force: bool) -> tuple[str, list[str]]:
    if n_err == 0:
        return "analysed", []
    if force:
        return "analysed despite validation errors", [
            f"analysed despite {n_err} validation errors (forced)"
        ]
    return "not analysed", [
        f"validation found {n_err} errors: not analysed (correct the data, or analyse anyway "
        "with efficacy report --force or efficacy analyze --force)"
    ]


def analyze(
    trial: Trial,
    protocol: Protocol | str | None = None,
    *,
    force: bool = False,
    validation: ValidationReport | None = None,
    progress: Progress | None = None,
) -> AnalysisResult:
    """Run the protocol's prespecified analysis plan on a trial.

    Parameters
    ----------
    trial : Trial
        From :func:`efficacy.read_trial`. Never modified.
    protocol : Protocol, str or path, optional
        Whose ``[analysis]`` section is the plan (default: ``iso-efficacy-2025``).
    force : bool
        Analyse even when validation finds errors (the result's ``status`` says so).
    validation : ValidationReport, optional
        The trial's :func:`efficacy.validate` report against `protocol`, when the caller
        already has it (``efficacy report`` does); computed when not given.
    progress : callable, optional
        ``progress(text)`` is called as each step starts ("fitting cutometer_r2 (itt),
        model 1 of 26", the tipping point's imputations); for a progress display. The
        result does not depend on it.

    Returns
    -------
    AnalysisResult
        ``status = "not analysed"`` (and empty tables) when validation finds errors and
        `force` is False.

    Raises
    ------
    ProtocolError
        The protocol has no ``[analysis]`` plan or names a visit or covariate the trial
        lacks.
    EfficacyError
        The trial cannot be analysed at all (no control arm, unknown design...); only
        raised when validation passed or `force` is True (validation reports these);
        or `validation` is the report of another trial or protocol.

    Notes
    -----
    Parallel arms: ``change ~ baseline + arm * visit (+ covariates)``, unstructured
    covariance, REML, Kenward-Roger df (``fit_mmrm``), falling back along the declared
    order; the contrast of each active arm with control at every visit, the final visit
    being the estimand. Split-face: the within-subject difference (treated minus control
    site) ``~ baseline difference + visit``; its LS mean per visit is the estimate.
    Hedges' g on observed change at the final visit; multiplicity across the key
    secondary family; a delta-adjusted MI tipping point for the primary endpoint.
    The primary estimate for sample_data/parallel_12wk equals a direct ``fit_mmrm``
    call to 1e-10 (tests/analysis/test_analysis_plan.py).

    A computation problem in one analysis (an endpoint's MMRM in one population, its
    tipping point, a responder rule) never stops the run: that analysis is listed in
    ``skipped`` with ``"not estimable: <exception type>: <message>"``
    (:mod:`efficacy.analysis.guard`) and the rest of the plan runs. A Hedges' g that
    cannot be computed (e.g. two within-subject differences) is NaN with its reason.

    Examples
    --------
    >>> import efficacy
    >>> from efficacy._examples import repo_path  # sample_data/ of a source checkout
    >>> trial = efficacy.read_trial(repo_path("sample_data", "parallel_12wk"))
    >>> result = efficacy.analyze(trial)
    >>> result.status
    'analysed'
    >>> sorted(result.to_frame()["role"].unique())
    ['key secondary', 'primary', 'secondary']
    >>> result.models[["endpoint", "population", "covariance", "converged"]].head(2)
           endpoint population covariance  converged
    0  cutometer_r2        itt         us       True
    1   corneometer        itt         us       True
    """
    protocol = load_protocol(protocol if protocol is not None else "iso-efficacy-2025")
    if protocol.analysis is None:
        resolve_plan(trial, protocol)  # raises the ProtocolError that names the fix
    n_err = _validation(trial, protocol, validation)
    status, notes = _status(n_err, force)
    acc = _Acc(progress=progress)
    design = str(trial.manifest.design)
    if status != "not analysed":
        plan = resolve_plan(trial, protocol)
        check_estimands_fit(trial, plan)
        check_references_fit(plan)
        design = plan.design
        notes += [*plan.notes, *(_POP_TEXT[p] for p in plan.populations)]
        notes += _run_plan(trial, protocol, plan, acc)
    if acc.rows:
        _multiplicity(acc.rows, plan)
    est = _frame(acc.rows, RESULT_COLUMNS)
    if len(est):
        est["converged"] = est["converged"].astype(bool)
    lsm = _lsmeans_frame(acc.lsmeans)
    return AnalysisResult(
        trial_id=str(trial.manifest.id or ""),
        protocol=f"{protocol.id}@{protocol.version}",
        design=design,
        status=status,
        validation_errors=n_err,
        estimates=est,
        lsmeans=lsm,
        effect_sizes=_frame(acc.effects, EFFECT_COLUMNS),
        fits=MappingProxyType(dict(acc.fits)),
        models=_frame(acc.models, MODEL_COLUMNS),
        sensitivity=tuple(acc.sensitivity),
        skipped=_frame(acc.skipped, SKIPPED_COLUMNS),
        notes=tuple(notes),
        model_notes=MappingProxyType(dict(acc.model_notes)),
        scored=acc.scored,
        estimands=plan.settings.estimands if status != "not analysed" else (),
        intercurrent=acc.events.reset_index(drop=True),
        subgroups=_frame(acc.subgroups, SUBGROUP_COLUMNS),
        reference_based=tuple(acc.reference_based),
    )
