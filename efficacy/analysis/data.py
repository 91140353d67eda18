"""Analysis data sets: populations, and one model frame per endpoint and population.

Parallel design: one row per subject and post-baseline visit with ``arm``, ``baseline``
and ``change``. Split-face design: one row per subject and visit with the within-subject
differences (treated site minus control site) of change (``change``) and of baseline
(``baseline``); the two body sites of a person are never rows of their own.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, TypeAlias

import numpy as np
import pandas as pd

from efficacy.analysis._split_fast import Allocated, allocated, split_face_fast, split_face_ok
from efficacy.analysis.plan import TrialPlan
from efficacy.errors import EfficacyError
from efficacy.trial import Trial, parse_allocation

__all__ = ["ModelData", "model_data", "population", "site_allocation", "split_by_endpoint"]

#: Columns of :attr:`ModelData.frame`.
FRAME_COLUMNS: tuple[str, ...] = ("subject_id", "arm", "visit", "baseline", "change")


@dataclass(frozen=True)
class ModelData:
    """The data of one endpoint in one population, ready for the MMRM.

    Attributes
    ----------
    frame : pandas.DataFrame
        :data:`FRAME_COLUMNS` plus the declared covariates; ``arm`` and ``visit`` are
        Categoricals (control first; schedule order). Split-face: ``arm`` is the active
        arm whose site is the treated one.
    baseline : pandas.DataFrame
        ``subject_id``, ``arm``, ``baseline`` of every population subject with a baseline
        value (split-face: a baseline difference), including those without post-baseline
        data (the multiple imputation uses them).
    notes : tuple of str
        What was left out or combined, and why.
    """

    frame: pd.DataFrame
    baseline: pd.DataFrame
    notes: tuple[str, ...]


def population(trial: Trial, name: str) -> tuple[pd.DataFrame, str]:
    """Subjects of an efficacy population and a one-line definition.

    ``itt``: every randomised person (``randomized`` true); ``per_protocol``: randomised
    and ``per_protocol`` true. Returns ``subject_id``, ``arm``, ``allocation`` and every
    other subjects column (covariates). A subject id listed twice (a validation error)
    counts once, with its first row (:meth:`Trial.subjects_unique`, as validation and
    the CONSORT flow count it); the definition says how many rows were left out.
    Computed once per trial and population (memoised on the trial; the frame returned
    is a copy-on-write copy).
    """
    out, text = trial._memo(f"population:{name}", lambda _: _population(trial, name))
    return out.copy(deep=False), text


def _population(trial: Trial, name: str) -> tuple[pd.DataFrame, str]:
    s = trial.subjects_unique()
    randomised = s["randomized"].fillna(False).astype(bool).to_numpy()
    if name == "itt":
        keep, text = randomised, "ITT: all randomised participants with data"
        flag = s["itt"].fillna(False).astype(bool).to_numpy() if "itt" in s else randomised
        if (randomised & ~flag).any():
            text += (
                f" ({int((randomised & ~flag).sum())} randomised subjects flagged itt = false "
                "are included: ITT is every randomised participant)"
            )
    elif name == "per_protocol":
        pp = s["per_protocol"] if "per_protocol" in s else pd.Series(False, index=s.index)
        keep = randomised & pp.fillna(False).astype(bool).to_numpy()
        text = "per protocol: randomised participants flagged per_protocol, with data"
    else:
        raise EfficacyError(f"population={name!r}: use 'itt' or 'per_protocol'")
    out = s[keep]
    ids = trial.subjects["subject_id"]
    # rows repeating an id of `out` (no missing id: first_rows drops them), in Python
    mine, again = set(out["subject_id"].to_numpy(dtype=object).tolist()), ids.duplicated()
    repeated = sum(
        a and v in mine for a, v in zip(again.tolist(), ids.to_numpy(object), strict=True)
    )
    if repeated:
        text += f" ({repeated} repeated subject ids: first row used)"
    return out.reset_index(drop=True), text


#: The ``subject_id`` dtype of the merged model frame (see `_fast_parallel_ok`).
_SidDtype: TypeAlias = "pd.StringDtype | np.dtype[np.object_]"

_ROW_COLUMNS = ["subject_id", "visit", "body_site", "phase", "value", "baseline", "change"]


def split_by_endpoint(derived: pd.DataFrame) -> dict[str, pd.DataFrame]:
    """Split the derived endpoint table once: endpoint id -> its rows (model columns).

    As ``{k: g[_ROW_COLUMNS].reset_index(drop=True) for k, g in derived.groupby("endpoint",
    sort=False)}`` (endpoints in order of appearance, rows in table order, rows without
    an endpoint left out), with one stable sort and a slice per endpoint.
    """
    codes, names = pd.factorize(derived["endpoint"].to_numpy(dtype=object), sort=False)
    order = np.argsort(codes, kind="stable")  # rows without an endpoint (-1) come first
    rows = derived[_ROW_COLUMNS].take(order)
    bounds = np.searchsorted(codes[order], np.arange(len(names) + 1))
    return {
        str(name): rows.iloc[bounds[k] : bounds[k + 1]].reset_index(drop=True)
        for k, name in enumerate(names)
    }


def _endpoint_rows(
    derived: pd.DataFrame | Mapping[str, pd.DataFrame], endpoint: str
) -> pd.DataFrame:
    if isinstance(derived, Mapping):
        rows = derived.get(endpoint)
        return pd.DataFrame(columns=_ROW_COLUMNS) if rows is None else rows
    return derived[_ROW_COLUMNS][derived["endpoint"] == endpoint]


def _one_row_per_key(rows: pd.DataFrame, keys: list[str]) -> bool:
    """Whether no two rows share all of `keys` (a fast check with numpy, no groupby)."""
    # factorising the values as objects is cheaper than Arrow-backed strings, same codes
    codes = [pd.factorize(rows[k].to_numpy(dtype=object), use_na_sentinel=True)[0] for k in keys]
    return _distinct(codes, len(rows))


def _distinct(factorized: list[np.ndarray], n: int) -> bool:
    """Whether no two of the `n` rows share all the keys coded by `factorized` (-1 = NA)."""
    codes = [c.astype(np.int64) + 1 for c in factorized]
    sizes = [int(c.max(initial=0)) + 1 for c in codes]
    if math.prod(sizes) >= 2**62:  # cannot pack the keys into one int64: let pandas check
        return False
    combined = np.zeros(n, dtype=np.int64)
    for c, size in zip(codes, sizes, strict=True):
        combined = combined * size + c  # a missing key (code 0) counts as a duplicate
    return bool(np.unique(combined).size == n)


@dataclass(frozen=True)
class _RowKeys:
    """An endpoint's ``subject_id``, ``visit`` and ``phase`` as objects, factorised once."""

    sid: np.ndarray  # subject ids (objects)
    codes: tuple[np.ndarray, np.ndarray, np.ndarray]  # factorize codes, -1 = missing
    uniques: tuple[list[Any], list[Any], list[Any]]  # the values the codes point to

    @classmethod
    def of(cls, rows: pd.DataFrame) -> _RowKeys:
        """Read and factorise the three key columns of `rows`."""
        arrays = [rows[k].to_numpy(dtype=object) for k in ("subject_id", "visit", "phase")]
        coded = [pd.factorize(a, use_na_sentinel=True) for a in arrays]
        sid_c, visit_c, phase_c = (c for c, _ in coded)
        sid_u, visit_u, phase_u = (list(u) for _, u in coded)
        return cls(arrays[0], (sid_c, visit_c, phase_c), (sid_u, visit_u, phase_u))

    def lookup(self, which: int, table: Mapping[Any, Any], default: Any) -> np.ndarray:
        """``table[value]`` (or `default`) for every row's key `which` (0, 1, 2), by codes.

        A missing key (code -1) gets `default` too.
        """
        found = np.asarray([*(table.get(u, default) for u in self.uniques[which]), default])
        out: np.ndarray = found[self.codes[which]]
        return out


