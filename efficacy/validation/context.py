"""What the rules share: the trial, the protocol and derived data computed once.

Derived data (canonical measurement values, subject lookups, parsed split-face
allocations) is computed lazily on first use and cached for the run, so each rule pays
only for what it reads. Nothing here modifies the trial.

A rule reads the protocol only through :attr:`Context.protocol`, :attr:`Context.params`
and files outside the trial only through :meth:`Context.reference_file`: while a rule
runs, the engine records those reads (:mod:`efficacy.validation._cache`) so that its
result can be reused for another protocol that gives the same values. The derived data
here depend on the trial alone (never on the protocol), which is what lets two rules
share them safely.
"""

from __future__ import annotations

import weakref
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from pandas.api.extensions import ExtensionDtype

from efficacy.instruments.catalogue import ENDPOINTS
from efficacy.instruments.measures import canonical_units
from efficacy.protocol import Protocol
from efficacy.trial import TABLE_SCHEMAS, Trial, Visit, _arrow_text_codes, _filled_text
from efficacy.validation._cache import Reads, TrackedParams
from efficacy.validation.findings import CouldNotRun, NotApplicable

__all__ = [
    "Context",
    "MeasurementInfo",
    "arm_members",
    "blank",
    "cell_rows",
    "combine",
    "eq",
    "factorize",
    "first_positions",
    "flag",
    "lookup",
]

#: ``object`` as a dtype instance: pandas takes a dtype instance as it is, while a type
#: or a string is resolved inside a ``warnings.catch_warnings`` block on every call.
_OBJECT = np.dtype(object)


def blank(values: pd.Series) -> pd.Series:
    """Return True where a text cell is missing or empty (boolean Series, no NA)."""
    empty = values.eq("").to_numpy(dtype=bool, na_value=False)  # a missing cell: not ""
    missing = values.isna().to_numpy(dtype=bool)
    return pd.Series(missing | empty, index=values.index, name=values.name)


def eq(values: pd.Series, value: Any) -> np.ndarray:
    """Boolean array: the cell equals `value` (missing cells do not)."""
    out = values == value
    return np.asarray(out.fillna(False) if out.dtype != bool else out, dtype=bool)


def combine(*codes: np.ndarray) -> np.ndarray:
    """One int64 key per row from several factorize code arrays (-1 allowed).

    Equal keys mean equal tuples of codes; used for fast duplicate and group lookups.
    """
    key = np.zeros(len(codes[0]), dtype=np.int64)
    for c in codes:
        width = int(c.max(initial=-1)) + 2
        if width > 1 and int(key.max(initial=0)) > (2**62) // width:
            key, _ = pd.factorize(key)  # re-densify before it could overflow
            key = np.asarray(key, dtype=np.int64)
        key = key * width + (c + 1)
    return key


def first_positions(group: np.ndarray) -> np.ndarray:
    """Position of the first row of each group, for ids from :func:`pandas.factorize`.

    factorize numbers groups in order of first appearance, so a group's first row is
    where the running maximum of the ids grows.
    """
    if len(group) == 0:
        return np.empty(0, dtype=np.int64)
    running = np.maximum.accumulate(group)
    return np.flatnonzero(np.r_[True, running[1:] > running[:-1]])


def lookup(values: pd.Series, mapping: Mapping[Any, Any], default: Any, dtype: Any) -> np.ndarray:
    """``mapping[value]`` for every element, via factorize (fast on long columns)."""
    codes, uniques = pd.factorize(values, use_na_sentinel=True)
    table = np.array([mapping.get(u, default) for u in uniques] + [default], dtype=dtype)
    return table[codes]


def cell_rows(frame: pd.DataFrame, *columns: str) -> Iterator[tuple[Any, ...]]:
    """Return the cells of `columns` row by row (as ``itertuples`` gives them, no class)."""
    return zip(*(frame[c] for c in columns), strict=True)


