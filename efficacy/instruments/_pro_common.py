"""What the PRO scorers share: input checks, item tallies and the missing-item rule.

A *questionnaire* is one subject at one visit; a *scale* (Skindex-16: a domain) is a
set of items scored together. The tally counts, per questionnaire and scale, the items
answered with a valid response, and lists every structural problem (an item that does
not belong to the scale, an item entered twice, a response outside the range or not a
whole number). A scale with a problem is never scored: the score would rest on data
validation reports as an error (PRO-001 to PRO-003).
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from efficacy.errors import EfficacyError

__all__ = [
    "KEYS",
    "PRO_COLUMNS",
    "check_fraction",
    "day_of",
    "empty_scores",
    "finish_scores",
    "items_needed",
    "pro_rows",
    "tally",
]

#: Questionnaire key.
KEYS: list[str] = ["subject_id", "visit"]

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


def items_needed(fraction: float, n_items: np.ndarray | int) -> np.ndarray:
    """Smallest number of answered items reaching `fraction` of `n_items`: ceil(f * n).

    A tolerance of 1e-9 keeps ``0.5 * 4 = 2`` from becoming 3 through rounding error.
    """
    return np.ceil(fraction * np.asarray(n_items, dtype=float) - 1e-9).astype(np.int64)


def _text(values: pd.Series) -> pd.Series:
    """Strings for messages: whole numbers without '.0', others as written."""
    num = pd.to_numeric(values, errors="coerce")
    whole = num.notna() & (num == np.round(num))
    out = values.astype(object).astype(str)
    out[whole] = num[whole].astype(np.int64).astype(str)
    return out


def pro_rows(responses: pd.DataFrame, instrument: str, *, need_scale: bool) -> pd.DataFrame:
    """Rows of `instrument` as a fresh frame: keys, day, scale, item, response, bad_text.

    Parameters
    ----------
    responses : pandas.DataFrame
        Long PRO table (``pro_responses`` schema). Rows of other instruments are
        ignored when an ``instrument`` column is present; without it every row is taken
        to belong to `instrument`.
    instrument : str
        ``"skindex16"`` or ``"faceq"``.
    need_scale : bool
        Whether a ``scale`` column is required (FACE-Q: items are numbered per scale).

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
    frame = responses
    if "instrument" in frame.columns:
        mine = (frame["instrument"] == instrument).fillna(False).astype(bool)
        frame = frame[mine.to_numpy()]
    raw = frame["response"]
    response = pd.to_numeric(raw, errors="coerce").astype(float)
    blank = raw.isna() | raw.astype(object).astype(str).str.strip().eq("")
    day = frame["day"] if "day" in frame.columns else pd.Series(pd.NA, index=frame.index)
    out = pd.DataFrame(
        {
            "subject_id": frame["subject_id"].astype(object).to_numpy(),
            "visit": frame["visit"].astype(object).to_numpy(),
            "day": pd.to_numeric(day, errors="coerce").to_numpy(dtype=float, na_value=np.nan),
            "scale": frame["scale"].astype(object).to_numpy() if need_scale else None,
            "item": pd.to_numeric(frame["item"], errors="coerce").astype(float).to_numpy(),
            "response": response.to_numpy(),
            "bad_text": (~blank & response.isna()).to_numpy(),
            "raw": raw.astype(object).to_numpy(),
        }
    )
    return out


def _problems(r: pd.DataFrame, group: list[str]) -> pd.Series:
    """One '; '-joined problem string per (group) with at least one problem."""
    stray = ~r["item_ok"]
    first_dup = r["dup"] & ~r.duplicated([*group, "item"], keep="first")
    bad = r["item_ok"] & r["response"].notna() & ~r["valid"]
    flagged = stray | first_dup | bad | r["bad_text"]
    if not flagged.any():
        return pd.Series(dtype=object)
    f = r[flagged]
    item = _text(f["item"]).where(f["item"].notna(), "(missing)")
    raw = _text(f["raw"])
    dup_n = r.groupby([*group, "item"], dropna=False)["item"].transform("size")[flagged]
    lo, hi = f["low"].astype(np.int64).astype(str), f["high"].astype(np.int64).astype(str)
    parts = [
        ("item " + item + " is not an item of " + f["label"])[stray[flagged]],
        ("item " + item + " appears " + dup_n.astype(str) + " times")[first_dup[flagged]],
        ("item " + item + ": response " + raw + " is not a whole number " + lo + "-" + hi)[
            bad[flagged]
        ],
        ("item " + item + ": response " + raw + " is not a number")[f["bad_text"]],
    ]
    probs = pd.concat(parts).sort_index(kind="stable")
    keyed = r.loc[probs.index, group].assign(problem=probs.to_numpy())
    return keyed.groupby(group, dropna=False, sort=False)["problem"].agg("; ".join)