def _combine_sites(rows: pd.DataFrame, notes: list[str], endpoint: str) -> pd.DataFrame:
    """Average several body sites of one subject and visit (parallel design), noted."""
    keys = ["subject_id", "visit", "phase"]
    if _one_row_per_key(rows, keys):
        return rows.drop(columns="body_site")
    n_sites = rows.groupby(keys, sort=False)["value"].transform("size")
    if (n_sites > 1).any():
        notes.append(
            f"{endpoint}: {int(rows['subject_id'][n_sites > 1].nunique())} subjects have "
            "several body sites at a visit; their values were averaged per subject and visit"
        )
        return rows.groupby(keys, sort=False, as_index=False)[
            ["value", "baseline", "change"]
        ].mean()
    return rows.drop(columns="body_site")


def _covariates(subjects: pd.DataFrame, covariates: tuple[str, ...]) -> list[str]:
    missing = [c for c in covariates if c not in subjects.columns]
    if missing:
        raise EfficacyError(
            f"[analysis] covariates {missing} are not columns of the subjects table; "
            f"use some of {', '.join(subjects.columns)}"
        )
    return list(covariates)


#: `_visits_dtype` of the visit tuples seen (a dtype is immutable: frames may share it).
_VISIT_DTYPES: dict[tuple[Any, ...], pd.CategoricalDtype] = {}


