"""`AnalysisResult`: the complete, prespecified efficacy analysis of one trial (immutable)."""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import TYPE_CHECKING, Any

import pandas as pd

from efficacy._records import plain, records
from efficacy.analysis.intercurrent import ICE_COLUMNS
from efficacy.analysis.models import MODEL_COLUMNS
from efficacy.analysis.subgroups import SUBGROUP_COLUMNS
from efficacy.analysis.tipping import TIPPING_COLUMNS, TippingPoint
from efficacy.instruments.pipeline import ScoredTrial
from efficacy.mmrm import MMRMResult
from efficacy.protocol.estimands import Estimand

if TYPE_CHECKING:
    from efficacy.analysis.reference import ReferenceBasedAnalysis

__all__ = [
    "ANALYSES",
    "EFFECT_COLUMNS",
    "LSMEANS_COLUMNS",
    "MODEL_COLUMNS",
    "RESULT_COLUMNS",
    "SKIPPED_COLUMNS",
    "SUBGROUP_COLUMNS",
    "AnalysisResult",
    "estimand_id",
    "row_estimand",
]

#: Columns of :meth:`AnalysisResult.to_frame`, always in this order.
RESULT_COLUMNS: tuple[str, ...] = (
    "endpoint",
    "role",
    "population",
    "visit",
    "comparison",
    "estimate",
    "std_error",
    "df",
    "conf_low",
    "conf_high",
    "p_value",
    "p_adjusted",
    "effect_size",
    "n_active",
    "n_control",
    "model",
    "covariance",
    "converged",
    "notes",
    "estimand",
    "analysis",
    "active_arm",
    "control_arm",
    "adjustment",
)

#: Values of the ``analysis`` column of :meth:`AnalysisResult.to_frame`: ``mmrm`` (the
#: MMRM of change from baseline; split-face: of the within-subject difference),
#: ``responder_difference`` (difference in responder proportions, Newcombe interval;
#: split-face: paired), ``logistic`` (baseline-adjusted logistic regression of
#: responders, log odds ratio; split-face: conditional logistic), ``reference_based``
#: (a declared reference-based multiple imputation, ``[[analysis.sensitivity.reference_based]]``:
#: the pooled difference; its LS means are in :meth:`AnalysisResult.reference_based_frame`)
#: and ``ancova`` (the declared sensitivity ANCOVA at the estimand's visit,
#: ``[analysis.sensitivity] ancova``; its ``estimand`` is the MMRM estimand it supports).
#: The tipping-point analyses are in :meth:`AnalysisResult.sensitivity_frame`.
ANALYSES: tuple[str, ...] = (
    "mmrm",
    "responder_difference",
    "logistic",
    "reference_based",
    "ancova",
)

_ROLE_KEYS = {"primary": "primary", "key secondary": "key_secondary", "secondary": "secondary"}


def estimand_id(role: str, endpoint: str, population: str, *, responder: bool = False) -> str:
    """Return the id of the estimand a final-visit treatment difference estimates.

    ``primary`` (the primary endpoint), ``key_secondary:<endpoint>``,
    ``secondary:<endpoint>`` or, for a responder difference, ``responder:<endpoint>``;
    then ``@<population>`` unless the population is ``itt`` (the primary analysis
    population). So ``"primary"`` is the primary estimand itself and
    ``"primary@per_protocol"`` its per-protocol counterpart.

    Examples
    --------
    >>> estimand_id("primary", "cutometer_r2", "itt")
    'primary'
    >>> estimand_id("key secondary", "corneometer", "per_protocol")
    'key_secondary:corneometer@per_protocol'
    >>> estimand_id("secondary", "corneometer", "itt", responder=True)
    'responder:corneometer'
    """
    kind = "responder" if responder else _ROLE_KEYS[role]
    base = "primary" if kind == "primary" else f"{kind}:{endpoint}"
    return base if population == "itt" else f"{base}@{population}"


