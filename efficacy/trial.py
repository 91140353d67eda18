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

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import pandas as pd

__all__ = [
    "DESIGNS",
    "DISPOSITIONS",
    "ISSUE_COLUMNS",
    "ISSUE_KINDS",
    "REFERENCE_FILES",
    "TABLE_SCHEMAS",
    "Arm",
    "Column",
    "Manifest",
    "TableSource",
    "Trial",
    "Visit",
    "empty_issues",
]

ColumnKind = Literal["str", "float", "int", "bool", "date", "fitzpatrick"]

#: Allowed values of ``[trial] design``.
DESIGNS: tuple[str, ...] = ("parallel", "split_face")

#: Allowed values of ``subjects.disposition``.
DISPOSITIONS: tuple[str, ...] = (
    "completed",
    "discontinued",
    "lost_to_follow_up",
    "screen_failure",
)


@dataclass(frozen=True)
class Column:
    """One column of a canonical table.

    Parameters
    ----------
    name : str
        snake_case column name, as it must appear in the file header.
    kind : {"str", "float", "int", "bool", "date", "fitzpatrick"}
        Target type. ``bool`` reads true/false, Y/N, yes/no and 1/0 (any case);
        ``date`` reads ISO 8601 dates; ``fitzpatrick`` reads I-VI or 1-6 and is stored as
        the Roman numeral string.
    required : bool
        A file lacking a required column is a schema *error*; lacking an optional one is
        a *notice* (rules that need it report ``could_not_run``).
    description : str
        One line for the README and ``efficacy protocols show``.
    """

    name: str
    kind: ColumnKind
    required: bool
    description: str


def _cols(*specs: tuple[str, ColumnKind, bool, str]) -> tuple[Column, ...]:
    return tuple(Column(*s) for s in specs)


#: Canonical schema of each table (public contract, documented in the README).
TABLE_SCHEMAS: Mapping[str, tuple[Column, ...]] = {
    "subjects": _cols(
        ("subject_id", "str", True, "Unique participant id (screened people included)."),
        ("arm", "str", False, "Arm id from [[arms]] (parallel design; empty if not randomised)."),
        (
            "allocation",
            "str",
            False,
            "Split-face only: body site to arm, e.g. 'left_cheek=TRT;right_cheek=CTL'.",
        ),
        ("randomized", "bool", True, "Was the person randomised."),
        ("itt", "bool", True, "Member of the intention-to-treat population."),
        ("per_protocol", "bool", False, "Member of the per-protocol population."),
        ("safety", "bool", False, "Member of the safety population."),
        (
            "disposition",
            "str",
            True,
            "completed | discontinued | lost_to_follow_up | screen_failure.",
        ),
        ("discontinuation_reason", "str", False, "Reason for screen failure or discontinuation."),
        ("age", "float", False, "Age in years at screening."),
        ("sex", "str", False, "Sex (F / M or female / male)."),
        ("fitzpatrick", "fitzpatrick", False, "Fitzpatrick skin phototype I-VI."),
        ("randomization_date", "date", False, "Date of randomisation (ISO 8601)."),
        ("site_id", "str", False, "Study site (centre) id."),
    ),
    "measurements": _cols(
        ("subject_id", "str", True, "Participant id (subjects.subject_id)."),
        ("visit", "str", True, "Visit id from [[visits]]."),
        ("day", "int", True, "Study day of the measurement."),
        ("endpoint", "str", True, "Endpoint id from the catalogue, e.g. cutometer_r2."),
        ("value", "float", True, "Measured value, in `unit`."),
        ("unit", "str", True, "Unit string: mm, um (µm), mm3, ratio, a.u., g/m2/h."),
        ("body_site", "str", True, "Body site, e.g. left_cheek."),
        ("device", "str", False, "Instrument make and model, e.g. 'Cutometer MPA 580'."),
        ("device_settings", "str", False, "Settings, e.g. 'probe=2mm;suction=450mbar'."),
        ("temperature_c", "float", False, "Room temperature (°C)."),
        ("humidity_pct", "float", False, "Room relative humidity (%)."),
    ),
    "pro_responses": _cols(
        ("subject_id", "str", True, "Participant id."),
        ("visit", "str", True, "Visit id."),
        ("day", "int", False, "Study day of completion."),
        ("instrument", "str", True, "skindex16 | faceq."),
        ("scale", "str", True, "Scale id within the instrument (Skindex-16: its domain)."),
        ("item", "int", True, "Item number within the instrument (Skindex-16: 1-16)."),
        ("response", "float", False, "Item response; empty when not answered."),
    ),
    "adverse_events": _cols(
        ("subject_id", "str", True, "Participant id."),
        ("term", "str", True, "Adverse event term (e.g. MedDRA preferred term)."),
        ("severity", "str", True, "mild | moderate | severe."),
        ("serious", "bool", True, "Serious adverse event."),
        ("related", "bool", False, "Judged related to the product."),
        ("onset_day", "int", False, "Study day of onset."),
        ("body_site", "str", False, "Body site affected, if local."),
    ),
}

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


def empty_issues() -> pd.DataFrame:
    """Return an empty issues frame with :data:`ISSUE_COLUMNS`."""
    return pd.DataFrame({c: pd.Series(dtype=object) for c in ISSUE_COLUMNS})


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
class Manifest:
    """The parsed ``trial.toml``.

    Semantic problems (no control arm, an unknown baseline visit, a bad design value)
    are not raised here: the loader keeps what it can and validation reports them.
    ``raw`` keeps the whole parsed TOML for sections this model does not name.
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


@dataclass(frozen=True)
class Trial:
    """A trial: manifest, the four canonical tables, their sources and load issues.

    Build one with :func:`efficacy.read_trial` or :func:`efficacy.read_adam`.

    Attributes
    ----------
    manifest : Manifest
    subjects, measurements, pro_responses, adverse_events : pandas.DataFrame
        Canonical tables (see :data:`TABLE_SCHEMAS`), indexed by 1-based source row.
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

    def reference_file(self, key: str) -> Path | None:
        """Path of the reference file `key` (see :data:`REFERENCE_FILES`), or None.

        :func:`efficacy.read_trial` has already checked that it exists inside the bundle.
        """
        spec = self.manifest.tables.get(key)
        if key not in REFERENCE_FILES or not spec or self.manifest.path is None:
            return None
        return self.manifest.path.parent / spec

    def table(self, name: str) -> pd.DataFrame:
        """Return the canonical table called `name` (one of :data:`TABLE_SCHEMAS`)."""
        if name not in TABLE_SCHEMAS:
            from efficacy.errors import EfficacyError

            raise EfficacyError(
                f"table={name!r} is not a trial table; use one of {sorted(TABLE_SCHEMAS)}"
            )
        return getattr(self, name)
