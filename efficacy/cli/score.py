"""The ``efficacy score`` subcommand: scored PRO table and derived endpoint table.

``efficacy score BUNDLE [--faceq-table FILE] [--out PATH] [--format csv|json]``

Output
------
* ``--format csv`` (default): ``--out`` names a **folder** (created if needed) that
  receives ``pro_scores.csv`` and ``endpoints.csv``; without ``--out`` the files go to
  the current folder. Each file is written to a temporary file in that folder and then
  moved into place together (:class:`efficacy._atomic.FileSet`), so a reader never sees
  half a file or the two files of two different runs.
* ``--format json``: one document ``{"trial_id", "options", "faceq_conversion",
  "warnings", "pro_scores": [...], "endpoints": [...]}`` written to the ``--out`` file
  (atomically) or to standard output.

Text cells that a spreadsheet would run as a formula are written with a leading ``'``
(:func:`efficacy._tabular.safe_frame`). The output folder is checked before any work.

Exit codes (house convention): 0 scored; 2 unusable input or usage (a bundle that
cannot be read, an invalid conversion table, mixed probe apertures, 2D imaging as
wrinkle depth, a bad option), with one line on standard error and no traceback.
Warnings (e.g. FACE-Q left as raw sums) go to standard error as ``efficacy: warning:
...``; errors as ``efficacy: error: ...`` (the house CLI's prefix).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from efficacy._atomic import FileSet, check_folder, write_file
from efficacy._tabular import to_csv_bytes
from efficacy.cli._common import EXIT_OK, add_input, read_input_args, relay_warnings
from efficacy.errors import EfficacyError, UsageError

if TYPE_CHECKING:  # imported lazily at run time, for a fast start-up
    from efficacy.instruments.derive import ResponderRule
    from efficacy.instruments.pipeline import ScoredTrial

__all__ = ["HELP", "add_arguments", "parse_responder", "run_score"]

PRO_FILE = "pro_scores.csv"
ENDPOINTS_FILE = "endpoints.csv"


def parse_responder(text: str) -> ResponderRule:
    """Parse ``ENDPOINT:KIND[:THRESHOLD][:DIRECTION]`` into a ResponderRule.

    Examples: ``corneometer:percent:10``, ``cutometer_r2:half_baseline_sd``,
    ``visia_wrinkles_score:absolute:5:lower``.
    """
    from efficacy.instruments.derive import ResponderRule

    parts = [p.strip() for p in text.split(":")]
    if len(parts) < 2 or len(parts) > 4 or not all(parts):
        raise argparse.ArgumentTypeError(
            f"{text!r}: give ENDPOINT:KIND[:THRESHOLD][:DIRECTION], e.g. corneometer:percent:10"
        )
    endpoint, kind, rest = parts[0], parts[1], parts[2:]
    threshold = direction = None
    if rest and rest[-1] in ("higher", "lower"):
        direction = rest.pop()
    if rest:
        try:
            threshold = float(rest[0])
        except ValueError:
            raise argparse.ArgumentTypeError(
                f"{text!r}: threshold {rest[0]!r} is not a number"
            ) from None
    try:
        return ResponderRule(endpoint, kind, threshold, direction)
    except EfficacyError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def _curves(text: str) -> tuple[int, ...]:
    try:
        values = tuple(int(x) for x in text.split(",") if x.strip())
    except ValueError:
        values = ()
    if not values:
        raise argparse.ArgumentTypeError(f"{text!r}: give replicate numbers like 2,3,4")
    return values


#: One-line help of the sub-command.
HELP = "score PROs and derive endpoints (baseline, change, responders)"


def add_arguments(p: argparse.ArgumentParser) -> None:
    """Add the ``score`` arguments to `p`."""
    add_input(p)
    p.add_argument(
        "--faceq-table",
        metavar="FILE",
        help="FACE-Q raw-sum -> Rasch CSV (scale,raw_sum,rasch_score) from your licensed "
        "user guide; without it FACE-Q scores are raw sums",
    )
    p.add_argument(
        "--faceq-scales",
        metavar="FILE",
        help="CSV of extra FACE-Q scales (id,name,n_items,direction)",
    )
    p.add_argument(
        "--protocol",
        metavar="ID|FILE",
        default=None,
        help="protocol id or TOML file (default: the built-in standard)",
    )
    p.add_argument(
        "--out",
        metavar="PATH",
        help="csv: output folder (default: current folder); json: output file "
        "(default: standard output)",
    )
    p.add_argument("--format", choices=("csv", "json"), default="csv", help="output format")
    p.add_argument(
        "--skindex-overall", action="store_true", help="also score a Skindex-16 overall score"
    )
    p.add_argument(
        "--cutometer-curves",
        type=_curves,
        metavar="N,N,...",
        help="Cutometer replicates (curves) to average, e.g. 2,3,4",
    )
    p.add_argument(
        "--responder",
        type=parse_responder,
        action="append",
        default=[],
        metavar="ENDPOINT:KIND[:THRESHOLD][:DIRECTION]",
        help="protocol-declared responder rule (repeatable); KIND is absolute, percent or "
        "half_baseline_sd",
    )


def _target(args: argparse.Namespace) -> Path | None:
    """Check where the output goes before any work; return the folder or file (json)."""
    if args.format == "csv":
        return check_folder(Path(args.out) if args.out else Path.cwd())
    if not args.out:
        return None
    path = Path(args.out)
    if path.is_dir():
        raise UsageError(f"--out {path}: is a folder; with --format json give a file name")
    if not path.parent.is_dir():
        raise UsageError(f"--out {path}: folder {path.parent} does not exist; create it")
    check_folder(path.parent)
    return path


def _write_csv(result: ScoredTrial, folder: Path) -> str:
    with FileSet() as files:
        files.add(folder / PRO_FILE, to_csv_bytes(result.pro))
        files.add(folder / ENDPOINTS_FILE, to_csv_bytes(result.endpoints))
    return (
        f"wrote {len(result.pro)} PRO scores and {len(result.endpoints)} endpoint rows to "
        f"{folder} ({PRO_FILE}, {ENDPOINTS_FILE})"
    )


def _write_json(result: ScoredTrial, path: Path | None) -> str | None:
    doc = result.to_dict()
    if path is None:
        json.dump(doc, sys.stdout, indent=1, allow_nan=False)
        sys.stdout.write("\n")
        return None
    write_file(path, json.dumps(doc, indent=1, allow_nan=False))
    return f"wrote {len(result.pro)} PRO scores and {len(result.endpoints)} endpoint rows to {path}"


def run_score(args: argparse.Namespace) -> int:
    """Handle ``efficacy score``; return the exit code (0 scored).

    Unusable input and usage errors raise :class:`~efficacy.errors.EfficacyError`, which
    :func:`efficacy.cli.main` turns into one line and exit code 2.
    """
    target = _target(args)  # before any work (and before the slow imports)
    from efficacy.instruments.faceq_tables import load_faceq_scales
    from efficacy.instruments.options import ScoringOptions
    from efficacy.instruments.pipeline import score_trial
    from efficacy.protocol import DEFAULT_PROTOCOL, load_protocol

    protocol = load_protocol(args.protocol or DEFAULT_PROTOCOL)
    scales = load_faceq_scales(args.faceq_scales) if args.faceq_scales else ()
    options = ScoringOptions.from_protocol(
        protocol,
        skindex16_overall=bool(args.skindex_overall),
        cutometer_curves=args.cutometer_curves,
        responders=tuple(args.responder),
        faceq_scales=scales,
    )
    trial = read_input_args(args)
    with relay_warnings():
        result = score_trial(trial, conversion=args.faceq_table, options=options)
    if args.format == "json":
        summary = _write_json(result, target)
    else:
        assert target is not None  # csv always has a folder (default: the current one)
        summary = _write_csv(result, target)
    if summary:
        print(summary)
    return EXIT_OK
