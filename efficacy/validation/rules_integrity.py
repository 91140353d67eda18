"""Integrity rules (INT-*): duplicates, arms, visit days, value ranges, Cutometer, rooms.

All checks are vectorised over whole columns (factorize, groupby, masks); there is no
Python loop over measurement rows.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import numpy as np
import pandas as pd

from efficacy.validation._rule import Rule, rule
from efficacy.validation.context import Context, combine, flag
from efficacy.validation.findings import NotApplicable, Part, as_text, at_rows, text_by

#: ``object`` as a dtype instance: pandas takes a dtype instance as it is, while a type
#: or a string is resolved inside a ``warnings.catch_warnings`` block on every call.
_OBJECT = np.dtype(object)

_INTEGRITY = "data integrity"
_CUTO = "FACTS.md 4.1 (Cutometer: Uf = Ue + Uv; R0 = Uf, R2 = Ua/Uf, R5 = Ur/Ue, ...)"
_RECORD_TABLES = ("measurements", "pro_responses", "adverse_events")


def _repeats(df: pd.DataFrame, key: list[str]) -> tuple[pd.Series, np.ndarray]:
    """Rows repeating an earlier row's `key`, and the file row of that first row."""
    dup = df.duplicated(key, keep="first")
    if not dup.any():
        return dup, np.empty(0, dtype=np.int64)
    first = df[~dup].reset_index().set_index(key)["row" if df.index.name == "row" else "index"]
    idx = pd.MultiIndex.from_frame(df[key][dup]) if len(key) > 1 else df[key[0]][dup]
    return dup, first.reindex(idx).to_numpy()


@rule(
    "INT-001",
    "Subject listed once",
    "integrity",
    "error",
    _INTEGRITY,
    "A subject_id appears on more than one row of subjects (every repeat is reported).",
)
def check_duplicate_subjects(ctx: Context) -> Iterator[Part]:
    """Repeated subject ids in subjects."""
    s = ctx.need("subjects", "subject_id")
    s = s[~ctx.blank("subjects", "subject_id")]
    dup, first = _repeats(s, ["subject_id"])
    if dup.any():
        rows = s[dup]
        msg = (
            "subject_id "
            + text_by(rows["subject_id"], repr)
            + " appears again (first at row "
            + pd.Series(first, index=rows.index).astype(str)
            + "); keep one row per subject"
        )
        yield at_rows(
            rows,
            table="subjects",
            column="subject_id",
            message=msg,
            pattern="subject_id appears again; keep one row per subject",
        )


@rule(
    "INT-002",
    "Measurement recorded once",
    "integrity",
    "error",
    _INTEGRITY,
    "Two measurement rows share subject, visit, endpoint and body_site (and replicate, "
    "when a replicate column is present); every repeat is reported.",
)
def check_duplicate_measurements(ctx: Context) -> Iterator[Part]:
    """Repeated (subject, visit, endpoint, body_site[, replicate]) measurement keys."""
    m = ctx.need("measurements", "subject_id", "visit", "endpoint", "body_site")
    key = ["subject_id", "visit", "endpoint", "body_site"]
    if "replicate" in m.columns:
        key.append("replicate")
    t = "measurements"
    usable = ~(ctx.blank(t, "subject_id") | ctx.blank(t, "visit") | ctx.blank(t, "endpoint"))
    keys = combine(*(ctx.codes(t, k)[0] for k in key))[usable]
    dup = pd.Series(keys).duplicated().to_numpy()
    if not dup.any():
        return
    positions = np.flatnonzero(usable)
    repeated = np.isin(keys, keys[dup])
    first = pd.Series(positions[repeated]).groupby(keys[repeated], sort=False).first()
    rows = m.iloc[positions[dup]]
    first_row = m.index.to_numpy()[first.reindex(keys[dup]).to_numpy()]
    msg = (
        rows["endpoint"].astype(str)
        + " at "
        + rows["body_site"].astype(str)
        + " repeats row "
        + pd.Series(first_row, index=rows.index).astype(str)
        + " (same subject and visit); remove the copy or add a replicate column"
    )
    yield at_rows(
        rows,
        table=t,
        column=None,
        value=None,
        message=msg,
        pattern="measurement repeats an earlier row (same subject, visit, endpoint and "
        "body site); remove the copy or add a replicate column",
    )


