"""Baseline, change and percent change from baseline, and responder flags.

Works on a long table of values (one per subject, endpoint, body site and visit), as
:func:`~efficacy.instruments.prepare_measurements` and :func:`pro_values` return.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from pandas.api.typing import NAType
from pandas.arrays import BooleanArray

from efficacy.errors import EfficacyError
from efficacy.instruments._frames import as_int, str_column
from efficacy.instruments._readings import group_ids, group_range

__all__ = ["DERIVED_COLUMNS", "ResponderRule", "derive_endpoints", "pro_values"]

#: Columns of :func:`derive_endpoints`' result, in order.
DERIVED_COLUMNS: tuple[str, ...] = (
    "subject_id",
    "endpoint",
    "body_site",
    "visit",
    "day",
    "value",
    "unit",
    "modality",
    "direction",
    "n_replicates",
    "replicates",
    "derivation",
    "source_rows",
    "phase",
    "baseline",
    "baseline_visit",
    "baseline_day",
    "change",
    "percent_change",
    "responder_rule",
    "responder_threshold",
    "responder",
    "reason",
)

_KINDS = ("absolute", "percent", "half_baseline_sd")
_TOL = 1e-9


@dataclass(frozen=True)
class ResponderRule:
    """A protocol-declared responder definition for one endpoint (no invented MCIDs).

    Parameters
    ----------
    endpoint : str
        Endpoint id in the derived table (catalogue id, supportive id, or a PRO endpoint
        ``"<instrument>_<scale>"`` such as ``"skindex16_emotions"``).
    kind : {"absolute", "percent", "half_baseline_sd"}
        ``absolute``: change from baseline of at least `threshold` (endpoint unit) in
        the direction of improvement; ``percent``: percent change of at least
        `threshold` percent; ``half_baseline_sd``: absolute change of at least 0.5 x the
        SD of the baseline values (distribution-based, FACTS.md 3: the FACE-Q
        developers' approach for BREAST-Q).
    threshold : float, optional
        Positive magnitude for ``absolute`` and ``percent``; must be omitted for
        ``half_baseline_sd``.
    direction : {"higher", "lower"}, optional
        Direction of improvement; only for endpoints whose catalogue direction is
        ``"none"``. For the others the catalogue decides and a different value is an
        error.

    Raises
    ------
    EfficacyError
        Listing every problem.
    """

    endpoint: str
    kind: str
    threshold: float | None = None
    direction: str | None = None

    def __post_init__(self) -> None:
        problems = []
        if not isinstance(self.endpoint, str) or not self.endpoint.strip():
            problems.append("endpoint must be a non-empty string")
        if self.kind not in _KINDS:
            problems.append(f"kind={self.kind!r} must be one of {', '.join(_KINDS)}")
        t = self.threshold
        if self.kind == "half_baseline_sd":
            if t is not None:
                problems.append("threshold must be omitted for kind 'half_baseline_sd'")
        elif (
            not isinstance(t, int | float) or isinstance(t, bool) or not math.isfinite(t) or t <= 0
        ):
            problems.append(f"threshold={t!r} must be a positive number for kind {self.kind!r}")
        if self.direction not in (None, "higher", "lower"):
            problems.append(f"direction={self.direction!r} must be 'higher', 'lower' or None")
        if problems:
            raise EfficacyError(f"ResponderRule {self.endpoint!r}: " + "; ".join(problems))


#: The derivation's working table: column name -> the input column (a Series, read
#: with pandas' own comparisons where they decide a result) or a computed numpy array.
_Columns = dict[str, Any]


def _cutoffs(v: _Columns, at_base: np.ndarray, baseline_day: float | None) -> np.ndarray:
    """Day at or before which a reading counts as baseline, per row."""
    day = v["day"]
    base_days = np.where(at_base, day, np.nan)
    cut = group_range(base_days, v["_u"], v["_n_u"])[1][v["_u"]]
    by_subject = group_range(base_days, v["_s"], v["_n_s"])[1][v["_s"]]
    cut = np.where(np.isnan(cut), by_subject, cut)
    if baseline_day is not None:
        cut = np.where(np.isnan(cut), float(baseline_day), cut)
    return cut


def _baselines(
    v: _Columns,
    baseline_visit: str,
    baseline_day: float | None,
    post_visits: frozenset[str],
) -> None:
    """Add phase, baseline, baseline_visit, baseline_day and the cutoff to `v`."""
    visit: pd.Series = v["visit"]
    at_base = visit.eq(baseline_visit).fillna(False).to_numpy(dtype=bool)
    cut = _cutoffs(v, at_base, baseline_day)
    day, value, unit = v["day"], v["value"], v["_u"]
    later = visit.isin(list(post_visits)).to_numpy(dtype=bool)
    with np.errstate(invalid="ignore"):
        before = ~np.isnan(day) & ~np.isnan(cut) & (day <= cut) & ~later
    eligible = at_base | before
    # The baseline of a unit: its candidate row that sorts last by (effective day,
    # missing day first; at the baseline visit; input position).
    cand = np.flatnonzero(eligible & ~np.isnan(value))
    eff = np.where(np.isnan(day), cut, day)[cand]
    known = ~np.isnan(eff)
    order = cand[np.lexsort((cand, at_base[cand], np.where(known, eff, 0.0), known))]
    last = np.unique(unit[order][::-1], return_index=True)[1]
    chosen = order[len(order) - 1 - last]
    source = np.full(v["_n_u"], -1, dtype=np.int64)
    source[unit[chosen]] = chosen
    at = source[unit]
    has = at >= 0
    src = np.where(has, at, 0)
    v["baseline"] = np.where(has, value[src], np.nan)
    v["baseline_visit"] = np.where(
        has, visit.astype(object).to_numpy()[src], np.array(None, dtype=object)
    )
    v["baseline_day"] = np.where(has, day[src], np.nan)
    v["_cut"] = cut
    phase = np.where(eligible, "baseline_period", "post_baseline").astype(object)
    phase[chosen] = "baseline"
    v["phase"] = phase


def _changes(v: _Columns, baseline_visit: str) -> None:
    """Change, percent change and reasons (post-baseline rows only)."""
    post = v["phase"] == "post_baseline"
    value, base = v["value"], v["baseline"]
    change = np.where(post, value - base, np.nan)
    with np.errstate(divide="ignore", invalid="ignore"):
        pct = np.where(post & (base != 0), 100.0 * change / base, np.nan)
    given: pd.Series = v["reason"]
    reason = given.astype(object).where(given.notna(), "").to_numpy().copy()
    reason[np.isnan(value) & (reason == "")] = "value missing"
    cut = v["_cut"]
    no_base = post & np.isnan(base)
    zero = post & (base == 0) & ~np.isnan(value)
    for i in np.flatnonzero(no_base | zero):
        add = (
            "baseline is 0: percent change undefined"
            if zero[i]
            else f"no non-missing value at or before baseline visit {baseline_visit}"
            + ("" if np.isnan(cut[i]) else f" (day <= {cut[i]:g})")
        )
        reason[i] = add if reason[i] == "" else f"{reason[i]}; {add}"
    v["change"], v["percent_change"], v["reason"] = change, pct, reason


def _rule_for(rule: ResponderRule, v: _Columns) -> tuple[np.ndarray, str, float, str]:
    """(rows mask, direction, threshold, description) of a rule; raises on misuse."""
    endpoint: pd.Series = v["endpoint"]
    rows = (endpoint == rule.endpoint).to_numpy(dtype=bool)
    if not rows.any():
        known = ", ".join(sorted(pd.unique(endpoint.dropna().astype(str))))
        raise EfficacyError(
            f"responder rule endpoint {rule.endpoint!r} has no values; known: {known}"
        )
    catalogue = set(pd.unique(v["direction"][rows].astype(str))) - {"none", "nan", ""}
    if catalogue and rule.direction is not None and {rule.direction} != catalogue:
        raise EfficacyError(
            f"responder rule {rule.endpoint!r}: direction={rule.direction!r} contradicts the "
            f"catalogue ({', '.join(catalogue)}); omit direction"
        )
    direction = rule.direction or (catalogue.pop() if len(catalogue) == 1 else "")
    if direction not in ("higher", "lower"):
        raise EfficacyError(
            f"responder rule {rule.endpoint!r}: the endpoint has no direction of improvement "
            "in the catalogue; give direction='higher' or 'lower' as the protocol declares"
        )
    if rule.kind == "half_baseline_sd":
        units = pd.Series(v["baseline"][rows & (v["phase"] == "baseline")])
        sd = units.std(ddof=1) if len(units) >= 2 else np.nan
        threshold = 0.5 * float(sd)
        text = f"change {'>=' if direction == 'higher' else '<='} "
        text += f"{'' if direction == 'higher' else '-'}0.5 x baseline SD ({threshold:.6g})"
    else:
        threshold = float(rule.threshold or 0.0)
        what = "change" if rule.kind == "absolute" else "percent change"
        sign = "" if direction == "higher" else "-"
        suffix = "%" if rule.kind == "percent" else ""
        text = f"{what} {'>=' if direction == 'higher' else '<='} {sign}{threshold:g}{suffix}"
    return rows, direction, threshold, text


def _responders(v: _Columns, rules: Iterable[ResponderRule]) -> None:
    """Add responder_rule, responder_threshold and responder."""
    n = len(v["value"])
    rule_txt = np.full(n, "", dtype=object)
    thr = np.full(n, np.nan)
    flag, unknown = np.zeros(n, dtype=bool), np.ones(n, dtype=bool)
    post = v["phase"] == "post_baseline"
    reason = v["reason"]
    seen: set[str] = set()
    for rule in rules:
        if not isinstance(rule, ResponderRule):
            raise EfficacyError(f"responders must hold ResponderRule objects, not {rule!r}")
        if rule.endpoint in seen:
            raise EfficacyError(f"responders: endpoint {rule.endpoint!r} has two rules; keep one")
        seen.add(rule.endpoint)
        rows, direction, threshold, text = _rule_for(rule, v)
        measure = v["percent_change" if rule.kind == "percent" else "change"]
        gain = measure if direction == "higher" else -measure
        ok = rows & post & ~np.isnan(gain) & np.isfinite(threshold)
        rule_txt[rows] = text
        thr[rows] = threshold
        if np.isfinite(threshold):
            flag[ok] = gain[ok] >= threshold - _TOL * max(1.0, abs(threshold))
            unknown[ok] = False
        else:  # half_baseline_sd with fewer than two baselines
            why = "fewer than 2 baselines: 0.5 x baseline SD undefined"
            at = rows & post
            reason[at] = [why if not r else f"{r}; {why}" for r in reason[at]]
    v["responder_rule"], v["responder_threshold"] = rule_txt, thr
    v["responder"] = BooleanArray(flag, unknown)


_OPTIONAL_DEFAULTS: Mapping[str, str | NAType | None] = {
    "body_site": None,
    "unit": "",
    "modality": "",
    "direction": "none",
    "n_replicates": pd.NA,
    "replicates": "",
    "derivation": "",
    "source_rows": "",
    "reason": "",
}


def derive_endpoints(
    values: pd.DataFrame,
    *,
    baseline_visit: str,
    baseline_day: float | None = None,
    schedule: Mapping[str, float] | None = None,
    responders: Iterable[ResponderRule] = (),
) -> pd.DataFrame:
    """Baseline, change and percent change from baseline, and responder flags.

    Parameters
    ----------
    values : pandas.DataFrame
        One value per subject, endpoint, body site and visit: ``subject_id``,
        ``endpoint``, ``visit``, ``day``, ``value``, optionally the other
        :data:`~efficacy.instruments.measures.VALUE_COLUMNS` (missing ones take empty
        defaults; ``body_site`` missing = person-level, as for PROs). Not modified.
    baseline_visit : str
        The manifest's baseline visit id.
    baseline_day : float, optional
        Target study day of the baseline visit, used for subjects with no row at that
        visit.
    schedule : mapping of str to float, optional
        Scheduled visits and their target days (manifest): rows of a visit scheduled
        after the baseline are never baseline, whatever their recorded day.
    responders : iterable of ResponderRule
        Protocol-declared responder rules, at most one per endpoint.

    Returns
    -------
    pandas.DataFrame
        One row per input row, in input order; columns :data:`DERIVED_COLUMNS`: the
        value columns as given, and

        - ``phase`` (str): ``"baseline"`` (the row that supplies the baseline),
          ``"baseline_period"`` (another row at or before the baseline) or
          ``"post_baseline"``
        - ``baseline`` (float), ``baseline_visit`` (str), ``baseline_day`` (Int64): the
          baseline of the subject/endpoint/body site and where it came from
        - ``change`` (float): ``value - baseline`` on post-baseline rows, else NaN
        - ``percent_change`` (float): ``100 x change / baseline``; NaN when the
          baseline is 0 (undefined, never inf) and off post-baseline rows
        - ``responder_rule`` (str): e.g. ``"change >= 5"`` or ``"percent change <=
          -10%"``; '' without a rule
        - ``responder_threshold`` (float): the threshold (for ``half_baseline_sd`` the
          computed 0.5 x SD), NaN without a rule
        - ``responder`` (boolean): improvement of at least the threshold; <NA> without
          a rule, off post-baseline rows, or where the change is missing
        - ``reason`` (str): why the value or change is missing ('' otherwise): the
          value's own reason, ``"no non-missing value at or before baseline visit W0
          (day <= 0)"``, ``"baseline is 0: percent change undefined"``, ``"fewer than 2
          baselines: 0.5 x baseline SD undefined"``

    Raises
    ------
    EfficacyError
        Missing columns; a responder rule for an endpoint without values, without a
        direction of improvement, or given twice.

    Notes
    -----
    Baseline = the last non-missing value at or before the baseline visit, by study
    day, per subject, endpoint and body site. A row is *at or before* when it belongs to
    the baseline visit, or its day is <= the cutoff: the day of the unit's own baseline
    visit row, else the subject's baseline visit day, else `baseline_day` (rows of
    visits scheduled after baseline never qualify). Ties on the day prefer the baseline
    visit, then the later input row. Responders: ``change x s >= threshold`` (or percent
    change), with ``s = +1`` when higher is better and ``-1`` when lower is better, and
    a relative tolerance of 1e-9 so that a change equal to the threshold counts.
    ``half_baseline_sd`` uses the sample SD (ddof = 1) of the baselines of all
    subject/body-site units of the endpoint with a baseline, pooled over arms.
    """
    if not isinstance(values, pd.DataFrame):
        raise EfficacyError("values must be a pandas DataFrame")
    lacking = [c for c in ("subject_id", "endpoint", "visit", "day", "value") if c not in values]
    if lacking:
        raise EfficacyError(f"values lacks column(s) {', '.join(lacking)}")
    if not isinstance(baseline_visit, str) or not baseline_visit:
        raise EfficacyError(f"baseline_visit={baseline_visit!r} must be a visit id, e.g. 'W0'")
    n = len(values)
    v: _Columns = {c: values[c] for c in values.columns}
    for c in ("day", "value"):
        given: pd.Series = v[c]
        v[c] = pd.to_numeric(given, errors="coerce").to_numpy(float, na_value=np.nan)
    for col, default in _OPTIONAL_DEFAULTS.items():
        if col not in v:
            v[col] = pd.Series(np.full(n, default, dtype=object))
    # Units (subject, endpoint, body site) and subjects as dense ids in first-seen order,
    # missing values a group of their own (groupby(sort=False, dropna=False).ngroup()).
    codes = {c: pd.factorize(v[c], use_na_sentinel=False)[0] for c in _UNIT}
    v["_u"] = group_ids(*(codes[c] for c in _UNIT))
    v["_s"] = group_ids(codes["subject_id"])
    v["_n_u"] = int(v["_u"].max(initial=-1)) + 1
    v["_n_s"] = int(v["_s"].max(initial=-1)) + 1
    post_visits: frozenset[str] = frozenset()
    if schedule:
        target = schedule.get(baseline_visit, baseline_day)
        if target is not None:
            post_visits = frozenset(k for k, d in schedule.items() if d > target)
    _baselines(v, baseline_visit, baseline_day, post_visits)
    _changes(v, baseline_visit)
    _responders(v, tuple(responders))
    return _typed(v, n)


_UNIT = ("subject_id", "endpoint", "body_site")
_FLOATS = frozenset(("value", "baseline", "change", "percent_change", "responder_threshold"))


def _typed(v: _Columns, n: int) -> pd.DataFrame:
    """Return the result frame: :data:`DERIVED_COLUMNS` with their dtypes."""
    out: dict[str, Any] = {}
    for c in DERIVED_COLUMNS:
        x = v[c]
        if c in _FLOATS:
            out[c] = np.asarray(x, dtype=float)
        elif c in ("day", "baseline_day", "n_replicates"):
            out[c] = as_int(x if isinstance(x, pd.Series) else pd.Series(x)).array
        elif c == "responder":
            out[c] = x
        else:
            out[c] = str_column(x if isinstance(x, pd.Series) else pd.Series(x, dtype=object))
    return pd.DataFrame(out, index=pd.RangeIndex(n), copy=False)


def pro_values(scores: pd.DataFrame) -> pd.DataFrame:
    """Turn a scored PRO table into endpoint values for :func:`derive_endpoints`.

    Parameters
    ----------
    scores : pandas.DataFrame
        From :func:`~efficacy.instruments.score_skindex16` or
        :func:`~efficacy.instruments.score_faceq` (or both concatenated).

    Returns
    -------
    pandas.DataFrame
        Columns :data:`~efficacy.instruments.measures.VALUE_COLUMNS` with ``endpoint =
        instrument + "_" + scale`` (e.g. ``"faceq_satisfaction_facial_appearance"``),
        ``body_site`` missing (person-level), ``value = score``, ``unit = metric``
        (``"skindex_0_100"``, ``"rasch_0_100"`` or ``"raw_sum"``), ``modality =
        "pro"``, ``n_replicates`` 1 where scored (0 otherwise), and ``reason`` carried.
    """
    s = scores
    scored = s["score"].notna().to_numpy()
    return pd.DataFrame(
        {
            "subject_id": s["subject_id"].to_numpy(),
            "visit": s["visit"].to_numpy(),
            "day": s["day"].to_numpy(),
            "endpoint": (s["instrument"].astype(str) + "_" + s["scale"].astype(str)).to_numpy(),
            "body_site": None,
            "value": s["score"].to_numpy(float),
            "unit": s["metric"].to_numpy(),
            "modality": "pro",
            "direction": s["direction"].to_numpy(),
            "n_replicates": pd.array(scored.astype(int), dtype="Int64"),
            "replicates": "",
            "derivation": "",
            "device": None,
            "device_settings": None,
            "source_rows": "",
            "reason": s["reason"].to_numpy(),
        }
    )
