"""The split-face model frame with numpy: `efficacy.analysis.data._split_face` without merges.

`split_face_fast` gives the same frame, baseline frame and count of unscheduled rows as
the general path (``_split_face`` then ``_post_baseline``: two merges, a groupby mean,
an unstack and a second merge per endpoint) when `split_face_ok` says the data are
plain: string subject ids present and unique, distinct visits, float64 values, no
subject column named like a frame column, and at most one row per subject, visit,
phase and side (treated or control site), so the groupby mean of a cell is its one
value. tests/analysis/test_analysis_data_paths.py checks both paths give equal frames.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import cache
from typing import Any

import numpy as np
import pandas as pd

from efficacy.analysis.plan import TrialPlan

__all__ = ["Allocated", "allocated", "split_face_fast", "split_face_ok"]

#: Columns of the general path's frame before the subjects merge (see `split_face_ok`).
_OWN = {"subject_id", "visit", "phase", "baseline", "change", "arm"}


@cache
def _merged_dtype(rows: Any, alloc: Any, subj: Any) -> Any:
    """Return the ``subject_id`` dtype of the general path's two merges (dtypes only)."""

    def one(dtype: Any) -> pd.DataFrame:
        return pd.DataFrame({"subject_id": pd.Series(["s"], dtype=dtype)})

    out = one(rows).merge(one(alloc), on="subject_id").merge(one(subj), on="subject_id")
    return out["subject_id"].dtype


@dataclass(frozen=True)
class Allocated:
    """What `split_face_fast` reads of a population's subjects and site allocation.

    Built once per trial, population and arms (``efficacy.analysis.data`` memoises it);
    the arrays are read-only.
    """

    plain: bool  # subject ids present and unique in the subjects and the allocation
    a_of: dict[Any, int]  # row of each subject id in the allocation
    treated: np.ndarray  # treated site per allocation row (objects)
    control: np.ndarray  # control site per allocation row (objects)
    arm_code: np.ndarray  # position of each allocation row's arm in plan.actives (-1: none)
    arm_dtype: pd.CategoricalDtype  # the active arms, as ``categories=pd.Index(actives)``
    subj_of: dict[Any, int]  # row of each subject id in the subjects (when `plain`)


def allocated(subj: pd.DataFrame, alloc: pd.DataFrame, plan: TrialPlan) -> Allocated:
    """Return the `Allocated` view of the subjects `subj` and their allocation `alloc`."""
    sid, alloc_sid = subj["subject_id"], alloc["subject_id"]
    plain = bool(not sid.isna().any() and sid.is_unique and alloc_sid.is_unique)
    arm_index = pd.Index(list(plan.actives))
    arm_code = arm_index.get_indexer(pd.Index(alloc["arm"].to_numpy(dtype=object)))
    treated = alloc["treated_site"].to_numpy(dtype=object)
    control = alloc["control_site"].to_numpy(dtype=object)
    for a in (arm_code, treated, control):
        a.flags.writeable = False
    return Allocated(
        plain=plain,
        a_of={s: i for i, s in enumerate(alloc_sid.tolist())},
        treated=treated,
        control=control,
        arm_code=arm_code,
        arm_dtype=pd.CategoricalDtype(arm_index),
        subj_of={s: i for i, s in enumerate(sid.tolist())} if plain else {},
    )


def split_face_ok(
    rows: pd.DataFrame, subj: pd.DataFrame, alloc: pd.DataFrame, plan: TrialPlan, view: Allocated
) -> Any:
    """Return the frame's ``subject_id`` dtype when `split_face_fast` applies, else None.

    `view` is the `allocated` view of `subj` and `alloc`. The one-row-per-cell
    condition is checked by `split_face_fast` itself (it returns None when it does
    not hold).
    """
    dtypes = (rows["subject_id"].dtype, alloc["subject_id"].dtype, subj["subject_id"].dtype)
    if not all(isinstance(d, pd.StringDtype) for d in dtypes):
        return None
    visits = list(plan.visits)
    if (
        len(alloc) == 0
        or len(set(visits)) != len(visits)
        or not subj.columns.is_unique
        or (set(subj.columns) - {"subject_id", "arm"}) & _OWN
        or any(rows[c].dtype != np.float64 for c in ("baseline", "change"))
        or any(rows[c].isna().to_numpy().any() for c in ("subject_id", "visit", "phase"))
        or not view.plain
    ):
        return None
    return _merged_dtype(*dtypes)


