"""Dataset-JSON v1.1 metadata as typed records, and the problems a file can have.

:class:`Column` and :class:`DatasetMetadata` mirror the specification's column and
top-level attributes one to one (lowerCamelCase in the file, snake_case here).
:class:`DatasetProblem` is one conformance problem, located by a JSON Pointer into the
document and, for a data value, by its 1-based record number and column name.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from efficacy.validation.findings import Finding

__all__ = [
    "DATASET_JSON_RULES",
    "DATA_TYPES",
    "PROBLEMS_KEY",
    "Column",
    "DatasetMetadata",
    "DatasetProblem",
    "DatasetRule",
    "SourceSystem",
    "problem_records",
]

#: Logical data types of a column (``dataType``), as the specification lists them.
DATA_TYPES: tuple[str, ...] = (
    "string",
    "integer",
    "decimal",
    "float",
    "double",
    "boolean",
    "datetime",
    "date",
    "time",
    "URI",
)


@dataclass(frozen=True)
class DatasetRule:
    """A Dataset-JSON conformance rule: stable id, title, default severity, what and why."""

    id: str
    title: str
    severity: str
    description: str
    source: str = "CDISC Dataset-JSON v1.1 specification and JSON Schema"


_RULES = (
    DatasetRule(
        "DSJ-001",
        "Conforms to the Dataset-JSON v1.1 JSON Schema",
        "error",
        "The dataset attributes and column definitions satisfy the v1.1 JSON Schema "
        "(required attributes, types, patterns, allowed data types, no unknown "
        "attributes), and every record is an array.",
    ),
    DatasetRule(
        "DSJ-002",
        "Record count matches 'records'",
        "error",
        "The top-level 'records' attribute equals the number of data records.",
    ),
    DatasetRule(
        "DSJ-003",
        "One value per column in each record",
        "error",
        "Every record holds exactly as many values as there are columns (a short record "
        "is read with missing values, extra values are dropped).",
    ),
    DatasetRule(
        "DSJ-004",
        "Values match the column's data type",
        "error",
        "Each value has the JSON type the specification's 'Supported Column Data Type "
        "Combinations' give for the column's dataType (string, integer, number, boolean); "
        "a date, datetime or time with targetDataType integer is a complete ISO 8601 "
        "value; a decimal is a decimal number as text. A number with a fraction in an "
        "integer column is a warning (read as a float).",
    ),
    DatasetRule(
        "DSJ-005",
        "Text within the column's length",
        "warning",
        "A text value has no more characters than the column's 'length' (the planned "
        "length, as in Define-XML).",
    ),
    DatasetRule(
        "DSJ-006",
        "Consistent column definitions",
        "error",
        "Column names are unique; targetDataType is 'decimal' only for dataType "
        "decimal and 'integer' only for date, datetime or time; keySequence values are "
        "unique.",
    ),
)

#: The Dataset-JSON rules by id.
DATASET_JSON_RULES: Mapping[str, DatasetRule] = MappingProxyType({r.id: r for r in _RULES})


@dataclass(frozen=True)
class DatasetProblem:
    """One conformance problem of a dataset file (a typed record, never prose to parse).

    Attributes
    ----------
    rule_id : str
        Id of a rule in :data:`DATASET_JSON_RULES` (``"DSJ-001"`` ...).
    severity : {"error", "warning"}
    file : str
        The file the problem is in.
    pointer : str
        JSON Pointer (RFC 6901) into the Dataset-JSON document: ``""`` is the whole
        document, ``"/columns/3/dataType"`` an attribute, ``"/rows/11/4"`` the 5th value
        of the 12th record (for NDJSON: line 13, 5th value).
    row : int or None
        1-based data record number, for problems in a record.
    column : str or None
        Column (variable) name, where the problem is about one column.
    value : str or None
        The offending value as JSON text.
    message : str
        One line: what is wrong and how to fix it.
    """

    rule_id: str
    severity: str
    file: str
    pointer: str
    row: int | None
    column: str | None
    value: str | None
    message: str

    def to_dict(self) -> dict[str, Any]:
        """Plain-data form (JSON-serialisable)."""
        return {
            "rule_id": self.rule_id,
            "severity": self.severity,
            "file": self.file,
            "pointer": self.pointer,
            "row": self.row,
            "column": self.column,
            "value": self.value,
            "message": self.message,
        }

    def to_finding(self, table: str) -> Finding:
        """Return this problem as a validation :class:`~efficacy.validation.findings.Finding`.

        Parameters
        ----------
        table : str
            The table the dataset feeds (``"subjects"``, ``"measurements"``, ...).
        """
        from efficacy.validation.findings import Finding

        return Finding(
            rule_id=self.rule_id,
            severity=self.severity,
            category="schema",
            table=table,
            column=self.column,
            subject_id=None,
            visit=None,
            row=self.row,
            value=self.value,
            message=f"{self.file} {self.pointer or '/'}: {self.message}",
        )


def value_text(value: Any) -> str:
    """Return a JSON value as compact JSON text (for :attr:`DatasetProblem.value`)."""
    try:
        return json.dumps(value, ensure_ascii=False, allow_nan=False)[:200]
    except (TypeError, ValueError):
        return repr(value)[:200]


def _opt(raw: Mapping[str, Any], key: str, kind: type, extra: dict[str, Any]) -> Any:
    """`raw[key]` when of type `kind` (bool is not an int); else None, kept in `extra`."""
    if key not in raw:
        return None
    value = raw[key]
    if isinstance(value, kind) and not (kind is int and isinstance(value, bool)):
        return value
    extra[key] = value
    return None


@dataclass(frozen=True)
class Column:
    """Metadata of one column (variable), as in the file's ``columns`` array.

    Attributes
    ----------
    item_oid : str
        ``itemOID``: the variable's OID (foreign key to Define-XML ItemDef/@OID).
    name : str
        ``name``: the variable name (the DataFrame column name).
    label : str
        ``label``: the variable label.
    data_type : str
        ``dataType``: one of :data:`DATA_TYPES`.
    target_data_type : str or None
        ``targetDataType``: ``"integer"`` (dates and times as SAS numbers, ADaM) or
        ``"decimal"`` (decimals exchanged as text).
    length : int or None
        ``length``: the planned number of characters.
    display_format : str or None
        ``displayFormat``: a SAS display format such as ``"DATE9."``.
    key_sequence : int or None
        ``keySequence``: position among the dataset's key variables (1 = first).
    extra : mapping
        Attributes outside the specification, or of the wrong JSON type, as given (kept
        so that a file is written back as it was read).
    """

    item_oid: str
    name: str
    label: str
    data_type: str
    target_data_type: str | None = None
    length: int | None = None
    display_format: str | None = None
    key_sequence: int | None = None
    extra: Mapping[str, Any] = field(default_factory=dict)

    _KEYS = (
        ("item_oid", "itemOID", str),
        ("name", "name", str),
        ("label", "label", str),
        ("data_type", "dataType", str),
        ("target_data_type", "targetDataType", str),
        ("length", "length", int),
        ("display_format", "displayFormat", str),
        ("key_sequence", "keySequence", int),
    )

    def to_dict(self) -> dict[str, Any]:
        """Return the column's JSON object, attributes in the specification's order."""
        out: dict[str, Any] = {}
        for attr, key, _kind in self._KEYS:
            value = getattr(self, attr)
            if value is not None and not (attr in _REQUIRED_COLUMN and key in self.extra):
                out[key] = value
        out.update(self.extra)
        return out

    @classmethod
    def from_dict(cls, raw: Mapping[str, Any], position: int) -> Column:
        """Build from a file's column object, leniently (the schema check reports problems).

        A missing or mistyped required attribute becomes ``""`` (the name:
        ``"COL<position>"``), the raw value kept in :attr:`extra`.
        """
        extra: dict[str, Any] = {}
        values = {attr: _opt(raw, key, kind, extra) for attr, key, kind in cls._KEYS}
        known = {key for _, key, _ in cls._KEYS}
        extra.update({k: v for k, v in raw.items() if k not in known})
        for attr in _REQUIRED_COLUMN:
            if values[attr] is None:
                values[attr] = f"COL{position}" if attr == "name" else ""
        return cls(**values, extra=MappingProxyType(extra))


_REQUIRED_COLUMN = ("item_oid", "name", "label", "data_type")


@dataclass(frozen=True)
class SourceSystem:
    """``sourceSystem``: the information system the data come from."""

    name: str
    version: str


@dataclass(frozen=True)
class DatasetMetadata:
    """Dataset-level metadata of a Dataset-JSON file (everything but the rows).

    Attributes
    ----------
    name, label : str
        Dataset name (e.g. ``"ADSL"``) and label.
    columns : tuple of Column
        One per variable, in the dataset's order.
    item_group_oid : str
        ``itemGroupOID`` (foreign key to Define-XML ItemGroupDef/@OID).
    records : int
        ``records``: the number of records the file declares.
    created : str
        ``datasetJSONCreationDateTime`` (ISO 8601).
    version : str
        ``datasetJSONVersion`` (``"1.1.0"``).
    file_oid, db_last_modified, originator, study_oid, metadata_version_oid, \
