"""Benchmark: ``analyze()`` of the sample bundles, this checkout against a baseline commit.

Usage::

    python benchmarks/bench_analyze_plumbing.py                 # against 3b9f61c, 9 calls
    python benchmarks/bench_analyze_plumbing.py --base 3b9f61c --calls 15

The peer is the baseline commit (``git archive <base>`` into a temporary folder), run
in a subprocess exactly like this checkout; both processes stay up and the timed calls
alternate between them one by one, so that the machine's load falls on both alike.
Each process reads the bundle afresh before every timed call (a new ``Trial``: nothing
memoised from an earlier call) and times ``analyze(trial)`` in CPU seconds
(``time.process_time``, every thread), after one warm-up call (imports, first-call
costs). It also times the ``fit_mmrm`` calls made
inside ``analyze`` (the MMRMs themselves: design, optimiser, inference), so the
output shows what everything around the fits costs. Prints per bundle and checkout
the median CPU seconds of ``analyze`` (and the minimum), of its ``fit_mmrm`` calls, of
the rest, and the ratios baseline / this checkout.

Measured 2026-12-06 on the shared 2-core machine (load average about 8), ``--calls 9``,
baseline 3b9f61c against wip-anlz (CPU seconds, medians)::

    parallel_12wk    analyze 1.572 -> 1.227 (1.28x; minima 1.29x)  rest 1.217 -> 0.869 (1.40x)
    split_face_12wk  analyze 1.815 -> 1.031 (1.76x; minima 1.66x)  rest 1.614 -> 0.841 (1.92x)

``fit_mmrm`` (0.36 s and 0.18-0.21 s) is the same in both; ``rest`` still holds the
validation (about 0.12 s) and the scoring (about 0.10 s) of the trial.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

from _timing import ROOT, extract_commit

BUNDLES = ("sample_data/parallel_12wk", "sample_data/split_face_12wk")

#: Run inside each checkout (cwd = the checkout): prints one JSON line of timings.
_CHILD = r"""
import json, sys, time, warnings
warnings.simplefilter("ignore")
import efficacy
from pathlib import Path
assert Path(efficacy.__file__).resolve().is_relative_to(Path.cwd().resolve()), efficacy.__file__
import efficacy.analysis.models as models
bundle = sys.argv[1]
spent = [0.0]
fit = models.fit_mmrm
def timed_fit(*a, **k):
    t0 = time.process_time()
    try:
        return fit(*a, **k)
    finally:
        spent[0] += time.process_time() - t0
models.fit_mmrm = timed_fit
efficacy.analyze(efficacy.read_trial(bundle))  # warm-up
print("ready", flush=True)
for _ in sys.stdin:  # one timed call per line
    trial = efficacy.read_trial(bundle)
    spent[0] = 0.0
    t0 = time.process_time()
    efficacy.analyze(trial)
    print(json.dumps([time.process_time() - t0, spent[0]]), flush=True)
"""


class _Child:
    """A checkout's benchmark process: `run` times one ``analyze`` call in it."""

    def __init__(self, checkout: Path, bundle: Path) -> None:
        env = dict(os.environ, PYTHONPATH=str(checkout))
        self.proc = subprocess.Popen(
            [sys.executable, "-c", _CHILD, str(bundle)],
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
    ap.add_argument("--base", default="3b9f61c", help="baseline commit (default 3b9f61c)")
    ap.add_argument("--calls", type=int, default=9, help="timed calls per checkout")
    ap.add_argument("--bundle", action="append", help="bundle(s); default both samples")
    args = ap.parse_args()
    bundles = args.bundle or list(BUNDLES)
    with tempfile.TemporaryDirectory() as tmp:
        base = extract_commit(args.base, Path(tmp) / "base")
        peers = {f"baseline {args.base}": base, "this checkout": ROOT}
        for b in bundles:
            bundle = (ROOT / b).resolve()
            children = {name: _Child(checkout, bundle) for name, checkout in peers.items()}
            got: dict[str, list[tuple[float, float]]] = {k: [] for k in peers}
            for _ in range(args.calls):  # alternate call by call: load falls on both alike
                for name, child in children.items():
                    got[name].append(child.run())
            for child in children.values():
                child.close()
            load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
            print(f"{b}: {args.calls} alternating calls each; load {load:.2f}")
            med = {}
            for name, runs in got.items():
                whole = statistics.median(t for t, _ in runs)
                fits = statistics.median(f for _, f in runs)
                rest = statistics.median(t - f for t, f in runs)
                low = min(t for t, _ in runs)
                med[name] = (whole, rest, low)
                print(
                    f"  {name:<20} analyze {whole:6.3f} s (min {low:6.3f})   fit_mmrm "
                    f"{fits:6.3f} s   rest {rest:6.3f} s (CPU, medians)"
                )
            (bw, br, bl), (tw, tr, tl) = med.values()
            print(
                f"  ratio baseline / this: analyze {bw / tw:4.2f}x (of minima {bl / tl:4.2f}x)"
                f"   rest {br / tr:4.2f}x"
            )


if __name__ == "__main__":
    main()
