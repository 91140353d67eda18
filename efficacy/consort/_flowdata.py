"""The units a CONSORT flow counts: people, and (split-face) their allocated body sites."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import pandas as pd

from efficacy.protocol import Protocol
from efficacy.trial import Arm, Trial

__all__ = ["Units", "primary_endpoint", "units_frame"]


@dataclass(frozen=True)
class Units:
    """People and allocated units of a trial, with what the flow needs per unit.

    Attributes
    ----------
    people : DataFrame
        One row per distinct subject id (:meth:`Trial.subjects_unique`): ``subject_id``,
        ``randomized`` (True/False/None), ``reason``, ``disposition``.
    frame : DataFrame
        One row per allocated unit (parallel: randomised person with an arm; split-face:
        randomised person x body site): ``subject_id``, ``arm``, ``site``,
        ``disposition``, ``reason``, ``itt`` (bool), ``safety`` (True/False/None),
        ``analysed`` (bool).
    """

    people: pd.DataFrame
    frame: pd.DataFrame
    arms: Mapping[str, Arm]
    arm_order: tuple[str, ...]
    split_face: bool
    unknown_randomised: int
    unallocated_detail: str
    paired_subjects: frozenset[str]

    @property
    def total_sites(self) -> int | None:
        """Allocated body sites (split-face), None for parallel designs."""
        return len(self.frame) if self.split_face else None


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


def _text(values: pd.Series) -> pd.Series:
    """Object series: stripped text, None for missing or empty cells."""
    if isinstance(values.dtype, pd.StringDtype):  # text cells: clean each distinct one once
        codes, uniques = pd.factorize(values)  # a missing cell: code -1, the appended NA
        distinct = pd.Series(pd.array([*uniques.tolist(), None], dtype=values.dtype))
        cleaned = _text_each(distinct).to_numpy(dtype=object)
        return pd.Series(cleaned[codes], index=values.index, name=values.name, dtype=object)
    return _text_each(values)


def _text_each(values: pd.Series) -> pd.Series:
    """:func:`_text`, cell by cell."""
    out = values.astype(object).where(values.notna(), None)
    out = out.map(lambda v: None if v is None or str(v).strip() == "" else str(v).strip())
    return out.astype(object)


def _flag(values: pd.Series) -> pd.Series:
    """Object series of True / False / None."""
    return (
        values.astype(object)
        .where(values.notna(), None)
        .map(lambda v: None if v is None else bool(v))
        .astype(object)
    )


def _people(trial: Trial) -> pd.DataFrame:
    """One row per subject id (:meth:`Trial.subjects_unique`), indexed by source row."""
    s = trial.subjects_unique()
    return pd.DataFrame(
        {
            "subject_id": s["subject_id"].astype(object).to_numpy(dtype=object),
            "randomized": _flag(s["randomized"]).to_numpy(dtype=object),
            "reason": _text(s["discontinuation_reason"]).to_numpy(dtype=object),
            "disposition": _text(s["disposition"]).to_numpy(dtype=object),
            "itt": _flag(s["itt"]).eq(True).to_numpy(dtype=bool),
            "safety": _flag(s["safety"]).to_numpy(dtype=object),
            "arm": _text(s["arm"]).to_numpy(dtype=object),
        },
        index=s.index,
    )


def _split_allocation(trial: Trial, rand: pd.DataFrame) -> pd.DataFrame:
    """One row per well-formed ``site=ARM`` pair of each randomised person's allocation.

    Pairs come from :meth:`Trial.allocations` (the one parser), first subjects row per
    person; a site named twice keeps its first pair.
    """
    a = trial.allocations()
    a = a[a["ok"].to_numpy(dtype=bool) & a["row"].isin(rand.index).to_numpy(dtype=bool)]
    pairs = a[["subject_id", "site", "arm"]].astype(object).reset_index(drop=True)
    return pairs.drop_duplicates(["subject_id", "site"])


def _measured(trial: Trial, endpoint: str | None) -> pd.DataFrame:
    """Post-baseline non-missing measurements of `endpoint` (any when None)."""
    m = trial.measurements
    visits = {v.id: v.day for v in trial.manifest.visits}
    base = visits.get(trial.manifest.baseline_visit)
    post = [v for v, d in visits.items() if base is not None and d > base]
    keep = m["value"].notna() & m["visit"].isin(post)
    if endpoint is not None:
        keep &= m["endpoint"].eq(endpoint).fillna(False)
    sel = m[keep.fillna(False).astype(bool)]
    return pd.DataFrame(
        {
            "subject_id": sel["subject_id"].astype(object).to_numpy(dtype=object),
            "site": _text(sel["body_site"]).to_numpy(dtype=object),
            "visit": _text(sel["visit"]).to_numpy(dtype=object),
        }
    )


def units_frame(trial: Trial, endpoint: str | None) -> Units:
    """Build the :class:`Units` of `trial` ("analysed" from `endpoint`).

    Computed once per trial and endpoint (memoised on the trial: the flow, the harms
    and baseline tables of one report share it); consumers only read its frames.
    """
    return trial._memo(f"units_frame:{endpoint}", lambda _: _units_frame(trial, endpoint))


def _units_frame(trial: Trial, endpoint: str | None) -> Units:
    people = _people(trial)
    rand = people[people["randomized"].eq(True).fillna(False).astype(bool)]
    split = trial.manifest.design == "split_face"
    measured = _measured(trial, endpoint)
    if split:
        pairs = _split_allocation(trial, rand)
        units = pairs.merge(rand.drop(columns=["arm"]), on="subject_id", how="left")
        seen = set(zip(measured["subject_id"], measured["site"], strict=True))
        hit = [(s, b) in seen for s, b in zip(units["subject_id"], units["site"], strict=True)]
        no_alloc = rand["subject_id"][~rand["subject_id"].isin(pairs["subject_id"])]
    else:
        units = rand[rand["arm"].notna()].assign(site=None)
        hit = units["subject_id"].isin(set(measured["subject_id"])).tolist()
        no_alloc = rand["subject_id"][rand["arm"].isna()]
    units = units.assign(analysed=pd.Series(hit, index=units.index, dtype=bool) & units["itt"])
    units = units[
        ["subject_id", "arm", "site", "disposition", "reason", "itt", "safety", "analysed"]
    ].reset_index(drop=True)
    people = people.reset_index(drop=True)
    declared = {a.id: a for a in trial.manifest.arms}
    extra = sorted(set(units["arm"]) - set(declared))
    detail = (
        f"{len(no_alloc)} randomised without an {'allocation' if split else 'arm'}: "
        + ", ".join(map(str, no_alloc.head(5)))
        + (" ..." if len(no_alloc) > 5 else "")
        if len(no_alloc)
        else ""
    )
    return Units(
        people=people,
        frame=units,
        arms=declared,
        arm_order=(*declared, *extra),
        split_face=split,
        unknown_randomised=int(people["randomized"].isna().sum()),
        unallocated_detail=detail,
        paired_subjects=_paired_subjects(units, measured, declared) if split else frozenset(),
    )


def _paired_subjects(
    units: pd.DataFrame, measured: pd.DataFrame, arms: Mapping[str, Arm]
) -> frozenset[str]:
    """ITT participants with a site of every declared arm measured at one visit."""
    itt = units[units["itt"]][["subject_id", "site", "arm"]]
    m = measured.merge(itt, on=["subject_id", "site"], how="inner")
    if m.empty or not arms:
        return frozenset()
    n_arms = (
        m.drop_duplicates(["subject_id", "visit", "arm"])
        .groupby(["subject_id", "visit"])["arm"]
        .agg(lambda a: set(a) >= set(arms))
    )
    return frozenset(n_arms[n_arms].index.get_level_values("subject_id").unique().tolist())


def allocated_units(trial: Trial) -> pd.DataFrame:
    """Return the allocated units of `trial`: one row per randomised person and arm.

    Returns
    -------
    pandas.DataFrame
        Columns ``subject_id``, ``arm``, ``site`` (body site for split-face designs,
        None for parallel), ``itt`` (bool), ``safety`` (True / False / None).
    """
    frame = units_frame(trial, None).frame
    return frame[["subject_id", "arm", "site", "itt", "safety"]].copy()
