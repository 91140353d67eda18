"""Benchmark: validating the CDISC pilot ADaM folder against reading it (issue 16).

Usage::

    python benchmarks/bench_adam_validate.py              # median of 7
    python benchmarks/bench_adam_validate.py --repeat 11 --folder tests/reference/adam/pilot

Measures, in one process and interleaved run by run (so machine load hits both alike):

* read: ``read_input(folder)``: the four datasets (ADSL, ADCIBC as XPT; ADADAS, ADAE
  as compressed Dataset-JSON) read and mapped onto a Trial (ABLFL, BASE/CHG, window
  checks, record selection);
* validate: ``validate(trial)`` on that trial (every rule of iso-efficacy-2025, the
  findings told in ADaM terms);
* read + validate: what ``efficacy validate FOLDER`` does.

Prints the medians and the ratios validate / read and (read + validate) / read. Goal
(issue 16): validating costs at most 3x reading.
"""

from __future__ import annotations

import argparse
import statistics
import time
import warnings
from pathlib import Path

from efficacy.io import read_input
from efficacy.validation import validate

ROOT = Path(__file__).resolve().parents[1]


def main() -> None:
    """Run the benchmark and print medians and ratios."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--folder", default=str(ROOT / "tests" / "reference" / "adam" / "pilot"))
    ap.add_argument("--repeat", type=int, default=7)
    args = ap.parse_args()
    warnings.simplefilter("ignore")
    validate(read_input(args.folder))  # warm up: imports, protocol and catalogue caches
    reads, checks = [], []
    for _ in range(args.repeat):
        t0 = time.perf_counter()
        trial = read_input(args.folder)
        t1 = time.perf_counter()
        report = validate(trial)
        t2 = time.perf_counter()
        reads.append(t1 - t0)
        checks.append(t2 - t1)
    read, check = statistics.median(reads), statistics.median(checks)
    both = statistics.median(r + c for r, c in zip(reads, checks, strict=True))
    print(f"folder: {args.folder} ({len(trial.measurements)} BDS records, {report.counts})")
    print(f"read            median {read:.3f} s")
    print(f"validate        median {check:.3f} s")
    print(f"read + validate median {both:.3f} s")
    print(f"validate / read          = {check / read:.2f}x")
    print(f"(read + validate) / read = {both / read:.2f}x   (goal: <= 3x)")


if __name__ == "__main__":
    main()
