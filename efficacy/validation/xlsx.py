"""The validation report as the workbook validator users know (Pinnacle 21, CDISC CORE).

Three sheets:

* ``Issue Summary``: one row per cause (:meth:`ValidationReport.groups`): rule,
  severity, table, column, message, count;
* ``Details``: every finding, one row each: rule, severity, table, file, row, column,
  subject, visit, value, message (a sheet holds at most 1,048,575 findings; more continue
  on ``Details (2)``, ...);
* ``Rules``: every rule run, with its status (passed, failed, not applicable, could not
  run), why it did not run, and its counts.

Every text cell goes through :func:`efficacy._tabular.neutralise` (a value such as
``=HYPERLINK(...)`` is written as text, never as a formula).
"""

from __future__ import annotations

import io
import os
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from efficacy._tabular import neutralise
from efficacy.validation.findings import frame_columns

if TYPE_CHECKING:
    from efficacy.validation.report import ValidationReport

__all__ = ["DETAIL_COLUMNS", "RULE_COLUMNS", "SHEETS", "SUMMARY_COLUMNS", "xlsx_bytes"]

#: Sheet names, in order.
SHEETS: tuple[str, ...] = ("Issue Summary", "Details", "Rules")
#: Header of the ``Issue Summary`` sheet.
SUMMARY_COLUMNS: tuple[str, ...] = ("Rule", "Severity", "Table", "Column", "Message", "Count")
#: Header of the ``Details`` sheet.
DETAIL_COLUMNS: tuple[str, ...] = (
    "Rule",
    "Severity",
    "Table",
    "File",
    "Row",
    "Column",
    "Subject",
    "Visit",
    "Value",
    "Message",
)
#: Header of the ``Rules`` sheet.
RULE_COLUMNS: tuple[str, ...] = (
    "Rule",
    "Title",
    "Category",
    "Severity",
    "Status",
    "Reason",
    "Errors",
    "Warnings",
    "Notices",
    "Source",
)
_MAX_ROWS = 1_048_575  # Excel's 1,048,576 rows, less the header
_WIDTHS = {"Message": 90, "Title": 40, "Reason": 60, "Source": 40, "Value": 20, "File": 24}


def xlsx_bytes(report: ValidationReport, files: Mapping[str, str] | None = None) -> bytes:
    """Return the workbook of `report` as ``.xlsx`` bytes.

    Parameters
    ----------
    report : ValidationReport
    files : Mapping[str, str], optional
        File name of each table (``{"measurements": "measurements.csv"}``), shown in the
        ``File`` column of ``Details``; ``trial.toml`` for the manifest when not given.

    Returns
    -------
    bytes
        The workbook (document times from ``SOURCE_DATE_EPOCH`` when set).
    """
    from openpyxl import Workbook

    files = dict(files or {})
    files.setdefault("manifest", "trial.toml")
    wb = Workbook(write_only=True)
    when = _timestamp()
    wb.properties.created = wb.properties.modified = when
    wb.properties.creator = "efficacy"
    _sheet(wb, SHEETS[0], SUMMARY_COLUMNS, _summary_rows(report))
    details = list(_detail_rows(report, files))
    for k, start in enumerate(range(0, max(len(details), 1), _MAX_ROWS)):
        name = SHEETS[1] if k == 0 else f"{SHEETS[1]} ({k + 1})"
        _sheet(wb, name, DETAIL_COLUMNS, details[start : start + _MAX_ROWS])
    _sheet(wb, SHEETS[2], RULE_COLUMNS, _rule_rows(report))
    buffer = io.BytesIO()
    wb.save(buffer)
    return buffer.getvalue()


def _timestamp() -> datetime:
    epoch = os.environ.get("SOURCE_DATE_EPOCH", "").strip()
    when = datetime.fromtimestamp(int(epoch), UTC) if epoch.isdigit() else datetime.now(UTC)
    return when.replace(microsecond=0, tzinfo=None)


def _sheet(wb: Any, name: str, header: tuple[str, ...], rows: Iterable[list[Any]]) -> None:
    from openpyxl.cell import WriteOnlyCell
    from openpyxl.styles import Font
    from openpyxl.utils import get_column_letter

    ws = wb.create_sheet(name)
    for i, h in enumerate(header, start=1):
        ws.column_dimensions[get_column_letter(i)].width = _WIDTHS.get(h, 12)
    ws.freeze_panes = "A2"
    bold = Font(bold=True)
    cells = []
    for h in header:
        cell = WriteOnlyCell(ws, value=h)
        cell.font = bold
        cells.append(cell)
    ws.append(cells)
    n = 0
    for row in rows:
        ws.append([neutralise(v) for v in row])
        n += 1
    ws.auto_filter.ref = f"A1:{get_column_letter(len(header))}{n + 1}"


def _summary_rows(report: ValidationReport) -> Iterable[list[Any]]:
    for g in report.groups():
        yield [g.rule_id, g.severity, g.table, g.column, g.message, g.count]


def _detail_rows(report: ValidationReport, files: Mapping[str, str]) -> Iterable[list[Any]]:
    if report.frame.empty:
        return
    rule, sev, _cat, table, column, subject, visit, row, value, message = frame_columns(
        report.frame
    )
    for i in range(len(rule)):
        yield [
            rule[i],
            sev[i],
            table[i],
            files.get(table[i] or ""),
            row[i],
            column[i],
            subject[i],
            visit[i],
            value[i],
            message[i],
        ]


def _rule_rows(report: ValidationReport) -> Iterable[list[Any]]:
    for rid, s in report.rules.items():
        yield [
            rid,
            s.title,
            s.category,
            s.severity,
            s.status.replace("_", " "),
            s.reason,
            s.n_error,
            s.n_warning,
            s.n_notice,
            s.source,
        ]
