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

from efficacy.errors import UnconvertedScoreWarning
from efficacy.instruments._pro_common import (
    ProRows,
    check_fraction,
    empty_scores,
    pro_rows,
    rule_reasons,
    scores_frame,
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


def _groups(rows: ProRows, registry: dict[str, FaceQScale]) -> dict[str, np.ndarray]:
    """Per questionnaire x scale present, in first-seen order: counts and problems.

    Unregistered scales get ``n_items`` NaN and the reason that they are unregistered.
    """
    ids = list(registry)
    index = {k: i for i, k in enumerate(ids)}
    table = np.array([index.get(str(v), -1) for v in rows.scale_names] + [-1], dtype=np.int64)
    given = rows.scale if rows.scale is not None else np.zeros(0, dtype=np.int64)
    scale = table[np.where(given < 0, len(table) - 1, given)]
    known = scale >= 0
    n_of = np.array([registry[k].n_items for k in ids] + [0])
    item = rows.item
    with np.errstate(invalid="ignore"):
        item_ok = known & (item == np.round(item)) & (item >= 1) & (item <= n_of[scale])
    lows = [registry[k].response_range[0] for k in ids]
    highs = [registry[k].response_range[1] for k in ids]
    labels = [f"{k} (items 1-{registry[k].n_items})" for k in ids]
    t = tally(rows, scale, len(ids), item_ok, lows, highs, labels)
    g = np.flatnonzero(t.rows)
    q, s = g // max(len(ids), 1), g % max(len(ids), 1)
    names = np.asarray(ids, dtype=object)[s] if len(ids) else np.array([], dtype=object)
    problems = ["; ".join(t.problems.get(int(x), [])) for x in g]
    out = {
        "q": q,
        "first": t.first_row[g],
        "scale": names,
        "n_items": n_of[s].astype(float),
        "n_answered": t.n_answered[g].astype(float),
        "item_sum": t.item_sum[g],
        "problems": np.asarray(problems, dtype=object),
    }
    if (~known).any():
        bad = pd.DataFrame({"q": rows.q, "code": given, "pos": np.arange(len(rows.q))})
        bad = bad[~known].drop_duplicates(["q", "code"])
        names = np.array([*rows.scale_names, None], dtype=object)
        bad["scale"] = names[np.where(bad["code"] < 0, len(names) - 1, bad["code"])]
        text = [
            f"scale {'(missing)' if pd.isna(v) else repr(v)} is not a registered FACE-Q "
            "scale; register it with its item count from your licensed user guide "
            "(scales=[FaceQScale(...)]) or fix the scale id"
            for v in bad["scale"]
        ]
        extra = {
            "q": bad["q"].to_numpy(),
            "first": bad["pos"].to_numpy(),
            "scale": bad["scale"].to_numpy(dtype=object),
            "n_items": np.full(len(bad), np.nan),
            "n_answered": np.full(len(bad), np.nan),
            "item_sum": np.full(len(bad), np.nan),
            "problems": np.asarray(text, dtype=object),
        }
        out = {k: np.concatenate([out[k], extra[k]]) for k in out}
    order = np.argsort(out["first"], kind="stable")
    return {k: v[order] for k, v in out.items()}


def _convert(
    scale: np.ndarray, raw: np.ndarray, scored: np.ndarray, conversion: FaceQConversion | None
) -> tuple[np.ndarray, np.ndarray]:
    """(score, metric) per group: Rasch where the table covers the scale, else the raw sum."""
    score = np.where(scored, raw, np.nan)
    metric = np.full(len(raw), _RAW, dtype=object)
    if conversion is None:
        return score, metric
    key = np.floor(raw + 0.5 + 1e-9)
    for sid in conversion.scales:
        at = scale == sid
        if at.any():
            score[at] = np.where(scored[at], conversion.lookup(sid, key[at]), np.nan)
            metric[at] = _RASCH
    return score, metric


def _warn_unconverted(
    scale: np.ndarray, known: np.ndarray, metric: np.ndarray, has_table: bool
) -> None:
    left = sorted({str(x) for x in scale[(metric == _RAW) & known]})
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
        The missing-item rule reported for the FACE-Q guides (FACTS.md 3): the mean of
        the answered items is imputed only when *fewer than* ``1 - f`` of the scale's
        items are missing, i.e. a scale is scored when *more than* ``f`` of its items
        are answered, ``n_answered >= floor(f * n_items) + 1`` (all items when f = 1).
        With the default 0.5: fewer than half missing, so 6 of 10 items are needed and
        exactly half missing (5 of 10) leaves the score missing; 7 of 12; 3 of 5 (odd
        counts: 2 missing of 5 is fewer than half, 3 is not). This is the protocol's
        ``[validation] pro_min_answered_fraction``, shared with Skindex-16, whose
        convention is "at least ``f`` answered" (exactly half scores there). The rule is
        unconfirmed against the licensed guide: check yours.
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
        - ``reason`` (str): why ``score`` is missing, '' when scored; e.g. ``"5 of 10
          satisfaction_facial_appearance items answered; at least 6 needed (fewer
          than 50% may be missing; min_answered_fraction 0.5)"``, ``"item 2: response
          0 is not a whole number 1-4"``, ``"item 11 is not an item of
          satisfaction_facial_appearance (items 1-10)"``, or an unregistered scale.

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

    Examples
    --------
    An obviously synthetic straight-line table (never a licensed one): raw sums 10-40
    map to 0-100.

    >>> import pandas as pd
    >>> sfa = "satisfaction_facial_appearance"
    >>> table = pd.DataFrame({"scale": sfa, "raw_sum": range(10, 41)})
    >>> table["rasch_score"] = (table["raw_sum"] - 10) * 100 / 30
    >>> r = pd.DataFrame({
    ...     "subject_id": "S1", "visit": ["W0"] * 10 + ["W12"] * 10, "scale": sfa,
    ...     "item": [*range(1, 11)] * 2,
    ...     "response": [4, 4, 4, 3, 3, 3, 3, None, None, None]   # 3 of 10 missing
    ...     + [3, 3, 3, 2, 2, None, None, None, None, None],      # 5 of 10 missing
    ... })
    >>> out = score_faceq(r, conversion=table)
    >>> out[["visit", "n_answered", "raw_sum", "score"]].round(2)
      visit  n_answered  raw_sum  score
    0    W0           7    34.29   80.0
    1   W12           5      NaN    NaN
    >>> print(out["reason"][1])  # doctest: +NORMALIZE_WHITESPACE
    5 of 10 satisfaction_facial_appearance items answered; at least 6 needed
    (fewer than 50% may be missing; min_answered_fraction 0.5)

    At W0 the sum 24 of 7 answered items becomes 24 x 10 / 7 = 34.29, read in the table
    at 34: 100 x 24 / 30 = 80.
    """
    fraction = check_fraction(min_answered_fraction)
    registry = dict(faceq_registry(scales))
    table = None if conversion is None else load_faceq_conversion(conversion, scales=scales)
    rows = pro_rows(responses, "faceq", need_scale=True)
    if rows.n == 0:
        return empty_scores()
    c = _groups(rows, registry)
    known = ~np.isnan(c["n_items"])
    scorable = np.zeros(len(known), dtype=bool)
    reason = c["problems"].copy()
    if known.any():
        ok, why = rule_reasons(
            c["n_items"][known].astype(np.int64),
            c["n_answered"][known].astype(np.int64),
            c["problems"][known],
            c["scale"][known],
            fraction,
            strict=True,
        )
        scorable[known], reason[known] = ok, why
    n, k, total = c["n_items"], c["n_answered"], c["item_sum"]
    with np.errstate(divide="ignore", invalid="ignore"):
        mean = np.where(scorable, total / k, np.nan)
        raw = np.where(scorable, total * n / k, np.nan)
    score, metric = _convert(c["scale"], raw, scorable, table)
    _warn_unconverted(c["scale"], known, metric, table is not None)
    direction = [registry[x].direction if x in registry else "none" for x in c["scale"]]
    q = c["q"]
    return scores_frame(
        {
            "subject_id": rows.subject_id[q],
            "visit": rows.visit[q],
            "day": rows.day[q],
            "instrument": "faceq",
            "scale": c["scale"],
            "n_items": n,
            "n_answered": k,
            "item_mean": mean,
            "raw_sum": raw,
            "score": score,
            "metric": metric,
            "direction": direction,
            "reason": reason,
        }
    )
