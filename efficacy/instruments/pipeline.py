"""Score a whole trial: PRO scale scores and the derived endpoint table."""

from __future__ import annotations

import math
import os
import warnings
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import pandas as pd

from efficacy._records import records
from efficacy.errors import EfficacyError
from efficacy.instruments._pro_common import empty_scores
from efficacy.instruments.derive import derive_endpoints, pro_values
from efficacy.instruments.faceq import score_faceq
from efficacy.instruments.faceq_tables import FaceQConversion, load_faceq_conversion
from efficacy.instruments.measures import prepare_measurements
from efficacy.instruments.options import ScoringOptions
from efficacy.instruments.skindex16 import score_skindex16

if TYPE_CHECKING:
    from efficacy.protocol import Protocol
    from efficacy.trial import Trial

__all__ = ["ScoredTrial", "score_trial"]


@dataclass(frozen=True)
class ScoredTrial:
    """Result of :func:`score_trial`: the scored and derived trial.

    :func:`efficacy.analyze` scores a trial once and keeps this on
    :attr:`efficacy.AnalysisResult.scored`; later stages (the report) read it from there
    instead of scoring again.

    Attributes
    ----------
    trial_id : str
    pro : pandas.DataFrame
        Scored PRO scales, Skindex-16 then FACE-Q (columns
        :data:`~efficacy.instruments._pro_common.PRO_COLUMNS`, see
        :func:`~efficacy.instruments.score_skindex16`).
    endpoints : pandas.DataFrame
        Derived endpoint table (columns :data:`~efficacy.instruments.DERIVED_COLUMNS`,
        see :func:`~efficacy.instruments.derive_endpoints`): instrument endpoints, then
        PRO endpoints.
    options : ScoringOptions
    conversion_source : str or None
        The FACE-Q conversion table used, if any.
    warnings : tuple of str
        Warnings issued while scoring (e.g. FACE-Q scales left as raw sums).
    """

    trial_id: str
    pro: pd.DataFrame
    endpoints: pd.DataFrame
    options: ScoringOptions
    conversion_source: str | None
    warnings: tuple[str, ...]

    def to_dict(self) -> dict[str, Any]:
        """Plain-data form (JSON-serialisable; missing values are None)."""
        return {
            "trial_id": self.trial_id,
            "options": self.options.to_dict(),
            "faceq_conversion": self.conversion_source,
            "warnings": list(self.warnings),
            "pro_scores": records(self.pro),
            "endpoints": records(self.endpoints),
        }


def _cell_reasons(values: pd.DataFrame, trial: Trial) -> pd.DataFrame:
    """Replace 'value missing' by the load problem where the cell could not be read."""
    issues = trial.issues
    if issues.empty:
        return values
    mine = issues[(issues["table"] == "measurements") & (issues["column"] == "value")]
    if mine.empty:
        return values
    text = {
        str(r): f"value {v!r} could not be read ({p})"
        for r, v, p in zip(mine["row"], mine["value"], mine["problem"], strict=True)
    }
    hit = values["reason"].eq("value missing") & values["source_rows"].isin(list(text))
    if not hit.any():
        return values
    out = values.copy()
    out["reason"] = out["reason"].mask(hit, out["source_rows"].map(text))
    return out


def _schedule(trial: Trial) -> tuple[str, float | None, dict[str, float]]:
    m = trial.manifest
    if not isinstance(m.baseline_visit, str) or not m.baseline_visit:
        raise EfficacyError(
            f"{m.path or 'trial.toml'}: [trial] baseline_visit is missing; name the baseline "
            "visit so that change from baseline can be derived"
        )
    schedule = {v.id: float(v.day) for v in m.visits if isinstance(v.id, str) and v.id}
    schedule = {k: d for k, d in schedule.items() if math.isfinite(d)}
    return m.baseline_visit, schedule.get(m.baseline_visit), schedule


