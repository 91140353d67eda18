"""The ``efficacy analyze`` command: run the protocol's analysis plan on a bundle.

``efficacy analyze BUNDLE [--protocol ID|FILE] [--out DIR] [--format text|json|csv]
[--force]``

Output
------
* ``--format text`` (default): the summary (status, every estimand row, reference-based
  rows with their strategy, tipping points)
  on standard output; nothing is written to disk, so ``--out`` is refused.
* ``--format json``: one document (:meth:`AnalysisResult.to_dict`) written to
  ``DIR/analysis.json`` with ``--out``, else to standard output.
* ``--format csv``: with ``--out DIR`` the tables ``estimates.csv``, ``lsmeans.csv``,
  ``effect_sizes.csv``, ``models.csv``, ``sensitivity.csv``, ``reference_based.csv`` (the
  declared reference-based imputations: pooled differences and LS means) and
  ``skipped.csv``; without it the estimates table on standard output (the
  reference-based differences are rows of it, ``analysis = reference_based``).

The output folder is checked before the analysis runs. The files are rendered to
temporary files and renamed into place together (:class:`efficacy._atomic.FileSet`), so
an interrupted run leaves the previous set; each written file is named on standard
output. Text cells that a spreadsheet would run as a formula are written with a leading
``'`` (:func:`efficacy._tabular.safe_frame`).

Exit codes: 0 analysed; 1 not analysed because validation found errors (pass
``--force``); 2 unusable input or usage, one line on standard error.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from efficacy._atomic import FileSet, check_folder
from efficacy.cli._common import (
    EXIT_FINDINGS,
    EXIT_OK,
    Progress,
    add_input,
    print_written,
    read_input_args,
    relay_warnings,
    require_control,
)
from efficacy.errors import UsageError

if TYPE_CHECKING:  # imported lazily at run time, for a fast start-up
    import pandas as pd

    from efficacy.analysis.result import AnalysisResult

__all__ = ["HELP", "TABLES", "add_arguments", "run_analyze"]

HELP = "run the protocol's analysis plan (MMRM per endpoint, populations, sensitivity)"

#: The tables of ``--format csv --out DIR``, written as ``DIR/<name>.csv``.
TABLES: tuple[str, ...] = (
    "estimates",
    "lsmeans",
    "effect_sizes",
    "models",
    "sensitivity",
    "reference_based",
    "skipped",
)


def add_arguments(p: argparse.ArgumentParser) -> None:
    """Add the ``analyze`` arguments to `p`."""
    add_input(p)
    p.add_argument(
        "--protocol",
        metavar="ID|FILE",
        default=None,
        help="protocol whose [analysis] plan is run (default: iso-efficacy-2025)",
    )
    p.add_argument(
        "--out",
        metavar="DIR",
        default=None,
        help="folder for the output files (with --format json or csv)",
    )
    p.add_argument(
        "--format",
        choices=("text", "json", "csv"),
        default="text",
        help="text summary, one json document, or csv tables (default: text)",
    )
    p.add_argument(
        "--force",
        action="store_true",
        help="analyse even when validation finds errors (the result says so)",
    )


def _csv(frame: pd.DataFrame) -> bytes:
    from efficacy._tabular import to_csv_bytes

    return to_csv_bytes(frame, float_format="%.17g")


def _tables(result: AnalysisResult) -> dict[str, pd.DataFrame]:
    return {
        "estimates": result.to_frame(),
        "lsmeans": result.lsmeans,
        "effect_sizes": result.effect_sizes,
        "models": result.models,
        "sensitivity": result.sensitivity_frame(),
        "reference_based": result.reference_based_frame(),
        "skipped": result.skipped,
    }


def run_analyze(args: argparse.Namespace) -> int:
    """Run ``efficacy analyze``; return the exit code (0 analysed, 1 not analysed)."""
    out = Path(args.out) if args.out else None
    if out is not None:  # before any work (and before the slow imports)
        if args.format == "text":
            raise UsageError(
                f"--out {out}: the text summary is not written to files; add --format csv "
                "or --format json, or leave out --out"
            )
        check_folder(out)
    from efficacy.analysis.run import analyze

    with Progress(f"Analysing {args.bundle}") as progress, relay_warnings():
        progress("reading")
        trial = read_input_args(args)
        require_control(trial)
        progress("validating")
        result = analyze(trial, args.protocol, force=args.force, progress=progress)
    if args.format == "json":
        text = json.dumps(result.to_dict(), indent=2, ensure_ascii=False) + "\n"
        if out is None:
            sys.stdout.write(text)
        else:
            with FileSet() as files:
                files.add(out / "analysis.json", text)
            print_written(files.targets)
    elif args.format == "csv":
        tables = _tables(result)
        if out is None:
            sys.stdout.write(_csv(tables["estimates"]).decode("utf-8"))
        else:
            with FileSet() as files:
                for name in TABLES:
                    files.add(out / f"{name}.csv", _csv(tables[name]))
            print_written(files.targets)
    else:
        sys.stdout.write(result.summary() + "\n")
    if not result.analysed:
        sys.stderr.write(
            f"efficacy: not analysed: validation found {result.validation_errors} errors "
            "(run 'efficacy validate', or pass --force)\n"
        )
        return EXIT_FINDINGS
    return EXIT_OK
