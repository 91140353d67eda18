"""Intercurrent events (ICH E9(R1)) from the data: one function for the analysis and report.

:func:`intercurrent_events` reads them from the trial's optional ``intercurrent_events``
table when the bundle supplies one, else derives them from disposition
(:func:`events_from_disposition`: a participant who did not complete discontinued the
product at the scheduled visit after the last one they attended). Either way each event
is placed at the *first visit it affects*; :func:`post_event` marks the records at or
after that visit, which a hypothetical or while-on-treatment strategy does not use.

The ADaM reader (or any other source) can feed the same functions: build the table
with :data:`ICE_COLUMNS` from ``ADSL`` (``DCDECOD``, the last visit attended) or an
intercurrent-event dataset, or call :func:`events_from_disposition` on its frames.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from efficacy._cells import is_missing
from efficacy.trial import Trial

__all__ = [
    "EXCLUDING_STRATEGIES",
    "ICE_COLUMNS",
    "events_from_disposition",
    "intercurrent_events",
    "post_event",
]

#: Columns of :func:`intercurrent_events`.
ICE_COLUMNS: tuple[str, ...] = ("subject_id", "arm", "event", "visit", "day", "source")
#: Strategies under which records at or after the event's visit are not analysed.
EXCLUDING_STRATEGIES: tuple[str, ...] = ("hypothetical", "while_on_treatment")
_DONE = ("completed", "screen_failure", "")


def _frame(rows: pd.DataFrame | None = None) -> pd.DataFrame:
    if rows is None or rows.empty:
        return pd.DataFrame({c: pd.Series(dtype=object) for c in ICE_COLUMNS})
    return rows[list(ICE_COLUMNS)].reset_index(drop=True)


def events_from_disposition(
    subjects: pd.DataFrame, attended: pd.DataFrame, visit_order: Sequence[str]
) -> pd.DataFrame:
    """Derive ``discontinued_product`` events from disposition.

    Parameters
    ----------
    subjects : pandas.DataFrame
        One row per subject: ``subject_id``, ``arm``, ``randomized``, ``disposition``.
    attended : pandas.DataFrame
        ``subject_id``, ``visit``: the visits each subject attended (any record).
    visit_order : sequence of str
        Scheduled visit ids in order, baseline first.

    Returns
    -------
    pandas.DataFrame
        :data:`ICE_COLUMNS`: one row per randomised subject whose disposition is not
        ``completed``; ``visit`` is the scheduled visit after the last one attended
        (empty when the last one attended is the last scheduled visit), ``day`` is
        missing, ``source`` is ``disposition: <disposition>``.
    """
    return _from_disposition(subjects, [attended], visit_order)


def _from_disposition(
    subjects: pd.DataFrame, attended: Sequence[pd.DataFrame], visit_order: Sequence[str]
) -> pd.DataFrame:
    """`events_from_disposition` with the visits attended given as several tables."""
    disp = subjects["disposition"].fillna("").astype(str).str.strip()
    randomised = (
        subjects["randomized"].fillna(False).astype(bool)
        if "randomized" in subjects
        else pd.Series(True, index=subjects.index)
    )
    left = subjects[randomised & ~disp.isin(_DONE)]
    if left.empty:
        return _frame()
    last = _last_attended(attended, {v: i for i, v in enumerate(visit_order)})
    sids = left["subject_id"].to_numpy(dtype=object).tolist()
    after = np.asarray([-1 if is_missing(s) else last.get(s, -1) for s in sids], dtype=int) + 1
    order = np.asarray([*visit_order, ""], dtype=object)
    out = pd.DataFrame(
        {
            "subject_id": left["subject_id"].astype(str).to_numpy(),
            "arm": left["arm"].to_numpy(dtype=object),
            "event": "discontinued_product",
            "visit": order[np.minimum(after, len(visit_order))],
            "day": pd.array([pd.NA] * len(left), dtype="Int64"),
            "source": ("disposition: " + disp.loc[left.index]).to_numpy(dtype=object),
        }
    )
    return _frame(out)


def _last_attended(tables: Iterable[pd.DataFrame], index: Mapping[Any, int]) -> dict[Any, int]:
    """Position in `index` of each subject's last scheduled visit with a row in `tables`.

    As ``groupby("subject_id")`` of the rows at a visit of `index` (the position's
    maximum; rows without a subject id or visit left out), over the tables together,
    counted per distinct subject and visit (factorised) instead of per row.
    """
    last: dict[Any, int] = {}
    for table in tables:
        v_codes, v_found = pd.factorize(table["visit"].to_numpy(dtype=object))
        at = np.asarray([*(index.get(v, -1) for v in v_found.tolist()), -1], dtype=np.int64)
        pos = at[v_codes]  # a missing visit (code -1) picks the trailing -1
        s_codes, s_found = pd.factorize(table["subject_id"].to_numpy(dtype=object))
        ok = (pos >= 0) & (s_codes >= 0)
        best = np.full(len(s_found), -1, dtype=np.int64)
        np.maximum.at(best, s_codes[ok], pos[ok])
        for sid, b in zip(s_found.tolist(), best.tolist(), strict=True):
            if b >= 0:
                last[sid] = max(last.get(sid, -1), b)
    return last


def _attended(trial: Trial) -> list[pd.DataFrame]:
    """Return the tables whose rows say a subject attended a visit (any record)."""
    return [
        trial.table(t)
        for t in ("measurements", "pro_responses")
        if {"subject_id", "visit"} <= set(trial.table(t).columns)
    ]


def _from_table(trial: Trial, subjects: pd.DataFrame) -> pd.DataFrame:
    """Place the supplied table's events at visits; leave out rows validation rejects."""
    t = trial.intercurrent_events
    visits = sorted(trial.manifest.visits, key=lambda v: v.day)
    ids = [v.id for v in visits]
    days = np.asarray([v.day for v in visits], dtype=float)
    arm = subjects.set_index("subject_id")["arm"]
    sid = t["subject_id"].astype("string").fillna("")
    visit = t["visit"].astype("string").fillna("") if "visit" in t else pd.Series("", index=t.index)
    day = (
        pd.to_numeric(t["day"], errors="coerce") if "day" in t else pd.Series(np.nan, index=t.index)
    )
    # a day maps to the first scheduled visit on or after it (after the schedule: "")
    pos = np.searchsorted(days, day.to_numpy(float, na_value=np.nan), side="left")
    by_day = np.asarray([*ids, ""], dtype=object)[np.minimum(pos, len(ids))]
    placed = np.where(visit.to_numpy(dtype=object) != "", visit.to_numpy(dtype=object), by_day)
    ok = sid.isin(arm.index) & ((visit != "") | day.notna()) & ((visit == "") | visit.isin(ids))
    out = pd.DataFrame(
        {
            "subject_id": sid.to_numpy(dtype=object),
            "arm": sid.map(arm).to_numpy(dtype=object),
            "event": t["event"].astype("string").fillna("").str.strip().to_numpy(dtype=object),
            "visit": placed,
            "day": day.round().astype("Int64").to_numpy(),
            "source": "intercurrent_events table",
        }
    )
    return _frame(out[ok.to_numpy(bool) & (out["event"] != "")])