metadata_ref : str or None
        ``fileOID``, ``dbLastModifiedDateTime``, ``originator``, ``studyOID``,
        ``metaDataVersionOID``, ``metaDataRef``.
    source_system : SourceSystem or None
        ``sourceSystem``.
    extra : mapping
        Top-level attributes outside the specification, or of the wrong JSON type.
    """

    name: str
    label: str
    columns: tuple[Column, ...]
    item_group_oid: str
    records: int
    created: str
    version: str = "1.1.0"
    file_oid: str | None = None
    db_last_modified: str | None = None
    originator: str | None = None
    source_system: SourceSystem | None = None
    study_oid: str | None = None
    metadata_version_oid: str | None = None
    metadata_ref: str | None = None
    extra: Mapping[str, Any] = field(default_factory=dict)

    _KEYS = (
        ("created", "datasetJSONCreationDateTime", str),
        ("version", "datasetJSONVersion", str),
        ("file_oid", "fileOID", str),
        ("db_last_modified", "dbLastModifiedDateTime", str),
        ("originator", "originator", str),
        ("source_system", "sourceSystem", dict),
        ("study_oid", "studyOID", str),
        ("metadata_version_oid", "metaDataVersionOID", str),
        ("metadata_ref", "metaDataRef", str),
        ("item_group_oid", "itemGroupOID", str),
        ("records", "records", int),
        ("name", "name", str),
        ("label", "label", str),
        ("columns", "columns", list),
    )

    @property
    def names(self) -> tuple[str, ...]:
        """Column names, in order."""
        return tuple(c.name for c in self.columns)

    def column(self, name: str) -> Column:
        """Return the column called `name` (KeyError if there is none)."""
        for c in self.columns:
            if c.name == name:
                return c
        raise KeyError(name)

    def to_dict(self) -> dict[str, Any]:
        """Return the file's top-level object without ``rows``, in the specification's order."""
        out: dict[str, Any] = {}
        for attr, key, _kind in self._KEYS:
            value = getattr(self, attr)
            if key in self.extra and attr in _REQUIRED_TOP:
                continue  # a mistyped required attribute: written back as it was given
            if value is None:
                continue
            if attr == "columns":
                value = [c.to_dict() for c in value]
            elif attr == "source_system":
                value = {"name": value.name, "version": value.version}
            out[key] = value
        out.update(self.extra)
        return out

    @classmethod
    def from_dict(cls, raw: Mapping[str, Any]) -> DatasetMetadata:
        """Build from a file's top-level object (``rows`` ignored), leniently.

        Mistyped or missing attributes never raise (the schema check reports them):
        required text becomes ``""``, ``records`` -1, the raw value kept in :attr:`extra`.
        """
        extra: dict[str, Any] = {}
        values = {attr: _opt(raw, key, kind, extra) for attr, key, kind in cls._KEYS}
        known = {key for _, key, _ in cls._KEYS} | {"rows"}
        extra.update({k: v for k, v in raw.items() if k not in known})
        columns = values["columns"] or []
        good = all(isinstance(c, dict) for c in columns)
        if not good:
            extra["columns"] = columns
        values["columns"] = tuple(
            Column.from_dict(c, i + 1) for i, c in enumerate(columns) if isinstance(c, dict)
        )
        system = values["source_system"]
        if system is not None:
            if isinstance(system.get("name"), str) and isinstance(system.get("version"), str):
                if set(system) != {"name", "version"}:
                    extra["sourceSystem"] = system
                values["source_system"] = SourceSystem(system["name"], system["version"])
            else:
                extra["sourceSystem"] = system
                values["source_system"] = None
        for attr in _REQUIRED_TOP:
            if values[attr] is None:
                values[attr] = -1 if attr == "records" else ""
        return cls(**values, extra=MappingProxyType(extra))


_REQUIRED_TOP = ("created", "version", "item_group_oid", "records", "name", "label")


#: Key under ``trial.manifest.raw["adam"]`` holding the Dataset-JSON problems.
PROBLEMS_KEY = "dataset_problems"


def problem_records(problems: Sequence[DatasetProblem], table: str) -> list[dict[str, Any]]:
    """Plain records of `problems` for ``raw["adam"][PROBLEMS_KEY]`` (`table` added)."""
    return [{**p.to_dict(), "table": table} for p in problems]