def row_estimand(
    estimand: Estimand | None,
    role: str,
    endpoint: str,
    population: str,
    active_arm: str,
    *,
    responder: bool = False,
) -> str:
    """Return the ``estimand`` of a final-visit result row, given the endpoint's estimand.

    A plan estimand whose summary matches the row's analysis (LS mean difference for
    the MMRM, responder proportions for a responder difference) names the row: its id
    in its analysis population, ``<id>@<population>`` in another population, and no
    estimand for an active arm outside its ``interventionIds``. A row whose analysis
    does not match the endpoint's *declared* estimand estimates none (empty). Other rows
    (no estimand, or a default one of another summary) keep the ids of
    :func:`estimand_id`.

    Examples
    --------
    >>> from efficacy.protocol.estimands import default_estimands
    >>> e = default_estimands("cutometer_r2", [])[0]
    >>> row_estimand(e, "primary", "cutometer_r2", "per_protocol", "ACTIVE")
    'primary@per_protocol'
    """
    if estimand is None or (not estimand.declared and estimand.responder != responder):
        return estimand_id(role, endpoint, population, responder=responder)
    if estimand.responder != responder:  # a supportive analysis of a declared estimand
        return ""
    ids = estimand.intervention_ids
    if ids and not set(active_arm.split("/")) & set(ids):
        return ""
    if population == estimand.analysis_population_id:
        return estimand.id
    return f"{estimand.id}@{population}"


#: Columns of :attr:`AnalysisResult.lsmeans`.
LSMEANS_COLUMNS: tuple[str, ...] = (
    "endpoint",
    "population",
    "arm",
    "visit",
    "estimate",
    "std_error",
    "df",
    "conf_low",
    "conf_high",
)

#: Columns of :attr:`AnalysisResult.effect_sizes`.
EFFECT_COLUMNS: tuple[str, ...] = (
    "endpoint",
    "population",
    "visit",
    "comparison",
    "hedges_g",
    "conf_low",
    "conf_high",
    "n_active",
    "n_control",
    "method",
)

#: Columns of :attr:`AnalysisResult.skipped`.
SKIPPED_COLUMNS: tuple[str, ...] = ("endpoint", "population", "analysis", "reason")


