"""`AnalysisResult`: the complete, prespecified efficacy analysis of one trial (immutable)."""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from efficacy._records import plain, records
from efficacy.analysis.models import MODEL_COLUMNS
from efficacy.analysis.tipping import TIPPING_COLUMNS, TippingPoint
from efficacy.mmrm import MMRMResult

__all__ = [
    "EFFECT_COLUMNS",
    "LSMEANS_COLUMNS",
    "MODEL_COLUMNS",
    "RESULT_COLUMNS",
    "SKIPPED_COLUMNS",
    "AnalysisResult",
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
)

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

    @property
    def analysed(self) -> bool:
        """True when the plan was run (possibly forced)."""
        return self.status != "not analysed"

    def to_frame(self) -> pd.DataFrame:
        """One row per endpoint, population, visit and comparison.

        Returns
        -------
        pandas.DataFrame
            Columns (fixed, :data:`RESULT_COLUMNS`): ``endpoint``; ``role`` (primary /
            key secondary / secondary); ``population`` (itt / per_protocol); ``visit``;
            ``comparison`` (e.g. ``ACTIVE vs VEHICLE``; split-face ``ACTIVE site vs
            VEHICLE site``); ``estimate`` (difference in LS mean change from baseline;
            responders: difference in proportions or log odds ratio); ``std_error``;
            ``df`` (Kenward-Roger by default); ``conf_low``, ``conf_high``;
            ``p_value`` (two-sided, unadjusted); ``p_adjusted`` (primary: = p_value;
            key secondary at the final visit: adjusted across the family as declared;
            otherwise NaN); ``effect_size`` (Hedges' g at the final visit, observed
            cases; NaN at other visits); ``n_active``, ``n_control`` (subjects with an
            analysed value at that visit); ``model``; ``covariance`` (structure used,
            after any fallback); ``converged``; ``notes`` (``;``-separated: the
            estimand row, fallbacks, exclusions, conventions).

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

    def primary(self, population: str = "itt") -> pd.Series:
        """Return the estimand row of the primary endpoint in `population`."""
        e = self.estimates
        hit = e.loc[(e["role"] == "primary") & (e["population"] == population)]
        hit = hit.loc[hit["notes"].str.contains("estimand", regex=False)]
        if hit.empty:
            from efficacy.errors import EfficacyError

            raise EfficacyError(
                f"population={population!r}: no primary estimand row (status: {self.status})"
            )
        return hit.iloc[0]

    def sensitivity_frame(self) -> pd.DataFrame:
        """Return every tipping-point grid in one table.

        Columns: ``endpoint``, ``population``, ``comparison``, ``tipping_delta`` then
        :data:`~efficacy.analysis.tipping.TIPPING_COLUMNS`.
        """
        cols = ["endpoint", "population", "comparison", "tipping_delta", *TIPPING_COLUMNS]
        frames = []
        for tp in self.sensitivity:
            f = tp.table.copy()
            f.insert(0, "tipping_delta", tp.tipping_delta)
            f.insert(0, "comparison", tp.comparison)
            f.insert(0, "population", tp.population)
            f.insert(0, "endpoint", tp.endpoint)
            frames.append(f)
        return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=cols)

    def to_dict(self) -> dict[str, Any]:
        """Plain-data form (JSON-serialisable; NaN -> None)."""
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
            "sensitivity": [
                {
                    "endpoint": tp.endpoint,
                    "population": tp.population,
                    "comparison": tp.comparison,
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
        }

    def summary(self) -> str:
        """Plain-text summary: status, the primary estimand and the tipping point."""
        lines = [f"{self.trial_id}: {self.status} ({self.protocol}, {self.design})"]
        est = self.estimates
        final = est.loc[est["notes"].str.contains("estimand", regex=False)]
        for r in final.itertuples():
            lines.append(
                f"  {r.role:<13} {r.endpoint:<36} {r.population:<12} {r.comparison}: "
                f"{r.estimate:.4g} ({r.conf_low:.4g} to {r.conf_high:.4g}), p={r.p_value:.3g}"
                + ("" if math.isnan(r.p_adjusted) else f", adj p={r.p_adjusted:.3g}")
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
        import html

        est = self.estimates
        final = est.loc[est["notes"].str.contains("estimand", regex=False)]
        cols = ["endpoint", "role", "population", "comparison", "estimate", "conf_low"]
        cols += ["conf_high", "p_value", "p_adjusted", "effect_size", "covariance"]
        table = final[cols].to_html(index=False, float_format=lambda x: f"{x:.4g}", na_rep="")
        head = html.escape(f"{self.trial_id}: {self.status} ({self.protocol}, {self.design})")
        notes = "".join(f"<li>{html.escape(n)}</li>" for n in self.notes)
        return f"<p><b>{head}</b></p>{table}<ul>{notes}</ul>"

    def __repr__(self) -> str:
        return (
            f"<AnalysisResult {self.trial_id} {self.status}: {len(self.estimates)} rows, "
            f"{len(self.fits)} fits, {len(self.sensitivity)} sensitivity analyses>"
        )
