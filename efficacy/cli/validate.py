"""The ``efficacy validate`` command: every problem in a bundle, against a protocol.

``efficacy validate BUNDLE [--protocol ID|FILE] [--format text|json]
[--fail-on error|warning] [--max-findings N]``

Exit codes: 0 clean; 1 findings at or above ``--fail-on``; 2 unusable input or usage.
Nothing is written to disk.
"""

from __future__ import annotations

import argparse
import sys

from efficacy.cli._common import (
    EXIT_FINDINGS,
    EXIT_OK,
    Progress,
    add_format,
    add_input,
    emit_json,
    is_tty,
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
    add_format(p)
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
        "shows 20 per rule, json lists all",
    )


def run_validate(args: argparse.Namespace) -> int:
    """Run ``efficacy validate``; return the exit code (0 clean, 1 findings)."""
    from efficacy.validation import validate

    if args.max_findings is not None and args.max_findings < 1:
        raise UsageError(f"--max-findings {args.max_findings}: give a positive number")
    with Progress(f"Reading and validating {args.bundle}"):
        trial = read_input_args(args)
        report = validate(trial, args.protocol, max_findings_per_rule=args.max_findings)
    if args.format == "json":
        emit_json({"bundle": str(args.bundle), **report.to_dict()})
    elif is_tty(sys.stdout):
        from efficacy.validation.render import print_rich

        print_rich(report, max_per_rule=args.max_findings or 20)
    else:
        sys.stdout.write(report.summary(max_per_rule=args.max_findings or 20) + "\n")
    counts = report.counts
    failing = counts["error"] + (counts["warning"] if args.fail_on == "warning" else 0)
    return EXIT_FINDINGS if failing else EXIT_OK