@rule(
    "INT-003",
    "Subject in one arm",
    "integrity",
    "error",
    _INTEGRITY,
    "A subject's rows name different arms (parallel), or a split-face allocation gives "
    "one body site twice.",
)
def check_two_arms(ctx: Context) -> Iterator[Part]:
    """Conflicting arms across a subject's rows; body sites allocated twice."""
    s = ctx.need("subjects", "subject_id")
    if "arm" not in ctx.missing("subjects"):
        has = np.flatnonzero(~ctx.blank("subjects", "subject_id") & ~ctx.blank("subjects", "arm"))
        ids = s["subject_id"].iloc[has].astype(_OBJECT).tolist()
        arms = s["arm"].iloc[has].astype(_OBJECT).tolist()
        first: dict[Any, Any] = {}
        for i, a in zip(ids, arms, strict=True):
            first.setdefault(i, a)
        other = [first[i] for i in ids]
        bad = np.array([a != o for a, o in zip(arms, other, strict=True)], dtype=bool)
        if bad.any():
            rows = s.iloc[has[bad]]
            earlier = pd.Series(
                [o for o, b in zip(other, bad.tolist(), strict=True) if b], index=rows.index
            )
            msg = (
                "subject "
                + rows["subject_id"].astype(str)
                + " is in arm "
                + rows["arm"].astype(str)
                + " here but in "
                + earlier.astype(str)
                + " on an earlier row; a subject belongs to one arm"
            )
            yield at_rows(
                rows,
                table="subjects",
                column="arm",
                message=msg,
                pattern="subject is in another arm on an earlier row; a subject belongs to one arm",
            )
    if "allocation" in ctx.missing("subjects"):
        return
    a = ctx.allocation
    a = a[a["ok"]]
    seen: set[tuple[Any, Any]] = set()  # ok pairs name a site: no missing values
    twice = np.zeros(len(a), dtype=bool)
    for i, pair in enumerate(zip(a["row"], a["site"], strict=True)):
        twice[i] = pair in seen
        seen.add(pair)
    if twice.any():
        again = a[twice].drop_duplicates(["row", "site"]).set_index("row")
        rows = s.loc[again.index]
        yield at_rows(
            rows,
            table="subjects",
            column="allocation",
            message="body site "
            + again["site"].map(repr)
            + " is allocated more than once; give each site one arm",
            pattern="body site is allocated more than once; give each site one arm",
        )


def _window_rows(ctx: Context, table: str) -> Iterator[Part]:
    df = ctx.table(table)
    target = ctx.map(table, "visit", {k: v.day for k, v in ctx.visits.items()}, np.nan, float)
    days = {k: v.window_days for k, v in ctx.visits.items()}
    window = ctx.map(table, "visit", days, np.nan, float)
    day = pd.to_numeric(df["day"], errors="coerce").to_numpy(dtype=float, na_value=np.nan)
    bad = np.abs(day - target) > window
    if bad.any():
        rows = df[bad]
        t = text_by(pd.Series(target[bad], index=rows.index), lambda x: f"{x:g}")
        w = text_by(pd.Series(window[bad], index=rows.index), lambda x: f"{x:g}")
        msg = (
            "day "
            + as_text(rows["day"]).astype(str)
            + " is outside the "
            + rows["visit"].astype(str)
            + " window "
            + t
            + " ± "
            + w
            + "; check the day or the visit"
        )
        yield at_rows(
            rows,
            table=table,
            column="day",
            message=msg,
            pattern="day is outside its visit's window; check the day or the visit",
        )


@rule(
    "INT-004",
    "Visit day inside its window",
    "integrity",
    "warning",
    "visit schedule in trial.toml ([[visits]] day and window_days)",
    "A measurement's or PRO's study day is outside its visit's target day ± window_days.",
)
def check_windows(ctx: Context) -> Iterator[Part]:
    """Days outside the visit window, in measurements and pro_responses."""
    if not ctx.visits:
        raise NotApplicable("the manifest declares no visits (see SCH-001)")
    adam = ctx.trial.manifest.raw.get("adam")
    if isinstance(adam, dict):  # ADaM input: windows are the sponsor's, per record
        raise NotApplicable(
            "ADaM input: each record's analysis window (AWLO/AWHI) is checked on reading"
            if adam.get("windows")
            else "ADaM input without AWLO/AWHI: no visit windows to check"
        )
    ctx.need("measurements", "visit", "day")
    yield from _window_rows(ctx, "measurements")
    if ctx.present("pro_responses") and not ({"visit", "day"} & ctx.missing("pro_responses")):
        yield from _window_rows(ctx, "pro_responses")


