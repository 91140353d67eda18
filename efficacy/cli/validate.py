"""The ``efficacy validate`` command: every problem in a bundle, against a protocol.

``efficacy validate BUNDLE [--protocol ID|FILE] [--format text|json|xlsx] [--out FILE]
[--fail-on error|warning] [--max-findings N]``

``text`` groups the findings by cause (one line per rule, column and message with the
count and the first rows); ``json`` lists every finding; ``xlsx`` writes the workbook of
:meth:`efficacy.validation.ValidationReport.to_xlsx` (Issue Summary, Details, Rules) to
``--out FILE``, atomically, and names it. Otherwise nothing is written to disk.

Exit codes: 0 clean; 1 findings at or above ``--fail-on``; 2 unusable input or usage.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from efficacy.cli._common import (
    EXIT_FINDINGS,
    EXIT_OK,
    Progress,
    add_input,
    emit_json,
    is_tty,
    print_written,
    read_input_args,
)
from efficacy.errors import UsageError

__all__ = ["HELP", "add_arguments", "run_validate"]

HELP = "validate a trial bundle against a protocol"


def add_arguments(p: argparse.ArgumentParser) -> None:
    """Add the ``validate`` arguments to `p`."""
    add_input(p)
    p.add_argument(
        "--protocol",
        metavar="ID|FILE",
        default=None,
        help="built-in protocol id or protocol TOML file (default: iso-efficacy-2025)",
    )
    p.add_argument(
        "--format",
        choices=("text", "json", "xlsx"),
        default="text",
        help="text (grouped by cause; tables on a terminal), json (every finding) or xlsx "
        "(the Issue Summary / Details / Rules workbook, written to --out FILE)",
    )
    p.add_argument(
        "--out",
        metavar="FILE",
        default=None,
        help="the .xlsx file to write (with --format xlsx)",
    )
    p.add_argument(
        "--fail-on",
        choices=("error", "warning"),
        default="error",
        help="exit 1 when there are findings at or above this severity (default: error)",
    )
    p.add_argument(
        "--max-findings",
        metavar="N",
        type=int,
        default=None,
        help="list at most N findings per rule (counts stay complete); default: text "
        "shows up to 20 causes per rule, json and xlsx list all",
    )


def run_validate(args: argparse.Namespace) -> int:
    """Run ``efficacy validate``; return the exit code (0 clean, 1 findings)."""
    from efficacy.validation import validate
    from efficacy.validation.render import verdict

    if args.max_findings is not None and args.max_findings < 1:
        raise UsageError(f"--max-findings {args.max_findings}: give a positive number")
    out = _out_file(args)
    with Progress(f"Reading and validating {args.bundle}"):
        trial = read_input_args(args)
        report = validate(trial, args.protocol, max_findings_per_rule=args.max_findings)
    if out is not None:
        files = {name: Path(src.path).name for name, src in trial.sources.items() if src.path}
        print_written([report.to_xlsx(out, files)], "findings workbook")
        sys.stdout.write(verdict(report) + "\n")
    elif args.format == "json":
        emit_json({"bundle": str(args.bundle), **report.to_dict()})
    elif is_tty(sys.stdout):
        from efficacy.validation.render import print_rich

        print_rich(report, max_per_rule=args.max_findings or 20)
    else:
        sys.stdout.write(report.summary(max_per_rule=args.max_findings or 20) + "\n")
    counts = report.counts
    failing = counts["error"] + (counts["warning"] if args.fail_on == "warning" else 0)
    return EXIT_FINDINGS if failing else EXIT_OK


def _out_file(args: argparse.Namespace) -> Path | None:
    """Return the ``--out`` workbook path (checked before any work), or None for text and json."""
    from efficacy._atomic import check_folder

    if args.format != "xlsx":
        if args.out is not None:
            raise UsageError(
                f"--out {args.out}: only --format xlsx writes a file; add --format xlsx or "
                "leave out --out"
            )
        return None
    if args.out is None:
        raise UsageError("--format xlsx writes a workbook: give its path with --out FILE.xlsx")
    out = Path(args.out)
    if out.suffix.lower() != ".xlsx":
        raise UsageError(f"--out {out}: give a file name ending in .xlsx")
    if out.is_dir():
        raise UsageError(f"--out {out}: is a folder; give a file name ending in .xlsx")
    check_folder(out.parent if str(out.parent) else ".", "--out")
    return out
