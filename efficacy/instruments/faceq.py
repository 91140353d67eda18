"""FACE-Q | Aesthetics: scale raw sums, Rasch 0-100 through a user-supplied table.

Scales are scored one by one (FACTS.md 3). Without a conversion table the scores are
raw sums, marked ``metric = "raw_sum"``: they are not on the validated 0-100 metric.
"""

from __future__ import annotations

import os
import warnings
from collections.abc import Iterable

import numpy as np
import pandas as pd

from efficacy.instruments._errors import UnconvertedScoreWarning
from efficacy.instruments._pro_common import (
    KEYS,
    PRO_COLUMNS,
    check_fraction,
    day_of,
    empty_scores,
    finish_scores,
    pro_rows,
    tally,
)
from efficacy.instruments.faceq_tables import (
    FaceQConversion,
    FaceQScale,
    faceq_registry,
    load_faceq_conversion,
)

__all__ = ["score_faceq"]

_RASCH = "rasch_0_100"
_RAW = "raw_sum"


def _known_rows(rows: pd.DataFrame, registry: dict[str, FaceQScale]) -> pd.DataFrame:
    """Rows of registered scales with item_ok, low, high and label for the tally."""
    meta = pd.DataFrame(
        {
            "scale": list(registry),
            "n_items": [s.n_items for s in registry.values()],
            "low": [s.response_range[0] for s in registry.values()],
            "high": [s.response_range[1] for s in registry.values()],
        }
    )
    known = rows.merge(meta, on="scale", how="inner", sort=False)
    item = known["item"]
    known["item_ok"] = item.notna() & (item == np.round(item)) & item.between(1, known["n_items"])
    known["label"] = known["scale"].astype(str) + " (items 1-" + known["n_items"].astype(str) + ")"
    return known


def _unknown(rows: pd.DataFrame, registry: dict[str, FaceQScale]) -> pd.DataFrame:
    """One row per questionnaire and unregistered scale, with the reason."""
    bad = rows[~rows["scale"].isin(list(registry))]
    grid = bad[[*KEYS, "scale"]].drop_duplicates()
    name = grid["scale"].astype(object).where(grid["scale"].notna(), "(missing)")
    grid = grid.assign(
        n_items=pd.NA,
        n_answered=pd.NA,
        item_sum=np.nan,
        problems="scale "
        + name.map(repr)
        + " is not a registered FACE-Q scale; register it with its item count from "
        "your licensed user guide (scales=[FaceQScale(...)]) or fix the scale id",
    )
    return grid


def _convert(
    frame: pd.DataFrame, raw: np.ndarray, scored: np.ndarray, conversion: FaceQConversion | None
) -> tuple[np.ndarray, np.ndarray]:
    """(score, metric) per row: Rasch where the table covers the scale, else the raw sum."""
    score = np.where(scored, raw, np.nan)
    metric = np.full(len(frame), _RAW, dtype=object)
    if conversion is None:
        return score, metric
    key = np.floor(raw + 0.5 + 1e-9)
    scales = frame["scale"].to_numpy(dtype=object)
    for sid in conversion.scales:
        at = scales == sid
        if at.any():
            score[at] = np.where(scored[at], conversion.lookup(sid, key[at]), np.nan)
            metric[at] = _RASCH
    return score, metric


def _warn_unconverted(frame: pd.DataFrame, metric: np.ndarray, has_table: bool) -> None:
    known = frame["n_items"].notna().to_numpy()
    left = sorted(set(frame["scale"].to_numpy(dtype=object)[(metric == _RAW) & known]))
    if left:
        why = "the conversion table has no rows for them" if has_table else "no conversion table"
        warnings.warn(
            f"FACE-Q scales {', '.join(left)} are raw sums (metric 'raw_sum'), not on the "
            f"validated Rasch 0-100 metric: {why}; pass conversion= (a CSV from your "
            "licensed user guide)",
            UnconvertedScoreWarning,
            stacklevel=3,
        )


