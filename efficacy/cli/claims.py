"""The ``efficacy claims`` command: which declared claims the trial supports, and where.

``efficacy claims BUNDLE [--jurisdictions cn,kr,eu,us,iso] [--protocol ID|FILE]
[--out DIR] [--format text|json|html] [--force]``

Reads the ``[[claims]]`` of ``trial.toml``, runs the analysis plan of ``--protocol``
(default ``iso-efficacy-2025``) once, validates the trial against each jurisdiction's rule
pack, and prints the matrix claim x jurisdiction (supported / not_supported /
not_assessable) with each cell's reasons (:func:`efficacy.regulatory.claims_matrix`).
With ``--out DIR`` it writes ``DIR/claims.json`` and ``DIR/claims.html`` together and
names them. Decision support, not legal advice (said once in every output).

Exit codes: 0 the matrix was made; 2 unusable input or usage (no claims declared, a bad
``[[claims]]`` entry, an unknown jurisdiction), one line on standard error.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from efficacy._atomic import FileSet, check_folder
from efficacy.cli._common import EXIT_OK, Progress, print_written, relay_warnings
from efficacy.errors import InputError, UsageError

if TYPE_CHECKING:  # imported lazily at run time, for a fast start-up
    from efficacy.trial import Trial

__all__ = ["HELP", "add_arguments", "run_claims"]

HELP = "which declared claims the trial supports in China, Korea, the EU, the US and ISO"

_CODES = ("cn", "kr", "eu", "us", "iso")


def add_arguments(p: argparse.ArgumentParser) -> None:
    """Add the ``claims`` arguments to `p`."""
    p.add_argument("bundle", metavar="BUNDLE", help="trial bundle folder (or its trial.toml)")
    p.add_argument(
        "--jurisdictions",
        metavar="LIST",
        default=",".join(_CODES),
        help="comma-separated jurisdictions among cn, kr, eu, us, iso (default: all)",
    )
    p.add_argument(
        "--protocol",
        metavar="ID|FILE",
        default=None,
        help="protocol whose [analysis] plan gives the estimates (default: iso-efficacy-2025)",
    )
    p.add_argument(
        "--out", metavar="DIR", default=None, help="write claims.json and claims.html here"
    )
    p.add_argument(
        "--format",
        choices=("text", "json", "html"),
        default="text",
        help="what is printed when --out is not given (default: text)",
    )
    p.add_argument(
        "--force",
        action="store_true",
        help="analyse even when validation against the plan's protocol finds errors",
    )


def _jurisdictions(text: str) -> list[str]:
    codes = [c.strip().lower() for c in text.split(",") if c.strip()]
    bad = [c for c in codes if c not in _CODES]
    if bad or not codes:
        raise UsageError(
            f"--jurisdictions {text!r}: use a comma-separated list of {', '.join(_CODES)}"
        )
    return list(dict.fromkeys(codes))


def _claim_problem(trial: Trial, bundle: str) -> None:
    """Raise InputError (one line) when no claim is declared or an entry is bad."""
    issues = trial.issues
    mine = issues[
        (issues["table"] == "manifest")
        & issues["column"].fillna("").astype(str).str.match(r"^claims(\[|$)")
    ]
    where = trial.manifest.path or Path(bundle)
    if len(mine):
        first = mine.iloc[0]
        more = f" (and {len(mine) - 1} more)" if len(mine) > 1 else ""
        raise InputError(f"{where}: {first['column']}: {first['problem']}{more}")
    if not trial.manifest.claims:
        raise InputError(
            f"{where}: declares no [[claims]]; add entries with text, category, endpoint "
            "and min_effect"
        )


def run_claims(args: argparse.Namespace) -> int:
    """Run ``efficacy claims``; return the exit code (0)."""
    codes = _jurisdictions(args.jurisdictions)
    out = check_folder(Path(args.out)) if args.out else None  # before any work
    from efficacy.analysis.run import analyze
    from efficacy.io import read_trial
    from efficacy.regulatory.claims import claims_matrix

    trial = read_trial(args.bundle)
    _claim_problem(trial, args.bundle)
    with Progress(f"Reading the claims of {args.bundle}"), relay_warnings():
        result = analyze(trial, args.protocol, force=args.force)
        matrix = claims_matrix(trial, result, codes)
    text = json.dumps(matrix.to_dict(), indent=2, ensure_ascii=False) + "\n"
    if out is not None:
        with FileSet() as files:
            files.add(out / "claims.json", text)
            files.add(out / "claims.html", matrix.to_html())
        print_written(files.targets)
    elif args.format == "json":
        sys.stdout.write(text)
    elif args.format == "html":
        sys.stdout.write(matrix.to_html())
    else:
        sys.stdout.write(matrix.to_text())
    return EXIT_OK