@dataclass(frozen=True)
class AnalysisResult:
    """The prespecified efficacy analysis of a trial (from :func:`efficacy.analyze`).

    Attributes
    ----------
    trial_id : str
    protocol : str
        ``id@version`` of the protocol whose ``[analysis]`` plan was run.
    design : {"parallel", "split_face"}
    status : {"analysed", "analysed despite validation errors", "not analysed"}
        A trial whose validation has errors is not analysed unless ``force=True``.
    validation_errors : int
        Error findings of :func:`efficacy.validate` on the trial.
    estimates : pandas.DataFrame
        The rows of :meth:`to_frame`.
    lsmeans : pandas.DataFrame
        Per-arm LS means of change from baseline by visit (:data:`LSMEANS_COLUMNS`);
        split-face: the within-subject difference.
    effect_sizes : pandas.DataFrame
        Hedges' g at the final visit with its interval (:data:`EFFECT_COLUMNS`).
    fits : Mapping[(endpoint, population), MMRMResult]
        The MMRM fits themselves (read-only mapping).
    sensitivity : tuple of TippingPoint
        Delta-adjusted multiple-imputation analyses of the primary endpoint.
    skipped : pandas.DataFrame
        Planned analyses that could not run, with the reason (:data:`SKIPPED_COLUMNS`).
    notes : tuple of str
        Plan-level notes (population definitions, estimand, conventions).
    models : pandas.DataFrame
        Model specification and convergence, one row per endpoint and population
        attempted (:data:`MODEL_COLUMNS`): formula, REML/ML, the declared covariance
        order and the structure used, df method, convergence, optimiser iterations and
        name, subjects and observations analysed, ``-2 log L``, AIC and BIC (SAS's
        definitions), and notes (fallbacks, excluded rows, fit warnings).
    model_notes : Mapping[(endpoint, population), tuple of str]
        The notes on the data and the fit of each MMRM (excluded rows, combined sites,
        covariance fallbacks), one string each, as the estimates' ``notes`` show them.
    estimands : tuple of Estimand
        The plan's estimands (declared or default, see
        :mod:`efficacy.protocol.estimands`); empty when not analysed.
    intercurrent : pandas.DataFrame
        The intercurrent events the analysis used
        (:func:`efficacy.analysis.intercurrent.intercurrent_events`, :data:`ICE_COLUMNS`).
    reference_based : tuple of ReferenceBasedAnalysis
        The declared reference-based sensitivity analyses that ran
        (:mod:`efficacy.analysis.reference`): settings, the events used, the pooled
        differences and LS means (:meth:`reference_based_frame`); their differences are
        also rows of :meth:`to_frame` (``analysis = "reference_based"``).
    subgroups : pandas.DataFrame
        The primary estimate at the estimand's visit by subgroup (``[analysis.subgroups]``),
        one row per subgroup variable, level and active arm, with the treatment-by-subgroup
        interaction test of the variable (:data:`SUBGROUP_COLUMNS`, ``analysis`` is
        ``"subgroup"``; see :mod:`efficacy.analysis.subgroups`). Not-estimable subgroups
        are rows with ``status = "not estimable"`` and the reason.
    scored : ScoredTrial or None
        The scored trial and derived endpoints the plan was run on (from
        :func:`efficacy.instruments.score_trial` with the protocol's scoring options
        and the plan's responder rules); None when not analysed. Downstream stages
        (the report) read it instead of scoring again.
    """

    trial_id: str
    protocol: str
    design: str
    status: str
    validation_errors: int
    estimates: pd.DataFrame = field(repr=False)
    lsmeans: pd.DataFrame = field(repr=False)
    effect_sizes: pd.DataFrame = field(repr=False)
    fits: Mapping[tuple[str, str], MMRMResult] = field(repr=False)
    sensitivity: tuple[TippingPoint, ...] = field(repr=False)
    skipped: pd.DataFrame = field(repr=False)
    notes: tuple[str, ...] = ()
    models: pd.DataFrame = field(
        default_factory=lambda: pd.DataFrame(columns=list(MODEL_COLUMNS)), repr=False
    )
    model_notes: Mapping[tuple[str, str], tuple[str, ...]] = field(default_factory=dict, repr=False)
    scored: ScoredTrial | None = field(default=None, repr=False)
    estimands: tuple[Estimand, ...] = field(default=(), repr=False)
    intercurrent: pd.DataFrame = field(
        default_factory=lambda: pd.DataFrame(columns=list(ICE_COLUMNS)), repr=False
    )
    subgroups: pd.DataFrame = field(
        default_factory=lambda: pd.DataFrame(columns=list(SUBGROUP_COLUMNS)), repr=False
    )
    reference_based: tuple[ReferenceBasedAnalysis, ...] = field(default=(), repr=False)

    @classmethod
    def not_analysed(
        cls,
        trial_id: str,
        protocol: str,
        design: str,
        notes: tuple[str, ...],
        validation_errors: int = 0,
    ) -> AnalysisResult:
        """Return the result of a plan that was not run: empty tables and why (`notes`).

        Examples
        --------
        >>> r = AnalysisResult.not_analysed("T1", "p@1", "parallel", ("no control arm",))
        >>> r.analysed, r.to_frame().shape
        (False, (0, 24))
        """

        def empty(columns: tuple[str, ...]) -> pd.DataFrame:
            return pd.DataFrame({c: pd.Series(dtype=object) for c in columns})

        return cls(
            trial_id=trial_id,
            protocol=protocol,
            design=design,
            status="not analysed",
            validation_errors=validation_errors,
            estimates=empty(RESULT_COLUMNS),
            lsmeans=empty(LSMEANS_COLUMNS),
            effect_sizes=empty(EFFECT_COLUMNS),
            fits=MappingProxyType({}),
            sensitivity=(),
            skipped=empty(SKIPPED_COLUMNS),
            notes=tuple(notes),
            models=empty(MODEL_COLUMNS),
            subgroups=empty(SUBGROUP_COLUMNS),
        )

    @property
    def analysed(self) -> bool:
        """True when the plan was run (possibly forced)."""
        return self.status != "not analysed"

    def to_frame(self) -> pd.DataFrame:
        """One row per endpoint, population, visit and comparison.

        Returns
        -------
        pandas.DataFrame
            Columns (fixed, :data:`RESULT_COLUMNS`):

            - ``endpoint``: endpoint id; responder rows: the endpoint and its
              responder definition, e.g. ``corneometer responder (percent change >= 10%)``.
            - ``role``: ``primary`` / ``key secondary`` / ``secondary``.
            - ``population``: ``itt`` / ``per_protocol``.
            - ``visit``: visit id.
            - ``comparison``: e.g. ``ACTIVE vs VEHICLE``; split-face ``ACTIVE site vs
              VEHICLE site`` (display text: the arms are in ``active_arm`` and
              ``control_arm``).
            - ``estimate``: difference in LS mean change from baseline (active minus
              control); responders: difference in proportions, or the log odds ratio.
            - ``std_error``; ``df`` (Kenward-Roger by default; NaN for responders).
            - ``conf_low``, ``conf_high``: confidence interval at the plan's level.
            - ``p_value``: two-sided, unadjusted.
            - ``p_adjusted``: key secondary endpoints at the final visit only, adjusted
              across the family as declared (``adjustment`` says how); NaN otherwise,
              the primary endpoint included (it is not in a multiplicity family).
            - ``effect_size``: Hedges' g at the final visit, observed cases; NaN at
              other visits.
            - ``n_active``, ``n_control``: subjects with an analysed value at that visit.
            - ``model``: the model, as text for display.
            - ``covariance``: structure used, after any fallback (empty for responders).
            - ``converged``: bool.
            - ``notes``: human-readable notes for display (``;``-separated: estimand,
              fallbacks, exclusions, conventions); never to be parsed, every fact in
              them that code needs has its own column.
            - ``estimand``: id of the estimand the row estimates (see
              :func:`estimand_id`: ``primary``, ``key_secondary:<endpoint>``,
              ``secondary:<endpoint>``, ``responder:<endpoint>``, with ``@<population>``
              outside ITT); empty string for rows that estimate none (earlier visits,
              logistic models).
            - ``analysis``: one of :data:`ANALYSES` (``mmrm``, ``responder_difference``,
              ``logistic``, ``reference_based``). A ``reference_based`` row is the pooled
              difference of a declared reference-based imputation; it names the
              estimand it supports at the final visit (as the MMRM row does), its
              ``model`` the strategy and method; ``df`` is ``inf`` for normal-theory
              jackknife and bootstrap inference; ``n_active`` / ``n_control`` count the
              participants analysed (their missing values imputed).
            - ``active_arm``, ``control_arm``: arm ids compared (split-face: the arms
              allocated to the treated and the control site).
            - ``adjustment``: how ``p_adjusted`` was adjusted (e.g. ``holm across 3 key
              secondary endpoints``), empty when it is NaN.

        Examples
        --------
        The primary endpoint of the parallel sample trial, ACTIVE minus VEHICLE in
        Cutometer R2 change from baseline, at every visit:

        >>> import efficacy
        >>> from efficacy._examples import repo_path  # sample_data/ of a source checkout
        >>> result = efficacy.analyze(efficacy.read_trial(repo_path("sample_data",
        ...                                                         "parallel_12wk")))
        >>> frame = result.to_frame()
        >>> itt = frame[(frame["role"] == "primary") & (frame["population"] == "itt")]
        >>> itt[["visit", "comparison", "estimate", "conf_low", "conf_high"]].round(4)
          visit         comparison  estimate  conf_low  conf_high
        0    W2  ACTIVE vs VEHICLE    0.0193    0.0137     0.0249
        1    W4  ACTIVE vs VEHICLE    0.0285    0.0221     0.0350
        2    W8  ACTIVE vs VEHICLE    0.0410    0.0343     0.0478
        3   W12  ACTIVE vs VEHICLE    0.0528    0.0455     0.0600
        """
        return self.estimates.copy()

    def primary(self, population: str = "itt", arm: str | None = None) -> pd.Series:
        """Return the primary estimand's row in `population`.

        The primary endpoint's row whose ``estimand`` is the primary estimand's id (the
        default ``"primary"``, or the declared id) or ``"<id>@<population>"`` (see
        :func:`row_estimand`), of the estimand's own analysis (a reference-based row
        naming the estimand is a sensitivity analysis of it).

        Parameters
        ----------
        population : str
            Analysis population, e.g. ``"itt"`` or ``"per_protocol"``.
        arm : str, optional
            The active arm of the comparison (``active_arm``). Needed when the trial
            compares several active arms with control; with one, it may be left out.

        Raises
        ------
        EfficacyError
            No such row (not analysed, the population not in the plan, the primary
            endpoint's model could not be fitted, or no row of `arm`), or several active
            arms and no `arm` named.
        """
        e = self.estimates
        hit = e[
            (e["role"] == "primary")
            & (e["population"] == population)
            & ~e["analysis"].isin(["reference_based", "ancova"])  # sensitivity analyses
        ]
        ids = {estimand_id("primary", "", population)}
        for est in self.estimands:
            ids.add(
                est.id if population == est.analysis_population_id else f"{est.id}@{population}"
            )
        hit = hit[hit["estimand"].isin(ids)]
        from efficacy.errors import EfficacyError

        arms = list(dict.fromkeys(hit["active_arm"].astype(str)))
        if arm is not None:
            hit = hit[hit["active_arm"] == arm]
            if hit.empty and arms:
                raise EfficacyError(
                    f"arm={arm!r}: no primary estimand row of that active arm in "
                    f"population={population!r}; use one of {', '.join(arms)}"
                )
        elif len(arms) > 1:
            raise EfficacyError(
                f"the trial compares {len(arms)} active arms with control "
                f"({', '.join(arms)}): name one, e.g. primary({population!r}, arm={arms[0]!r})"
            )
        if hit.empty:
            raise EfficacyError(
                f"population={population!r}: no primary estimand row (status: {self.status})"
            )
        return hit.iloc[0]

    def sensitivity_frame(self) -> pd.DataFrame:
        """Return every tipping-point grid in one table.

        Columns: ``endpoint``, ``population``, ``comparison``, ``estimand`` (the
        estimand the analysis supports, as the estimates' ``estimand`` column names it),
        ``tipping_delta`` then :data:`~efficacy.analysis.tipping.TIPPING_COLUMNS`.
        """
        cols = ["endpoint", "population", "comparison", "estimand", "tipping_delta"]
        cols += list(TIPPING_COLUMNS)
        frames = []
        for tp in self.sensitivity:
            f = tp.table.copy()
            f.insert(0, "tipping_delta", tp.tipping_delta)
            f.insert(0, "estimand", self.supported_estimand(tp))
            f.insert(0, "comparison", tp.comparison)
            f.insert(0, "population", tp.population)
            f.insert(0, "endpoint", tp.endpoint)
            frames.append(f)
        return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=cols)

    def reference_based_frame(self) -> pd.DataFrame:
        """Return every reference-based analysis's pooled table (differences and LS means).

        Columns: ``endpoint``, ``population``, ``strategy`` (strategies and method, as
        text), ``estimand`` (for final-visit differences) then
        :data:`efficacy.rbmi.RESULT_COLUMNS` (``parameter`` ``difference`` / ``lsmean``,
        ``group``, ``visit``, ``estimate``, ``std_error``, ``df``, ``conf_low``,
        ``conf_high``, ``p_value``).
        """
        from efficacy.rbmi import RESULT_COLUMNS as RB_COLUMNS

        frames = [a.to_frame() for a in self.reference_based]
        if frames:
            return pd.concat(frames, ignore_index=True)
        return pd.DataFrame(columns=["endpoint", "population", "strategy", "estimand", *RB_COLUMNS])

    def supported_estimand(self, tp: TippingPoint) -> str:
        """Return the estimand a (primary endpoint's) tipping-point analysis supports."""
        est = next((e for e in self.estimands if e.endpoint == tp.endpoint), None)
        return row_estimand(est, "primary", tp.endpoint, tp.population, tp.active_arm)

    def to_dict(self) -> dict[str, Any]:
        """Plain-data form (JSON-serialisable; NaN -> None).

        Every table and note; the scored trial (:attr:`scored`) has its own
        ``to_dict()`` and is not included.
        """
        return {
            "trial_id": self.trial_id,
            "protocol": self.protocol,
            "design": self.design,
            "status": self.status,
            "validation_errors": self.validation_errors,
            "notes": list(self.notes),
            "estimates": records(self.estimates),
            "lsmeans": records(self.lsmeans),
            "effect_sizes": records(self.effect_sizes),
            "models": records(self.models),
            "model_notes": [
                {"endpoint": e, "population": p, "notes": list(n)}
                for (e, p), n in self.model_notes.items()
            ],
            "sensitivity": [
                {
                    "endpoint": tp.endpoint,
                    "population": tp.population,
                    "comparison": tp.comparison,
                    "estimand": self.supported_estimand(tp),
                    "active_arm": tp.active_arm,
                    "control_arm": tp.control_arm,
                    "tipping_delta": plain(tp.tipping_delta),
                    "direction": tp.direction,
                    "n_missing_final": tp.n_missing_final,
                    "imputations": tp.imputations,
                    "seed": tp.seed,
                    "notes": list(tp.notes),
                    "grid": records(tp.table),
                }
                for tp in self.sensitivity
            ],
            "skipped": records(self.skipped),
            "estimands": [e.to_dict() | {"declared": e.declared} for e in self.estimands],
            "intercurrent_events": records(self.intercurrent),
            "subgroups": records(self.subgroups),
            "reference_based": [a.to_dict() for a in self.reference_based],
        }

    def _headline(self) -> str:
        """Trial, status and plan in one line; "no estimates" when a run produced none."""
        status = self.status
        if self.analysed and self.estimates.empty:
            status = f"no estimates ({status})"
        return f"{self.trial_id}: {status} ({self.protocol}, {self.design})"

    def summary(self) -> str:
        """Plain-text summary: status, every estimand row, tipping points, models, notes.

        A run that produced no estimate (e.g. forced on data with errors) says
        "no estimates", never only "analysed".
        """
        lines = [self._headline()]
        est = self.estimates
        final = est[est["estimand"] != ""]
        p_adjusted = final["p_adjusted"].to_numpy(float)
        for r, p_adj in zip(final.itertuples(), p_adjusted, strict=True):
            lines.append(
                f"  {r.role:<13} {r.endpoint:<36} {r.population:<12} {r.visit} {r.comparison}: "
                f"{r.estimate:.4g} ({r.conf_low:.4g} to {r.conf_high:.4g}), p={r.p_value:.3g}"
                + ("" if math.isnan(p_adj) else f", adj p={p_adj:.3g}")
                + (f" [{r.model}]" if r.analysis == "reference_based" else "")
            )
        for tp in self.sensitivity:
            value = (
                f"delta = {tp.tipping_delta:.4g}"
                if math.isfinite(tp.tipping_delta)
                else f"none ({tp.notes[-1] if tp.notes else 'no tipping point'})"
            )
            lines.append(f"  tipping point {tp.endpoint} {tp.population} {tp.comparison}: {value}")
        m = self.models
        if len(m):
            bad = int((~m["converged"].astype(bool)).sum())
            used = ", ".join(f"{k} {v}" for k, v in m["covariance"].value_counts().items())
            lines.append(
                f"  {len(m)} MMRMs, {bad} not converged; covariance used: {used} (see .models)"
            )
        if len(self.skipped):
            lines.append(f"  {len(self.skipped)} planned analyses skipped (see .skipped)")
        lines += [f"  note: {n}" for n in self.notes]
        return "\n".join(lines)

    def _repr_html_(self) -> str:
        """Notebook view: the headline, the estimand rows (with their visit), the notes."""
        import html

        est = self.estimates
        final = est[est["estimand"] != ""]
        cols = ["endpoint", "role", "population", "visit", "comparison", "estimate"]
        cols += ["conf_low", "conf_high", "p_value", "p_adjusted", "effect_size", "covariance"]
        table = (
            final[cols].to_html(
                index=False, float_format=lambda x: f"{x:.4g}", na_rep="", escape=True
            )
            if len(final)
            else "<p>No estimates.</p>"
        )
        head = html.escape(self._headline())
        notes = "".join(f"<li>{html.escape(n)}</li>" for n in self.notes)
        return f"<p><b>{head}</b></p>{table}<ul>{notes}</ul>"

    def __repr__(self) -> str:
        return (
            f"<AnalysisResult {self.trial_id} {self.status}: {len(self.estimates)} rows, "
            f"{len(self.fits)} fits, {len(self.sensitivity)} sensitivity analyses>"
        )