def factorize(values: pd.Series) -> tuple[np.ndarray, pd.Index]:
    """``pandas.factorize(values)``: int64 codes (-1 = missing) and object uniques.

    A column of an extension type (Arrow text, nullable integers, flags) is factorized
    by its array's own ``factorize``, which is what :func:`pandas.factorize` calls for
    it, without the Series and Index wrapping around it; Arrow text by Arrow's
    dictionary encoding, which that ``factorize`` calls (a test compares the two).
    """
    coded = _arrow_text_codes(values)
    if coded is not None:
        codes, texts = coded
    else:
        if isinstance(values.dtype, ExtensionDtype):
            codes, uniques = values.array.factorize(use_na_sentinel=True)
        else:
            codes, uniques = pd.factorize(values, use_na_sentinel=True)
        texts = uniques.tolist()
    objects = np.empty(len(texts), dtype=object)
    objects[:] = texts
    return np.asarray(codes, dtype=np.int64), pd.Index(objects, dtype=_OBJECT)


def flag(values: pd.Series, state: bool) -> pd.Series:
    """Return True where a flag column equals `state` (missing counts as neither)."""
    if isinstance(values.dtype, pd.BooleanDtype):  # a canonical flag column: in numpy
        array = values.array  # its isna and to_numpy give numpy arrays (no Series)
        known = ~np.asarray(array.isna(), dtype=bool)
        hit = array.to_numpy(dtype=bool, na_value=not state) == state
        return pd.Series(known & hit, index=values.index, name=values.name)
    known_s = values.notna()
    return known_s & (values.where(known_s, not state).astype(bool) == state)


@dataclass(frozen=True)
class MeasurementInfo:
    """Per-row catalogue lookups for the measurements table (numpy arrays, row order).

    Attributes
    ----------
    known : ndarray of bool
        Endpoint is in the catalogue.
    unit : ndarray of object
        Canonical spelling of the row's unit, None if unknown or blank.
    target_unit : ndarray of object
        The endpoint's canonical unit, None for unknown endpoints.
    factor : ndarray of float
        Factor converting the row's unit to the endpoint's unit; NaN if not convertible.
    value : ndarray of float
        Value in the endpoint's canonical unit; NaN if missing or not convertible.
    physical, plausible : ndarray of float, shape (n, 2)
        The endpoint's limits per row (NaN for unknown endpoints).
    """

    known: np.ndarray
    unit: np.ndarray
    target_unit: np.ndarray
    factor: np.ndarray
    value: np.ndarray
    physical: np.ndarray
    plausible: np.ndarray


