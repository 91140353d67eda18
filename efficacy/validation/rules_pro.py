"""PRO rules (PRO-*): Skindex-16 and FACE-Q item structure, responses and missingness.

Only structure is checked (item numbers, response ranges, share answered): FACTS.md 6
lists these as shareable facts; no item wording or scoring table is used.
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import pandas as pd

from efficacy.errors import InputError
from efficacy.instruments._pro_common import items_needed
from efficacy.protocol.params import PRO_INSTRUMENTS
from efficacy.validation._rule import Rule, rule
from efficacy.validation.context import Context, combine, first_positions
from efficacy.validation.findings import NotApplicable, Part, as_text, at_rows, at_trial, text_by

_SKINDEX = "FACTS.md 2 (Skindex-16: 16 items, responses 0-6; Chren et al. 2001)"
_FACEQ = "FACTS.md 3 (FACE-Q Aesthetics: responses 1-4)"
_N_SKINDEX_ITEMS = 16


def _responses(ctx: Context, instrument: str, low: int, high: int, label: str) -> Iterator[Part]:
    p = ctx.need("pro_responses", "instrument", "response")
    r = pd.to_numeric(p["response"], errors="coerce").to_numpy(dtype=float, na_value=np.nan)
    mine = ctx.isin("pro_responses", "instrument", [instrument])
    with np.errstate(invalid="ignore"):
        bad = mine & ~np.isnan(r) & ((r < low) | (r > high) | (r != np.round(r)))
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
            pattern=f"{label} response is not a whole number from {low} to {high}; correct "
            "it or leave it empty if unanswered",
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
    t = "pro_responses"
    p = ctx.need(t, "subject_id", "visit", "instrument", "scale", "item")
    item = pd.to_numeric(p["item"], errors="coerce").to_numpy(dtype=float, na_value=np.nan)
    sk = ctx.isin(t, "instrument", ["skindex16"])
    with np.errstate(invalid="ignore"):
        out_of_range = sk & ~np.isnan(item) & ((item < 1) | (item > _N_SKINDEX_ITEMS))
    if out_of_range.any():
        rows = p[out_of_range]
        yield at_rows(
            rows,
            table=t,
            column="item",
            message="item "
            + as_text(rows["item"]).astype(str)
            + " is not a Skindex-16 item (1-16)",
            pattern="item is not a Skindex-16 item (1-16)",
        )
    known = ctx.isin(t, "instrument", PRO_INSTRUMENTS) & ~np.isnan(item)
    known &= ~ctx.blank(t, "subject_id")
    # Skindex-16 items are numbered across scales; FACE-Q items within each scale
    scale = np.where(sk, -1, ctx.codes(t, "scale")[0])
    codes = [ctx.codes(t, c)[0] for c in ("subject_id", "visit", "instrument", "item")]
    key = combine(*codes, scale)
    dup = np.zeros(len(p), dtype=bool)
    dup[known] = pd.Series(key[known]).duplicated().to_numpy()
    if dup.any():
        rows = p[dup]
        yield at_rows(
            rows,
            table=t,
            column="item",
            message=rows["instrument"].astype(str)
            + " item "
            + as_text(rows["item"]).astype(str)
            + " is entered more than once at this visit; keep one row per item",
            pattern="item is entered more than once at a visit; keep one row per item",
        )
    yield from _incomplete_skindex(ctx, sk & ~out_of_range & ~np.isnan(item), item)


def _incomplete_skindex(ctx: Context, sk: np.ndarray, item: np.ndarray) -> Iterator[Part]:
    """Subject/visits with fewer than 16 distinct Skindex-16 items (valid numbers only)."""
    t = "pro_responses"
    visit = combine(ctx.codes(t, "subject_id")[0], ctx.codes(t, "visit")[0])[sk]
    group, first = pd.factorize(visit)
    present = np.zeros((len(first), _N_SKINDEX_ITEMS + 1), dtype=bool)
    present[group, item[sk].astype(np.int64)] = True
    counts = present.sum(axis=1)
    short = np.flatnonzero(counts < _N_SKINDEX_ITEMS)
    if len(short) == 0:
        return
    rows = ctx.table(t)[sk]
    first_pos = first_positions(group)
    everything = set(range(1, _N_SKINDEX_ITEMS + 1))
    for g in short:
        items = set(np.flatnonzero(present[g]).tolist())
        lacking = ", ".join(map(str, sorted(everything - items)))
        at = rows.iloc[first_pos[g]]
        yield at_trial(
            table=t,
            column="item",
            subject_id=at["subject_id"],
            visit=at["visit"],
            value=lacking,
            message=f"only {len(items)} of the 16 Skindex-16 items are present "
            f"(missing items {lacking}); add a row per item, with an empty response "
            "if unanswered",
            pattern="Skindex-16 items are missing at a visit; add a row per item, with an "
            "empty response if unanswered",
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
    "FACTS.md 2 and 3 (missing-item rules: Skindex-16 project convention, ≥50% answered; "
    "FACE-Q as reported for its guides, <50% missing)",
    "At a subject/visit, too few of a scale's items are answered for the scorers' rule "
    "with the protocol's [validation] pro_min_answered_fraction f (default 0.5): "
    "Skindex-16 needs at least f answered, FACE-Q fewer than 1 - f missing (exactly "
    "half missing is not scored). The scale cannot be scored.",
)
def check_missing_share(ctx: Context) -> Iterator[Part]:
    """Scales with too few answered items at a subject/visit."""
    t = "pro_responses"
    p = ctx.need(t, "subject_id", "visit", "instrument", "scale", "response")
    minimum = float(ctx.params["pro_min_answered_fraction"])
    keep = ctx.isin(t, "instrument", PRO_INSTRUMENTS) & ~ctx.blank(t, "subject_id")
    cols = ("subject_id", "visit", "instrument", "scale")
    group, _ = pd.factorize(combine(*(ctx.codes(t, c)[0] for c in cols))[keep])
    answered = p["response"].notna().to_numpy()[keep]
    n = np.bincount(group)
    n_ans = np.bincount(group, weights=answered)
    first_pos = first_positions(group)
    rows = p[keep]
    # the scorers' rule: Skindex-16 at least the fraction answered, FACE-Q fewer than
    # 1 - fraction missing (FACTS.md 3: exactly half missing is not scored)
    faceq = (rows["instrument"].to_numpy(dtype=object)[first_pos] == "faceq").astype(bool)
    needed = np.where(
        faceq,
        items_needed(minimum, n, strict=True),
        items_needed(minimum, n, strict=False),
    )
    low = np.flatnonzero(n_ans < needed)
    if len(low) == 0:
        return
    for g in low:
        at = rows.iloc[first_pos[g]]
        missing = int(n[g] - n_ans[g])
        yield at_trial(
            table=t,
            column="response",
            subject_id=at["subject_id"],
            visit=at["visit"],
            value=at["scale"],
            message=f"{missing} of {n[g]} {at['instrument']} {at['scale']} items unanswered "
            f"({missing / n[g]:.0%} missing; "
            + (
                f"fewer than {1 - minimum:.0%} may be missing"
                if faceq[g] and minimum < 1
                else f"at least {minimum:.0%} must be answered"
            )
            + "): the scale cannot be scored at this visit",
            pattern="too many items of a scale unanswered: the scale cannot be scored at "
            "this visit",
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
    t = "pro_responses"
    bad = ~ctx.blank(t, "instrument") & ~ctx.isin(t, "instrument", PRO_INSTRUMENTS)
    if bad.any():
        rows = p[bad]
        yield at_rows(
            rows,
            table="pro_responses",
            column="instrument",
            message="instrument "
            + text_by(rows["instrument"], repr)
            + f" is not one of {', '.join(PRO_INSTRUMENTS)}; use a known instrument id",
            pattern=f"instrument is not one of {', '.join(PRO_INSTRUMENTS)}; use a known "
            "instrument id",
        )


@rule(
    "PRO-006",
    "FACE-Q on the validated Rasch 0-100 metric",
    "pro",
    "warning",
    "FACTS.md 3 and 6 (FACE-Q raw sums are converted with the licensed user guide's tables)",
    "FACE-Q responses are present but the bundle names no conversion table ([tables] "
    "faceq_conversion), or a FACE-Q scale is not in it: those scores stay raw sums, not "
    "the validated 0-100 metric. An invalid table is an error (every problem listed), "
    "and so is a table that cannot be read (named with the file's problem).",
)
def check_faceq_metric(ctx: Context) -> Iterator[Part]:
    """Whether FACE-Q scales can be converted to the Rasch 0-100 metric."""
    from efficacy.errors import ConversionTableError
    from efficacy.instruments.faceq_tables import load_faceq_conversion

    t = "pro_responses"
    ctx.need(t, "instrument", "scale")
    codes, uniques = ctx.codes(t, "scale")
    faceq = set(codes[ctx.isin(t, "instrument", ["faceq"])].tolist()) - {-1}  # -1: missing
    scales = sorted(uniques[c] for c in faceq)
    if not scales:
        raise NotApplicable("no FACE-Q responses")
    path = ctx.reference_file("faceq_conversion")
    if path is None:
        yield at_trial(
            table=t,
            column="scale",
            value=", ".join(scales),
            message="FACE-Q scores will be raw sums, not the validated Rasch 0-100 metric: "
            "no conversion table; add your licensed table as [tables] faceq_conversion",
        )
        return
    try:
        covered = set(load_faceq_conversion(path).scales)
    except ConversionTableError as exc:
        for problem in exc.problems:
            yield at_trial(
                table="faceq_conversion", severity="error", message=f"{path.name}: {problem}"
            )
        return
    except InputError as exc:  # unreadable, missing, not UTF-8: one line naming the file
        yield at_trial(table="faceq_conversion", severity="error", message=str(exc))
        return
    for scale in (s for s in scales if s not in covered):
        yield at_trial(
            table=t,
            column="scale",
            value=scale,
            message=f"FACE-Q scale {scale!r} is not in {path.name}: its scores stay raw "
            "sums; add the scale's rows from your licensed user guide",
        )


#: This module's rules, in order (joined by :data:`efficacy.validation.registry.DATA_RULES`).
RULES: tuple[Rule, ...] = (
    check_skindex_responses,
    check_items,
    check_faceq_responses,
    check_missing_share,
    check_instruments,
    check_faceq_metric,
)
