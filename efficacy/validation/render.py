"""Plain-text rendering of a validation report (also what the CLI prints when piped)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from efficacy.validation.findings import frame_records

if TYPE_CHECKING:
    from efficacy.validation.report import ValidationReport

__all__ = ["finding_line", "print_rich", "summary_text", "verdict"]

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
    where = [f["table"] or ""]
    if f["row"] is not None:
        where.append(f"row {f['row']}")
    if f["column"]:
        where.append(f"column {f['column']}")
    if f["subject_id"]:
        where.append(f"subject {f['subject_id']}")
    if f["visit"]:
        where.append(f"visit {f['visit']}")
    return f"{f['severity'].upper():<7} {f['rule_id']:<11} {', '.join(where)}: {f['message']}"


def summary_text(report: ValidationReport, max_per_rule: int = 10) -> str:
    """Render the report as plain text.

    Lists the verdict, rule statuses by state, every failed or skipped rule with its
    counts and reason, then up to `max_per_rule` findings per rule (the rest are
    counted, and listed in full by ``to_frame()`` or the JSON output).
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
        lines += ["", "Findings:"]
        for rule_id, group in frame.groupby("rule_id", sort=False):
            shown = frame_records(group.head(max_per_rule))
            lines += [f"  {finding_line(f)}" for f in shown]
            hidden = report.rules[str(rule_id)].n_findings - len(shown)
            if hidden > 0:
                lines.append(f"  ... {hidden} more {rule_id} finding(s) not shown")
    return "\n".join(lines)


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
    table = Table("severity", "rule", "table", "row", "subject", "visit", "column", "message")
    table.title = "Findings"
    hidden = 0
    for rule_id, group in report.frame.groupby("rule_id", sort=False):
        shown = frame_records(group.head(max_per_rule))
        hidden += report.rules[str(rule_id)].n_findings - len(shown)
        for f in shown:
            cells = [
                f["rule_id"],
                f["table"] or "",
                "" if f["row"] is None else str(f["row"]),
                f["subject_id"] or "",
                f["visit"] or "",
                f["column"] or "",
                f["message"],
            ]
            table.add_row(
                Text(f["severity"], style=_STYLE.get(f["severity"], "")), *map(Text, cells)
            )
    out.print(table)
    if hidden > 0:
        out.print(Text(f"{hidden} more finding(s) not shown; use --format json for all"))
