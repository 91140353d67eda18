"""The ``efficacy export`` command: analysis datasets (ADSL, ADEFF) for a submission.

``efficacy export PATH --out DIR [--format xpt|json|ndjson|dsjc] [--protocol ID|FILE]
[--faceq-table FILE]``

PATH is a trial bundle (folder or its ``trial.toml``, read with
:func:`efficacy.read_trial`) or a folder of ADaM datasets (``adsl.*`` plus BDS datasets
``ad*.xpt|csv|parquet``, ``adae.*`` left out; read with :func:`efficacy.read_adam`).
The trial is scored once (PRO scale scores and other derived endpoints included) and
written as ``DIR/adsl.<ext>`` and ``DIR/adeff.<ext>``
(:func:`efficacy.io.export.analysis_datasets` lists every variable and how it is
derived): SAS XPORT v5 (``xpt``, the default) or CDISC Dataset-JSON v1.1 (``json``,
``ndjson``, ``dsjc``).

Before anything is written, an XPT export is checked against the XPORT v5 limits
(names of at most 8 characters, labels of at most 40, ASCII only, text values of at
most 200 bytes; pyreadstat would truncate or mis-write silently): a dataset that breaks
one is refused with one line naming dataset, variable and fix (exit 2). The two files are
written together (:class:`efficacy._atomic.FileSet`): an interrupted run leaves the
previous pair.

``--out`` may not be the input folder (the export never writes over its input).

Exit codes: 0 written; 2 unusable input, an XPT limit broken, or usage.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import TYPE_CHECKING

from efficacy._atomic import FileSet, check_folder
from efficacy.cli._common import EXIT_OK, Progress, print_written, relay_warnings
from efficacy.errors import InputError, UsageError

if TYPE_CHECKING:
    from efficacy.trial import Trial

__all__ = ["EXTENSIONS", "HELP", "add_arguments", "run_export"]

HELP = "write the analysis datasets (ADSL, ADEFF) as SAS XPORT or Dataset-JSON"

#: ``--format`` -> file extension.
EXTENSIONS: dict[str, str] = {"xpt": "xpt", "json": "json", "ndjson": "ndjson", "dsjc": "dsjc"}
_ADAM_TYPES = (".xpt", ".csv", ".parquet")


def add_arguments(p: argparse.ArgumentParser) -> None:
    """Add the ``export`` arguments to `p`."""
    p.add_argument(
        "path",
        metavar="PATH",
        help="trial bundle folder (or its trial.toml), or a folder of ADaM datasets",
    )
    p.add_argument("--out", metavar="DIR", required=True, help="folder for the datasets")
    p.add_argument(
        "--format",
        choices=tuple(EXTENSIONS),
        default="xpt",
        help="xpt (SAS XPORT v5), or Dataset-JSON v1.1 as json, ndjson or dsjc "
        "(compressed NDJSON) (default: xpt)",
    )
    p.add_argument(
        "--protocol",
        metavar="ID|FILE",
        default=None,
        help="protocol whose analysis plan orders the endpoints (default: iso-efficacy-2025)",
    )
    p.add_argument(
        "--faceq-table",
        metavar="FILE",
        default=None,
        help="FACE-Q raw-sum -> Rasch CSV (default: the table the bundle names)",
    )


def _adam_files(folder: Path) -> tuple[Path, list[Path]] | None:
    """``adsl.*`` and the BDS datasets of an ADaM folder, or None if it has no ADSL."""
    files = sorted(p for p in folder.iterdir() if p.is_file() and p.suffix.lower() in _ADAM_TYPES)
    adsl = [p for p in files if p.stem.lower() == "adsl"]
    if not adsl:
        return None
    bds = [
        p for p in files if p.stem.lower() not in ("adsl", "adae") and p.stem.lower()[:2] == "ad"
    ]
    return adsl[0], bds


def read_input(path: str) -> Trial:
    """Read a bundle (read_trial) or an ADaM folder (read_adam), as `efficacy` does today."""
    from efficacy.io import read_adam, read_trial

    given = Path(path)
    if given.is_dir() and not (given / "trial.toml").exists():
        found = _adam_files(given)
        if found is None:
            raise InputError(
                f"{given}: neither a trial bundle (no trial.toml) nor an ADaM folder (no "
                "adsl.xpt, adsl.csv or adsl.parquet); give a bundle or a folder of ADaM datasets"
            )
        adsl, bds = found
        return read_adam(adsl, *bds)
    return read_trial(given)


def run_export(args: argparse.Namespace) -> int:
    """Run ``efficacy export``; return the exit code (0 written)."""
    out = check_folder(Path(args.out))  # before any work (and before the slow imports)
    given = Path(args.path)
    source = given if given.is_dir() else given.parent
    if out.resolve() == source.resolve():
        raise UsageError(
            f"--out {out}: is the input folder; choose another folder (the export never "
            "writes over its input)"
        )
    from efficacy.io.datasets import dataset_bytes
    from efficacy.io.export import analysis_datasets, export_problems

    with Progress(f"Exporting {args.path}"), relay_warnings():
        trial = read_input(args.path)
        datasets = analysis_datasets(trial, args.protocol, conversion=args.faceq_table)
    if args.format == "xpt":
        problems = export_problems(datasets)
        if problems:
            more = f" ({len(problems) - 1} more problems)" if len(problems) > 1 else ""
            raise InputError(
                f"cannot export as SAS XPORT v5: {problems[0]}{more}; or export as "
                "Dataset-JSON (--format json)"
            )
    ext = EXTENSIONS[args.format]
    with FileSet() as files:
        for name, data in datasets.items():
            payload = dataset_bytes(data.frame, data.metadata, args.format)
            files.add(out / f"{name.lower()}.{ext}", payload)
    print_written(files.targets, f"{args.format}")
    return EXIT_OK