def split_face_fast(
    rows: pd.DataFrame,
    subj: pd.DataFrame,
    view: Allocated,
    plan: TrialPlan,
    how: tuple[Any, list[str]],
) -> tuple[pd.DataFrame, pd.DataFrame, int] | None:
    """Model frame, baseline frame and unscheduled rows of a split-face endpoint.

    `view` is the `allocated` view of `subj` and its allocation; `how` is the
    ``subject_id`` dtype from `split_face_ok` and the covariates. Returns None when a
    subject, visit, phase and side has several rows (the general path averages them).
    """
    sid_dtype, covs = how
    sid_all = rows["subject_id"].to_numpy(dtype=object)  # no missing key (split_face_ok)
    sid_codes, sid_found = pd.factorize(sid_all, sort=False)
    a_of = view.a_of  # allocation ids are unique (split_face_ok)
    a_pos = _lookup(a_of, sid_found)[sid_codes]
    body = rows["body_site"]
    has_site = body.notna().to_numpy(dtype=bool)
    site = np.where(has_site, body.to_numpy(dtype=object), "")  # "" is never a site
    known = (a_pos >= 0) & has_site
    a = np.where(known, a_pos, 0)
    treated = known & (site == view.treated[a])
    control = known & (site == view.control[a])
    keep = np.flatnonzero(treated | control)
    is_c = control[keep]  # as the general path: the control site wins a tie
    keys = [sid_all[keep], *(rows[c].to_numpy(dtype=object)[keep] for c in ("visit", "phase"))]
    coded = [pd.factorize(k, sort=False) for k in keys]  # first-appearance order
    sizes = [len(u) for _, u in coded]
    if 2 * math.prod(sizes) >= 2**62:  # cannot pack the keys into one int64
        return None
    cell = np.zeros(keep.size, dtype=np.int64)
    for (codes, _), size in zip(coded, sizes, strict=True):
        cell = cell * size + codes
    if np.unique(cell * 2 + is_c).size != keep.size:
        return None  # several rows of a side: the general path averages them
    # the unstacked index: cells sorted by the codes of subject, visit, phase
    cells, group = np.unique(cell, return_inverse=True)
    n = cells.size
    wide: dict[str, np.ndarray] = {}
    for col in ("baseline", "change"):
        values = rows[col].to_numpy()[keep] + 0.0  # what a one-value groupby mean gives
        t_val, c_val = np.full(n, np.nan), np.full(n, np.nan)
        t_val[group[~is_c]] = values[~is_c]
        c_val[group[is_c]] = values[is_c]
        wide[col] = t_val - c_val
    p_code = cells % sizes[2]
    v_code = (cells // sizes[2]) % sizes[1]
    s_code = cells // (sizes[2] * sizes[1])
    sid = np.asarray(coded[0][1], dtype=object)[s_code]
    phase = np.asarray(coded[2][1], dtype=object)[p_code]
    arm_code = view.arm_code[_lookup(a_of, coded[0][1])[s_code]]
    visit_of = {v: i for i, v in enumerate(plan.visits)}  # distinct (split_face_ok)
    visit_pos = _lookup(visit_of, coded[1][1])[v_code]
    post = phase == "post_baseline"
    take = np.flatnonzero(post & (visit_pos >= 0))
    present_pos = np.unique(visit_pos[take])
    present = [plan.visits[i] for i in present_pos]
    subj_pos = _lookup(view.subj_of, coded[0][1])[s_code[take]]  # ids unique
    # codes of the actives' positions (-1: none), valid for the dtype by construction
    cols: dict[str, Any] = {
        "subject_id": pd.Series(sid[take], dtype=sid_dtype),
        "arm": pd.Categorical.from_codes(arm_code[take], dtype=view.arm_dtype, validate=False),
        "visit": pd.Categorical.from_codes(
            np.searchsorted(present_pos, visit_pos[take]), categories=pd.Index(present)
        ),
        "baseline": wide["baseline"][take],
        "change": wide["change"][take],
    }
    for c in covs:
        cols[c] = subj[c].take(subj_pos).reset_index(drop=True)
    b = np.flatnonzero((phase == "baseline") & ~np.isnan(wide["baseline"]))
    base = pd.DataFrame(
        {
            "subject_id": pd.Series(sid[b], dtype=sid_dtype),
            "arm": pd.Categorical.from_codes(arm_code[b], dtype=view.arm_dtype, validate=False),
            "baseline": wide["baseline"][b],
        }
    )
    return pd.DataFrame(cols), base, int(post.sum()) - take.size


def _lookup(position: dict[Any, int], values: Any) -> np.ndarray:
    """``position.get(v, -1)`` for each of `values`, as ``Index.get_indexer`` gives it."""
    return np.asarray([position.get(v, -1) for v in values], dtype=np.intp)