def _visits_dtype(present: tuple[Any, ...]) -> pd.CategoricalDtype:
    """Return the ``visit`` dtype of a model frame with the visits `present` (in order).

    As ``Categorical.from_codes(..., categories=pd.Index(present))`` builds it; built
    once per tuple of visits.
    """
    dtype = _VISIT_DTYPES.get(present)
    if dtype is None:
        if len(_VISIT_DTYPES) >= 256:  # bounded: a long session sees few schedules
            _VISIT_DTYPES.clear()
        dtype = _VISIT_DTYPES[present] = pd.CategoricalDtype(pd.Index(list(present)))
    return dtype


def _in_arm(
    subj: pd.DataFrame, plan: TrialPlan, notes: list[str]
) -> tuple[pd.DataFrame, list[str]]:
    """Return the subjects with an arm of the plan (control first) and those arms, noted."""
    arms = [plan.control, *plan.actives]
    in_arm = subj["arm"].isin(arms).fillna(False).to_numpy(bool)
    if not in_arm.all():
        notes.append(
            f"{int((~in_arm).sum())} subjects of the population have no arm of the manifest "
            "(not analysed)"
        )
    return subj[in_arm], arms


def _subject_columns(where: tuple[Trial, str], subj: pd.DataFrame, covs: list[str]) -> pd.DataFrame:
    """``subject_id``, ``arm``, ``allocation`` and `covs` of a population, memoised."""
    columns = ["subject_id", "arm", "allocation", *covs]
    trial, name = where
    out: pd.DataFrame = trial._memo(f"columns:{name}:{columns!r}", lambda _: subj[columns])
    return out.copy(deep=False)


@dataclass(frozen=True)
class _SubjectIds:
    """What the model frames need to know of a population's subject ids."""

    n_distinct: int  # distinct ids, missing ones not counted (``nunique``)
    plain: bool  # no id missing, none repeated


def _subject_ids(where: tuple[Trial, str], subj: pd.DataFrame) -> _SubjectIds:
    """`_SubjectIds` of a population's subjects `subj`, computed once per trial and population.

    `where` is the trial and the population name; `subj` is that population's frame
    (any selection of its columns with ``subject_id``).
    """

    def make(_: pd.DataFrame) -> _SubjectIds:
        ids = subj["subject_id"]
        return _SubjectIds(int(ids.nunique()), bool(not ids.isna().any() and ids.is_unique))

    trial, name = where
    facts: _SubjectIds = trial._memo(f"subject_ids:{name}", make)
    return facts


