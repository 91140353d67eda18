"""What the PRO scorers share: input checks, item tallies and the missing-item rule.

A *questionnaire* is one subject at one visit; a *scale* (Skindex-16: a domain) is a
set of items scored together. The tally counts, per questionnaire and scale, the items
answered with a valid response, and lists every structural problem (an item that does
not belong to the scale, an item entered twice, a response outside the range or not a
whole number). A scale with a problem is never scored: the score would rest on data
validation reports as an error (PRO-001 to PRO-003).

Everything runs on integer codes (questionnaire x scale) with ``numpy.bincount``; only
the rows with a problem are formatted in Python.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from efficacy.errors import EfficacyError
from efficacy.instruments._frames import int64_array, str_array
from efficacy.instruments._readings import group_range

__all__ = [
    "PRO_COLUMNS",
    "ProRows",
    "Tally",
    "check_fraction",
    "empty_scores",
    "items_needed",
    "number_text",
    "pro_rows",
    "rule_reasons",
    "scores_frame",
    "tally",
]

#: Columns of every scored PRO table (score_skindex16, score_faceq), in order.
PRO_COLUMNS: tuple[str, ...] = (
    "subject_id",
    "visit",
    "day",
    "instrument",
    "scale",
    "n_items",
    "n_answered",
    "item_mean",
    "raw_sum",
    "score",
    "metric",
    "direction",
    "reason",
)

_REQUIRED = ("subject_id", "visit", "item", "response")


def check_fraction(value: float, name: str = "min_answered_fraction") -> float:
    """Return `value` as a float in (0, 1], or raise naming the argument."""
    ok = isinstance(value, int | float) and not isinstance(value, bool)
    if not ok or not math.isfinite(value) or not 0 < value <= 1:
        raise EfficacyError(
            f"{name}={value!r} must be a number in (0, 1], e.g. 0.5 (half the items answered)"
        )
    return float(value)


def items_needed(fraction: float, n_items: np.ndarray | int, *, strict: bool = False) -> np.ndarray:
    """Smallest number of answered items the missing-item rule accepts.

    Parameters
    ----------
    fraction : float
        The protocol's ``pro_min_answered_fraction`` *f* (0.5 by default).
    n_items : int or ndarray of int
        Items in the scale.
    strict : bool, default False
        False (Skindex-16, a project convention, FACTS.md 2): at least *f* of the items
        answered, ``ceil(f * n)``; with 0.5, exactly half answered is enough (2 of 4).
        True (FACE-Q, FACTS.md 3): *more than* *f* of the items answered, i.e. fewer
        than ``1 - f`` of them missing, ``floor(f * n) + 1`` (at most ``n``); with 0.5,
        exactly half missing is not enough (6 of 10, 7 of 12 needed). The two differ only
        when ``f * n`` is whole: for 5 items both need 3.

    Returns
    -------
    numpy.ndarray of int64

    Notes
    -----
    A tolerance of 1e-9 keeps ``0.5 * 4 = 2`` from becoming 3 (or, strict, 2) through
    rounding error.

    Examples
    --------
    >>> items_needed(0.5, [4, 5, 10, 12]).tolist()
    [2, 3, 5, 6]
    >>> items_needed(0.5, [4, 5, 10, 12], strict=True).tolist()
    [3, 3, 6, 7]
    >>> items_needed(1.0, [10], strict=True).tolist()  # every item, never more
    [10]
    """
    n = np.asarray(n_items, dtype=float)
    if strict:
        needed: np.ndarray = np.minimum(np.floor(fraction * n + 1e-9) + 1, n)
    else:
        needed = np.ceil(fraction * n - 1e-9)
    return needed.astype(np.int64)


def number_text(x: object) -> str:
    """Format a value for a message: whole numbers without '.0', '(missing)' for NA."""
    if x is None or x is pd.NA or (isinstance(x, float) and math.isnan(x)):
        return "(missing)"
    if isinstance(x, int | float | np.integer | np.floating) and float(x).is_integer():
        return str(int(x))
    return str(x)


@dataclass(frozen=True)
class ProRows:
    """Rows of one instrument as arrays, with questionnaire codes.

    Attributes
    ----------
    subject_id, visit : ndarray of object
        One entry per questionnaire (first-seen order).
    day : ndarray of float
        Earliest day recorded per questionnaire (NaN if none).
    q : ndarray of int
        Questionnaire code of each row.
    scale : ndarray of int or None
        Code of the ``scale`` column per row (FACE-Q; -1 = missing or blank).
    scale_names : list
        The scale names the codes index.
    item, response : ndarray of float
    bad_text : ndarray of bool
        A response that is neither blank nor a number.
    raw : ndarray of object
        The response cells as given (for messages).
    """

    subject_id: np.ndarray
    visit: np.ndarray
    day: np.ndarray
    q: np.ndarray
    scale: np.ndarray | None
    scale_names: list[object]
    item: np.ndarray
    response: np.ndarray
    bad_text: np.ndarray
    raw: np.ndarray

    @property
    def n(self) -> int:
        """Number of questionnaires."""
        return len(self.subject_id)


def _codes(values: pd.Series) -> np.ndarray:
    return pd.factorize(values, use_na_sentinel=False)[0].astype(np.int64)


def pro_rows(responses: pd.DataFrame, instrument: str, *, need_scale: bool) -> ProRows:
    """Rows of `instrument` as :class:`ProRows`.

    Rows of other instruments are ignored when an ``instrument`` column is present;
    without it every row is taken to belong to `instrument`.

    Raises
    ------
    EfficacyError
        If `responses` is not a DataFrame or lacks a required column.
    """
    if not isinstance(responses, pd.DataFrame):
        raise EfficacyError(
            f"responses must be a pandas DataFrame (the pro_responses table), "
            f"not {type(responses).__name__}"
        )
    required = (*_REQUIRED, "scale") if need_scale else _REQUIRED
    lacking = [c for c in required if c not in responses.columns]
    if lacking:
        raise EfficacyError(
            f"responses lacks column(s) {', '.join(lacking)}; give the pro_responses table "
            f"({', '.join(required)})"
        )
    f = responses
    if "instrument" in f.columns:
        # a missing instrument ("" here; `instrument` is a scorer's non-empty name) is not it
        mine = f["instrument"].to_numpy(dtype=object, na_value="") == instrument
        f = f[np.asarray(mine, dtype=bool)]
    raw = f["response"]
    response = pd.to_numeric(raw, errors="coerce").to_numpy(float, na_value=np.nan)
    if pd.api.types.is_numeric_dtype(raw.dtype):
        bad_text = np.zeros(len(f), dtype=bool)
    else:
        blank = raw.isna() | raw.astype(object).astype(str).str.strip().eq("")
        bad_text = (~blank).to_numpy(dtype=bool) & np.isnan(response)
    s, v = _codes(f["subject_id"]), _codes(f["visit"])
    pair = s * (int(v.max(initial=0)) + 1) + v
    _, first, q = np.unique(pair, return_index=True, return_inverse=True)
    order = np.argsort(first, kind="stable")  # questionnaire codes in first-seen order
    rank = np.empty_like(order)
    rank[order] = np.arange(len(order))
    q = rank[q]
    first = first[order]
    scale_codes: np.ndarray | None = None
    scale_names: list[object] = []
    if need_scale:
        codes, uniques = pd.factorize(f["scale"], use_na_sentinel=True)
        scale_names = list(uniques)
        empty = [i for i, v in enumerate(scale_names) if isinstance(v, str) and not v.strip()]
        scale_codes = np.where(np.isin(codes, empty), -1, codes).astype(np.int64)
    day_col = f["day"] if "day" in f.columns else pd.Series(np.nan, index=f.index)
    day = pd.to_numeric(day_col, errors="coerce").to_numpy(float, na_value=np.nan)
    day_min = group_range(day, q, len(first))[0]
    return ProRows(
        subject_id=f["subject_id"].iloc[first].to_numpy(dtype=object),
        visit=f["visit"].iloc[first].to_numpy(dtype=object),
        day=day_min,
        q=q.astype(np.int64),
        scale=scale_codes,
        scale_names=scale_names,
        item=pd.to_numeric(f["item"], errors="coerce").to_numpy(float, na_value=np.nan),
        response=response,
        bad_text=bad_text,
        raw=raw.to_numpy(dtype=object),
    )


@dataclass(frozen=True)
class Tally:
    """Per group (questionnaire x scale, ``g = q * n_scales + s``): counts and problems."""

    rows: np.ndarray  # rows per group
    n_answered: np.ndarray
    item_sum: np.ndarray
    first_row: np.ndarray  # first row position per group (len(rows) if none)
    problems: dict[int, list[str]]


def tally(
    rows: ProRows,
    scale: np.ndarray,
    n_scales: int,
    item_ok: np.ndarray,
    low: Sequence[int],
    high: Sequence[int],
    label: Sequence[str],
) -> Tally:
    """Count answered items per questionnaire and scale; list structural problems.

    Parameters
    ----------
    rows : ProRows
    scale : ndarray of int
        Scale code per row; -1 leaves the row out.
    n_scales : int
    item_ok : ndarray of bool
        The row's item belongs to its scale.
    low, high, label : sequences indexed by scale code
        Response range and message label (e.g. ``"satisfaction_temples (items 1-12)"``).
    """
    keep = scale >= 0
    idx = np.flatnonzero(keep)
    g = rows.q[idx] * n_scales + scale[idx]
    size = rows.n * n_scales
    resp, item, ok = rows.response[idx], rows.item[idx], item_ok[idx]
    lo, hi = np.asarray(low, float)[scale[idx]], np.asarray(high, float)[scale[idx]]
    with np.errstate(invalid="ignore"):
        valid = ~np.isnan(resp) & (resp == np.round(resp)) & (resp >= lo) & (resp <= hi)
    key = g * 1_000_003 + np.where(ok, item, -1).astype(np.int64)
    _, inv, counts = np.unique(key, return_inverse=True, return_counts=True)
    dup = ok & (counts[inv] > 1)
    answered = ok & ~dup & valid
    first = np.full(size, len(rows.q), dtype=np.int64)
    np.minimum.at(first, g, idx)
    problems: dict[int, list[str]] = {}
    flagged = np.flatnonzero(~ok | dup | (ok & ~np.isnan(resp) & ~valid) | rows.bad_text[idx])
    seen_dup: set[int] = set()
    for k in flagged:
        gi, it = int(g[k]), number_text(item[k])
        if not ok[k]:
            text = f"item {it} is not an item of {label[scale[idx[k]]]}"
        elif dup[k]:
            if key[k] in seen_dup:
                continue
            seen_dup.add(int(key[k]))
            text = f"item {it} appears {counts[inv[k]]} times"
        elif rows.bad_text[idx[k]]:
            text = f"item {it}: response {rows.raw[idx[k]]!r} is not a number"
        else:
            text = (
                f"item {it}: response {number_text(rows.raw[idx[k]])} is not a whole number "
                f"{int(lo[k])}-{int(hi[k])}"
            )
        problems.setdefault(gi, []).append(text)
    return Tally(
        rows=np.bincount(g, minlength=size),
        n_answered=np.bincount(g[answered], minlength=size),
        item_sum=np.bincount(g, weights=np.where(answered, resp, 0.0), minlength=size),
        first_row=first,
        problems=problems,
    )


def rule_reasons(
    n_items: np.ndarray,
    n_answered: np.ndarray,
    problems: Sequence[str],
    names: Sequence[str],
    fraction: float,
    *,
    strict: bool = False,
) -> tuple[np.ndarray, np.ndarray]:
    """Apply the missing-item rule: (scorable mask, reason per group).

    A scale is scorable when it has no structural problem and ``n_answered >=
    items_needed(fraction, n_items, strict=strict)`` (see :func:`items_needed`). The
    reason of an unscorable scale states the count and the rule, e.g. ``"1 of 4
    symptoms items answered; at least 2 needed (min_answered_fraction 0.5)"``, or with
    `strict` ``"5 of 10 satisfaction_facial_appearance items answered; at least 6
    needed (fewer than 50% may be missing; min_answered_fraction 0.5)"``, after any
    structural problems.
    """
    needed = items_needed(fraction, n_items, strict=strict)
    short = n_answered < needed
    probs = np.asarray(problems, dtype=object)
    clean = probs == ""
    reason = probs.copy()
    if not strict:
        rule = f"min_answered_fraction {fraction:g}"
    elif fraction < 1:
        rule = f"fewer than {1 - fraction:.0%} may be missing; min_answered_fraction {fraction:g}"
    else:
        rule = "every item; min_answered_fraction 1"
    for i in map(int, np.flatnonzero(short)):
        text = (
            f"{n_answered[i]} of {n_items[i]} {names[i]} items answered; at least "
            f"{needed[i]} needed ({rule})"
        )
        reason[i] = text if clean[i] else f"{reason[i]}; {text}"
    return clean & ~short, reason


#: Text columns of :data:`PRO_COLUMNS` (dtype ``str``) and whole-number ones (``Int64``).
_TEXT_COLUMNS = frozenset(
    ("subject_id", "visit", "instrument", "scale", "metric", "direction", "reason")
)
_COUNT_COLUMNS = frozenset(("day", "n_items", "n_answered"))


def scores_frame(columns: dict[str, Any]) -> pd.DataFrame:
    """Assemble a scored-PRO frame with :data:`PRO_COLUMNS` and their dtypes.

    `columns` maps each of :data:`PRO_COLUMNS` to a sequence (all the same length) or
    a scalar (repeated). Text columns become ``str``, ``day`` (rounded), ``n_items``
    and ``n_answered`` ``Int64``, the others float64; the index is a RangeIndex.
    """
    sized = [len(v) for v in columns.values() if not _is_scalar(v)]
    if len(set(sized)) > 1:
        raise ValueError(f"scores_frame: columns of different lengths {sorted(set(sized))}")
    n = sized[0] if sized else 0
    data: dict[str, object] = {}
    for name in PRO_COLUMNS:
        value = columns[name]
        if name in _TEXT_COLUMNS:
            data[name] = str_array(_filled(value, n, object))
        elif name in _COUNT_COLUMNS:
            counts = np.asarray(_filled(value, n, float), dtype=float)
            data[name] = int64_array(np.round(counts) if name == "day" else counts)
        else:
            data[name] = np.asarray(_filled(value, n, float), dtype=float)
    return pd.DataFrame(data, index=pd.RangeIndex(n), copy=False)


def _is_scalar(value: Any) -> bool:
    return isinstance(value, (str, bytes)) or np.ndim(value) == 0


def _filled(value: Any, n: int, dtype: type) -> np.ndarray:
    """`value` as a 1-d array of `dtype`: a scalar repeated `n` times, a sequence as is."""
    if _is_scalar(value):
        return np.full(n, value, dtype=dtype)
    if dtype is object:
        return np.asarray(value, dtype=object)
    if isinstance(value, np.ndarray) and value.dtype == np.float64:
        return value.copy()
    return pd.Series(value).astype(float).to_numpy()


def empty_scores() -> pd.DataFrame:
    """Return an empty scored-PRO frame with :data:`PRO_COLUMNS` and their dtypes."""
    if not _EMPTY_SCORES:
        _EMPTY_SCORES.append(scores_frame({c: [] for c in PRO_COLUMNS}))
    return _EMPTY_SCORES[0].copy()  # a copy: the template is never handed out


#: The empty scored-PRO frame, built on first use.
_EMPTY_SCORES: list[pd.DataFrame] = []