def tally(rows: pd.DataFrame) -> pd.DataFrame:
    """Count answered items per questionnaire and scale, and list structural problems.

    Parameters
    ----------
    rows : pandas.DataFrame
        From :func:`pro_rows`, with the scale assigned and columns ``item_ok`` (the item
        belongs to the scale), ``low`` and ``high`` (response range) and ``label`` (for
        messages, e.g. ``"symptoms (items 1-4)"``).

    Returns
    -------
    pandas.DataFrame
        One row per (subject_id, visit, scale) present in `rows`: ``n_answered``,
        ``item_sum`` (sum of the answered responses), ``problems`` ('' if none).
    """
    group = [*KEYS, "scale"]
    r = rows.reset_index(drop=True)
    lo, hi = r["low"], r["high"]
    resp = r["response"]
    r["valid"] = resp.notna() & (resp == np.round(resp)) & (resp >= lo) & (resp <= hi)
    r["dup"] = r["item_ok"] & r.duplicated([*group, "item"], keep=False)
    r["answered"] = r["item_ok"] & ~r["dup"] & r["valid"]
    r["kept"] = resp.where(r["answered"], 0.0)
    agg = r.groupby(group, dropna=False, sort=False).agg(
        n_answered=("answered", "sum"), item_sum=("kept", "sum")
    )
    probs = _problems(r, group)
    agg["problems"] = probs.reindex(agg.index).fillna("") if len(probs) else ""
    return agg.reset_index()


def finish_scores(
    frame: pd.DataFrame, fraction: float, noun: str = "items"
) -> tuple[np.ndarray, pd.Series]:
    """Apply the missing-item rule: (scorable mask, reason per row).

    `frame` needs ``n_items``, ``n_answered``, ``problems`` and ``scale``. A scale is
    scorable when it has no structural problem and ``n_answered >= ceil(f * n_items)``.
    The reason of an unscorable scale states the count and the rule, e.g.
    ``"1 of 4 symptoms items answered; at least 2 needed (min_answered_fraction 0.5)"``.
    """
    n = frame["n_items"].to_numpy(dtype=np.int64)
    k = frame["n_answered"].to_numpy(dtype=np.int64)
    needed = items_needed(fraction, n)
    short = k < needed
    clean = frame["problems"].eq("").to_numpy()
    reason = frame["problems"].astype(object).copy()
    text = (
        pd.Series(k, index=frame.index).astype(str)
        + " of "
        + pd.Series(n, index=frame.index).astype(str)
        + " "
        + frame["scale"].astype(str)
        + f" {noun} answered; at least "
        + pd.Series(needed, index=frame.index).astype(str)
        + f" needed (min_answered_fraction {fraction:g})"
    )
    both = short & ~clean
    reason[short & clean] = text[short & clean]
    reason[both] = reason[both] + "; " + text[both]
    return clean & ~short, reason.astype(str)


def empty_scores() -> pd.DataFrame:
    """Return an empty scored-PRO frame with :data:`PRO_COLUMNS` and their dtypes."""
    return pd.DataFrame(
        {
            "subject_id": pd.Series(dtype="str"),
            "visit": pd.Series(dtype="str"),
            "day": pd.Series(dtype="Int64"),
            "instrument": pd.Series(dtype="str"),
            "scale": pd.Series(dtype="str"),
            "n_items": pd.Series(dtype="Int64"),
            "n_answered": pd.Series(dtype="Int64"),
            "item_mean": pd.Series(dtype="float64"),
            "raw_sum": pd.Series(dtype="float64"),
            "score": pd.Series(dtype="float64"),
            "metric": pd.Series(dtype="str"),
            "direction": pd.Series(dtype="str"),
            "reason": pd.Series(dtype="str"),
        }
    )


def day_of(rows: pd.DataFrame) -> pd.DataFrame:
    """Completion day per questionnaire: the earliest day recorded on its rows."""
    return rows.groupby(KEYS, dropna=False, sort=False)["day"].min().reset_index()
