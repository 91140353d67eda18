"""Benchmark: ``analyze()`` of the sample bundles and small trials, against a baseline commit.

Usage::

    python benchmarks/bench_analyze_plumbing.py                 # against 6ff67bd, 9 calls
    python benchmarks/bench_analyze_plumbing.py --base 6ff67bd --calls 15 --small 4 6 16
    python benchmarks/bench_analyze_plumbing.py --with-validation   # time validate() too
    python benchmarks/bench_analyze_plumbing.py --base 0433ae2 --small --blas-threads 1

The peer is the baseline commit (``git archive <base>`` into a temporary folder), run
in a subprocess exactly like this checkout; both processes stay up and the timed calls
alternate between them one by one, so that the machine's load falls on both alike.
Bundles: the two clean samples and, with ``--small`` (default 6), each cut to its first
`n` randomised subjects (tests/analysis/small_trials.py, loaded by path; both checkouts
read the same cut bundle). Each process reads the bundle afresh before every timed call
(a new ``Trial``: nothing memoised from an earlier call), validates it untimed and times
``analyze(trial, validation=report)`` in CPU seconds (``time.process_time``, every
thread), after one warm-up call (imports, first-call costs); ``--with-validation``
times ``analyze(trial)``, its validation included. It also times the MMRM fits made
inside ``analyze`` (``efficacy.analysis.models._try_fits``: every structure of the
declared order tried, design, optimiser, inference), so the output shows what
everything around the fits costs. Prints per bundle and checkout the median CPU seconds
of ``analyze`` (and the minimum), of its fits, of the rest, and the ratios
baseline / this checkout, then the ratio of the summed medians.

Measured 2026-12-06 on the shared 2-core machine (load average 5-6), ``--calls 9
--small 6 16``, baseline 6ff67bd against wip-anlz2 (CPU seconds, medians; validation
untimed)::

    parallel_12wk           analyze 0.995 -> 0.823 (1.21x; minima 1.17x)  rest 1.31x
    split_face_12wk         analyze 0.592 -> 0.433 (1.37x; minima 1.43x)  rest 1.47x
    parallel_12wk cut to 6  analyze 1.385 -> 1.176 (1.18x; minima 1.21x)  rest 1.35x
    split_face cut to 6     analyze 0.903 -> 0.705 (1.28x; minima 1.37x)  rest 1.37x
    parallel_12wk cut to 16 analyze 0.666 -> 0.573 (1.16x; minima 1.26x)  rest 1.22x
    split_face cut to 16    analyze 0.633 -> 0.564 (1.12x; minima 1.21x)  rest 1.23x
    all bundles: summed medians 5.174 s -> 4.275 s (1.21x)

Measured 2026-12-06 (session 5), ``--base d12b5bb --calls 9 --small 6 16``, load
average 4-8, wip-mmrm (multiplicity on the result rows, contrasts-only subgroup refits,
an LS-means grid without its cells frame, pd.isna masks)::

    parallel_12wk           analyze 0.804 -> 0.753 (1.07x; minima 1.00x)  rest 1.18x
    split_face_12wk         analyze 0.444 -> 0.428 (1.04x; minima 1.03x)  rest 1.07x
    parallel_12wk cut to 6  analyze 1.155 -> 1.052 (1.10x; minima 1.16x)  rest 1.28x
    split_face cut to 6     analyze 0.557 -> 0.516 (1.08x; minima 1.16x)  rest 1.10x
    parallel_12wk cut to 16 analyze 0.405 -> 0.356 (1.14x; minima 1.10x)  rest 1.20x
    split_face cut to 16    analyze 0.438 -> 0.347 (1.26x; minima 1.21x)  rest 1.37x
    all bundles: summed medians 3.803 s -> 3.451 s (1.10x)

(``fits`` here include the subgroup refits, whose LS means are no longer computed.)

Measured 2026-12-06 (session 6), ``--base 0433ae2 --calls 9 --small --blas-threads 1``
(one BLAS thread, as tests/conftest.py sets it for the suite), load average 4-5,
wip-analyze (memoised population and allocation views, Python instead of ``isin``
with Arrow scalars, site allocation and intercurrent events without groupby, the
Kenward-Roger sandwiches and einsum paths found once per fit, the subgroups'
subjects made unique once)::

    parallel_12wk           analyze 0.572 -> 0.482 (1.19x; minima 1.15x)  rest 1.21x
    split_face_12wk         analyze 0.376 -> 0.295 (1.27x; minima 1.28x)  rest 1.31x
    all bundles: summed medians 0.948 s -> 0.777 s (1.22x)

Without ``--blas-threads`` (OpenBLAS's default threads, as a user's ``efficacy
analyze``), ``--calls 7``: parallel_12wk 0.655 -> 0.475 s (1.38x; its fits 0.297 ->
0.174 s: the aliasing QR of a 460 x 25 design now runs under the fit's one-thread
limit, where two threads spun 30-40 ms per QR), split_face_12wk 0.351 -> 0.344 s
(1.02x; minima 0.79x: a noisy pair).

``rest`` still holds the scoring of the trial (about 0.1 s, another stage's); the fits
of the small trials are mostly the optimiser's iterations (other structures tried
after the declared one fails).
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

from _timing import ROOT, extract_commit

BUNDLES = ("sample_data/parallel_12wk", "sample_data/split_face_12wk")


def _cut(bundle: str, n: int, into: Path) -> Path:
    """Write `bundle` cut to its first `n` randomised subjects into `into` (returned)."""
    path = ROOT / "tests" / "analysis" / "small_trials.py"
    spec = importlib.util.spec_from_file_location("_small_trials", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    module.cut_bundle(ROOT / bundle, into, n)
    return into


#: Run inside each checkout (cwd = the checkout): prints one JSON line of timings.
_CHILD = r"""
import json, sys, time, warnings
warnings.simplefilter("ignore")
import efficacy
from pathlib import Path
assert Path(efficacy.__file__).resolve().is_relative_to(Path.cwd().resolve()), efficacy.__file__
import efficacy.analysis.models as models
import efficacy.analysis.subgroups as subgroups
bundle, validated = sys.argv[1], sys.argv[2] == "validated"
spent = [0.0]
fit = models._try_fits  # every MMRM of analyze: one structure after another until one fits
def timed_fit(*a, **k):
    t0 = time.process_time()
    try:
        return fit(*a, **k)
    finally:
        spent[0] += time.process_time() - t0
