"""The ``efficacy report`` subcommand: the conformance report as HTML, PDF, JSON, DOCX, RTF.

``efficacy report BUNDLE --out DIR [--protocol ID|FILE] [--format html,pdf,json,docx,rtf]
[--fail-on error|warning|never] [--force]``

Writes ``DIR/report.html`` (self-contained), ``DIR/report.pdf`` and ``DIR/report.json``
(every number shown) by default; ``--format`` names others too: ``docx`` (the whole
report as a Word document, with Word tables and headings) and ``rtf`` (the baseline,
efficacy, PRO and harms tables in one RTF file, as submission TLFs). Prints one line per
file plus the verdict. The folder is
checked before any work; the files are rendered to temporary files first and renamed
into place together at the end (:meth:`efficacy.report.Report.write`), so an interrupted
run leaves the previous complete set. Set ``SOURCE_DATE_EPOCH`` for a reproducible
generation time. A trial whose validation finds errors is reported without the efficacy
analysis (sections 6-7 say why) unless ``--force`` is given. On a terminal a spinner says
which step runs (validation, each model fit, rendering); it is quiet when piped.

Exit codes (house convention): 0 written; 1 written, and the validation has findings at
or above ``--fail-on`` (default ``error``; ``never`` always exits 0 once written); 2
usage error or unusable input (one line on standard error, no traceback).
"""

from __future__ import annotations

import argparse

from efficacy._atomic import check_folder
from efficacy.cli._common import (
    EXIT_FINDINGS,
    EXIT_OK,
    Progress,
    add_input,
    read_input_args,
    require_control,
)

__all__ = ["HELP", "add_arguments", "parse_formats", "run_report"]

HELP = "write the CONSORT-style conformance report (HTML, PDF, JSON, DOCX, RTF) of a trial bundle"


def parse_formats(text: str) -> tuple[str, ...]:
    """Parse ``html,pdf,json,docx,rtf`` (any subset, any order) into a tuple of formats."""
    from efficacy.report.model import FORMATS

    parts = tuple(dict.fromkeys(p.strip().lower() for p in text.split(",") if p.strip()))
    bad = [p for p in parts if p not in FORMATS]
    if bad or not parts:
        raise argparse.ArgumentTypeError(
            f"{text!r}: give one or more of {','.join(FORMATS)} separated by commas"
        )
    return parts


def add_arguments(p: argparse.ArgumentParser) -> None:
    """Add the ``report`` arguments to `p`."""
    add_input(p)
    p.add_argument("--out", metavar="DIR", required=True, help="folder to write the report into")
    p.add_argument(
        "--protocol",
        metavar="ID|FILE",
        default=None,
        help="built-in protocol id or protocol TOML file (default: iso-efficacy-2025)",
    )
    p.add_argument(
        "--format",
        metavar="LIST",
        type=parse_formats,
        default=("html", "pdf", "json"),
        help="comma-separated formats among html,pdf,json,docx,rtf (default: html,pdf,json)",
    )
    p.add_argument(
        "--fail-on",
        choices=("error", "warning", "never"),
        default="error",
        help="exit 1 (after writing) when validation has findings at or above this "
        "severity (default: error)",
    )
    p.add_argument(
        "--force",
        action="store_true",
        help="run the efficacy analysis even when validation finds errors (the report says so)",
    )


def run_report(args: argparse.Namespace) -> int:
    """Handle ``efficacy report``; return the exit code (0 / 1, see module doc).

    Unusable input and usage errors raise :class:`~efficacy.errors.EfficacyError`, which
    :func:`efficacy.cli.main` turns into one line and exit code 2.
    """
    check_folder(args.out)  # before any work (and before the slow imports)
    from efficacy.protocol import DEFAULT_PROTOCOL, load_protocol
    from efficacy.report.model import build_report
    from efficacy.report.outcomes import run_analysis
    from efficacy.validation import validate

    protocol = load_protocol(args.protocol or DEFAULT_PROTOCOL)
    with Progress(f"Reporting {args.bundle}") as progress:
        progress("reading")
        trial = read_input_args(args)
        require_control(trial)
        progress("validating")
        validation = validate(trial, protocol)
        analysis = run_analysis(trial, protocol, validation, force=args.force, progress=progress)
        progress("building the report")
        report = build_report(trial, protocol, validation, analysis=analysis)
        progress("rendering " + ", ".join(args.format))
        written = report.write(args.out, args.format)
    for fmt, path in written.items():
        print(f"{fmt}: {path}")
    print(f"verdict: {report.data['verdict']['overall']} ({protocol.id} {protocol.version})")
    counts = validation.counts
    if args.fail_on == "never":
        return EXIT_OK
    failing = counts["error"] + (counts["warning"] if args.fail_on == "warning" else 0)
    return EXIT_FINDINGS if failing else EXIT_OK
