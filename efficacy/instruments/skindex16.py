"""Skindex-16: domain scores on 0-100 (higher = more bothered) from item responses 0-6.

Only facts and the method are encoded (FACTS.md 2 and 6): item numbers, domain
membership, the response range and the linear transform. The item wording is licensed
(MAPI Research Trust) and is not in this package.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

import numpy as np
import pandas as pd

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

__all__ = ["SKINDEX16_DOMAINS", "SKINDEX16_RANGE", "score_skindex16"]

#: Domain -> item numbers (FACTS.md 2: dermproconsortium.org/skindex, Chren et al. 2001).
SKINDEX16_DOMAINS: Mapping[str, tuple[int, ...]] = MappingProxyType(
    {
        "symptoms": (1, 2, 3, 4),
        "emotions": (5, 6, 7, 8, 9, 10, 11),
        "functioning": (12, 13, 14, 15, 16),
    }
)

#: Item response range (0 = never bothered, 6 = always bothered; FACTS.md 2).
SKINDEX16_RANGE: tuple[int, int] = (0, 6)

_METRIC = "skindex_0_100"
_DOMAIN_OF = {i: d for d, items in SKINDEX16_DOMAINS.items() for i in items}


def _questionnaire_problems(rows: pd.DataFrame) -> pd.Series:
    """'; '-joined problems per questionnaire from items outside 1-16."""
    stray = rows[rows["domain"].isna()]
    if stray.empty:
        return pd.Series(dtype=object)
    item = stray["item"]
    whole = item.notna() & (item == np.round(item))
    label = item.astype(object).astype(str)
    label[whole] = item[whole].astype(np.int64).astype(str)
    label[item.isna()] = "(missing)"
    text = "item " + label + " is not a Skindex-16 item (1-16)"
    return stray.assign(p=text).groupby(KEYS, dropna=False, sort=False)["p"].agg("; ".join)


def _tallies(rows: pd.DataFrame, overall: bool) -> pd.DataFrame:
    """Domain (and overall) tallies for every questionnaire, including empty domains."""
    mine = rows[rows["domain"].notna()].assign(
        scale=lambda f: f["domain"], item_ok=True, low=0, high=6, label=""
    )
    parts = [mine]
    scales = list(SKINDEX16_DOMAINS)
    if overall:
        parts.append(mine.assign(scale="overall"))
        scales.append("overall")
    counted = tally(pd.concat(parts, ignore_index=True)) if len(mine) else None
    quest = rows[KEYS].drop_duplicates()
    grid = quest.merge(pd.DataFrame({"scale": scales}), how="cross")
    if counted is None:
        grid = grid.assign(n_answered=0, item_sum=0.0, problems="")
    else:
        grid = grid.merge(counted, on=[*KEYS, "scale"], how="left")
        grid = grid.fillna({"n_answered": 0, "item_sum": 0.0, "problems": ""})
    n_items = {d: len(i) for d, i in SKINDEX16_DOMAINS.items()} | {"overall": 16}
    grid["n_items"] = grid["scale"].map(n_items).astype(np.int64)
    grid["n_answered"] = grid["n_answered"].astype(np.int64)
    quest_probs = _questionnaire_problems(rows)
    if len(quest_probs):
        extra = grid.set_index(KEYS).index.map(quest_probs.to_dict()).to_series().fillna("")
        extra = extra.to_numpy(dtype=object)
        has = extra != ""
        sep = np.where(grid["problems"].to_numpy() != "", "; ", "")
        joined = grid["problems"].to_numpy(dtype=object) + sep + extra
        grid["problems"] = np.where(has, joined, grid["problems"].to_numpy(dtype=object))
    return grid


def score_skindex16(
    responses: pd.DataFrame, *, min_answered_fraction: float = 0.5, overall: bool = False
) -> pd.DataFrame:
    """Score Skindex-16 domains (and optionally an overall score) per subject and visit.

    Parameters
    ----------
    responses : pandas.DataFrame
        Long item responses (the ``pro_responses`` table): ``subject_id``, ``visit``,
        ``item`` (1-16), ``response`` (0-6, empty when unanswered) and optionally
        ``day`` and ``instrument`` (rows of other instruments are ignored). Domain
        membership comes from the item number (FACTS.md 2); the ``scale`` column is not
        used. Not modified.
    min_answered_fraction : float, default 0.5
        A domain is scored when at least this share of its items is answered, i.e.
        ``n_answered >= ceil(f * n_items)`` (with 0.5: 2 of 4 symptoms, 4 of 7 emotions,
        3 of 5 functioning items). **Project convention**: no published missing-item
        rule for Skindex-16 was found (FACTS.md 2); it is the protocol's
        ``[validation] pro_min_answered_fraction``.
    overall : bool, default False
        Also compute ``scale = "overall"``: the mean of all answered items x 100/6,
        scored when the fraction of the 16 items is answered. Whether an overall score
        is official is uncertain (FACTS.md 2); compute it only when the protocol asks.

    Returns
    -------
    pandas.DataFrame
        One row per questionnaire (subject and visit with any Skindex-16 row) and domain
        (symptoms, emotions, functioning[, overall]), in input order; columns:

        - ``subject_id``, ``visit`` (str)
        - ``day`` (Int64): earliest study day recorded on the questionnaire's rows
        - ``instrument`` (str): ``"skindex16"``
        - ``scale`` (str): the domain, or ``"overall"``
        - ``n_items`` (Int64): items in the domain (4, 7, 5; 16 for overall)
        - ``n_answered`` (Int64): items with a valid response
        - ``item_mean`` (float): mean answered response (0-6); NaN when not scored
        - ``raw_sum`` (float): always NaN (Skindex-16 is not summed)
        - ``score`` (float): 0-100, higher = worse; NaN when not scored
        - ``metric`` (str): ``"skindex_0_100"``
        - ``direction`` (str): ``"lower"`` (lower = improvement)
        - ``reason`` (str): why ``score`` is missing, '' when scored; e.g.
          ``"1 of 4 symptoms items answered; at least 2 needed (min_answered_fraction
          0.5)"``, ``"item 3: response 7 is not a whole number 0-6"``, ``"item 9 appears
          2 times"``, ``"item 17 is not a Skindex-16 item (1-16)"`` (that last one makes
          every domain of the questionnaire unscored).

    Raises
    ------
    EfficacyError
        `responses` is not a DataFrame or lacks a required column, or
        `min_answered_fraction` is not in (0, 1].

    Notes
    -----
    ``score = (sum of answered item responses / n_answered) x 100 / 6``: the mean of the
    item scores transformed linearly from 0-6 to 0-100 (FACTS.md 2, dermproconsortium
    .org/skindex; 0 = no impact, 100 = maximal impact). A domain with any structural
    problem (an out-of-range or fractional response, a duplicated item) is not scored:
    validation reports those as errors (PRO-001, PRO-002) and the score would rest on
    them. Checked against hand-computed values in ``tests/instruments``.

    Examples
    --------
    >>> import pandas as pd
    >>> r = pd.DataFrame({"subject_id": "S1", "visit": "W0", "item": range(1, 17),
    ...                   "response": [3, 3, 0, 0] + [6] * 7 + [1] * 5})
    >>> score_skindex16(r)["score"].round(2).tolist()  # (3+3+0+0)/4*100/6, 6*100/6, 100/6
    [25.0, 100.0, 16.67]
    """
    fraction = check_fraction(min_answered_fraction)
    rows = pro_rows(responses, "skindex16", need_scale=False)
    if rows.empty:
        return empty_scores()
    whole = rows["item"].notna() & (rows["item"] == np.round(rows["item"]))
    rows["domain"] = rows["item"].where(whole).map(_DOMAIN_OF)
    grid = _tallies(rows, bool(overall))
    grid = grid.merge(day_of(rows), on=KEYS, how="left")
    scorable, reason = finish_scores(grid, fraction)
    with np.errstate(divide="ignore", invalid="ignore"):
        mean = grid["item_sum"].to_numpy(float) / grid["n_answered"].to_numpy(float)
    mean = np.where(scorable, mean, np.nan)
    out = pd.DataFrame(
        {
            "subject_id": grid["subject_id"].astype("str"),
            "visit": grid["visit"].astype("str"),
            "day": pd.array(np.round(grid["day"].to_numpy(float)), dtype="Float64").astype("Int64"),
            "instrument": "skindex16",
            "scale": grid["scale"].astype("str"),
            "n_items": grid["n_items"].astype("Int64"),
            "n_answered": grid["n_answered"].astype("Int64"),
            "item_mean": mean,
            "raw_sum": np.nan,
            "score": mean * 100.0 / 6.0,
            "metric": _METRIC,
            "direction": "lower",
            "reason": reason.to_numpy(),
        }
    )
    return out.loc[:, list(PRO_COLUMNS)].astype({"instrument": "str", "metric": "str"})