def intercurrent_events(trial: Trial) -> pd.DataFrame:
    """Return the trial's intercurrent events, each placed at the first visit it affects.

    From the bundle's ``intercurrent_events`` table when it is supplied (rows naming an
    unknown subject or visit, or neither visit nor day, are left out: validation rules
    ICE-001 to ICE-003 report them; a ``day`` without a visit is placed at the first
    scheduled visit whose target day is on or after it); otherwise derived from
    disposition by :func:`events_from_disposition`. Only randomised participants count.

    Parameters
    ----------
    trial : Trial
        Not modified.

    Returns
    -------
    pandas.DataFrame
        :data:`ICE_COLUMNS`: ``subject_id``, ``arm`` (the subject's arm; empty in a
        split-face trial), ``event`` (e.g. ``discontinued_product``), ``visit`` (first
        visit affected; empty when after the last scheduled visit), ``day`` (study day
        when the table gives one), ``source`` (``intercurrent_events table`` or
        ``disposition: <disposition>``).

    Examples
    --------
    >>> import efficacy
    >>> from efficacy._examples import repo_path
    >>> from efficacy.analysis import intercurrent_events
    >>> ice = intercurrent_events(efficacy.read_trial(repo_path("sample_data", "parallel_12wk")))
    >>> ice.groupby("arm")["subject_id"].nunique().to_dict()
    {'ACTIVE': 8, 'VEHICLE': 2}
    """
    subjects = trial.subjects_unique()
    if "randomized" in subjects:
        subjects = subjects[subjects["randomized"].fillna(False).astype(bool)]
    if "arm" not in subjects:
        subjects = subjects.assign(arm="")
    subjects = subjects.assign(
        arm=subjects["arm"].astype(object).where(subjects["arm"].notna(), "")
    )
    source = trial.sources.get("intercurrent_events")
    supplied = (source is not None and source.path is not None) or len(trial.intercurrent_events)
    if supplied:
        return _from_table(trial, subjects)
    if "disposition" not in subjects:
        return _frame()
    return _from_disposition(subjects, _attended(trial), trial.manifest.visit_order)


