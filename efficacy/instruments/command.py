"""The ``efficacy score`` subcommand: scored PRO table and derived endpoint table.

``efficacy score BUNDLE [--faceq-table FILE] [--out PATH] [--format csv|json]``

Output
------
* ``--format csv`` (default): ``--out`` names a **folder** (created if needed) that
  receives ``pro_scores.csv`` and ``endpoints.csv``; without ``--out`` the files go to
  the current folder. Each file is written to a temporary file in that folder and then
  moved into place (``os.replace``), so a reader never sees half a file.
* ``--format json``: one document ``{"trial_id", "options", "faceq_conversion",
  "warnings", "pro_scores": [...], "endpoints": [...]}`` written to the ``--out`` file
  (atomically) or to standard output.

Exit codes (house convention): 0 scored; 2 unusable input or usage (a bundle that
cannot be read, an invalid conversion table, mixed probe apertures, 2D imaging as
wrinkle depth, a bad option), with one line on standard error and no traceback.
Warnings (e.g. FACE-Q left as raw sums) go to standard error as ``efficacy: warning:
...``; errors as ``efficacy: error: ...`` (the house CLI's prefix).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import sys
import tempfile
import warnings
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

__all__ = ["HELP", "add_arguments", "add_score_command", "main", "parse_responder", "run_score"]

PRO_FILE = "pro_scores.csv"
ENDPOINTS_FILE = "endpoints.csv"


def parse_responder(text: str) -> Any:
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
    from efficacy.errors import EfficacyError

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
    """Add the ``score`` arguments to `p` (for ``efficacy.cli.Command``)."""
    p.add_argument("bundle", metavar="BUNDLE", help="trial bundle folder (or its trial.toml)")
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
    p.set_defaults(handler=run_score)


def add_score_command(subparsers: Any) -> argparse.ArgumentParser:
    """Add ``score`` to an argparse subparsers object; the handler is ``args.handler``.

    The handler (:func:`run_score`) takes the parsed namespace and returns the exit code.
    With ``efficacy.cli.COMMANDS`` use ``Command(HELP, add_arguments, run_score)``.
    """
    p = subparsers.add_parser(
        "score",
        help=HELP,
        description="Score Skindex-16 and FACE-Q, derive instrument endpoints and change "
        "from baseline, and write the scored PRO table and the derived endpoint table.",
    )
    add_arguments(p)
    return p


def _atomic_write(path: Path, write: Callable[[Any], None]) -> None:
    """Write via a temporary file in the same folder, then os.replace."""
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as fh:
            write(fh)
        os.chmod(tmp, 0o666 & ~_umask())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


def _umask() -> int:
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def _write_csv(result: Any, out: str | None) -> str:
    folder = Path(out) if out else Path.cwd()
    if folder.exists() and not folder.is_dir():
        raise _UsageError(f"--out {folder}: is a file; with --format csv give a folder")
    folder.mkdir(parents=True, exist_ok=True)
    targets = ((PRO_FILE, result.pro), (ENDPOINTS_FILE, result.endpoints))
    for name, frame in targets:
        _atomic_write(folder / name, lambda fh, f=frame: f.to_csv(fh, index=False))
    return (
        f"wrote {len(result.pro)} PRO scores and {len(result.endpoints)} endpoint rows to "
        f"{folder} ({PRO_FILE}, {ENDPOINTS_FILE})"
    )


def _write_json(result: Any, out: str | None) -> str | None:
    doc = result.to_dict()
    if not out:
        json.dump(doc, sys.stdout, indent=1, allow_nan=False)
        sys.stdout.write("\n")
        return None
    path = Path(out)
    if path.is_dir():
        raise _UsageError(f"--out {path}: is a folder; with --format json give a file name")
    if not path.parent.is_dir():
        raise _UsageError(f"--out {path}: folder {path.parent} does not exist; create it")
    _atomic_write(path, lambda fh: json.dump(doc, fh, indent=1, allow_nan=False))
    return f"wrote {len(result.pro)} PRO scores and {len(result.endpoints)} endpoint rows to {path}"


class _UsageError(Exception):
    pass


def _one_line(text: str) -> str:
    return " ".join(str(text).split())


def run_score(args: argparse.Namespace) -> int:
    """Handle ``efficacy score``; return the exit code (0 scored, 2 input/usage error)."""
    from efficacy.errors import EfficacyError
    from efficacy.instruments.faceq_tables import load_faceq_scales
    from efficacy.instruments.options import ScoringOptions
    from efficacy.instruments.pipeline import score_trial
    from efficacy.io import read_trial
    from efficacy.protocol import DEFAULT_PROTOCOL, load_protocol

    try:
        protocol = load_protocol(args.protocol or DEFAULT_PROTOCOL)
        scales = load_faceq_scales(args.faceq_scales) if args.faceq_scales else ()
        options = ScoringOptions.from_protocol(
            protocol,
            skindex16_overall=bool(args.skindex_overall),
            cutometer_curves=args.cutometer_curves,
            responders=tuple(args.responder),
            faceq_scales=scales,
        )
        trial = read_trial(args.bundle)
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            result = score_trial(trial, conversion=args.faceq_table, options=options)
        for w in caught:
            print(f"efficacy: warning: {_one_line(str(w.message))}", file=sys.stderr)
        write = _write_json if args.format == "json" else _write_csv
        summary = write(result, args.out)
    except BrokenPipeError:  # output piped into e.g. `head`: stop quietly
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 0
    except (EfficacyError, _UsageError, OSError) as exc:
        print(f"efficacy: error: {_one_line(str(exc))}", file=sys.stderr)
        return 2
    if summary:
        print(summary)
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """Run ``score`` on its own (``python -m efficacy.instruments.command score ...``)."""
    parser = argparse.ArgumentParser(prog="efficacy")
    sub = parser.add_subparsers(dest="command", required=True)
    add_score_command(sub)
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # argparse prints its own one-line usage error
        return int(exc.code or 0)
    return int(args.handler(args))


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