class Context:
    """The trial and protocol under validation, with lazily derived lookups.

    Attributes
    ----------
    trial : Trial
    params : Mapping[str, Any]
        The protocol's ``[validation]`` parameters (read-only; reads are recorded while
        a rule is tracked, see :meth:`track`).
    manifest : Manifest
        ``trial.manifest``.

    Notes
    -----
    The protocol and the reads being recorded live in slots; the trial's derived views
    (the cached properties and column lookups) live in the instance ``__dict__``, which
    validations of one trial share (`views`, kept with the trial's stored rule results):
    they read no protocol, so a second validation against another rule pack reuses them.
    """

    __slots__ = ("__dict__", "_protocol", "_reads", "params", "trial")

    def __init__(
        self, trial: Trial, protocol: Protocol, views: dict[str, Any] | None = None
    ) -> None:
        if views is not None:
            # a weak reference: the views are kept on the trial, which must stay free
            # of a reference cycle through them
            of = views.setdefault("_of", weakref.ref(trial))
            if of() is not trial:
                raise ValueError("views= are the derived views of another trial")
            self.__dict__ = views  # the trial's derived views, shared (see Notes)
        self._protocol = protocol
        self._reads: Reads | None = None
        self.params: Mapping[str, Any] = TrackedParams(protocol.parameters)
        self.trial = trial
        self.manifest = trial.manifest
        self._codes: dict[tuple[str, str], tuple[np.ndarray, pd.Index]]
        self._empty: dict[tuple[str, str], np.ndarray]
        self._missing: dict[str, frozenset[str]]
        if "_codes" not in self.__dict__:
            self._codes = {}
            self._empty = {}
            self._missing = {}

    # -- what a rule reads outside the trial (recorded while it is tracked) ------------
    def track(self, reads: Reads | None) -> None:
        """Record the protocol and file reads of the next rule(s) in `reads` (None: stop)."""
        self._reads = reads
        self.params = TrackedParams(self._protocol.parameters, reads)

    @property
    def protocol(self) -> Protocol:
        """The protocol validated against (recorded as a read of the whole protocol)."""
        if self._reads is not None:
            self._reads.note(("protocol",))
        return self._protocol

    def reference_file(self, key: str) -> Path | None:
        """Path of the bundle's reference file `key` (:meth:`Trial.reference_file`).

        Recorded as a read of the file's content: a rule result that used it is reused
        only while the file's bytes are the same.
        """
        path = self.trial.reference_file(key)
        if self._reads is not None:
            self._reads.note(("file", key))
        return path

    # -- fast column lookups (factorize once per column, then work on the uniques) ----
    def codes(self, table: str, column: str) -> tuple[np.ndarray, pd.Index]:
        """Factorized `column` of `table`: integer codes (-1 = missing) and uniques."""
        key = (table, column)
        if key not in self._codes:
            self._codes[key] = factorize(self.table(table)[column])
        return self._codes[key]

    def map(
        self, table: str, column: str, mapping: Mapping[Any, Any], default: Any, dtype: Any
    ) -> np.ndarray:
        """``mapping[value]`` for every cell of `column` (`default` where absent/missing)."""
        codes, uniques = self.codes(table, column)
        values = np.array([mapping.get(u, default) for u in uniques] + [default], dtype=dtype)
        mapped: np.ndarray = values[codes]
        return mapped

    def isin(self, table: str, column: str, values: Any) -> np.ndarray:
        """Boolean array: the cell is one of `values` (missing cells are not)."""
        codes, uniques = self.codes(table, column)
        wanted = set(values)
        hit = np.fromiter((u in wanted for u in uniques), dtype=bool, count=len(uniques))
        found: np.ndarray = np.append(hit, False)[codes]
        return found

    def blank(self, table: str, column: str) -> np.ndarray:
        """Boolean array: the text cell is missing or empty (a new array on every call)."""
        key = (table, column)
        if key not in self._codes:  # not factorized yet: a filled column needs no codes
            values = self.table(table)[column]
            if _filled_text(values):
                return np.zeros(len(values), dtype=bool)
        codes, uniques = self.codes(table, column)
        empty = self._empty.get(key)
        if empty is None:  # which distinct values are empty, once per column
            empty = np.fromiter((str(u) == "" for u in uniques), dtype=bool, count=len(uniques))
            empty = np.append(empty, True)
            self._empty[key] = empty
        is_blank: np.ndarray = empty[codes]
        return is_blank

    # -- tables -----------------------------------------------------------------------
    def table(self, name: str) -> pd.DataFrame:
        """Return the canonical table `name`."""
        return self.trial.table(name)

    def present(self, name: str) -> bool:
        """Whether the bundle has table `name` (a file, or rows built in memory)."""
        source = self.trial.sources.get(name)
        return (source is not None and source.path is not None) or len(self.table(name)) > 0

    def missing(self, name: str) -> frozenset[str]:
        """Return the schema columns of `name` the file lacked (or the frame lacks)."""
        known = self._missing.get(name)
        if known is None:  # once per table: it depends on the trial alone
            source = self.trial.sources.get(name)
            listed = set(source.missing_columns) if source is not None else set()
            frame = self.table(name)
            absent = {c.name for c in TABLE_SCHEMAS[name] if c.name not in frame.columns}
            known = self._missing[name] = frozenset(listed | absent)
        return known

    def need(self, name: str, *columns: str) -> pd.DataFrame:
        """Return table `name`, or skip the rule if it or one of `columns` is missing.

        Raises
        ------
        NotApplicable
            If the bundle has no such table.
        CouldNotRun
            If a needed column is missing from the file.
        """
        if not self.present(name):
            raise NotApplicable(f"the {name} table is absent from the bundle")
        lacking = [c for c in columns if c in self.missing(name)]
        if lacking:
            raise CouldNotRun(f"{name} lacks column(s) {', '.join(lacking)}")
        return self.table(name)

    # -- manifest ---------------------------------------------------------------------
    @cached_property
    def visits(self) -> Mapping[str, Visit]:
        """Scheduled visits by id (first of duplicates; blank ids dropped)."""
        out: dict[str, Visit] = {}
        for v in self.manifest.visits:
            if isinstance(v.id, str) and v.id and v.id not in out:
                out[v.id] = v
        return out

    @cached_property
    def arm_ids(self) -> frozenset[str]:
        """Arm ids of the manifest."""
        return frozenset(a.id for a in self.manifest.arms if isinstance(a.id, str) and a.id)

    @cached_property
    def control_ids(self) -> frozenset[str]:
        """Ids of arms marked control."""
        return frozenset(a.id for a in self.manifest.control_arms if a.id)

    @property
    def split_face(self) -> bool:
        """Whether the design is split-face (within-person)."""
        return self.manifest.design == "split_face"

    @cached_property
    def baseline(self) -> Visit | None:
        """The baseline visit, or None if the manifest's baseline_visit is unknown."""
        return self.visits.get(self.manifest.baseline_visit)

    @cached_property
    def final(self) -> Visit | None:
        """The scheduled visit with the latest target day."""
        days = [v for v in self.visits.values() if pd.notna(v.day)]
        return max(days, key=lambda v: v.day) if days else None

    # -- load issues ------------------------------------------------------------------
    @cached_property
    def _all_issues(self) -> pd.DataFrame:
        issues = self.trial.issues.copy()
        issues["row"] = pd.to_numeric(issues["row"], errors="coerce").astype(pd.Int64Dtype())
        if "kind" not in issues.columns:
            issues["kind"] = "problem"
        return issues

    @cached_property
    def issues(self) -> pd.DataFrame:
        """Problems in ``trial.issues`` (kind ``problem``), ``row`` as nullable integers."""
        i = self._all_issues
        return i[i["kind"] != "excluded"]

    @cached_property
    def exclusions(self) -> pd.DataFrame:
        """Records a reader deliberately left out (``trial.issues`` kind ``excluded``)."""
        i = self._all_issues
        return i[i["kind"] == "excluded"]

    def issue_rows(self, table: str, column: str) -> pd.Index:
        """Rows of `table` whose `column` cell could not be read (SCH-004 reports them)."""
        i = self.issues
        sel = (i["table"] == table) & (i["column"] == column) & i["row"].notna()
        rows: pd.Index = pd.Index(i["row"][sel].astype("int64").unique())
        return rows

    # -- subjects ---------------------------------------------------------------------
    @cached_property
    def subject_ids(self) -> pd.Index:
        """Non-blank subject ids of the subjects table (unique)."""
        _, uniques = self.codes("subjects", "subject_id")  # in order of first appearance
        keep = [u for u in uniques.tolist() if str(u) != ""]  # not blank: see blank()
        unique_ids: pd.Index = pd.Index(np.array(keep, dtype=object))
        return unique_ids

    @cached_property
    def subjects_first(self) -> pd.DataFrame:
        """Subjects table, first row per subject id, indexed by subject_id (row kept).

        The rows of :meth:`Trial.subjects_unique` (the one definition of a subject's row).
        """
        unique = self.trial.subjects_unique()  # a shallow copy: this view's own frame
        ids = unique.pop("subject_id")  # before reset_index: fewer columns to move
        s = unique.reset_index()
        s.index = pd.Index(ids.to_numpy(dtype=_OBJECT), dtype=_OBJECT, name="subject_id")
        return s

    @cached_property
    def randomised_ids(self) -> pd.Index:
        """Ids of subjects flagged randomized = true (first row per subject)."""
        first = self.subjects_first
        return first.index[flag(first["randomized"], True).to_numpy()]

    @cached_property
    def allocation(self) -> pd.DataFrame:
        """Split-face allocations parsed to one row per ``site=ARM`` pair.

        :meth:`Trial.allocations` (the one parser): columns ``row`` (subjects file row),
        ``subject_id``, ``pair`` (the raw text), ``site``, ``arm`` and ``ok`` (the pair
        has the ``site=ARM`` form with both parts). Subjects with a blank allocation have
        no rows.
        """
        return self.trial.allocations()

    # -- measurements -----------------------------------------------------------------
    @cached_property
    def meas(self) -> MeasurementInfo:
        """Catalogue lookups and canonical values for every measurement row.

        Units and canonical values come from
        :func:`~efficacy.instruments.measures.canonical_units`, the one unit
        canonicalisation scoring uses too.
        """
        m = self.table("measurements")
        canon = canonical_units(m)
        ep_codes, ep_uniques = self.codes("measurements", "endpoint")
        eps = [ENDPOINTS.get(e) if isinstance(e, str) else None for e in ep_uniques]
        lims = np.full((len(eps) + 1, 4), np.nan)  # last slot = missing (code -1)
        for i, e in enumerate(eps):
            if e is not None:
                lims[i] = (*e.physical, *e.plausible)
        return MeasurementInfo(
            known=canon.known,
            unit=canon.unit,
            target_unit=canon.target,
            factor=canon.factor,
            value=canon.value,
            physical=lims[ep_codes, :2],
            plausible=lims[ep_codes, 2:],
        )

    @cached_property
    def arm_members(self) -> pd.DataFrame | str:
        """:func:`arm_members`, or why it cannot be computed (computed once per trial)."""
        try:
            return _arm_members(self)
        except CouldNotRun as exc:
            return str(exc)

    @cached_property
    def meas_day(self) -> np.ndarray:
        """Measurement study days as floats (NaN where missing)."""
        day = self.table("measurements")["day"]
        return pd.to_numeric(day, errors="coerce").to_numpy(dtype=float, na_value=np.nan)


