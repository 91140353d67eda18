"""The analysis plan on simulated trials, without files: the analysis stage's engine, shared.

:class:`PlanRunner` is built once per scenario and protocol. It resolves the
protocol's ``[analysis]`` plan against the scenario's design into the analysis stage's
own :class:`~efficacy.analysis.plan.TrialPlan` and builds, per simulated endpoint, one
template design (:func:`efficacy.mmrm.design.build_design` on the complete trial: model
matrix columns in the analysis formula's order, contrast rows of the estimand). Per
trial it keeps the observed rows of the template, writes the trial's baseline into the
baseline column, and calls the MMRM engine (:func:`efficacy.mmrm.engine.fit_patterns`)
and inference (:func:`efficacy.mmrm.inference.make_inference`) exactly as
:func:`efficacy.fit_mmrm` does; the contrast is the same row ``L`` that
``MMRMResult.contrast`` builds. Whenever the shortcut's preconditions fail (an
arm-visit cell with fewer than two participants, a df method that needs the design, a
fit that does not converge and must fall back) the trial's endpoint goes through
:func:`efficacy.analysis.models.fit_endpoint`, the analysis stage's own function. The
key secondary family is adjusted by :func:`efficacy.analysis.stats.adjust_pvalues` in
the plan's testing order, as :func:`efficacy.analyze` does.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd

from efficacy.analysis.data import ModelData
from efficacy.analysis.models import fit_endpoint, formula_for
from efficacy.analysis.plan import TrialPlan
from efficacy.analysis.stats import adjust_pvalues
from efficacy.errors import EfficacyError, ModelSpecError, ProtocolError
from efficacy.mmrm import lsmeans as lsm
from efficacy.mmrm._threads import blas_threads
from efficacy.mmrm.design import Design, build_design
from efficacy.mmrm.engine import EngineControl, ModelArrays, fit_patterns, pattern_data
from efficacy.mmrm.inference import make_inference, t_columns
from efficacy.mmrm.spec import check_options
from efficacy.plan._generate import SimTrial
from efficacy.plan.scenario import Scenario
from efficacy.protocol import AnalysisPlan

__all__ = ["FIELDS", "PlanRunner", "RowKey", "subject_ids", "visit_ids"]

#: Per-trial numbers of each row (one row per endpoint, population and comparison).
FIELDS: tuple[str, ...] = (
    "estimate",
    "std_error",
    "df",
    "p_value",
    "p_adjusted",
    "conf_low",
    "conf_high",
    "rejected",
    "converged",
    "fast_path",
)
_FAST_DF = ("kenward-roger", "kenward-roger-linear", "satterthwaite")


@dataclass(frozen=True)
class RowKey:
    """What one result row is about."""

    endpoint: str
    role: str
    population: str
    comparison: str
    active_arm: str
    control_arm: str


def visit_ids(weeks: tuple[float, ...]) -> tuple[str, ...]:
    """Visit ids of the post-baseline weeks: ``W2``, ``W4``... (baseline is ``W0``)."""
    return tuple(f"W{w:g}" for w in weeks)


def subject_ids(n: int) -> list[str]:
    """Participant ids ``S0001..`` (zero-padded, so sorted order is draw order)."""
    width = max(4, len(str(n)))
    return [f"S{i:0{width}d}" for i in range(1, n + 1)]


def resolve(scenario: Scenario, settings: AnalysisPlan) -> TrialPlan:
    """Resolve the protocol's plan against the scenario (as ``resolve_plan`` for a trial)."""
    if settings.covariates:
        raise ProtocolError(
            f"[analysis] covariates {list(settings.covariates)} are not simulated by the "
            "scenario; plan with a protocol without covariates"
        )
    visits = visit_ids(scenario.weeks)
    final = visits[-1] if settings.final_visit == "last" else settings.final_visit
    if final not in visits:
        raise ProtocolError(
            f"[analysis] final_visit = {final!r} is not a visit of the scenario; use one of "
            f"{', '.join(visits)} or 'last'"
        )
    endpoints = [(settings.primary, "primary")]
    endpoints += [(e, "key secondary") for e in settings.key_secondary]
    endpoints += [(e, "secondary") for e in settings.secondary]
    week = scenario.weeks[visits.index(final)]
    notes = []
    if week < settings.min_final_week:
        notes.append(
            f"the estimand's visit {final} is week {week:g}, before week "
            f"{settings.min_final_week:g} (min_final_week)"
        )
    return TrialPlan(
        design=scenario.design,
        endpoints=tuple(endpoints),
        control=scenario.control,
        actives=scenario.actives,
        visits=visits[: visits.index(final) + 1],
        final_visit=final,
        final_week=float(week),
        populations=settings.populations,
        model=settings.model(scenario.design),
        settings=settings,
        notes=tuple(notes),
    )


