"""The units a CONSORT flow counts: people, and (split-face) their allocated body sites."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from functools import cached_property
from typing import Any, NamedTuple

import numpy as np
import pandas as pd

from efficacy.protocol import Protocol
from efficacy.trial import Arm, Trial, _arrow_text_codes

__all__ = ["Person", "Unit", "Units", "primary_endpoint", "units_frame"]

#: ``object`` as a dtype instance: pandas takes a dtype instance as it is, while a type
#: or a string is resolved inside a ``warnings.catch_warnings`` block on every call.
_OBJECT = np.dtype(object)


class Person(NamedTuple):
    """One assessed person (first subjects row of a subject id), as the flow counts them."""

    subject_id: Any
    #: True / False / None (not recorded).
    randomized: bool | None
    #: Discontinuation reason: stripped text, None when missing or blank.
    reason: str | None
    #: Arm (parallel designs): stripped text, None when missing or blank.
    arm: str | None


class Unit(NamedTuple):
    """One allocated unit: a randomised person with an arm, or (split-face) a body site."""

    subject_id: Any
    arm: Any
    #: Body site (split-face), None for parallel designs.
    site: Any
    disposition: str | None
    reason: str | None
    itt: bool
    safety: bool | None
    #: In the ITT population and measured after baseline (at this site, split-face).
    analysed: bool
    #: Position of the person in :attr:`Units.people`.
    person: int


@dataclass(frozen=True)
class Units:
    """People and allocated units of a trial, with what the flow needs per unit.

    Attributes
    ----------
    people : tuple of Person
        One per distinct subject id (:meth:`Trial.subjects_unique`), in table order.
    units : tuple of Unit
        One per allocated unit (parallel: randomised person with an arm, in table order;
        split-face: randomised person x body site, in allocation order).
    """

    people: tuple[Person, ...]
    units: tuple[Unit, ...]
    arms: Mapping[str, Arm]
    arm_order: tuple[str, ...]
    split_face: bool
    unknown_randomised: int
    unallocated_detail: str
    paired_subjects: frozenset[str]

    @property
    def total_sites(self) -> int | None:
        """Allocated body sites (split-face), None for parallel designs."""
        return len(self.units) if self.split_face else None

    @cached_property
    def frame(self) -> pd.DataFrame:
        """The units as a frame: ``subject_id``, ``arm``, ``site``, ``itt``, ``safety``.

        Built on first use (the report's harms and baseline tables read it, the flow
        does not). Parallel designs: ``subject_id`` and ``arm`` have the type pandas
        infers for that column of all assessed people (text when there are any),
        ``site`` is None; split-face: ``subject_id``, ``arm`` and ``site`` are objects.
        ``itt`` is bool, ``safety`` holds True / False / None; a RangeIndex.
        """
        pos = [u.person for u in self.units]
        if self.split_face:
            ids = _objects([u.subject_id for u in self.units])
            arms = _objects([u.arm for u in self.units])
        else:
            ids = _inferred([p.subject_id for p in self.people], pos)
            arms = _inferred([p.arm for p in self.people], pos)
        return pd.DataFrame(
            {
                "subject_id": ids,
                "arm": arms,
                "site": _objects([u.site for u in self.units]),
                "itt": np.array([u.itt for u in self.units], dtype=bool),
                "safety": _objects([u.safety for u in self.units]),
            }
        )


def _objects(values: list[Any]) -> pd.Series:
    """Return an object Series of `values` (no type inferred)."""
    return pd.Series(np.array(values, dtype=object), dtype=object)


def _inferred(values: list[Any], pos: list[int]) -> pd.Series:
    """Return ``values[pos]`` with the type pandas infers for the whole column `values`."""
    column = pd.DataFrame({"c": np.array(values, dtype=object)})["c"]
    return column.iloc[pos].reset_index(drop=True)


def primary_endpoint(protocol: Protocol | None, trial: Trial | None = None) -> str | None:
    """Return the primary endpoint the flow counts "analysed" on, or None (any endpoint).

    The protocol's ``[analysis] primary``; for a trial whose data define its endpoints
    (ADaM parameters, :attr:`Manifest.data_endpoints`), the parameter named primary, or
    None when none is (the protocol's catalogue endpoint is not in such data).
    """
    if trial is not None and trial.manifest.data_endpoints:
        named = [e.id for e in trial.manifest.data_endpoints if e.role == "primary"]
        return named[0] if named else None
    if protocol is None or protocol.analysis is None:
        return None
    return protocol.analysis.primary


def _cells(values: pd.Series) -> tuple[list[Any], list[bool]]:
    """Return the cells of `values` as Python objects and whether each is missing.

    One object array and one missing mask of it (None, NaN, NaT, NA), instead of the
    Series' ``tolist`` and ``isna``. Arrow text gives its Python strings, None where
    missing. The cells of a column without missing cells are its ``astype(object)``
    values.
    """
    array = values.array
    if isinstance(array, pd.arrays.ArrowStringArray):
        texts = array.__arrow_array__().to_pylist()
        return texts, [t is None for t in texts]
    cells = values.to_numpy(dtype=object)
    return cells.tolist(), pd.isna(cells).tolist()


def _text(values: pd.Series, rows: np.ndarray | None = None) -> list[str | None]:
    """Return the stripped text of each cell, None for missing or empty cells.

    `rows`: only the cells at these positions (default all), in that order.
    """
    coded = _arrow_text_codes(values)
    if coded is not None:  # Arrow text: strip each distinct text once
        codes, uniques = coded
        texts = np.empty(len(uniques) + 1, dtype=object)
        texts[:] = [*(u.strip() or None for u in uniques), None]
        stripped: list[str | None] = texts[codes if rows is None else codes[rows]].tolist()
        return stripped
    cells, gone = _cells(values if rows is None else values.iloc[rows])
    return [None if g else (str(v).strip() or None) for v, g in zip(cells, gone, strict=True)]


def _flag(values: pd.Series) -> list[bool | None]:
    """Return True / False for each cell, None for missing cells."""
    cells, gone = _cells(values)
    return [None if g else bool(v) for v, g in zip(cells, gone, strict=True)]


def _measured(trial: Trial, endpoint: str | None, split: bool) -> list[tuple[Any, Any, Any]]:
    """Post-baseline non-missing measurements of `endpoint` (any when None).

    One (subject_id, site, visit) per measurement row; site and visit are stripped text
    (None when blank), site None for parallel designs (the flow does not read it).
    """
    m = trial.measurements
    visits = {v.id: v.day for v in trial.manifest.visits}
    base = visits.get(trial.manifest.baseline_visit)
    post = [v for v, d in visits.items() if base is not None and d > base]
    keep = m["value"].notna().to_numpy(dtype=bool) & m["visit"].isin(post).to_numpy(dtype=bool)
    keep &= m["subject_id"].notna().to_numpy(dtype=bool)  # such a row is nobody's unit
    if endpoint is not None:
        keep &= m["endpoint"].eq(endpoint).fillna(False).to_numpy(dtype=bool)
    rows = np.flatnonzero(keep)
    subjects, _ = _cells(m["subject_id"].iloc[rows])  # none missing (see keep)
    if not split:
        return [(s, None, None) for s in subjects]
    sites = _text(m["body_site"], rows)
    visit = _text(m["visit"], rows)
    return list(zip(subjects, sites, visit, strict=True))


def units_frame(trial: Trial, endpoint: str | None) -> Units:
    """Build the :class:`Units` of `trial` ("analysed" from `endpoint`).

    Computed once per trial and endpoint (memoised on the trial: the flow, the harms
    and baseline tables of one report share it); consumers only read it.
    """
    return trial._memo(f"units_frame:{endpoint}", lambda _: _units_frame(trial, endpoint))


def _people(trial: Trial) -> tuple[list[Person], list[dict[str, Any]]]:
    """Each person (:meth:`Trial.subjects_unique`) and their per-person unit fields."""
    s = trial.subjects_unique()
    ids, _ = _cells(s["subject_id"])  # none missing (first rows of non-blank ids)
    randomized = _flag(s["randomized"])
    reason = _text(s["discontinuation_reason"])
    arm = _text(s["arm"])
    people = [Person(*p) for p in zip(ids, randomized, reason, arm, strict=True)]
    rest = [
        {"disposition": d, "reason": r, "itt": i is True, "safety": f}
        for d, r, i, f in zip(
            _text(s["disposition"]), reason, _flag(s["itt"]), _flag(s["safety"]), strict=True
        )
    ]
    return people, rest


def _units_frame(trial: Trial, endpoint: str | None) -> Units:
    people, fields = _people(trial)
    rand = [i for i, p in enumerate(people) if p.randomized is True]
    split = trial.manifest.design == "split_face"
    measured = _measured(trial, endpoint, split)
    units: list[Unit] = []
    if split:
        pairs = _split_allocation(trial, rand)
        seen = {(s, b) for s, b, _ in measured}
        for i, site, arm in pairs:
            f = fields[i]
            sid = people[i].subject_id
            hit = (sid, site) in seen
            units.append(Unit(sid, arm, site, **f, analysed=hit and f["itt"], person=i))
        allocated = {people[i].subject_id for i, _, _ in pairs}
        no_alloc = [people[i].subject_id for i in rand if people[i].subject_id not in allocated]
    else:
        seen_ids = {s for s, _, _ in measured}
        for i in rand:
            p, f = people[i], fields[i]
            if p.arm is not None:
                hit = p.subject_id in seen_ids
                units.append(
                    Unit(p.subject_id, p.arm, None, **f, analysed=hit and f["itt"], person=i)
                )
        no_alloc = [people[i].subject_id for i in rand if people[i].arm is None]
    declared = {a.id: a for a in trial.manifest.arms}
    extra = sorted({u.arm for u in units} - set(declared))
    detail = (
        f"{len(no_alloc)} randomised without an {'allocation' if split else 'arm'}: "
        + ", ".join(map(str, no_alloc[:5]))
        + (" ..." if len(no_alloc) > 5 else "")
        if no_alloc
        else ""
    )
    return Units(
        people=tuple(people),
        units=tuple(units),
        arms=declared,
        arm_order=(*declared, *extra),
        split_face=split,
        unknown_randomised=sum(p.randomized is None for p in people),
        unallocated_detail=detail,
        paired_subjects=_paired_subjects(units, measured, declared) if split else frozenset(),
    )


def _split_allocation(trial: Trial, rand: list[int]) -> list[tuple[int, Any, Any]]:
    """(person, site, arm) of each well-formed ``site=ARM`` pair of randomised people.

    Pairs come from :meth:`Trial.allocations` (the one parser), first subjects row per
    person (`rand`: positions in :meth:`Trial.subjects_unique`); a site named twice keeps
    its first pair. In allocation order.
    """
    rows = trial.subjects_unique().index.tolist()
    person = {rows[i]: i for i in rand}
    a = trial.allocations()
    out: list[tuple[int, Any, Any]] = []
    done: set[tuple[Any, Any]] = set()
    for row, sid, site, arm, ok in zip(
        a["row"].tolist(),
        a["subject_id"].astype(_OBJECT).tolist(),
        a["site"].astype(_OBJECT).tolist(),
        a["arm"].astype(_OBJECT).tolist(),
        a["ok"].tolist(),
        strict=True,
    ):
        if ok and row in person and (sid, site) not in done:
            done.add((sid, site))
            out.append((person[row], site, arm))
    return out


def _paired_subjects(
    units: list[Unit], measured: list[tuple[Any, Any, Any]], arms: Mapping[str, Arm]
) -> frozenset[str]:
    """ITT participants with a site of every declared arm measured at one visit."""
    arm_of: dict[tuple[Any, Any], list[Any]] = {}
    for u in units:
        if u.itt:
            arm_of.setdefault((u.subject_id, u.site), []).append(u.arm)
    if not arms:
        return frozenset()
    seen: dict[tuple[Any, Any], set[Any]] = {}
    for subject, site, visit in measured:
        if visit is not None:  # a blank visit is no visit
            for arm in arm_of.get((subject, site), ()):
                seen.setdefault((subject, visit), set()).add(arm)
    want = set(arms)
    return frozenset(subject for (subject, _), got in seen.items() if got >= want)


def allocated_units(trial: Trial) -> pd.DataFrame:
    """Return the allocated units of `trial`: one row per randomised person and arm.

    Returns
    -------
    pandas.DataFrame
        Columns ``subject_id``, ``arm``, ``site`` (body site for split-face designs,
        None for parallel), ``itt`` (bool), ``safety`` (True / False / None).
    """
    return units_frame(trial, None).frame.copy()
