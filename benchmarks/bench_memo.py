"""Benchmark: what the per-trial memos save in analyze() and build_report().

Usage::

    PYTHONPATH=. python benchmarks/bench_memo.py  # median of 5 (this checkout)
    python benchmarks/bench_memo.py --repeat 9 --bundle sample_data/split_face_12wk

A trial memoises its derived views (``Trial.subjects_unique``, ``Trial.allocations``,
the analysis populations, the CONSORT units and flow) in its instance ``__dict__``.
The peer, in the same process, is the same call with the memo emptied before each run
(what every call paid before the memos: each view recomputed by each consumer). Prints
median CPU seconds (``time.process_time``) of both and their ratio, for ``analyze``,
``build_report`` (validation inside, as ``build_report(trial, analysis=r)`` does) and
``consort_flow``; and, for one fitted MMRM, ``lsmeans`` + ``contrast`` of the same
factors with the shared LS-means grid against rebuilding the grid each time.
"""

from __future__ import annotations

import argparse
import warnings
from pathlib import Path

from _timing import cpu_median

import efficacy
from efficacy.analysis import analyze
from efficacy.consort import consort_flow
from efficacy.report.model import build_report

ROOT = Path(__file__).resolve().parents[1]


def _row(what: str, warm: float, cold: float) -> None:
    print(f"{what:<34} memo {warm:7.3f} s   no memo {cold:7.3f} s   ratio {cold / warm:5.2f}")


def main() -> None:
    """Run the benchmark and print medians and ratios."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--bundle", default=str(ROOT / "sample_data" / "parallel_12wk"))
    ap.add_argument("--repeat", type=int, default=5)
    args = ap.parse_args()
    warnings.simplefilter("ignore")
    trial = efficacy.read_trial(args.bundle)
    protocol = efficacy.load_protocol("iso-efficacy-2025")

    def forget() -> None:
        trial.__dict__.pop("_memos", None)

    result = analyze(trial, protocol)
    for name, fn in [
        ("analyze", lambda: analyze(trial, protocol)),
        (
            "build_report (validation inside)",
            lambda: build_report(trial, protocol, analysis=result),
        ),
        ("consort_flow", lambda: consort_flow(trial, protocol)),
    ]:
        fn()
        _row(name, cpu_median(fn, args.repeat), cpu_median(fn, args.repeat, forget))

    fit = next(iter(result.fits.values()))
    specs, by = ("arm", "visit") if trial.manifest.design == "parallel" else ("visit", None)

    def both() -> None:
        fit.lsmeans(specs, by=by)
        if by is not None:
            fit.contrast(specs, by=by)

    _row(
        "lsmeans + contrast (one fit)",
        cpu_median(both, args.repeat * 4),
        cpu_median(both, args.repeat * 4, lambda: fit.__dict__.pop("_grids", None)),
    )


if __name__ == "__main__":
    main()
