"""The result of a validation: every finding and a status for every rule."""

from __future__ import annotations

import gc
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cached_property
from html import escape
from pathlib import Path
from typing import Any, Literal

import pandas as pd

from efficacy.errors import EfficacyError, ValidationFailedError
from efficacy.protocol.params import SEVERITIES
from efficacy.validation.findings import (
    FINDING_COLUMNS,
    Finding,
    FindingGroup,
    frame_columns,
    frame_records,
    group_findings,
)
from efficacy.validation.render import summary_text, verdict

__all__ = ["STATUSES", "RuleStatus", "ValidationFailedError", "ValidationReport"]

Status = Literal["passed", "failed", "not_applicable", "could_not_run"]

#: Rule statuses: a rule that was skipped is never reported as passed.
STATUSES: tuple[str, ...] = ("passed", "failed", "not_applicable", "could_not_run")


@dataclass(frozen=True)
class RuleStatus:
    """How one rule ended.

    Attributes
    ----------
    rule_id, title, category, severity, source : str
        The rule (severity as run: a protocol may override a requirement's).
    status : {"passed", "failed", "not_applicable", "could_not_run"}
        ``failed`` when it produced at least one finding, whatever the severity.
    reason : str
        Why it did not apply or could not run (the exception text for a crash); empty
        otherwise.
    n_error, n_warning, n_notice : int
        Findings by severity (all of them, also those left out by a cap).
    n_listed : int
        Findings kept in the report (less than the total when a cap applied).
    """

    rule_id: str
    title: str
    category: str
    severity: str
    source: str
    status: Status
    reason: str = ""
    n_error: int = 0
    n_warning: int = 0
    n_notice: int = 0
    n_listed: int = 0

    @property
    def n_findings(self) -> int:
        """Total findings of this rule."""
        return self.n_error + self.n_warning + self.n_notice

    def to_dict(self) -> dict[str, Any]:
        """Plain-data form (JSON-serialisable)."""
        return {
            "title": self.title,
            "category": self.category,
            "severity": self.severity,
            "source": self.source,
            "status": self.status,
            "reason": self.reason,
            "n_findings": self.n_findings,
            "n_listed": self.n_listed,
            "counts": {"error": self.n_error, "warning": self.n_warning, "notice": self.n_notice},
        }