def _earlier_max(owner: np.ndarray, values: np.ndarray) -> np.ndarray:
    """Maximum of the earlier `values` of the same owner (NaN for an owner's first).

    `owner` is sorted: each owner's values are consecutive, in order.
    """
    out = np.full(len(values), np.nan)
    run, last = np.nan, None
    for j, (o, v) in enumerate(zip(owner.tolist(), values.tolist(), strict=True)):
        if o == last:
            out[j] = run
            run = max(run, v)
        else:
            run, last = v, o
    return out


def _order_rows(ctx: Context, table: str) -> Iterator[Part]:
    df = ctx.table(table)
    order = {vid: i for i, vid in enumerate(sorted(ctx.visits, key=lambda k: ctx.visits[k].day))}
    rank = ctx.map(table, "visit", order, -1, np.int64)
    day = pd.to_numeric(df["day"], errors="coerce").to_numpy(dtype=float, na_value=np.nan)
    subj = ctx.codes(table, "subject_id")[0]
    ok = (rank >= 0) & ~np.isnan(day) & (subj >= 0)
    n_visits = len(order)
    key = subj[ok] * n_visits + rank[ok]
    d = day[ok]
    # latest day per (subject, visit), in (subject, visit order) order
    keys, where = np.unique(key, return_inverse=True)
    per_visit = np.full(len(keys), -np.inf)
    np.maximum.at(per_visit, where, d)  # every key has a day (no NaN is kept)
    earlier = _earlier_max(keys // n_visits, per_visit)  # max day of earlier visits
    before = earlier[where]
    bad = np.zeros(len(df), dtype=bool)
    with np.errstate(invalid="ignore"):
        bad[np.flatnonzero(ok)] = d < before
    if bad.any():
        rows = df[bad]
        with np.errstate(invalid="ignore"):
            prior = pd.Series(before[d < before], index=rows.index)
        msg = (
            "day "
            + as_text(rows["day"]).astype(str)
            + " of visit "
            + rows["visit"].astype(str)
            + " is before day "
            + text_by(prior, lambda x: f"{x:g}")
            + " recorded at an earlier visit of this subject; check the day or the visit"
        )
        yield at_rows(
            rows,
            table=table,
            column="day",
            message=msg,
            pattern="day is before a day recorded at an earlier visit of this subject; "
            "check the day or the visit",
        )


@rule(
    "INT-005",
    "Days follow the visit order",
    "integrity",
    "error",
    _INTEGRITY,
    "Within a subject, a visit's study day is earlier than a day recorded at a visit "
    "scheduled before it.",
)
def check_day_order(ctx: Context) -> Iterator[Part]:
    """Days that go back in time across a subject's visits."""
    if not ctx.visits:
        raise NotApplicable("the manifest declares no visits (see SCH-001)")
    ctx.need("measurements", "subject_id", "visit", "day")
    yield from _order_rows(ctx, "measurements")
    needed = {"subject_id", "visit", "day"}
    if ctx.present("pro_responses") and not (needed & ctx.missing("pro_responses")):
        yield from _order_rows(ctx, "pro_responses")


def _range_rows(ctx: Context, which: str, word: str, extra: np.ndarray | None) -> Iterator[Part]:
    m = ctx.need("measurements", "endpoint", "value", "unit")
    info = ctx.meas
    lims = info.physical if which == "physical" else info.plausible
    v = info.value
    with np.errstate(invalid="ignore"):
        bad = (v < lims[:, 0]) | (v > lims[:, 1])
    if extra is not None:
        bad &= extra
    if not bad.any():
        return
    rows = m[bad]
    idx = rows.index

    def num(a: np.ndarray) -> pd.Series:
        return text_by(pd.Series(a, index=idx), lambda x: f"{x:g}")

    converted = pd.Series(info.factor[bad] != 1.0, index=idx)
    canon = " (= " + num(v[bad]) + " " + pd.Series(info.target_unit[bad], index=idx) + ")"
    msg = (
        rows["endpoint"].astype(str)
        + " "
        + as_text(rows["value"]).astype(str)
        + " "
        + rows["unit"].astype(str)
        + canon.where(converted, "")
        + f" is outside the {word} "
        + num(lims[bad, 0])
        + "-"
        + num(lims[bad, 1])
        + " "
        + pd.Series(info.target_unit[bad], index=idx)
        + "; check the value and its unit"
    )
    yield at_rows(
        rows,
        table="measurements",
        column="value",
        message=msg,
        pattern=f"value is outside the {word}; check the value and its unit",
    )


@rule(
    "INT-006",
    "Value within physical limits",
    "integrity",
    "error",
    "endpoint catalogue: physical limits (FACTS.md 4)",
    "A measurement, converted to its endpoint's unit, is beyond what the instrument can "
    "physically produce.",
)
def check_physical(ctx: Context) -> Iterator[Part]:
    """Values beyond the endpoint's physical limits."""
    return _range_rows(ctx, "physical", "physical limits", None)


@rule(
    "INT-007",
    "Value within the plausible range",
    "integrity",
    "warning",
    "endpoint catalogue: plausible windows (FACTS.md 4; project heuristics)",
    "A measurement within the physical limits but outside the plausible window: probably "
    "a transcription or device problem.",
)
def check_plausible(ctx: Context) -> Iterator[Part]:
    """Values outside the plausible window (physical violations are INT-006 only)."""
    ctx.need("measurements", "endpoint", "value", "unit")
    info = ctx.meas
    with np.errstate(invalid="ignore"):
        physical_ok = (info.value >= info.physical[:, 0]) & (info.value <= info.physical[:, 1])
    return _range_rows(ctx, "plausible", "plausible range", physical_ok)


@rule(
    "INT-009",
    "Measurement value present",
    "integrity",
    "warning",
    _INTEGRITY,
    "A measurement row has an empty value (a value that could not be read is SCH-004).",
)
def check_missing_values(ctx: Context) -> Iterator[Part]:
    """Empty measurement values."""
    m = ctx.need("measurements", "value")
    empty = m["value"].isna().to_numpy()
    if empty.any():
        empty = empty & ~m.index.isin(ctx.issue_rows("measurements", "value"))
        if empty.any():
            yield at_rows(
                m[empty],
                table="measurements",
                column="value",
                value=None,
                message="value is empty; enter the reading or remove the row "
                "(missing visits need no row)",
            )


@rule(
    "INT-010",
    "No data for people not randomised",
    "integrity",
    "error",
    "CONSORT 2010 flow diagram (FACTS.md 1.3)",
    "Measurements, PRO responses or adverse events recorded for a subject flagged "
    "randomized = false (a screen failure).",
)
def check_unrandomised_data(ctx: Context) -> Iterator[Part]:
    """Find records of subjects who were not randomised."""
    ctx.need("subjects", "subject_id", "randomized")
    first = ctx.subjects_first
    not_rand = first.index[flag(first["randomized"], False).to_numpy()]
    if len(not_rand) == 0:
        return
    for table in _RECORD_TABLES:
        if not ctx.present(table) or "subject_id" in ctx.missing(table):
            continue
        df = ctx.table(table)
        bad = ctx.isin(table, "subject_id", not_rand)
        if bad.any():
            yield at_rows(
                df[bad],
                table=table,
                column=None,
                value=None,
                message="subject was not randomised (screen failure) but has data here; "
                "remove the row or correct the subject's randomized flag",
            )


@rule(
    "INT-011",
    "Measurement room conditions",
    "integrity",
    "notice",
    "FACTS.md 4.2 (QB/T 4256: 20-22 °C, 40-60% RH); wider window: project heuristic",
    "Room temperature or relative humidity, where recorded, outside the protocol's "
    "[validation] temperature_c / humidity_pct windows (default 18-26 °C, 30-70 %).",
)
def check_environment(ctx: Context) -> Iterator[Part]:
    """Temperature and humidity outside their windows."""
    m = ctx.need("measurements")
    cols = [c for c in ("temperature_c", "humidity_pct") if c not in ctx.missing("measurements")]
    if not cols:
        raise NotApplicable("no temperature_c or humidity_pct column recorded")
    units = {"temperature_c": "°C", "humidity_pct": "% RH"}
    for col in cols:
        lo, hi = ctx.params[col]
        x = pd.to_numeric(m[col], errors="coerce")
        bad = (x < lo) | (x > hi)
        if bad.any():
            rows = m[bad.fillna(False).astype(bool)]
            msg = (
                f"{col} "
                + as_text(rows[col]).astype(str)
                + f" {units[col]} is outside {lo:g}-{hi:g} {units[col]}; "
                "measure in a conditioned room (or tighten/loosen [validation] " + col + ")"
            )
            yield at_rows(
                rows,
                table="measurements",
                column=col,
                message=msg,
                pattern=f"{col} is outside {lo:g}-{hi:g} {units[col]}; measure in a "
                "conditioned room",
            )


#: This module's rules, in order (joined by :data:`efficacy.validation.registry.DATA_RULES`).
RULES: tuple[Rule, ...] = (
    check_duplicate_subjects,
    check_duplicate_measurements,
    check_two_arms,
    check_windows,
    check_day_order,
    check_physical,
    check_plausible,
    check_missing_values,
    check_unrandomised_data,
    check_environment,
)
