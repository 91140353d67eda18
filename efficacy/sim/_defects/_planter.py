"""The defect planter: edit a copy of a bundle and record the findings it must give.

Every ``plant_*`` function changes a private copy of a bundle (through a
:class:`Planter`) and records the finding the validator must report for it: rule id,
severity, table, row (1-based data row of the file as written), subject and visit. The
flawed sample bundles of ``sample_data/`` and their READMEs are built from these records,
and ``tests/sim`` checks ``validate(read_trial(...))`` against them.

Rows are tracked by index label while planting (insertions and deletions shift later
rows), and turned into 1-based file rows only at the end (:meth:`Planter.finish`).
"""

from __future__ import annotations

from collections.abc import Callable, Hashable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from efficacy.errors import EfficacyError
from efficacy.sim.bundle import SimulatedBundle

__all__ = ["ExpectedFinding", "FlawedBundle", "Planter"]


@dataclass(frozen=True)
class ExpectedFinding:
    """A finding the validator must report for a planted defect.

    ``row`` is the 1-based data row in the table's file (None for table- or trial-level
    findings); ``table`` is a canonical table name or ``"manifest"``. A record with
    ``severity == "none"`` (and an empty ``rule_id``) marks a *legitimate* variation
    planted as a decoy: no rule may report anything at that row.
    """

    rule_id: str
    severity: str
    table: str
    row: int | None
    subject_id: str | None
    visit: str | None
    column: str | None
    what: str


@dataclass(frozen=True)
class FlawedBundle:
    """A flawed sample bundle: the data, the findings it must give, and a summary.

    ``raises`` names the exception reading it must raise (``"InputError"``) when the
    bundle is unusable as a whole; ``expected`` is then empty.
    """

    name: str
    summary: str
    bundle: SimulatedBundle
    expected: tuple[ExpectedFinding, ...]
    raises: str | None = None


@dataclass
class _Pending:
    rule_id: str
    severity: str
    table: str
    label: Hashable | None
    subject_id: str | None
    visit: str | None
    column: str | None
    what: str


@dataclass
class Planter:
    """Mutable workspace for planting defects in a copy of `bundle`."""

    bundle: SimulatedBundle
    used: set[str] = field(default_factory=set)
    pending: list[_Pending] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.bundle = self.bundle.copy()

    # -- access -----------------------------------------------------------------------
    def table(self, name: str) -> pd.DataFrame:
        """Return the current frame of table `name`."""
        return self.bundle.tables[name]

    def set_table(self, name: str, frame: pd.DataFrame) -> None:
        """Replace table `name` by `frame`."""
        self.bundle.tables[name] = frame

    def subject(
        self,
        *,
        disposition: str = "completed",
        arm: str | None = None,
        where: Callable[[pd.Series], bool] | None = None,
    ) -> str:
        """Return the first subject with `disposition` (and `arm`) not yet used, and use it."""
        subjects = self.table("subjects")
        for _, rec in subjects.iterrows():
            sid = str(rec["subject_id"])
            if sid in self.used or rec["disposition"] != disposition:
                continue
            if arm is not None and rec.get("arm") != arm:
                continue
            if where is not None and not where(rec):
                continue
            self.used.add(sid)
            return sid
        raise EfficacyError(
            f"no unused subject with disposition={disposition!r}, arm={arm!r} in the base "
            "simulation; choose another seed or a larger n for this flawed bundle"
        )

    def label(self, table: str, **match: Any) -> Hashable:
        """Return the index label of the single row of `table` matching `match`."""
        frame = self.table(table)
        mask = np.ones(len(frame), dtype=bool)
        for col, value in match.items():
            mask &= (frame[col] == value).to_numpy(dtype=bool, na_value=False)
        hits = frame.index[mask]
        if len(hits) != 1:
            raise EfficacyError(f"{table}: {len(hits)} rows match {match!r}; expected exactly 1")
        found: Hashable = hits[0]
        return found

    def position(self, table: str, label: Hashable) -> int:
        """Return the 0-based position of the row labelled `label` in `table`."""
        loc = self.table(table).index.get_loc(label)
        if not isinstance(loc, int | np.integer):  # a slice or mask: the label is not unique
            raise EfficacyError(f"{table}: row label {label!r} is not unique")
        return int(loc)

    # -- edits ------------------------------------------------------------------------
    def set_cell(self, table: str, label: Hashable, column: str, value: Any) -> Any:
        """Set one cell (the column becomes object dtype if needed); return the old value."""
        frame = self.table(table).copy()
        old = frame.at[label, column]
        if frame[column].dtype.kind in "fiub" or str(frame[column].dtype) in ("str", "Int64"):
            frame[column] = frame[column].astype(object)
        frame.at[label, column] = value
        self.set_table(table, frame)
        return old

    def insert_after(self, table: str, after: Hashable, **values: Any) -> Hashable:
        """Insert a copy of row `after` with `values` changed, right after it."""
        frame = self.table(table)
        new_label = int(frame.index.max()) + 1
        row = frame.loc[[after]].copy()
        row.index = pd.Index([new_label])
        for col, value in values.items():
            if row[col].dtype.kind in "fiub" or str(row[col].dtype) in ("str", "Int64"):
                row[col] = row[col].astype(object)
            row.at[new_label, col] = value
        pos = self.position(table, after) + 1
        parts = [frame.iloc[:pos], row, frame.iloc[pos:]]
        if any(str(p.dtypes.get(c)) == "object" for p in parts for c in values):
            parts = [p.astype({c: object for c in values}) for p in parts]
        self.set_table(table, pd.concat(parts))
        return new_label

    def drop(self, table: str, mask: pd.Series) -> int:
        """Drop the rows of `table` where `mask` is true; return how many."""
        frame = self.table(table)
        self.set_table(table, frame[~mask.to_numpy(dtype=bool)])
        return int(mask.sum())

    # -- expectations -------------------------------------------------------------------
    def expect(
        self,
        rule_id: str,
        severity: str,
        table: str,
        label: Hashable | None,
        *,
        subject_id: str | None = None,
        visit: str | None = None,
        column: str | None = None,
        what: str,
    ) -> None:
        """Record a finding the validator must give."""
        self.pending.append(
            _Pending(rule_id, severity, table, label, subject_id, visit, column, what)
        )

    def allow(
        self,
        table: str,
        label: Hashable,
        *,
        subject_id: str | None = None,
        visit: str | None = None,
        column: str | None = None,
        what: str,
    ) -> None:
        """Record a legitimate variation (a decoy) that no rule may report."""
        self.pending.append(_Pending("", "none", table, label, subject_id, visit, column, what))

    def finish(self) -> tuple[SimulatedBundle, tuple[ExpectedFinding, ...]]:
        """Return the flawed bundle and its expected findings with 1-based file rows."""
        out: list[ExpectedFinding] = []
        for p in self.pending:
            row = None
            if p.label is not None:
                row = self.position(p.table, p.label) + 1
            out.append(
                ExpectedFinding(
                    p.rule_id, p.severity, p.table, row, p.subject_id, p.visit, p.column, p.what
                )
            )
        return self.bundle, tuple(out)