def score_trial(
    trial: Trial,
    *,
    protocol: Protocol | None = None,
    conversion: str | os.PathLike[str] | pd.DataFrame | FaceQConversion | None = None,
    options: ScoringOptions | None = None,
) -> ScoredTrial:
    """Score the PROs and derive every endpoint of a trial.

    Parameters
    ----------
    trial : Trial
        From :func:`efficacy.read_trial`. Not modified.
    protocol : Protocol, optional
        Source of the parameters when `options` is not given
        (:meth:`ScoringOptions.from_protocol`); without either, the defaults.
    conversion : path, DataFrame or FaceQConversion, optional
        FACE-Q raw-sum -> Rasch table from the user's licensed guide. Default: the
        table the bundle names as ``[tables] faceq_conversion``, if any.
    options : ScoringOptions, optional
        Used as given (the protocol is then not read).

    Returns
    -------
    ScoredTrial

    Raises
    ------
    EfficacyError
        No baseline visit in the manifest; a bad responder rule.
    ScoringError
        Mixed probe apertures, or 2D imaging recorded as wrinkle depth.
    ConversionTableError
        An invalid conversion table (every problem listed).

    Examples
    --------
    >>> import efficacy
    >>> from efficacy._examples import repo_path  # sample_data/ of a source checkout
    >>> from efficacy.instruments import score_trial
    >>> scored = score_trial(efficacy.read_trial(repo_path("sample_data", "parallel_12wk")))
    >>> scored.pro.groupby(["instrument", "scale"]).size().to_dict()
    ... # doctest: +NORMALIZE_WHITESPACE
    {('faceq', 'psychological_function'): 347, ('faceq', 'satisfaction_facial_appearance'): 347,
     ('skindex16', 'emotions'): 347, ('skindex16', 'functioning'): 347,
     ('skindex16', 'symptoms'): 347}
    >>> scored.pro["metric"].unique().tolist()  # the bundle names its synthetic table
    ['skindex_0_100', 'rasch_0_100']
    """
    if options is None:
        options = (
            ScoringOptions.from_protocol(protocol) if protocol is not None else ScoringOptions()
        )
    baseline_visit, baseline_day, schedule = _schedule(trial)
    table = None
    if conversion is None:
        conversion = trial.reference_file("faceq_conversion")
    if conversion is not None:
        table = load_faceq_conversion(conversion, scales=options.faceq_scales)
    scores, messages = _score_pros(trial, options, table)
    measured = prepare_measurements(
        trial.measurements,
        cutometer_curves=options.cutometer_curves,
        exclude_2d_devices=options.exclude_2d_devices,
        declared=tuple(e.id for e in trial.manifest.data_endpoints),  # ADaM parameters
    )
    measured = _cell_reasons(measured, trial)
    endpoints = derive_endpoints(
        _concat([measured, pro_values(scores)], measured.iloc[:0]),
        baseline_visit=baseline_visit,
        baseline_day=baseline_day,
        schedule=schedule,
        responders=options.responders,
    )
    return ScoredTrial(
        trial_id=str(trial.manifest.id or ""),
        pro=scores,
        endpoints=endpoints,
        options=options,
        conversion_source=table.source if table is not None else None,
        warnings=messages,
    )


def _concat(frames: list[pd.DataFrame], empty: pd.DataFrame) -> pd.DataFrame:
    """Concatenate the non-empty frames (pandas warns about empty ones), else `empty`."""
    full = [f for f in frames if len(f)]
    return pd.concat(full, ignore_index=True) if full else empty


def _score_pros(
    trial: Trial, options: ScoringOptions, table: FaceQConversion | None
) -> tuple[pd.DataFrame, tuple[str, ...]]:
    """Skindex-16 then FACE-Q scores, and the warnings issued (also re-issued)."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        pro = [
            score_skindex16(
                trial.pro_responses,
                min_answered_fraction=options.min_answered_fraction,
                overall=options.skindex16_overall,
            ),
            score_faceq(
                trial.pro_responses,
                conversion=table,
                min_answered_fraction=options.min_answered_fraction,
                scales=options.faceq_scales,
            ),
        ]
    for w in caught:
        warnings.warn_explicit(w.message, w.category, w.filename, w.lineno)
    return _concat(pro, empty_scores()), tuple(str(w.message) for w in caught)