def post_event(
    frame: pd.DataFrame,
    events: pd.DataFrame,
    strategies: Mapping[str, str],
    visit_order: Sequence[str],
    *,
    excluding: Iterable[str] = EXCLUDING_STRATEGIES,
) -> np.ndarray:
    """Mark the rows of `frame` at or after a subject's first event of a given strategy.

    Parameters
    ----------
    frame : pandas.DataFrame
        ``subject_id`` and ``visit`` columns (e.g. a model frame).
    events : pandas.DataFrame
        From :func:`intercurrent_events`.
    strategies : Mapping[str, str]
        Event name -> strategy (an estimand's); events not named are ignored.
    visit_order : sequence of str
        Scheduled visits in order.
    excluding : iterable of str
        The strategies whose post-event rows are marked.

    Returns
    -------
    numpy.ndarray of bool
        True for the rows at or after the first visit affected by such an event.
    """
    wanted = {e for e, s in strategies.items() if s in set(excluding)}
    index = {v: i for i, v in enumerate(visit_order)}
    first: dict[Any, int] = {}  # subject -> first affected visit (position in visit_order)
    if wanted and not frame.empty:
        triples = zip(
            events["subject_id"].to_numpy(dtype=object),
            events["event"].to_numpy(dtype=object),
            events["visit"].to_numpy(dtype=object),
            strict=True,
        )
        for sid, event, visit in triples:
            usable = not (is_missing(sid) or is_missing(event) or is_missing(visit))
            if usable and event in wanted and visit in index:
                first[sid] = min(first.get(sid, index[visit]), index[visit])
    if not first:
        return np.zeros(len(frame), dtype=bool)
    start = _per_row(frame["subject_id"].to_numpy(dtype=object), first)
    at = _per_row(frame["visit"].to_numpy(dtype=object), index)
    marked: np.ndarray = np.nan_to_num(at, nan=-1.0) >= np.nan_to_num(start, nan=np.inf)
    return marked


def _per_row(values: np.ndarray, table: Mapping[Any, int]) -> np.ndarray:
    """``table.get(v, nan)`` of every value (NaN where missing), as floats.

    Looked up once per distinct value: ``pd.factorize`` codes a missing value (None,
    NaN, ``pd.NA``, NaT) -1, which picks the trailing NaN.
    """
    codes, uniques = pd.factorize(values)
    nan = float("nan")
    looked = np.array([*(table.get(u, nan) for u in uniques.tolist()), nan], dtype=float)
    out: np.ndarray = looked[codes]
    return out