def _fast_parallel_ok(
    rows: pd.DataFrame, subj: pd.DataFrame, plan: TrialPlan, ids: _SubjectIds
) -> tuple[_SidDtype, _RowKeys] | None:
    """Return the merged ``subject_id`` dtype and the rows' keys when `_parallel_fast` applies.

    It applies when subject ids are strings, present and unique in `subj` (`ids`, its
    `_subject_ids`), arms and visits distinct, ``baseline`` and ``change`` float64, no
    subject column shares a name with a row column, and there is one row per subject,
    visit and phase (nothing to average), every row with a subject id. Returns None
    when it does not.
    """
    left, right = rows["subject_id"].dtype, subj["subject_id"].dtype
    if not (isinstance(left, pd.StringDtype) and isinstance(right, pd.StringDtype)):
        return None
    arms, visits = [plan.control, *plan.actives], list(plan.visits)
    if (
        len(set(arms)) != len(arms)
        or len(set(visits)) != len(visits)
        or not subj.columns.is_unique
        or any(rows[c].dtype != np.float64 for c in ("baseline", "change"))
        or set(subj.columns[1:]) & set(rows.columns)
        or not ids.plain
    ):
        return None
    keys = _RowKeys.of(rows)
    if (keys.codes[0] < 0).any():  # a row without a subject id (factorize's -1)
        return None
    if not _distinct(list(keys.codes), len(rows)):
        return None
    return (left if left == right else np.dtype(object)), keys  # what merge gives the key


@dataclass(frozen=True)
class _InArm:
    """A population's subjects with an arm of the plan, ready for `_parallel_fast`."""

    subj: pd.DataFrame  # the subjects (index reset)
    notes: tuple[str, ...]  # what `_in_arm` notes
    position: Mapping[Any, int]  # row of each subject id in `subj` (ids are unique)
    arm_dtype: pd.CategoricalDtype  # the plan's arms, control first
    arm_code: np.ndarray  # position of each subject's arm in the arms (read-only)


def _in_arm_view(where: tuple[Trial, str], subj: pd.DataFrame, plan: TrialPlan) -> _InArm:
    """`_in_arm` of a population and what `_parallel_fast` derives from it, memoised.

    Computed once per trial, population, subjects columns (the covariates) and arms;
    `where` is the trial and the population name.
    """

    def make(_: pd.DataFrame) -> _InArm:
        notes: list[str] = []
        kept, arms = _in_arm(subj, plan, notes)
        kept = kept.reset_index(drop=True)
        arm_index = pd.Index(arms)
        code = arm_index.get_indexer(pd.Index(kept["arm"].astype(str)))
        code.flags.writeable = False
        position = {sid: i for i, sid in enumerate(kept["subject_id"].tolist())}
        return _InArm(kept, tuple(notes), position, pd.CategoricalDtype(arm_index), code)

    trial, name = where
    key = f"in_arm:{name}:{list(subj.columns)!r}:{plan.control!r}:{plan.actives!r}"
    view: _InArm = trial._memo(key, make)
    return view


def _parallel_fast(
    rows: pd.DataFrame,
    view: _InArm,
    plan: TrialPlan,
    notes: list[str],
    how: tuple[_SidDtype, list[str], _RowKeys],
) -> tuple[pd.DataFrame, pd.DataFrame, int]:
    """`_parallel` and the post-baseline selection of `model_data`, with numpy.

    Same rows, order, columns and dtypes as the merge path (see `_fast_parallel_ok`,
    which gives the ``subject_id`` dtype and the rows' keys; `how` is those and the
    covariates);
    returns the model frame, the baseline frame and the number of unscheduled rows.
    `view` is the population's `_in_arm_view`.
    """
    sid_dtype, covs, keys = how
    notes += view.notes
    subj, arms, arm_code = view.subj, view.arm_dtype, view.arm_code
    pos = keys.lookup(0, view.position, -1).astype(np.intp)
    visit_pos = keys.lookup(1, {v: i for i, v in enumerate(plan.visits)}, -1).astype(np.intp)
    phase = keys.lookup(2, {"post_baseline": 1, "baseline": 2}, 0)
    post = (pos >= 0) & (phase == 1)
    keep = np.flatnonzero(post & (visit_pos >= 0))
    present_pos = np.unique(visit_pos[keep])
    present = [plan.visits[i] for i in present_pos]
    sid = keys.sid
    base_v, change = rows["baseline"].to_numpy(), rows["change"].to_numpy()
    cols: dict[str, Any] = {
        "subject_id": pd.Series(sid[keep], dtype=sid_dtype),
        "arm": pd.Categorical.from_codes(arm_code[pos[keep]], dtype=arms, validate=False),
        "visit": pd.Categorical.from_codes(
            np.searchsorted(present_pos, visit_pos[keep]),
            dtype=_visits_dtype(tuple(present)),
            validate=False,  # positions in `present` by construction
        ),
        "baseline": base_v[keep],
        "change": change[keep],
    }
    for c in covs:
        cols[c] = subj[c].take(pos[keep]).reset_index(drop=True)
    b = np.flatnonzero((pos >= 0) & (phase == 2) & ~np.isnan(base_v))
    base = pd.DataFrame(
        {
            "subject_id": pd.Series(sid[b], dtype=sid_dtype),
            "arm": pd.Categorical.from_codes(arm_code[pos[b]], dtype=arms, validate=False),
            "baseline": base_v[b],
        }
    )
    return pd.DataFrame(cols), base, int(post.sum()) - keep.size


