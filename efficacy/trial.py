"""The trial data model: a manifest plus four long-format tables.

A trial *bundle* is a folder with ``trial.toml`` and the tables it names. Readers in
:mod:`efficacy.io` turn a bundle (or CDISC ADaM files) into a :class:`Trial`; every
later stage (validation, scoring, analysis, reporting) reads only this model.

Conventions every reader guarantees
-----------------------------------
* Each table's index is the **1-based data row number in its source file** (header not
  counted, as Pinnacle 21 numbers records), named ``row``. Findings cite it.
* Every column of the table's schema (:data:`TABLE_SCHEMAS`) is present, with the dtype
  its ``kind`` gives; a column absent from the file is added as all-missing and listed
  in :attr:`TableSource.missing_columns`. Extra columns are kept unchanged.
* A cell that cannot be converted to its column's kind becomes missing, and the problem
  is recorded in :attr:`Trial.issues` (never raised): validation reports it.
* Inputs are never modified; a table absent from the bundle is an empty frame with the
  schema's columns, and its :class:`TableSource` has ``path=None``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any, TypeVar

import numpy as np
import pandas as pd

from efficacy import _summaries
from efficacy._attested import (
    FLOW_COUNTS,
    FLOW_PER_ARM,
    FLOW_TOTALS,
    AttestedFlow,
    attested_flow,
)
from efficacy.schema import (
    CLAIM_CATEGORIES,
    DESIGNS,
    DISPOSITIONS,
    OPTIONAL_TABLES,
    TABLE_SCHEMAS,
    Column,
)

__all__ = [
    "ALLOCATION_COLUMNS",
    "CLAIM_CATEGORIES",
    "DESIGNS",
    "DISPOSITIONS",
    "FLOW_COUNTS",
    "FLOW_PER_ARM",
    "FLOW_TOTALS",
    "ISSUE_COLUMNS",
    "ISSUE_KINDS",
    "OPTIONAL_TABLES",
    "REFERENCE_FILES",
    "TABLE_SCHEMAS",
    "Arm",
    "AttestedFlow",
    "Claim",
    "Column",
    "DataEndpoint",
    "Manifest",
    "TableSource",
    "Trial",
    "Visit",
    "attested_flow",
    "empty_issues",
    "first_rows",
    "parse_allocation",
]

#: Optional reference files a bundle may name in ``[tables]`` beside the four tables.
#: They are path-checked like tables but not loaded into the Trial; the stage that needs
#: one reads it (e.g. scoring and validation read the FACE-Q conversion table).
REFERENCE_FILES: Mapping[str, str] = {
    "faceq_conversion": "Your licensed FACE-Q raw-sum -> Rasch 0-100 conversion table "
    "(CSV: scale, raw_sum, rasch_score).",
}

#: Columns of :attr:`Trial.issues`. ``kind`` is ``"problem"`` for something wrong in the
#: input (a cell that cannot be read, a malformed manifest entry) and ``"excluded"`` for
#: records a reader deliberately left out (e.g. imputed ADaM rows), which validation
#: reports as a notice so that nothing disappears silently.
ISSUE_COLUMNS: tuple[str, ...] = ("table", "column", "row", "value", "problem", "kind")

#: Allowed values of the ``kind`` column of :attr:`Trial.issues`.
ISSUE_KINDS: tuple[str, ...] = ("problem", "excluded")


#: The empty issues frame :func:`empty_issues` copies (never handed out itself).
_EMPTY_ISSUES = pd.DataFrame({c: pd.Series(dtype=object) for c in ISSUE_COLUMNS})


def empty_issues() -> pd.DataFrame:
    """Return an empty issues frame with :data:`ISSUE_COLUMNS` (object dtype).

    A fresh copy of one frame built at import: readers ask for many, and copying an
    empty frame costs a small fraction of constructing one.
    """
    return _EMPTY_ISSUES.copy()


#: Columns of :func:`parse_allocation`.
ALLOCATION_COLUMNS: tuple[str, ...] = ("row", "subject_id", "pair", "site", "arm", "ok")


def _arrow_text_codes(values: pd.Series) -> tuple[np.ndarray, list[Any]] | None:
    """Factorize an Arrow text column by Arrow's dictionary encoding; None for others.

    Returns int64 codes (-1 = missing, uniques numbered in order of first appearance)
    and the uniques as Python strings: what :func:`pandas.factorize` gives for such a
    column (its ``factorize`` is this encoding), without wrapping either in pandas
    objects, which costs more than the encoding on short columns.
    """
    array = values.array
    if not isinstance(array, pd.arrays.ArrowStringArray):
        return None
    data = array.__arrow_array__()  # a chunked array: one array to encode
    encoded = (data.chunk(0) if data.num_chunks == 1 else data.combine_chunks()).dictionary_encode()
    indices = encoded.indices
    if indices.null_count:  # missing cells (filling costs a call when there are none)
        indices = indices.fill_null(-1)
    codes = indices.to_numpy(zero_copy_only=False)
    return np.asarray(codes, dtype=np.int64), encoded.dictionary.to_pylist()


def _filled_text(values: pd.Series) -> bool:
    """Whether `values` is Arrow text without a missing or an empty cell (nothing blank).

    Found from the column's null count and its shortest text, without factorizing it.
    """
    array = values.array
    if not isinstance(array, pd.arrays.ArrowStringArray):
        return False
    data = array.__arrow_array__()
    if data.null_count:
        return False
    import pyarrow.compute as pc  # here: pandas has imported it for its Arrow arrays

    shortest = pc.min(pc.binary_length(data)).as_py()
    return shortest is None or bool(shortest > 0)  # None: no cells


def _blank_of_codes(codes: np.ndarray, uniques: list[Any]) -> np.ndarray:
    """Return True where a factorized text cell is missing (code -1) or empty."""
    empty = np.fromiter((u == "" for u in uniques), dtype=bool, count=len(uniques))
    blank: np.ndarray = np.append(empty, True)[codes]
    return blank


def _blank(values: pd.Series) -> np.ndarray:
    """Return True where a text cell is missing or empty (boolean array, row order)."""
    coded = _arrow_text_codes(values)
    if coded is not None:
        return _blank_of_codes(*coded)
    empty = values.eq("").to_numpy(dtype=bool, na_value=False)  # a missing cell: not ""
    blank: np.ndarray = values.isna().to_numpy(dtype=bool) | empty
    return blank


def first_rows(subjects: pd.DataFrame) -> pd.DataFrame:
    """Return the first row of each subject id of a subjects table.

    Rows with a blank subject id are left out; a repeated id (a validation error,
    INT-001) keeps its first row. The index (the source row) and columns are kept.

    Examples
    --------
    >>> s = pd.DataFrame({"subject_id": ["S1", None, "S2", "S1"], "arm": ["A", "B", "B", "C"]},
    ...                  index=pd.Index([1, 2, 3, 4], name="row"))
    >>> first_rows(s).to_dict("index")
    {1: {'subject_id': 'S1', 'arm': 'A'}, 3: {'subject_id': 'S2', 'arm': 'B'}}
    """
    ids = subjects["subject_id"]
    coded = _arrow_text_codes(ids)
    if coded is None:
        keep = ~_blank(ids) & ~ids.duplicated().to_numpy(dtype=bool)
        return subjects[keep]
    # Arrow text: codes number the ids in order of first appearance, so an id's first
    # row is where the running maximum of the codes grows (a blank id is left out)
    codes, uniques = coded
    first = np.zeros(len(codes), dtype=bool)
    if len(codes):
        running = np.maximum.accumulate(codes)
        first[0] = True
        first[1:] = running[1:] > running[:-1]
    unique: pd.DataFrame = subjects[first & ~_blank_of_codes(codes, uniques)]
    return unique


def parse_allocation(subjects: pd.DataFrame) -> pd.DataFrame:
    """Parse the split-face ``allocation`` text of every subjects row into site=ARM pairs.

    Parameters
    ----------
    subjects : pandas.DataFrame
        Rows with ``subject_id`` and ``allocation`` (a missing ``allocation`` column
        gives no pairs). Not modified.

    Returns
    -------
    pandas.DataFrame
        One row per non-empty ``;``-separated part, columns :data:`ALLOCATION_COLUMNS`:
        ``row`` (index label of the subjects row), ``subject_id``, ``pair`` (the part,
        stripped), ``site`` and ``arm`` (stripped text either side of the first ``=``;
        missing when there is no ``=``), ``ok`` (both non-empty). Subjects with a blank
        allocation have no rows. Consumers use the ``ok`` pairs and, where a site is
        named twice for one subject, its first pair.

    Examples
    --------
    >>> s = pd.DataFrame({"subject_id": ["S1"], "allocation": [" left=A ; right = B;x"]})
    >>> parse_allocation(s)[["site", "ok"]].to_dict("list")
    {'site': ['left', 'right', 'x'], 'ok': [True, True, False]}
    """
    if "allocation" not in subjects.columns:
        return pd.DataFrame({c: pd.Series(dtype=object) for c in ALLOCATION_COLUMNS})
    # text by text in Python: str.split and str.strip are what the pandas string methods
    # apply (Arrow's whitespace trimming equals str.strip on every code point)
    blank = _blank(subjects["allocation"])
    ids = subjects["subject_id"].to_numpy(dtype=object)
    at: list[int] = []
    ok: list[bool] = []
    cells: dict[str, list[Any]] = {"subject_id": [], "pair": [], "site": [], "arm": []}
    for i, text in enumerate(subjects["allocation"].to_numpy(dtype=object)):
        if blank[i]:
            continue
        for part in str(text).split(";"):
            pair = part.strip()
            if pair == "":
                continue
            site, eq, arm = pair.partition("=")
            site, arm = site.strip(), arm.strip()
            at.append(i)
            cells["subject_id"].append(ids[i])
            cells["pair"].append(pair)
            cells["site"].append(site)
            cells["arm"].append(arm if eq else np.nan)  # no "=": arm missing
            ok.append(bool(site and eq and arm))
    return pd.DataFrame(
        {
            "row": subjects.index[np.asarray(at, dtype=np.intp)].to_numpy(),
            **{c: _objects(v) for c, v in cells.items()},
            "ok": np.asarray(ok, dtype=bool),
        }
    )


def _objects(values: list[Any]) -> np.ndarray:
    """Return `values` as a one-dimensional object array (elements kept as they are)."""
    out = np.empty(len(values), dtype=object)
    out[:] = values
    return out


@dataclass(frozen=True)
class Arm:
    """A treatment arm (parallel) or product applied to a body site (split-face)."""

    id: str
    label: str
    control: bool


@dataclass(frozen=True)
class Visit:
    """A scheduled visit: id, nominal week, target study day and window (± days)."""

    id: str
    week: float
    day: int
    window_days: int


@dataclass(frozen=True)
class Claim:
    """A claim the sponsor wants to make, declared in ``trial.toml`` (``[[claims]]``).

    Attributes
    ----------
    text : str
        The claim's wording (e.g. "Visibly reduces wrinkles in 12 weeks").
    category : str
        One of :data:`CLAIM_CATEGORIES`.
    endpoint : str
        Catalogue endpoint id the claim rests on (``efficacy.instruments.catalogue``).
    min_effect : float
        Smallest treatment difference (active minus control, final visit) the claim
        rests on, in the endpoint's unit, signed in the improving direction (negative
        for an endpoint where lower is better, e.g. wrinkle depth).
    arm : str or None
        The active arm (an ``[[arms]]`` id) whose difference from control the claim rests
        on. None (the default) when the trial has one active arm; a trial that compares
        several active arms with control must name it, or the claim cannot be assessed.
    """

    text: str
    category: str
    endpoint: str
    min_effect: float
    arm: str | None = None

    def to_dict(self) -> dict[str, Any]:
        """Return the claim as plain data (``arm`` None when the claim names none)."""
        return {
            "text": self.text,
            "category": self.category,
            "endpoint": self.endpoint,
            "min_effect": self.min_effect,
            "arm": self.arm,
        }


@dataclass(frozen=True)
class DataEndpoint:
    """An endpoint the data define (an ADaM parameter), not the endpoint catalogue.

    The ADaM reader declares one per BDS parameter; the analysis runs the default model
    on those with baseline records when the protocol's endpoints are not in the data.

    Attributes
    ----------
    id : str
        Endpoint id in ``measurements.endpoint``.
    label : str
        What it measures (ADaM PARAM).
    source : str
        Where it came from, e.g. ``"ADADAS PARAMCD ACTOT"``.
    role : {"primary", "secondary"}
        ``primary`` only when the user named it; otherwise every parameter is secondary.
    analysable : bool
        False when the data give no baseline (no ABLFL = "Y" record).
    reason : str
        Why it is not analysable (empty when it is).
    """

    id: str
    label: str
    source: str
    role: str = "secondary"
    analysable: bool = True
    reason: str = ""


@dataclass(frozen=True)
class Manifest:
    """The parsed ``trial.toml``.

    Semantic problems (no control arm, an unknown baseline visit, a bad design value)
    are not raised here: the loader keeps what it can and validation reports them.
    ``raw`` keeps the whole parsed TOML for sections this model does not name;
    :attr:`claims` reads the well-formed ``[[claims]]`` entries from it.
    """

    id: str
    title: str
    design: str
    baseline_visit: str
    arms: tuple[Arm, ...]
    visits: tuple[Visit, ...]
    tables: Mapping[str, str]
    consort: Mapping[str, Any]
    path: Path | None = None
    raw: Mapping[str, Any] = field(default_factory=dict)
    #: Endpoints the data define (ADaM parameters); empty for a bundle.
    data_endpoints: tuple[DataEndpoint, ...] = ()

    @cached_property
    def claims(self) -> tuple[Claim, ...]:
        """The well-formed ``[[claims]]`` entries of ``raw``, in file order.

        Parsed by the manifest reader's one parser
        (:func:`efficacy.io._manifest.parse_claims`); bad entries are left out here and
        reported as issues of ``trial.toml`` (column ``claims[i].key``) when it is read.
        """
        from efficacy.io._manifest import parse_claims

        return parse_claims(self.raw)

    @property
    def control_arms(self) -> tuple[Arm, ...]:
        """Arms marked ``control = true``."""
        return tuple(a for a in self.arms if a.control)

    @property
    def visit_order(self) -> tuple[str, ...]:
        """Visit ids sorted by target day (ties keep file order)."""
        return tuple(v.id for v in sorted(self.visits, key=lambda v: v.day))

    @property
    def final_visit(self) -> Visit | None:
        """The scheduled visit with the latest target day, or None without visits."""
        return max(self.visits, key=lambda v: v.day) if self.visits else None

    @property
    def attested_flow(self) -> AttestedFlow:
        """The ``[consort.flow]`` counts checked for type and shape (see :func:`attested_flow`)."""
        return attested_flow(self.consort, tuple(a.id for a in self.arms if a.id))

    @property
    def planned_weeks(self) -> float | None:
        """Planned follow-up in weeks: final visit week minus baseline visit week."""
        by_id = {v.id: v for v in self.visits}
        final = self.final_visit
        base = by_id.get(self.baseline_visit)
        if final is None or base is None:
            return None
        return final.week - base.week


@dataclass(frozen=True)
class TableSource:
    """Where a table came from and what its header lacked."""

    table: str
    path: Path | None
    format: str | None
    n_rows: int
    missing_columns: tuple[str, ...] = ()
    extra_columns: tuple[str, ...] = ()


def _empty_table(name: str) -> pd.DataFrame:
    from efficacy.io._convert import empty_table  # the readers own the dtypes

    return empty_table(name)


_T = TypeVar("_T")


@dataclass(frozen=True)
class Trial:
    """A trial: manifest, the four canonical tables, their sources and load issues.

    Build one with :func:`efficacy.read_trial` or :func:`efficacy.read_adam`.

    Attributes
    ----------
    manifest : Manifest
    subjects, measurements, pro_responses, adverse_events : pandas.DataFrame
        Canonical tables (see :data:`TABLE_SCHEMAS`), indexed by 1-based source row.
    deviations, intercurrent_events : pandas.DataFrame
        Optional tables (:data:`OPTIONAL_TABLES`): protocol deviations, and intercurrent
        events (ICH E9(R1)); empty with ``sources[name].path`` None when not supplied.
    sources : Mapping[str, TableSource]
        One entry per table name.
    issues : pandas.DataFrame
        Load-time problems and exclusions with columns :data:`ISSUE_COLUMNS` (e.g. an
        unparseable number, an unknown flag spelling, imputed records left out);
        validation turns them into findings.
    """

    manifest: Manifest
    subjects: pd.DataFrame
    measurements: pd.DataFrame
    pro_responses: pd.DataFrame
    adverse_events: pd.DataFrame
    sources: Mapping[str, TableSource]
    issues: pd.DataFrame = field(default_factory=empty_issues)
    deviations: pd.DataFrame = field(default_factory=lambda: _empty_table("deviations"))
    intercurrent_events: pd.DataFrame = field(
        default_factory=lambda: _empty_table("intercurrent_events")
    )

    summary = _summaries.trial_summary
    _repr_html_ = _summaries.trial_html
    __repr__ = _summaries.trial_repr

    def reference_file(self, key: str) -> Path | None:
        """Path of the reference file `key` (see :data:`REFERENCE_FILES`), or None.

        :func:`efficacy.read_trial` has already checked that it exists inside the bundle.
        """
        spec = self.manifest.tables.get(key)
        if key not in REFERENCE_FILES or not spec or self.manifest.path is None:
            return None
        return self.manifest.path.parent / spec

    def subjects_unique(self) -> pd.DataFrame:
        """Return the subjects table with one row per subject id (:func:`first_rows`).

        The one definition of "a subject's row" used by validation, the CONSORT flow,
        the analysis populations and the report. Computed once per trial and memoised
        (a trial's tables are treated as read-only); each call returns a shallow
        copy-on-write copy, so changing it leaves the memo and the trial untouched.
        """
        return self._memo("subjects_unique", first_rows).copy(deep=False)

    def allocations(self) -> pd.DataFrame:
        """Return the split-face allocations of every subjects row as site=ARM pairs.

        See :func:`parse_allocation` (the one parser used by validation, the CONSORT
        flow and the analysis). Memoised like :meth:`subjects_unique`.
        """
        return self._memo("allocations", parse_allocation).copy(deep=False)

    def _memo(self, key: str, make: Callable[[pd.DataFrame], _T]) -> _T:
        """``make(self.subjects)``, computed once per trial (keyed by the subjects frame).

        The memo lives in the instance ``__dict__`` (not a dataclass field: equality,
        ``repr`` and :func:`dataclasses.replace` ignore it). It is keyed by the identity
        of ``self.subjects`` so that rebinding is noticed; changing a trial's tables in
        place after a call is unsupported (they are read-only by convention).
        """
        memo: dict[str, tuple[int, Any]] = self.__dict__.setdefault("_memos", {})
        hit = memo.get(key)
        if hit is None or hit[0] != id(self.subjects):
            hit = (id(self.subjects), make(self.subjects))
            memo[key] = hit
        value: _T = hit[1]
        return value

    def table(self, name: str) -> pd.DataFrame:
        """Return the canonical table called `name` (one of :data:`TABLE_SCHEMAS`)."""
        if name not in TABLE_SCHEMAS:
            from efficacy.errors import EfficacyError

            raise EfficacyError(
                f"table={name!r} is not a trial table; use one of {sorted(TABLE_SCHEMAS)}"
            )
        table: pd.DataFrame = getattr(self, name)
        return table
