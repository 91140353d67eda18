"""Plain-text rendering of a validation report (also what the CLI prints when piped)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from efficacy.validation.findings import FindingGroup, frame_records

if TYPE_CHECKING:
    from efficacy.validation.report import ValidationReport

__all__ = [
    "finding_line",
    "finding_where",
    "group_count",
    "group_line",
    "group_where",
    "print_rich",
    "summary_text",
    "verdict",
]

_STYLE = {"error": "bold red", "warning": "yellow", "notice": "cyan"}
_STATUS_STYLE = {"failed": "red", "could_not_run": "magenta", "not_applicable": "dim"}


def verdict(report: ValidationReport) -> str:
    """One line: trial, protocol, PASSED/FAILED and counts by severity."""
    c = report.counts
    state = "PASSED" if report.ok else "FAILED"
    return (
        f"Trial {report.trial_id or '(no id)'} against {report.protocol_id} "
        f"{report.protocol_version}: {state} ({_n(c['error'], 'error')}, "
        f"{_n(c['warning'], 'warning')}, {_n(c['notice'], 'notice')})"
    )


def _n(k: int, word: str) -> str:
    return f"{k} {word}{'' if k == 1 else 's'}"


def finding_line(f: Mapping[str, Any]) -> str:
    """One finding as one line of text: severity, rule, location, value, message."""
    return f"{f['severity'].upper():<7} {f['rule_id']:<11} {finding_where(f)}: {f['message']}"


def finding_where(f: Mapping[str, Any]) -> str:
    """Where one finding is: table, row, column, subject and visit, as far as known."""
    where = [f["table"] or ""]
    if f["row"] is not None:
        where.append(f"row {f['row']}")
    if f["column"]:
        where.append(f"column {f['column']}")
    if f["subject_id"]:
        where.append(f"subject {f['subject_id']}")
    if f["visit"]:
        where.append(f"visit {f['visit']}")
    return ", ".join(where)


def group_where(g: FindingGroup) -> str:
    """Where a group of findings is: ``table.column`` (or the table alone)."""
    return f"{g.table}.{g.column}" if g.column else g.table


def group_count(g: FindingGroup) -> str:
    """How many findings a group holds and the first of them.

    ``"562 rows, e.g. rows 4, 9, 17, 20, 31 …"``, ``"3 findings, e.g. subjects S0001,
    S0003, S0007"``, or ``"2 findings"``; the first values follow when the messages
    differ (``"(values S9999, S8888)"``).
    """
    more = " …" if g.count > len(g.rows or g.subjects) else ""
    if g.rows:
        text = f"{_n(g.count, 'row')}, e.g. row{'s' if len(g.rows) > 1 else ''} "
        text += ", ".join(map(str, g.rows)) + more
    elif g.subjects:
        text = f"{_n(g.count, 'finding')}, e.g. subject{'s' if len(g.subjects) > 1 else ''} "
        text += ", ".join(g.subjects) + more
    else:
        text = _n(g.count, "finding")
    if g.values:
        text += " (value" + ("s " if len(g.values) > 1 else " ") + ", ".join(g.values) + ")"
    return text


def group_line(g: FindingGroup, single: Mapping[str, Any] | None = None) -> str:
    """One group of findings as one line: severity, rule, where, count, first rows, message.

    A group of one finding is printed as that finding (:func:`finding_line` of `single`,
    its record) when given.
    """
    if g.count == 1 and single is not None:
        return finding_line(single)
    head = f"{g.severity.upper():<7} {g.rule_id:<11} {group_where(g)}: "
    return head + f"{group_count(g)} — {g.message}"


def summary_text(report: ValidationReport, max_per_rule: int = 10) -> str:
    """Render the report as plain text.

    Lists the verdict, rule statuses by state, every failed or skipped rule with its
    counts and reason, then the findings grouped by cause (:meth:`ValidationReport.groups`):
    one line per rule, table, column and message pattern with the count and the first
    rows, at most `max_per_rule` groups per rule (the rest are counted; ``to_frame()``
    and the JSON output list every finding).
    """
    states: dict[str, int] = {}
    for s in report.rules.values():
        states[s.status] = states.get(s.status, 0) + 1
    lines = [
        verdict(report),
        "Rules: "
        + ", ".join(
            f"{states.get(k, 0)} {k.replace('_', ' ')}"
            for k in ("passed", "failed", "not_applicable", "could_not_run")
        ),
    ]
    notable = [s for s in report.rules.values() if s.status != "passed"]
    if notable:
        lines += ["", "Rules that failed or did not run:"]
        for s in notable:
            detail = f"{s.n_findings} finding(s)" if s.status == "failed" else s.reason
            lines.append(f"  {s.rule_id:<11} {s.status:<14} {s.title}: {detail}")
    frame = report.frame
    if len(frame):
        lines += ["", "Findings (grouped by cause):"]
        for rule_id, shown, hidden in _by_rule(report, max_per_rule):
            lines += [f"  {group_line(g, single)}" for g, single in shown]
            if hidden > 0:
                lines.append(f"  ... {hidden} more {rule_id} finding(s) not shown")
    return "\n".join(lines)


def _by_rule(
    report: ValidationReport, max_per_rule: int
) -> list[tuple[str, list[tuple[FindingGroup, Mapping[str, Any] | None]], int]]:
    """Group the findings per rule: its first `max_per_rule` groups and the rest's count.

    A group of one finding comes with that finding's record (to print it in full).
    """
    singles = [g.first for g in report.groups() if g.count == 1]
    records = dict(zip(singles, frame_records(report.frame.iloc[singles]), strict=True))
    out: list[tuple[str, list[tuple[FindingGroup, Mapping[str, Any] | None]], int]] = []
    for g in report.groups():
        if not out or out[-1][0] != g.rule_id:
            out.append((g.rule_id, [], report.rules[g.rule_id].n_findings))
        rule_id, shown, hidden = out[-1]
        if len(shown) < max_per_rule:
            shown.append((g, records.get(g.first)))
            out[-1] = (rule_id, shown, hidden - g.count)
    return out


def print_rich(report: ValidationReport, max_per_rule: int = 20, console: object = None) -> None:
    """Print the report as rich tables (for a terminal).

    A verdict line, a table of the rules that failed or did not run (with counts or the
    reason), and a table of findings (at most `max_per_rule` per rule; the rest counted).
    """
    from rich.console import Console
    from rich.table import Table
    from rich.text import Text

    out: Any = console if console is not None else Console()
    out.print(Text(verdict(report), style="bold green" if report.ok else "bold red"))
    notable = [s for s in report.rules.values() if s.status != "passed"]
    if notable:
        rules = Table("rule", "status", "severity", "title", "findings / reason", title="Rules")
        for s in notable:
            detail = str(s.n_findings) if s.status == "failed" else s.reason
            rules.add_row(
                Text(s.rule_id),
                Text(s.status, style=_STATUS_STYLE.get(s.status, "")),
                Text(s.severity),
                Text(s.title),
                Text(detail),
            )
        out.print(rules)
    if report.frame.empty:
        return
    table = Table("severity", "rule", "where", "findings", "message")
    table.title = "Findings (grouped by cause)"
    hidden = 0
    for _rule_id, shown, rest in _by_rule(report, max_per_rule):
        hidden += max(rest, 0)
        for g, single in shown:
            if single is not None:
                cells = [g.rule_id, finding_where(single), "1", g.message]
            else:
                cells = [g.rule_id, group_where(g), group_count(g), g.message]
            table.add_row(Text(g.severity, style=_STYLE.get(g.severity, "")), *map(Text, cells))
    out.print(table)
    if hidden > 0:
        out.print(Text(f"{hidden} more finding(s) not shown; use --format json for all"))