def score_faceq(
    responses: pd.DataFrame,
    *,
    conversion: str | os.PathLike[str] | pd.DataFrame | FaceQConversion | None = None,
    min_answered_fraction: float = 0.5,
    scales: Iterable[FaceQScale] | None = None,
) -> pd.DataFrame:
    """Score FACE-Q | Aesthetics scales per subject and visit.

    Parameters
    ----------
    responses : pandas.DataFrame
        Long item responses (the ``pro_responses`` table): ``subject_id``, ``visit``,
        ``scale`` (a registered scale id), ``item`` (1..n_items within the scale),
        ``response`` (1-4, empty when unanswered), optionally ``day`` and
        ``instrument`` (rows of other instruments are ignored). Not modified.
    conversion : path, DataFrame or FaceQConversion, optional
        The raw-sum -> Rasch table from your licensed user's guide (CSV columns
        ``scale, raw_sum, rasch_score``), validated by
        :func:`~efficacy.instruments.load_faceq_conversion`. The package ships none.
    min_answered_fraction : float, default 0.5
        A scale is scored when ``n_answered >= ceil(f * n_items)`` (5 of 10 items with
        0.5). This is the protocol's ``[validation] pro_min_answered_fraction``, a
        project convention shared with validation (PRO-004). The FACE-Q guides are
        reported to impute only when *fewer than* 50% of items are missing (FACTS.md 3,
        unconfirmed), which leaves exactly half unscored: to follow that reading, pass a
        value just above one half (e.g. 0.51: 6 of 10, 7 of 12). Check your guide.
    scales : iterable of FaceQScale, optional
        Scales beyond the built-in ones (see :mod:`efficacy.instruments.faceq_tables`).

    Returns
    -------
    pandas.DataFrame
        One row per questionnaire (subject and visit) and FACE-Q scale present, in
        input order; columns:

        - ``subject_id``, ``visit`` (str)
        - ``day`` (Int64): earliest study day recorded on the questionnaire's rows
        - ``instrument`` (str): ``"faceq"``
        - ``scale`` (str): scale id
        - ``n_items`` (Int64): the scale's item count (<NA> for an unregistered scale)
        - ``n_answered`` (Int64): items with a valid response (<NA> if unregistered)
        - ``item_mean`` (float): mean answered response (1-4); NaN when not scored
        - ``raw_sum`` (float): ``n_items x item_mean``, i.e. the sum of the answered
          responses plus the mean for each unanswered item; NaN when not scored
        - ``score`` (float): the Rasch score (0-100) when the table covers the scale,
          else the raw sum; NaN when not scored
        - ``metric`` (str): ``"rasch_0_100"`` or ``"raw_sum"`` (unconverted)
        - ``direction`` (str): the scale's direction of improvement (``"none"`` if
          unregistered)
        - ``reason`` (str): why ``score`` is missing, '' when scored; e.g. ``"4 of 10
          satisfaction_facial_appearance items answered; at least 5 needed
          (min_answered_fraction 0.5)"``, ``"item 2: response 0 is not a whole number
          1-4"``, ``"item 11 is not an item of satisfaction_facial_appearance (items
          1-10)"``, or an unregistered scale.

    Warns
    -----
    UnconvertedScoreWarning
        When registered scales are left as raw sums (no table, or none for them).

    Raises
    ------
    EfficacyError
        Bad `responses` or `min_answered_fraction`; ``ConversionTableError`` (an
        InputError) when `conversion` is invalid (every problem listed).

    Notes
    -----
    Missing items (FACTS.md 3): the mean of the answered items is inserted for each
    unanswered item before summing, so ``raw_sum = n_items x mean(answered)``. An
    imputed raw sum can be fractional; the table is then read at the raw sum rounded
    half up, ``floor(raw_sum + 0.5)``: a project convention (the guides' rounding rule
    was not reachable; check yours). A scale with a structural problem (response out of
    1-4 or fractional, item outside 1..n_items, item entered twice) is not scored.
    Checked against hand-computed values and a synthetic linear table
    (``tests/reference/faceq``) in ``tests/instruments``.
    """
    fraction = check_fraction(min_answered_fraction)
    registry = dict(faceq_registry(scales))
    table = None if conversion is None else load_faceq_conversion(conversion, scales=scales)
    rows = pro_rows(responses, "faceq", need_scale=True)
    if rows.empty:
        return empty_scores()
    known = _known_rows(rows, registry)
    parts = []
    if len(known):
        counted = tally(known)
        counted["n_items"] = counted["scale"].map({k: s.n_items for k, s in registry.items()})
        parts.append(counted)
    unknown = _unknown(rows, registry)
    if len(unknown):
        parts.append(unknown)
    grid = pd.concat(parts, ignore_index=True) if len(parts) > 1 else parts[0]
    order = rows[[*KEYS, "scale"]].drop_duplicates().reset_index(drop=True)
    grid = order.merge(grid, on=[*KEYS, "scale"], how="left").merge(day_of(rows), on=KEYS)
    is_known = grid["n_items"].notna().to_numpy()
    scorable = np.zeros(len(grid), dtype=bool)
    reason = grid["problems"].astype(object).to_numpy().copy()
    if is_known.any():
        sub = grid[is_known].astype({"n_items": np.int64, "n_answered": np.int64})
        ok, why = finish_scores(sub, fraction)
        scorable[is_known] = ok
        reason[is_known] = why.to_numpy()
    n = grid["n_items"].to_numpy(dtype=float, na_value=np.nan)
    k = grid["n_answered"].to_numpy(dtype=float, na_value=np.nan)
    total = grid["item_sum"].to_numpy(float)
    with np.errstate(divide="ignore", invalid="ignore"):
        mean = np.where(scorable, total / k, np.nan)
        raw = np.where(scorable, total * n / k, np.nan)
    score, metric = _convert(grid, raw, scorable, table)
    _warn_unconverted(grid, metric, table is not None)
    direction = grid["scale"].map({k: s.direction for k, s in registry.items()})
    out = pd.DataFrame(
        {
            "subject_id": grid["subject_id"].astype("str"),
            "visit": grid["visit"].astype("str"),
            "day": pd.array(np.round(grid["day"].to_numpy(float)), dtype="Float64").astype("Int64"),
            "instrument": "faceq",
            "scale": grid["scale"].astype("str"),
            "n_items": grid["n_items"].astype("Int64"),
            "n_answered": grid["n_answered"].astype("Int64"),
            "item_mean": mean,
            "raw_sum": raw,
            "score": score,
            "metric": metric,
            "direction": direction.fillna("none").astype(object),
            "reason": reason,
        }
    )
    return out.loc[:, list(PRO_COLUMNS)].astype(
        {"instrument": "str", "metric": "str", "direction": "str", "reason": "str"}
    )
