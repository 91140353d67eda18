"""The ``efficacy analyze`` subcommand: run the protocol's analysis plan on a bundle.

``efficacy analyze BUNDLE [--protocol ID|FILE] [--out DIR] [--format text|json|csv]
[--force]``

Output
------
* ``--format text`` (default): the summary (status, every estimand row, tipping points).
* ``--format json``: one document (:meth:`AnalysisResult.to_dict`) written to
  ``DIR/analysis.json`` with ``--out``, else to standard output.
* ``--format csv``: with ``--out DIR`` the tables ``estimates.csv``, ``lsmeans.csv``,
  ``effect_sizes.csv``, ``models.csv``, ``sensitivity.csv`` and ``skipped.csv``; without it the
  estimates table on standard output.

Every file is written to a temporary file in its folder and moved into place
(``os.replace``). Exit codes: 0 analysed; 1 not analysed because validation found errors
(pass ``--force``); 2 unusable input or usage, one line on standard error.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import os
import sys
import tempfile
import warnings
from pathlib import Path
from typing import Any

__all__ = ["HELP", "add_arguments", "run_analyze"]

HELP = "run the protocol's analysis plan (MMRM per endpoint, populations, sensitivity)"

_TABLES = ("estimates", "lsmeans", "effect_sizes", "models", "sensitivity", "skipped")


def add_arguments(p: argparse.ArgumentParser) -> None:
    """Add the ``analyze`` arguments to `p`."""
    p.add_argument("bundle", metavar="BUNDLE", help="trial bundle folder (or its trial.toml)")
    p.add_argument(
        "--protocol",
        metavar="ID|FILE",
        default=None,
        help="protocol whose [analysis] plan is run (default: iso-efficacy-2025)",
    )
    p.add_argument("--out", metavar="DIR", default=None, help="folder for the output files")
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


def _write_atomic(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as handle:
            handle.write(text)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


def _csv(frame: Any) -> str:
    buf = io.StringIO()
    frame.to_csv(buf, index=False, float_format="%.17g")
    return buf.getvalue()


def _tables(result: Any) -> dict[str, Any]:
    return {
        "estimates": result.to_frame(),
        "lsmeans": result.lsmeans,
        "effect_sizes": result.effect_sizes,
        "models": result.models,
        "sensitivity": result.sensitivity_frame(),
        "skipped": result.skipped,
    }


def run_analyze(args: argparse.Namespace) -> int:
    """Run ``efficacy analyze``; return the exit code (0 analysed, 1 not analysed)."""
    from efficacy.analysis.run import analyze
    from efficacy.io import read_trial

    trial = read_trial(args.bundle)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        result = analyze(trial, args.protocol, force=args.force)
    for w in caught:
        sys.stderr.write(f"efficacy: warning: {' '.join(str(w.message).split())}\n")
    out = Path(args.out) if args.out else None
    if args.format == "json":
        text = json.dumps(result.to_dict(), indent=2, ensure_ascii=False) + "\n"
        if out is None:
            sys.stdout.write(text)
        else:
            _write_atomic(out / "analysis.json", text)
    elif args.format == "csv":
        tables = _tables(result)
        if out is None:
            sys.stdout.write(_csv(tables["estimates"]))
        else:
            for name in _TABLES:
                _write_atomic(out / f"{name}.csv", _csv(tables[name]))
    else:
        sys.stdout.write(result.summary() + "\n")
    if not result.analysed:
        sys.stderr.write(
            f"efficacy: not analysed: validation found {result.validation_errors} errors "
            "(run 'efficacy validate', or pass --force)\n"
        )
        return 1
    return 0