@dataclass(frozen=True)
class ValidationReport:
    """Every finding of a validation run, and the status of every rule.

    Build one with :func:`efficacy.validate`. Findings are stored column-wise; the
    :attr:`findings` tuple of :class:`Finding` objects is made on first access.

    Attributes
    ----------
    trial_id : str
    protocol_id, protocol_version : str
        The protocol validated against.
    rules : Mapping[str, RuleStatus]
        Status of every rule run, by rule id, in run order.
    max_findings_per_rule : int or None
        The cap in force (None: every finding is listed).
    """

    trial_id: str
    protocol_id: str
    protocol_version: str
    rules: Mapping[str, RuleStatus]
    frame: pd.DataFrame = field(repr=False)
    max_findings_per_rule: int | None = None

    @cached_property
    def findings(self) -> tuple[Finding, ...]:
        """All listed findings, in rule order then row order."""
        if self.frame.empty:
            return ()
        columns = frame_columns(self.frame)
        enabled = gc.isenabled()
        gc.disable()  # millions of small tuples: avoid repeated full collections
        try:
            return tuple(map(Finding._make, zip(*columns, strict=True)))
        finally:
            if enabled:
                gc.enable()

    @property
    def counts(self) -> dict[str, int]:
        """Number of findings per severity (``error``, ``warning``, ``notice``)."""
        return {
            "error": sum(s.n_error for s in self.rules.values()),
            "warning": sum(s.n_warning for s in self.rules.values()),
            "notice": sum(s.n_notice for s in self.rules.values()),
        }

    @property
    def ok(self) -> bool:
        """True when there is no error finding (warnings and notices allowed)."""
        return self.counts["error"] == 0

    def worst(self) -> str | None:
        """Return the most severe severity found, or None when there are no findings."""
        counts = self.counts
        return next((s for s in SEVERITIES if counts[s]), None)

    def to_frame(self) -> pd.DataFrame:
        """Return the findings as a table.

        Returns
        -------
        pandas.DataFrame
            One row per listed finding with the fixed columns ``rule_id, severity,
            category, table, column, subject_id, visit, row, value, message`` (``row`` is
            a nullable integer: the 1-based data row in the table's file).
        """
        return self.frame[list(FINDING_COLUMNS)].copy()

    def groups(self, first: int = 5) -> tuple[FindingGroup, ...]:
        """Group the listed findings by cause: one per (rule, severity, table, column, pattern).

        One cause often yields many findings (a unit misspelt on every row of an
        endpoint); a group counts them and quotes the first `first` rows, subjects and
        values. :meth:`to_frame` and :meth:`to_dict` keep every finding.

        Returns
        -------
        tuple of FindingGroup
            In the order of each group's first finding (rule order, then row).

        Examples
        --------
        >>> import efficacy
        >>> from efficacy._examples import repo_path
        >>> trial = efficacy.read_trial(repo_path("sample_data", "flawed_design"))
        >>> g = efficacy.validate(trial).groups()[1]
        >>> g.rule_id, g.count, g.subjects, g.values
        ('DES-002', 2, ('S0001', 'S0003'), ('tewl', 'wrinkle_volume'))
        >>> print(g.message)  # the pattern: the two messages name different endpoints
        randomised subject has no baseline (W0) reading of an endpoint; add it, or record
        why it is missing
        """
        if first == 5:
            return self._groups
        return group_findings(self.frame, first=first)

    @cached_property
    def _groups(self) -> tuple[FindingGroup, ...]:
        return group_findings(self.frame, first=5)

    def raise_for_errors(self) -> None:
        """Raise :class:`ValidationFailedError` if there is any error finding."""
        if self.ok:
            return
        errors = self.frame[self.frame["severity"] == "error"]
        first = "; ".join(f"{r.rule_id}: {r.message}" for r in errors.head(3).itertuples())
        n = self.counts["error"]
        raise ValidationFailedError(
            f"trial {self.trial_id!r} has {n} error finding{'s' if n != 1 else ''} against "
            f"{self.protocol_id} {self.protocol_version} (first: {first}); "
            "see report.to_frame()"
        )

    def check_of(self, trial_id: Any, protocol_id: str) -> None:
        """Raise :class:`EfficacyError` unless this is the report of that trial and protocol.

        For functions that accept a ready validation report instead of validating again.
        """
        if (self.trial_id, self.protocol_id) != (trial_id, protocol_id):
            raise EfficacyError(
                f"validation is of trial {self.trial_id!r} against {self.protocol_id!r}, not "
                f"{trial_id!r} against {protocol_id!r}; validate this trial first"
            )

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form: ``ok``, trial id, protocol, counts, ``rules``, ``groups``, ``findings``.

        ``groups`` is :meth:`groups` (one entry per cause, with its count and first rows);
        ``findings`` lists every finding.
        """
        return {
            "ok": self.ok,
            "trial_id": self.trial_id,
            "protocol": {"id": self.protocol_id, "version": self.protocol_version},
            "counts": self.counts,
            "max_findings_per_rule": self.max_findings_per_rule,
            "rules": {rid: s.to_dict() for rid, s in self.rules.items()},
            "groups": [g.to_dict() for g in self.groups()],
            "findings": frame_records(self.frame),
        }

    def to_xlsx(self, path: str | os.PathLike[str], files: Mapping[str, str] | None = None) -> Path:
        """Write the findings workbook (sheets Issue Summary, Details, Rules) to `path`.

        The layout validator users know from Pinnacle 21 and CDISC CORE: one row per
        cause with its count, every finding with its table, file, row, column and value,
        and every rule with its status (see :mod:`efficacy.validation.xlsx`). Text that
        a spreadsheet would run as a formula is written as text. The file is written
        atomically (a temporary file renamed into place).

        Parameters
        ----------
        path : str or path-like
            The ``.xlsx`` file to write (replaced when it exists).
        files : Mapping[str, str], optional
            File name of each table, for the ``File`` column.

        Returns
        -------
        Path
        """
        from efficacy._atomic import write_file
        from efficacy.validation.xlsx import xlsx_bytes

        return write_file(path, xlsx_bytes(self, files))

    def summary(self, max_per_rule: int = 10) -> str:
        """Plain-text summary: verdict, counts, failing or skipped rules, first findings."""
        return summary_text(self, max_per_rule=max_per_rule)

    def __str__(self) -> str:
        return self.summary()

    def _repr_html_(self) -> str:
        """Notebook view: the verdict, then the findings grouped by cause (escaped)."""
        from efficacy.validation.render import group_count

        head = f"<p><b>{escape(verdict(self))}</b></p>"
        groups = self.groups()
        if not groups:
            return head
        cells = ("rule", "severity", "where", "findings", "message")
        rows = "".join(
            "<tr>"
            + "".join(
                f"<td>{escape(str(x))}</td>"
                for x in (
                    g.rule_id,
                    g.severity,
                    f"{g.table}.{g.column}" if g.column else g.table,
                    group_count(g),
                    g.message,
                )
            )
            + "</tr>"
            for g in groups[:200]
        )
        more = len(groups) - 200
        tail = f"<p>... {more} more causes (see .to_frame())</p>" if more > 0 else ""
        header = "".join(f"<th>{c}</th>" for c in cells)
        return f"{head}<table><tr>{header}</tr>{rows}</table>{tail}"