def arm_members(ctx: Context) -> pd.DataFrame:
    """Randomised subjects and the arms they are in (parallel: arm; split-face: sites).

    Returns a frame with columns ``subject_id`` and ``arm`` (one row per subject and arm;
    first subjects row per subject). Computed once per trial (a derived view of the
    context, shared by the rules that read it: they only read it).

    Raises
    ------
    CouldNotRun
        If the subjects table lacks the column naming the arms of this design.
    """
    members = ctx.arm_members
    if isinstance(members, str):
        raise CouldNotRun(members)
    return members


def _arm_members(ctx: Context) -> pd.DataFrame:
    """Compute :func:`arm_members` (raises CouldNotRun as it does)."""
    first = ctx.subjects_first
    if ctx.split_face:
        if "allocation" in ctx.missing("subjects"):
            raise CouldNotRun("subjects lacks column allocation (split-face design)")
        a = ctx.allocation
        a = a[a["ok"] & a["subject_id"].isin(ctx.randomised_ids)]
        return a[["subject_id", "arm"]].drop_duplicates()
    if "arm" in ctx.missing("subjects"):
        raise CouldNotRun("subjects lacks column arm (parallel design)")
    arms = first["arm"][flag(first["randomized"], True).to_numpy()]  # the randomised'
    arms = arms[~blank(arms)]
    return pd.DataFrame({"subject_id": arms.index.to_numpy(), "arm": arms.to_numpy(dtype=object)})