def _parallel(
    rows: pd.DataFrame, subj: pd.DataFrame, plan: TrialPlan, notes: list[str], endpoint: str
) -> tuple[pd.DataFrame, pd.DataFrame]:
    rows = _combine_sites(rows, notes, endpoint)
    subj, arms = _in_arm(subj, plan, notes)
    merged = rows.merge(subj, on="subject_id", how="inner")
    merged["arm"] = pd.Categorical(merged["arm"].astype(str), categories=arms)
    base = merged[["subject_id", "arm", "baseline"]][merged["phase"] == "baseline"]
    return merged, base.dropna(subset=["baseline"]).reset_index(drop=True)


#: The text columns of a `parse_allocation` pair that `site_allocation` reads.
_PAIR_TEXT = ("subject_id", "site", "arm")


def _first_of(keys: list[tuple[Any, ...]]) -> list[int]:
    """Positions of the first occurrence of each key (``~duplicated(keep="first")``)."""
    seen: set[tuple[Any, ...]] = set()
    out = []
    for i, key in enumerate(keys):
        if key not in seen:
            seen.add(key)
            out.append(i)
    return out


def site_allocation(subj: pd.DataFrame, plan: TrialPlan) -> pd.DataFrame:
    """Per subject: the treated and control body sites of its allocation.

    The allocation text is parsed by :func:`efficacy.trial.parse_allocation` (the one
    parser validation and the CONSORT flow use); only well-formed ``site=ARM`` pairs
    count. A subject whose allocation gives one site two different arms is ambiguous and
    has no row (validation reports it, DES-003); an arm at several sites uses its first
    site. A subject needs a control site and a site of an active arm (the first of
    ``plan.actives`` present).
    """
    pairs = parse_allocation(subj)
    ok = pairs["ok"].to_numpy(dtype=bool)
    # rows and subject ids as codes in sorted order (-1: missing), as groupby sorts them
    row: list[int] = pd.factorize(pairs["row"].to_numpy()[ok], sort=True)[0].tolist()
    sids, sites, arms = (pairs[c].to_numpy(dtype=object)[ok].tolist() for c in _PAIR_TEXT)
    sid_code: list[int] = pd.factorize(np.asarray(sids, dtype=object), sort=True)[0].tolist()
    # the first pair of each row, site and arm; then rows naming a site twice are left out
    firsts = _first_of([(row[i], sites[i], arms[i]) for i in range(len(sites))])
    at = [(row[i], sites[i]) for i in firsts]
    once = set(_first_of(at))
    ambiguous = {key[0] for j, key in enumerate(at) if j not in once}  # a site named twice
    kept = [i for i in firsts if row[i] not in ambiguous]
    kept = [kept[j] for j in _first_of([(row[i], arms[i]) for i in kept])]  # one site per arm
    # the pairs of each row and subject id (both present), groups in sorted order
    members: dict[tuple[int, int], list[int]] = {}
    for i in kept:
        if row[i] >= 0 and sid_code[i] >= 0:
            members.setdefault((row[i], sid_code[i]), []).append(i)
    records = []
    for key in sorted(members):
        rows = members[key]
        record = subject_sites(sids[rows[0]], {arms[i]: sites[i] for i in rows}, plan)
        if record is not None:
            records.append(record)
    return pd.DataFrame(records, columns=["subject_id", "arm", "treated_site", "control_site"])