models._try_fits = subgroups._try_fits = timed_fit
efficacy.analyze(efficacy.read_trial(bundle))  # warm-up
print("ready", flush=True)
for _ in sys.stdin:  # one timed call per line
    trial = efficacy.read_trial(bundle)
    report = efficacy.validate(trial) if validated else None
    spent[0] = 0.0
    t0 = time.process_time()
    efficacy.analyze(trial, validation=report)
    print(json.dumps([time.process_time() - t0, spent[0]]), flush=True)
"""


class _Child:
    """A checkout's benchmark process: `run` times one ``analyze`` call in it."""

    def __init__(
        self, checkout: Path, bundle: Path, validated: bool, threads: int | None = None
    ) -> None:
        env = dict(os.environ, PYTHONPATH=str(checkout))
        if threads is not None:  # as tests/conftest.py sets it for the suite
            env["OPENBLAS_NUM_THREADS"] = str(threads)
        how = "validated" if validated else "whole"
        self.proc = subprocess.Popen(
            [sys.executable, "-c", _CHILD, str(bundle), how],
            cwd=checkout,
            env=env,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        assert self.proc.stdout is not None and self.proc.stdout.readline().strip() == "ready"

    def run(self) -> tuple[float, float]:
        assert self.proc.stdin is not None and self.proc.stdout is not None
        self.proc.stdin.write("run\n")
        self.proc.stdin.flush()
        whole, fits = json.loads(self.proc.stdout.readline())
        return float(whole), float(fits)

    def close(self) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.close()
        self.proc.wait()


def main() -> None:
    """Run the benchmark and print medians and ratios."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--base", default="6ff67bd", help="baseline commit (default 6ff67bd)")
    ap.add_argument("--calls", type=int, default=9, help="timed calls per checkout")
    ap.add_argument("--bundle", action="append", help="bundle(s); default both samples")
    ap.add_argument("--small", type=int, nargs="*", default=[6], help="cut sizes (default 6)")
    ap.add_argument("--with-validation", action="store_true", help="time validate() too")
    ap.add_argument(
        "--blas-threads", type=int, help="OPENBLAS_NUM_THREADS of both children (the suite: 1)"
    )
    args = ap.parse_args()
    sums = {"baseline": 0.0, "this": 0.0}
    with tempfile.TemporaryDirectory() as tmp:
        base = extract_commit(args.base, Path(tmp) / "base")
        peers = {f"baseline {args.base}": base, "this checkout": ROOT}
        samples = args.bundle or list(BUNDLES)
        bundles = [(b, (ROOT / b).resolve()) for b in samples]
        for n in args.small:
            for b in samples:
                cut = _cut(b, n, Path(tmp) / f"{Path(b).name}_{n}")
                bundles.append((f"{b} cut to {n}", cut))
        for label, bundle in bundles:
            children = {
                name: _Child(checkout, bundle, not args.with_validation, args.blas_threads)
                for name, checkout in peers.items()
            }
            got: dict[str, list[tuple[float, float]]] = {k: [] for k in peers}
            for _ in range(args.calls):  # alternate call by call: load falls on both alike
                for name, child in children.items():
                    got[name].append(child.run())
            for child in children.values():
                child.close()
            load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
            print(f"{label}: {args.calls} alternating calls each; load {load:.2f}")
            med = {}
            for name, runs in got.items():
                whole = statistics.median(t for t, _ in runs)
                fits = statistics.median(f for _, f in runs)
                rest = statistics.median(t - f for t, f in runs)
                low = min(t for t, _ in runs)
                med[name] = (whole, rest, low)
                print(
                    f"  {name:<20} analyze {whole:6.3f} s (min {low:6.3f})   fits "
                    f"{fits:6.3f} s   rest {rest:6.3f} s (CPU, medians)"
                )
            (bw, br, bl), (tw, tr, tl) = med.values()
            sums["baseline"] += bw
            sums["this"] += tw
            print(
                f"  ratio baseline / this: analyze {bw / tw:4.2f}x (of minima {bl / tl:4.2f}x)"
                f"   rest {br / tr:4.2f}x"
            )
    print(
        f"all bundles: summed medians {sums['baseline']:.3f} s -> {sums['this']:.3f} s "
        f"({sums['baseline'] / sums['this']:4.2f}x)"
    )


if __name__ == "__main__":
    main()
