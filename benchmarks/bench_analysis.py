"""Benchmark: the whole analysis plan (efficacy analyze) on the sample parallel trial.

Usage::

    python benchmarks/bench_analysis.py               # median of 3
    python benchmarks/bench_analysis.py --repeat 5 --bundle sample_data/parallel_12wk

Prints the median seconds of ``analyze(trial)`` with the built-in plan (13 endpoints x
ITT and per-protocol = 26 MMRM fits, unstructured covariance, Kenward-Roger df; Hedges'
g; Holm; the tipping point with 50 imputations in both populations), and, in the same
process, of its parts: validation, scoring/derivation, the 26 ``fit_mmrm`` calls alone
on the prepared frames (the peer: what a statistician's own loop of fits costs), and the
tipping-point analyses alone. The ratio plan / fits is the price of everything around
the fits. Goal: the whole plan in under 10 s on the 2-core machine.
"""

from __future__ import annotations

import argparse
import os
import statistics
import time
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

import efficacy
from efficacy.analysis import analyze
from efficacy.analysis.data import model_data
from efficacy.analysis.models import formula_for
from efficacy.analysis.plan import resolve_plan
from efficacy.analysis.tipping import tipping_point
from efficacy.instruments import score_trial

ROOT = Path(__file__).resolve().parents[1]


def _median(fn: Callable[[], Any], repeat: int) -> tuple[float, float]:
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times), min(times)


def main() -> None:
    """Run the benchmark and print medians."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--bundle", default=str(ROOT / "sample_data" / "parallel_12wk"))
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    warnings.simplefilter("ignore")
    trial = efficacy.read_trial(args.bundle)
    protocol = efficacy.load_protocol("iso-efficacy-2025")
    plan = resolve_plan(trial, protocol)
    derived = score_trial(trial).endpoints
    frames = [
        model_data(trial, derived, ep, pop, plan)
        for pop in plan.populations
        for ep, _ in plan.endpoints
    ]
    formula = formula_for(plan, ())
    m = plan.model

    def fits() -> None:
        for d in frames:
            efficacy.fit_mmrm(
                d.frame,
                formula,
                subject="subject_id",
                visit="visit",
                covariance=m["covariance"],
                method=m["method"],
                df=m["df"],
            )

    def tipping() -> None:
        for d in frames[:: len(plan.endpoints)]:  # the primary endpoint in each population
            tipping_point(d, plan, plan.primary, "x")

    analyze(trial)  # warm-up: imports, first-call costs
    rows = [
        ("whole plan: analyze(trial)", _median(lambda: analyze(trial), args.repeat)),
        ("  validation", _median(lambda: efficacy.validate(trial, protocol), args.repeat)),
        ("  scoring + derivation", _median(lambda: score_trial(trial), args.repeat)),
        (f"  {len(frames)} fit_mmrm calls alone (peer)", _median(fits, args.repeat)),
        ("  tipping points (50 imputations x 2)", _median(tipping, args.repeat)),
    ]
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    print(f"bundle {args.bundle}; repeat {args.repeat}; load average {load:.2f}")
    for name, (med, low) in rows:
        print(f"{name:<44} median {med:7.3f} s   min {low:7.3f} s")
    whole, peer = rows[0][1][0], rows[3][1][0]
    print(f"ratio whole plan / fits alone: {whole / peer:.2f}   (goal: whole plan < 10 s)")


if __name__ == "__main__":
    main()
