"""Synthesise a visit schedule from the analysis-visit variables of BDS datasets."""

from __future__ import annotations

import math
import re

import numpy as np
import pandas as pd

from efficacy.trial import Visit

__all__ = ["ADAM_BASELINE_DAY", "visit_schedule"]

#: ADaM study days have no day 0: ADY = ADT - TRTSDT + 1 on or after the first dose.
ADAM_BASELINE_DAY = 1
_WEEK = re.compile(r"\bweek\s*(-?\d+(?:\.\d+)?)", re.IGNORECASE)
_BASELINE = re.compile(r"^\s*baseline\s*$", re.IGNORECASE)
_VISIT_VARS = ("AVISITN", "AWTARGET", "AWLO", "AWHI", "ADY")


def _named_week(name: str) -> float:
    match = _WEEK.search(name)
    if match:
        return float(match.group(1))
    return 0.0 if _BASELINE.match(name) else math.nan


def _per_visit(bds: pd.DataFrame) -> pd.DataFrame:
    """One row per AVISIT: first AVISITN / AWTARGET / AWLO / AWHI, median ADY."""
    present = bds[bds["AVISIT"].notna()]
    numbers = pd.DataFrame(
        {
            v: pd.to_numeric(present[v], errors="coerce").to_numpy(dtype=float, na_value=np.nan)
            for v in _VISIT_VARS
            if v in present
        },
        index=present.index,
    )
    numbers["AVISIT"] = present["AVISIT"].astype(object)
    agg = {v: ("median" if v == "ADY" else "first") for v in numbers.columns if v != "AVISIT"}
    table = numbers.groupby("AVISIT", sort=False).agg(agg) if agg else None
    if table is None:
        table = pd.DataFrame(index=pd.Index(numbers["AVISIT"].unique(), name="AVISIT"))
    return table.reindex(columns=list(_VISIT_VARS))


def visit_schedule(
    bds: pd.DataFrame,
) -> tuple[tuple[Visit, ...], dict[str, str], dict[str, float]]:
    """Return visits (sorted by target day), how week/day were found, and AVISITN.

    Notes
    -----
    week: from a "Week N" name; 0 for a visit named "Baseline"; else AVISITN when the
    data show AVISITN counts weeks (it equals N for every "Week N" visit that has it);
    else (median ADY - 1) / 7; else NaN.
    day: AWTARGET when present; else round(7 * week) + 1 (ADaM study days start at 1 on
    the first dose, so week 4 is day 29); else the median ADY.
    window_days: the larger distance from the target day to AWLO / AWHI (so no record
    the sponsor's windowing assigned to the visit falls outside it); 0 without them.
    """
    if "AVISIT" not in bds:
        return (), {}, {}
    per = _per_visit(bds)
    if per.empty:
        return (), {}, {}
    names = per.index.astype(str)
    named = np.array([_named_week(n) for n in names], dtype=float)  # one per visit
    avisitn = per["AVISITN"].to_numpy(dtype=float)
    both = ~np.isnan(named) & ~np.isnan(avisitn)
    avisitn_is_week = bool(both.any() and np.allclose(named[both], avisitn[both]))
    visits: list[Visit] = []
    how: dict[str, str] = {}
    for name, row, week_from_name in zip(names, per.itertuples(), named, strict=True):
        week, week_how = _week(row, week_from_name, avisitn_is_week)
        day, day_how = _day(row, week)
        if math.isnan(week) and not math.isnan(day):
            week, week_how = (day - ADAM_BASELINE_DAY) / 7, "median ADY"
        visits.append(
            Visit(
                id=name,
                week=float(week),
                day=day if math.isnan(day) else int(day),  # type: ignore[arg-type]
                window_days=_window(row, day),
            )
        )
        how[name] = f"week from {week_how}; day from {day_how}"
    visits.sort(key=lambda v: (math.isnan(v.day), v.day))
    return tuple(visits), how, dict(zip(names, avisitn.tolist(), strict=True))


def _week(row: object, from_name: float, avisitn_is_week: bool) -> tuple[float, str]:
    if not math.isnan(from_name):
        return from_name, "visit name"
    avisitn = float(row.AVISITN)  # type: ignore[attr-defined]
    if avisitn_is_week and not math.isnan(avisitn):
        return avisitn, "AVISITN"
    return math.nan, "none"


def _day(row: object, week: float) -> tuple[float, str]:
    target = float(row.AWTARGET)  # type: ignore[attr-defined]
    if not math.isnan(target):
        return float(round(target)), "AWTARGET"
    if not math.isnan(week):
        return float(round(7 * week) + ADAM_BASELINE_DAY), "week"
    median = float(row.ADY)  # type: ignore[attr-defined]
    if not math.isnan(median):
        return float(round(median)), "median ADY"
    return math.nan, "none"


def _window(row: object, day: float) -> int:
    lo, hi = float(row.AWLO), float(row.AWHI)  # type: ignore[attr-defined]
    spans = [d for d in (day - lo, hi - day) if not math.isnan(d)]
    return int(max(0.0, *spans)) if spans and not math.isnan(day) else 0