@dataclass(frozen=True)
class _Template:
    design: Design
    x_full: np.ndarray  # (N * m, p) rows by subject then visit
    bcol: int  # baseline column, -1 when the model has none
    L: np.ndarray  # (k, p) estimand rows: one per comparison
    arm_of_row: np.ndarray  # (k,) arm code whose comparison each L row is


class PlanRunner:
    """Run the protocol's analysis plan on simulated trials of one scenario (picklable)."""

    def __init__(self, scenario: Scenario, analysis: AnalysisPlan) -> None:
        self.scenario = scenario
        self.analysis = analysis
        self.plan = resolve(scenario, analysis)
        self.m = len(self.plan.visits)
        simulated = {e.endpoint for e in scenario.endpoints}
        self.endpoints = tuple((e, r) for e, r in self.plan.endpoints if e in simulated)
        if not any(r in ("primary", "key secondary") for _, r in self.endpoints):
            raise EfficacyError(
                f"{scenario.source}: the scenario simulates none of the plan's primary and key "
                f"secondary endpoints ({self.plan.primary}, "
                f"{', '.join(self.plan.settings.key_secondary) or 'none'}); add one as "
                "[endpoints.<id>]"
            )
        model = self.plan.model
        self.control = check_options(model.covariance, model.method, model.df, None)
        c = self.control  # the fast path's engine settings (frozen), as fit_mmrm builds them
        self.engine_control = EngineControl(
            optimizers=c.optimizers, max_iter=c.max_iter, decrement_tol=c.tolerance, start=c.start
        )
        self.fast = model.df in _FAST_DF
        self.formula = formula_for(self.plan, ())
        self.ids = subject_ids(scenario.n_participants)
        template = self._template()  # the design does not depend on the endpoint's data
        self.templates = {e: template for e, _ in self.endpoints}
        self.keys = self._keys()

    def __reduce__(self) -> tuple[type[PlanRunner], tuple[Scenario, AnalysisPlan]]:
        """Pickle as its inputs: a worker rebuilds the templates (patsy terms do not pickle)."""
        return (PlanRunner, (self.scenario, self.analysis))

    # ------------------------------------------------------------------ set-up
    def _comparisons(self) -> list[tuple[str, str]]:
        p = self.plan
        if p.design == "parallel":
            return [(f"{a} vs {p.control}", a) for a in p.actives]
        return [(f"{'/'.join(p.actives)} site vs {p.control} site", "/".join(p.actives))]

    def _keys(self) -> tuple[RowKey, ...]:
        return tuple(
            RowKey(e, r, pop, comp, act, self.plan.control)
            for pop in self.plan.populations
            for e, r in self.endpoints
            for comp, act in self._comparisons()
        )

    def frame(self, trial: SimTrial, endpoint: str, rows: np.ndarray) -> pd.DataFrame:
        """Return the model frame (:class:`~efficacy.analysis.data.ModelData`) of the rows."""
        p, sc = self.plan, self.scenario
        subj, vis = np.divmod(rows, self.m)
        cats = [p.control, *p.actives] if p.design == "parallel" else list(p.actives)
        arm = np.asarray(sc.arms, dtype=object)[trial.arm[subj]]
        return pd.DataFrame(
            {
                "subject_id": pd.array(np.asarray(self.ids, dtype=object)[subj], dtype="string"),
                "arm": pd.Categorical(arm, categories=cats),
                "visit": pd.Categorical.from_codes(vis, categories=pd.Index(list(p.visits))),
                "baseline": trial.baseline[endpoint][subj],
                "change": trial.change[endpoint][subj, vis],
            }
        )

    def _template(self) -> _Template:
        n, m = len(self.ids), self.m
        sc = self.scenario
        arm = np.repeat(np.arange(len(sc.arms)), [sc.n_per_arm[a] for a in sc.arms])
        if sc.design == "split_face":
            arm = np.ones(n, dtype=np.intp)
        rng = np.random.default_rng(0)
        fake = SimTrial(
            arm, np.ones((n, m), bool), {"x": rng.standard_normal(n)},
            {"x": rng.standard_normal((n, m))}, {}, {}, np.zeros(n, np.intp),
        )  # fmt: skip
        frame = self.frame(fake, "x", np.arange(n * m))
        design = build_design(frame, self.formula, subject="subject_id", visit="visit")
        order_ok = np.array_equal(design.subject, np.repeat(np.arange(n), m))
        if not (design.kept.all() and order_ok):
            raise EfficacyError("the template design of the simulation is not of full rank")
        names = list(design.column_names)
        bcol = names.index("baseline") if "baseline" in names else -1
        final = self.plan.final_visit
        if self.plan.design == "parallel":
            grid = lsm.lsmeans_grid(design, "arm", "visit")
            _, L, anchor = lsm.contrast_rows(grid, ["arm"], "reference", self.plan.control)
            at = grid.cells["visit"].astype(str).to_numpy()[anchor] == final
            L = L[at]
            arms = [str(c).split(" - ")[0] for c in np.asarray(_labels(grid, self.plan))[at]]
            arm_code = np.array([sc.arms.index(a) for a in arms])
        else:
            grid = lsm.lsmeans_grid(design, "visit")
            L = grid.L[grid.cells["visit"].astype(str).to_numpy() == final]
            arm_code = np.array([1])
        return _Template(design, design.x_kept, bcol, np.asarray(L, float), arm_code)

    # ---------------------------------------------------------------- per trial
    def _rows(self, trial: SimTrial, endpoint: str, population: str) -> np.ndarray:
        obs = trial.observed[:, : self.m].copy()
        if population == "per_protocol" and self.scenario.per_protocol == "completers":
            obs &= trial.observed[:, -1:]
        ok = obs & np.isfinite(trial.change[endpoint][:, : self.m])
        if self.plan.model.adjust_baseline:
            ok &= np.isfinite(trial.baseline[endpoint])[:, None]
        return np.flatnonzero(ok.reshape(-1))

    def _fast_fit(self, trial: SimTrial, endpoint: str, rows: np.ndarray) -> np.ndarray | None:
        """(k, 3) estimate, SE, df of the estimand rows, or None to take the slow path."""
        tpl = self.templates[endpoint]
        subj, vis = np.divmod(rows, self.m)
        groups = trial.arm[subj] if self.plan.design == "parallel" else np.zeros_like(subj)
        cells = np.bincount(groups * self.m + vis, minlength=len(self.scenario.arms) * self.m)
        if self.plan.design == "split_face":
            cells = cells[: self.m]
        if not self.fast or cells.min() < 2:
            return None
        X = tpl.x_full[rows]
        if tpl.bcol >= 0:
            base = trial.baseline[endpoint][subj]
            X[:, tpl.bcol] = base
        codes = np.unique(subj, return_inverse=True)[1]
        arrays = ModelArrays(
            X=X, y=trial.change[endpoint][subj, vis], subject=codes, visit=vis, n_visits=self.m
        )
        ctrl = self.engine_control
        try:  # the pattern summaries built once: the fit and Kenward-Roger's df read them
            with blas_threads(ctrl.blas_threads):  # as fit_engine builds them
                patterns = pattern_data(arrays)
                fit = fit_patterns(
                    patterns, self.plan.model.covariance, self.plan.model.method, ctrl
                )
        except (ModelSpecError, np.linalg.LinAlgError, FloatingPointError):
            return None
        if not fit.converged:
            return None
        inf = make_inference(self.plan.model.df, fit, arrays, tpl.design, patterns=patterns)
        L = tpl.L.copy()
        if self.plan.design == "split_face" and tpl.bcol >= 0:
            L[:, tpl.bcol] = float(base.mean())
        est, se, df = inf.t_rows(L)
        return np.column_stack([est, se, df])

    def _slow_fit(
        self, trial: SimTrial, endpoint: str, rows: np.ndarray
    ) -> tuple[np.ndarray, bool]:
        """Fit with the analysis stage's own fit_endpoint (fallback structures included)."""
        data = ModelData(frame=self.frame(trial, endpoint, rows), baseline=pd.DataFrame(), notes=())
        k = len(self._comparisons())
        try:
            fit = fit_endpoint(data, self.plan)
        except (EfficacyError, np.linalg.LinAlgError, FloatingPointError):
            return np.full((k, 3), np.nan), False
        c = fit.contrasts
        if c.empty:
            return np.full((k, 3), np.nan), False
        c = c[c["visit"] == self.plan.final_visit].set_index("comparison")
        comps = [comp for comp, _ in self._comparisons()]
        c = c.reindex(comps)
        return c[["estimate", "std_error", "df"]].to_numpy(float), fit.fit is not None

    def run(self, trial: SimTrial) -> np.ndarray:
        """Every row of :attr:`keys` for one trial: (n_rows, len(FIELDS)) floats."""
        out = np.full((len(self.keys), len(FIELDS)), np.nan)
        level, alpha = self.plan.level, self.plan.alpha
        i = 0
        done: dict[tuple[str, bytes], np.ndarray] = {}
        for pop in self.plan.populations:
            for endpoint, _role in self.endpoints:
                rows = self._rows(trial, endpoint, pop)
                key = (endpoint, rows.tobytes())
                if key not in done:  # the same data in two populations: the same fit
                    res = self._fast_fit(trial, endpoint, rows)
                    fast, conv = res is not None, True
                    if res is None:
                        res, conv = self._slow_fit(trial, endpoint, rows)
                    done[key] = np.column_stack(
                        [res, np.full(len(res), conv), np.full(len(res), fast)]
                    )
                res = done[key]
                est, se, df = res[:, 0], res[:, 1], res[:, 2]
                tc = t_columns(est, se, df, level)
                k = len(est)
                block = out[i : i + k]
                block[:, 0], block[:, 1], block[:, 2] = est, se, df
                block[:, 3] = tc["p_value"]
                block[:, 5], block[:, 6] = tc["conf_low"], tc["conf_high"]
                block[:, 8], block[:, 9] = res[:, 3], res[:, 4]
                i += k
        self._multiplicity(out, alpha)
        return out

    def _multiplicity(self, out: np.ndarray, alpha: float) -> None:
        """p_adjusted of the key secondary family and each row's rejection."""
        method = self.plan.settings.multiplicity
        order = [e for e, r in self.plan.endpoints if r == "key secondary"]
        keys = self.keys
        for pop in self.plan.populations:
            for comp, _ in self._comparisons():
                idx = {
                    k.endpoint: j
                    for j, k in enumerate(keys)
                    if k.population == pop and k.comparison == comp
                }
                fam = np.array([out[idx[e], 3] if e in idx else math.nan for e in order])
                padj, rej = adjust_pvalues(fam, method, alpha)
                for e, pa, r in zip(order, padj, rej, strict=True):
                    if e in idx:
                        out[idx[e], 4], out[idx[e], 7] = pa, float(r)
        for j, k in enumerate(keys):
            if k.role != "key secondary":
                p = out[j, 3]
                out[j, 7] = float(bool(np.isfinite(p) and p <= alpha))


def _labels(grid: lsm.Grid, plan: TrialPlan) -> list[str]:
    labels, _, _ = lsm.contrast_rows(grid, ["arm"], "reference", plan.control)
    return labels
