"""PRO rules (PRO-*): Skindex-16 and FACE-Q item structure, responses and missingness.

Only structure is checked (item numbers, response ranges, share answered): FACTS.md 6
lists these as shareable facts; no item wording or scoring table is used.
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import pandas as pd

from efficacy.protocol.params import PRO_INSTRUMENTS
from efficacy.validate.context import Context, blank
from efficacy.validate.findings import Part, as_text, at_rows, at_trial
from efficacy.validate.registry import rule

_SKINDEX = "FACTS.md 2 (Skindex-16: 16 items, responses 0-6; Chren et al. 2001)"
_FACEQ = "FACTS.md 3 (FACE-Q Aesthetics: responses 1-4)"
_N_SKINDEX_ITEMS = 16


def _responses(ctx: Context, instrument: str, low: int, high: int, label: str) -> Iterator[Part]:
    p = ctx.need("pro_responses", "instrument", "response")
    r = pd.to_numeric(p["response"], errors="coerce")
    mine = (p["instrument"] == instrument).fillna(False).astype(bool)
    bad = mine & r.notna() & ((r < low) | (r > high) | (r != np.round(r)))
    if bad.any():
        rows = p[bad]
        yield at_rows(
            rows,
            table="pro_responses",
            column="response",
            message=f"{label} response "
            + as_text(rows["response"]).astype(str)
            + f" is not a whole number from {low} to {high}; correct it or leave it empty "
            "if unanswered",
        )


@rule(
    "PRO-001",
    "Skindex-16 responses 0-6",
    "pro",
    "error",
    _SKINDEX,
    "A Skindex-16 response is outside 0-6 or not a whole number.",
)
def check_skindex_responses(ctx: Context) -> Iterator[Part]:
    """Skindex-16 responses out of range."""
    return _responses(ctx, "skindex16", 0, 6, "Skindex-16")


@rule(
    "PRO-002",
    "PRO items complete and unique",
    "pro",
    "error",
    _SKINDEX,
    "Skindex-16 item numbers outside 1-16, an item entered twice at a subject/visit "
    "(also FACE-Q items within a scale), or fewer than the 16 Skindex-16 items present "
    "at a subject/visit (unanswered items need a row with an empty response).",
)
def check_items(ctx: Context) -> Iterator[Part]:
    """Item numbers out of range, repeated items, and incomplete Skindex-16 sets."""
    p = ctx.need("pro_responses", "subject_id", "visit", "instrument", "scale", "item")
    item = pd.to_numeric(p["item"], errors="coerce")
    sk = (p["instrument"] == "skindex16").fillna(False).astype(bool)
    out_of_range = sk & item.notna() & ((item < 1) | (item > _N_SKINDEX_ITEMS))
    if out_of_range.any():
        rows = p[out_of_range]
        yield at_rows(
            rows,
            table="pro_responses",
            column="item",
            message="item "
            + as_text(rows["item"]).astype(str)
            + " is not a Skindex-16 item (1-16)",
        )
    known = p["instrument"].isin(PRO_INSTRUMENTS) & item.notna() & ~blank(p["subject_id"])
    key = ["subject_id", "visit", "instrument", "item"]
    key_df = p.loc[known, key].assign(
        scale=p.loc[known, "scale"].where(~sk[known], "").astype(object).fillna("")
    )
    dup = key_df.duplicated(keep="first")
    if dup.any():
        rows = p.loc[dup[dup].index]
        yield at_rows(
            rows,
            table="pro_responses",
            column="item",
            message=rows["instrument"].astype(str)
            + " item "
            + as_text(rows["item"]).astype(str)
            + " is entered more than once at this visit; keep one row per item",
        )
    yield from _incomplete_skindex(p[sk & ~out_of_range & item.notna()])


def _incomplete_skindex(sk: pd.DataFrame) -> Iterator[Part]:
    """Subject/visits with fewer than 16 distinct Skindex-16 items (valid numbers only)."""
    frame = pd.DataFrame(
        {
            "s": sk["subject_id"].astype(object),
            "v": sk["visit"].astype(object),
            "i": pd.to_numeric(sk["item"], errors="coerce").astype("int64"),
        }
    ).drop_duplicates()
    counts = frame.groupby(["s", "v"], sort=False, dropna=False).size()
    short = counts[counts < _N_SKINDEX_ITEMS]
    if short.empty:
        return
    sub = frame.set_index(["s", "v"]).loc[short.index]
    present = sub.groupby(level=[0, 1], sort=False, dropna=False)["i"].agg(frozenset)
    everything = frozenset(range(1, _N_SKINDEX_ITEMS + 1))
    for (sid, visit), items in present.items():
        lacking = ", ".join(map(str, sorted(everything - items)))
        yield at_trial(
            table="pro_responses",
            column="item",
            subject_id=sid,
            visit=visit,
            value=lacking,
            message=f"only {len(items)} of the 16 Skindex-16 items are present "
            f"(missing items {lacking}); add a row per item, with an empty response "
            "if unanswered",
        )


@rule(
    "PRO-003",
    "FACE-Q responses 1-4",
    "pro",
    "error",
    _FACEQ,
    "A FACE-Q response is outside 1-4 or not a whole number.",
)
def check_faceq_responses(ctx: Context) -> Iterator[Part]:
    """FACE-Q responses out of range."""
    return _responses(ctx, "faceq", 1, 4, "FACE-Q")


@rule(
    "PRO-004",
    "Scales answered enough to score",
    "pro",
    "warning",
    "FACTS.md 2 and 3 (missing-item rules: project convention, ≥50% answered)",
    "At a subject/visit, the share of a scale's items answered is below the protocol's "
    "[validation] pro_min_answered_fraction (default 0.5): the scale cannot be scored.",
)
def check_missing_share(ctx: Context) -> Iterator[Part]:
    """Scales with too few answered items at a subject/visit."""
    p = ctx.need("pro_responses", "subject_id", "visit", "instrument", "scale", "response")
    minimum = float(ctx.params["pro_min_answered_fraction"])
    keep = p["instrument"].isin(PRO_INSTRUMENTS) & ~blank(p["subject_id"])
    p = p[keep]
    answered = p["response"].notna()
    keys = [p["subject_id"], p["visit"], p["instrument"], p["scale"]]
    g = answered.groupby(keys, sort=False, dropna=False).agg(["sum", "size"])
    low = g[g["sum"] < minimum * g["size"]]
    for (sid, visit, instrument, scale), n_ans, n in low.itertuples(name=None):
        missing = n - n_ans
        yield at_trial(
            table="pro_responses",
            column="response",
            subject_id=sid,
            visit=visit,
            value=scale,
            message=f"{missing} of {n} {instrument} {scale} items unanswered "
            f"({missing / n:.0%} missing; at least {minimum:.0%} must be answered): "
            "the scale cannot be scored at this visit",
        )


@rule(
    "PRO-005",
    "PRO instrument known",
    "pro",
    "error",
    "FACTS.md 2 and 3",
    "pro_responses.instrument is not skindex16 or faceq.",
)
def check_instruments(ctx: Context) -> Iterator[Part]:
    """Unknown instrument ids."""
    p = ctx.need("pro_responses", "instrument")
    bad = ~blank(p["instrument"]) & ~p["instrument"].isin(PRO_INSTRUMENTS)
    if bad.any():
        rows = p[bad]
        yield at_rows(
            rows,
            table="pro_responses",
            column="instrument",
            message="instrument "
            + rows["instrument"].astype(str).map(repr)
            + f" is not one of {', '.join(PRO_INSTRUMENTS)}; use a known instrument id",
        )
