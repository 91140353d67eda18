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
    ProRows,
    check_fraction,
    empty_scores,
    number_text,
    pro_rows,
    rule_reasons,
    scores_frame,
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
_NAMES = (*SKINDEX16_DOMAINS, "overall")
_N_ITEMS = np.array([len(i) for i in SKINDEX16_DOMAINS.values()] + [16])
_DOMAIN_CODE = np.full(17, -1, dtype=np.int64)
for _code, _items in enumerate(SKINDEX16_DOMAINS.values()):
    _DOMAIN_CODE[list(_items)] = _code


def _stray(rows: ProRows, domain: np.ndarray) -> dict[int, list[str]]:
    """Problems per questionnaire from rows whose item is not 1-16."""
    out: dict[int, list[str]] = {}
    for k in np.flatnonzero(domain < 0):
        text = f"item {number_text(rows.item[k])} is not a Skindex-16 item (1-16)"
        out.setdefault(int(rows.q[k]), []).append(text)
    return out


def _counts(rows: ProRows, overall: bool) -> dict[str, np.ndarray]:
    """n_answered, item_sum and problem text per questionnaire x scale (q-major)."""
    item = rows.item
    with np.errstate(invalid="ignore"):
        whole = ~np.isnan(item) & (item == np.round(item)) & (item >= 1) & (item <= 16)
    domain = np.full(len(item), -1, dtype=np.int64)
    domain[whole] = _DOMAIN_CODE[item[whole].astype(np.int64)]
    tallies = [tally(rows, domain, 3, whole, [0] * 3, [6] * 3, _NAMES[:3])]
    if overall:
        tallies.append(tally(rows, np.where(whole, 0, -1), 1, whole, [0], [6], ["overall"]))
    width = 3 + int(overall)
    q = np.repeat(np.arange(rows.n), width)
    s = np.tile(np.arange(width), rows.n)
    g = np.where(s < 3, q * 3 + np.minimum(s, 2), q)
    which = (s >= 3).astype(np.int64)
    n_answered = np.where(which == 0, tallies[0].n_answered[np.where(which == 0, g, 0)], 0)
    item_sum = np.where(which == 0, tallies[0].item_sum[np.where(which == 0, g, 0)], 0.0)
    if overall:
        n_answered = np.where(which == 1, tallies[1].n_answered[q], n_answered)
        item_sum = np.where(which == 1, tallies[1].item_sum[q], item_sum)
    stray = _stray(rows, domain)
    problems = (
        [
            "; ".join(tallies[w].problems.get(int(gi), []) + stray.get(int(qi), []))
            for qi, gi, w in zip(q, g, which, strict=True)
        ]
        if (stray or any(t.problems for t in tallies))
        else [""] * len(q)
    )
    return {
        "q": q,
        "s": s,
        "n_answered": n_answered,
        "item_sum": item_sum,
        "problems": np.asarray(problems, dtype=object),
    }


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
    if rows.n == 0:
        return empty_scores()
    c = _counts(rows, bool(overall))
    n_items = _N_ITEMS[c["s"]]
    names = np.asarray(_NAMES, dtype=object)[c["s"]]
    problems: list[str] = c["problems"].tolist()
    scorable, reason = rule_reasons(n_items, c["n_answered"], problems, names, fraction)
    with np.errstate(divide="ignore", invalid="ignore"):
        mean = np.where(scorable, c["item_sum"] / c["n_answered"], np.nan)
    q = c["q"]
    return scores_frame(
        {
            "subject_id": rows.subject_id[q],
            "visit": rows.visit[q],
            "day": rows.day[q],
            "instrument": "skindex16",
            "scale": names,
            "n_items": n_items,
            "n_answered": c["n_answered"],
            "item_mean": mean,
            "raw_sum": np.nan,
            "score": mean * 100.0 / 6.0,
            "metric": _METRIC,
            "direction": "lower",
            "reason": reason,
        }
    )
