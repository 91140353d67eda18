"""Benchmark: `analyze` on the sample trials cut to a few subjects (issue 11).

Usage::

    python benchmarks/bench_small_trials.py                  # sizes 4 6 16, median of 3
    python benchmarks/bench_small_trials.py --sizes 6 --repeat 5
    cd /work/main && python /path/to/benchmarks/bench_small_trials.py   # another checkout

Cuts sample_data/parallel_12wk and split_face_12wk to the first `n` randomised subjects
(tests/analysis/small_trials.py, loaded by path: the bundles stay valid) and prints the
median and minimum seconds of ``analyze(trial)`` for each (after one warm-up analysis)
and its ratio to the peer measured in the same process: ``analyze`` of the full
120-subject parallel sample, which a small trial should not exceed (before issue 11 a
6-subject trial took minutes: every unstructured fit without a maximum went through
four optimisers, Nelder-Mead with 400 k iterations). The ``efficacy`` imported is
whichever the interpreter finds (the editable install, or ``PYTHONPATH``); its path is
printed.
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import statistics
import tempfile
import time
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

import efficacy

ROOT = Path(__file__).resolve().parents[1]
SAMPLES = ROOT / "sample_data"


def _cutter() -> Callable[..., list[str]]:
    path = ROOT / "tests" / "analysis" / "small_trials.py"
    spec = importlib.util.spec_from_file_location("_small_trials", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.cut_bundle


def _median(fn: Callable[[], Any], repeat: int) -> tuple[float, float, Any]:
    times, out = [], None
    for _ in range(repeat):
        t0 = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times), min(times), out


def main() -> None:
    """Cut the bundles, time `analyze` on each and on the full parallel sample."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", type=int, nargs="+", default=[4, 6, 16])
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    warnings.simplefilter("ignore")
    cut = _cutter()
    full = efficacy.read_trial(SAMPLES / "parallel_12wk")
    efficacy.analyze(full)  # warm-up: imports and first-call costs
    peer = _median(lambda: efficacy.analyze(full), args.repeat)
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for name in ("parallel_12wk", "split_face_12wk"):
            for n in args.sizes:
                folder = Path(tmp) / f"{name}_{n}"
                cut(SAMPLES / name, folder, n)
                trial = efficacy.read_trial(folder)
                med, low, res = _median(lambda t=trial: efficacy.analyze(t), args.repeat)
                label = f"{name} cut to {n} ({len(res.estimates)} rows, {len(res.skipped)} skipped)"
                rows.append((label, med, low))
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    print(f"efficacy from {Path(efficacy.__file__).parent}; repeat {args.repeat}; load {load:.2f}")
    for label, med, low in rows:
        print(f"{label:<58} median {med:8.3f} s  min {low:8.3f} s  ratio {med / peer[0]:6.2f}")
    peer_label = "peer: parallel_12wk, all 120 subjects"
    print(f"{peer_label:<58} median {peer[0]:8.3f} s  min {peer[1]:8.3f} s")


if __name__ == "__main__":
    main()