def subject_sites(
    subject_id: Any, by_arm: Mapping[str, str], plan: TrialPlan
) -> tuple[Any, str, str, str] | None:
    """Return (subject id, active arm, treated site, control site) of one allocation.

    `by_arm` maps each arm to its site; None without a control site or a site of an
    active arm (the first of ``plan.actives`` present).
    """
    ctl = by_arm.get(plan.control)
    act = next((a for a in plan.actives if a in by_arm), None)
    if ctl is None or act is None:
        return None
    return (subject_id, act, by_arm[act], ctl)


def _site_allocation(
    trial: Trial, population_name: str, subj: pd.DataFrame, plan: TrialPlan
) -> pd.DataFrame:
    """`site_allocation` of a population, computed once per trial, population and arms."""
    key = f"site_allocation:{population_name}:{plan.control!r}:{plan.actives!r}"
    alloc: pd.DataFrame = trial._memo(key, lambda _: site_allocation(subj, plan))
    return alloc.copy(deep=False)


def _allocated(
    where: tuple[Trial, str], subj: pd.DataFrame, alloc: pd.DataFrame, plan: TrialPlan
) -> Allocated:
    """`allocated` of a population's subjects and allocation, once per trial, population, arms.

    `where` is the trial and population name; `alloc` is `_site_allocation` of the same
    (its key: the population and the arms), `subj` any selection of the population's
    columns (only ``subject_id`` is read).
    """
    trial, name = where
    key = f"allocated:{name}:{plan.control!r}:{plan.actives!r}"
    view: Allocated = trial._memo(key, lambda _: allocated(subj, alloc, plan))
    return view


def _split_face(
    rows: pd.DataFrame, subj: pd.DataFrame, plan: TrialPlan, alloc: pd.DataFrame
) -> tuple[pd.DataFrame, pd.DataFrame]:
    m = rows.merge(alloc, on="subject_id", how="inner")
    side = np.where(m["body_site"] == m["treated_site"], "t", "")
    side = np.where(m["body_site"] == m["control_site"], "c", side)
    m = m.assign(_side=side)[side != ""]
    wide = (
        m.groupby(["subject_id", "visit", "phase", "_side"], sort=False)[
            ["value", "baseline", "change"]
        ]
        .mean()
        .unstack("_side")
    )
    cols = pd.MultiIndex.from_product([["value", "baseline", "change"], ["t", "c"]])
    wide = wide.reindex(columns=cols)
    out = wide.index.to_frame(index=False)
    out["baseline"] = (wide[("baseline", "t")] - wide[("baseline", "c")]).to_numpy()
    out["change"] = (wide[("change", "t")] - wide[("change", "c")]).to_numpy()
    out = out.merge(alloc[["subject_id", "arm"]], on="subject_id").merge(
        subj.drop(columns=["arm"], errors="ignore"), on="subject_id"
    )
    out["arm"] = pd.Categorical(out["arm"].astype(str), categories=list(plan.actives))
    base = out[["subject_id", "arm", "baseline"]][out["phase"] == "baseline"]
    return out, base.dropna(subset=["baseline"]).reset_index(drop=True)


def _split_face_data(
    where: tuple[Trial, str],
    rows: pd.DataFrame,
    subj: pd.DataFrame,
    plan: TrialPlan,
    how: tuple[list[str], list[str]],
) -> tuple[pd.DataFrame, pd.DataFrame, int, bool]:
    """Split-face model frame, baseline frame, unscheduled rows, and whether numpy built them.

    `where` is the trial and population name (the allocation is memoised per both);
    `how` the notes (appended to) and the covariates.
    """
    notes, covs = how
    alloc = _site_allocation(*where, subj, plan)
    lost = len(subj) - len(alloc)
    if lost:
        notes.append(f"{lost} subjects without a usable allocation (treated and control site)")
    view = _allocated(where, subj, alloc, plan)
    sid_dtype = split_face_ok(rows, subj, alloc, plan, view)
    if sid_dtype is not None:
        fast = split_face_fast(rows, subj, view, plan, (sid_dtype, covs))
        if fast is not None:
            return (*fast, True)
    merged, base = _split_face(rows, subj, plan, alloc)
    frame, n_unscheduled = _post_baseline(merged, plan, covs)
    return frame, base, n_unscheduled, False


def _post_baseline(
    merged: pd.DataFrame, plan: TrialPlan, covs: list[str]
) -> tuple[pd.DataFrame, int]:
    """Return the model frame (post-baseline rows at scheduled visits), rows left out."""
    post = merged[merged["phase"] == "post_baseline"]
    unscheduled = ~post["visit"].isin(plan.visits)
    if unscheduled.any():
        post = post[~unscheduled]
    seen = set(post["visit"])
    present = [v for v in plan.visits if v in seen]
    frame = post[[*FRAME_COLUMNS, *covs]].reset_index(drop=True)
    frame["visit"] = pd.Categorical(frame["visit"].astype(str), categories=present)
    return frame, int(unscheduled.sum())


def model_data(
    trial: Trial,
    derived: pd.DataFrame | Mapping[str, pd.DataFrame],
    endpoint: str,
    population_name: str,
    plan: TrialPlan,
) -> ModelData:
    """Build the model frame of `endpoint` in a population (see :class:`ModelData`).

    `derived` is the derived endpoint table of :func:`efficacy.instruments.score_trial`
    or its :func:`split_by_endpoint` form (faster when many endpoints are analysed).

    Raises
    ------
    EfficacyError
        The endpoint has no data in the trial, or a declared covariate is not a column.
    """
    rows = _endpoint_rows(derived, endpoint)
    if rows.empty:
        raise EfficacyError(f"endpoint {endpoint!r} has no data in this trial")
    subj, definition = population(trial, population_name)
    covs = _covariates(subj, plan.settings.covariates)
    subj = _subject_columns((trial, population_name), subj, covs)
    notes: list[str] = [definition] if "(" in definition else []
    if plan.design == "split_face":
        if rows["body_site"].isna().all():
            raise EfficacyError(
                f"{endpoint} is measured per person, not per body site: a split-face trial "
                "has no within-person control for it"
            )
        frame, base, n_unscheduled, plain = _split_face_data(
            (trial, population_name), rows, subj, plan, (notes, covs)
        )
    else:
        fast = _fast_parallel_ok(rows, subj, plan, _subject_ids((trial, population_name), subj))
        plain = fast is not None
        if fast is None:
            merged, base = _parallel(rows, subj, plan, notes, endpoint)
            frame, n_unscheduled = _post_baseline(merged, plan, covs)
        else:
            view = _in_arm_view((trial, population_name), subj, plan)
            sid_dtype, keys = fast
            how = (sid_dtype, covs, keys)
            frame, base, n_unscheduled = _parallel_fast(rows, view, plan, notes, how)
    if n_unscheduled:
        notes.append(
            f"{n_unscheduled} rows at visits after the estimand's visit or not "
            "scheduled were not analysed"
        )
    n_pop = _subject_ids((trial, population_name), subj).n_distinct
    ids = frame["subject_id"].to_numpy(object)[~pd.isna(frame["change"].to_numpy())]
    n_in = len(set(ids)) if plain else int(pd.Series(ids).nunique())
    if n_in < n_pop:
        notes.append(
            f"{n_pop - n_in} of {n_pop} subjects of the population have no post-baseline "
            "value of this endpoint (no row in the model)"
        )
    return ModelData(frame=frame, baseline=base, notes=tuple(notes))
