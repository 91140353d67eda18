"""Benchmark: ``analyze()`` of the sample bundles, this checkout against a baseline commit.

Usage::

    python benchmarks/bench_analyze_plumbing.py                 # against 3b9f61c, 3 rounds
    python benchmarks/bench_analyze_plumbing.py --base 3b9f61c --rounds 5 --repeat 3

The peer is the baseline commit (``git archive <base>`` into a temporary folder), run
in a subprocess exactly like this checkout; the two alternate round by round so that
the machine's load falls on both alike. Each subprocess reads the bundle afresh before
every timed call (a new ``Trial``: nothing memoised from an earlier call) and times
``analyze(trial)`` in CPU seconds (``time.process_time``, every thread), after one
warm-up call (imports, first-call costs). It also times the ``fit_mmrm`` calls made
inside ``analyze`` (the MMRMs themselves: design, optimiser, inference), so the
output shows what everything around the fits costs. Prints per bundle and checkout
the median CPU seconds of ``analyze``, of its ``fit_mmrm`` calls, of the rest, and the
ratio baseline / this checkout.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BUNDLES = ("sample_data/parallel_12wk", "sample_data/split_face_12wk")

#: Run inside each checkout (cwd = the checkout): prints one JSON line of timings.
_CHILD = r"""
import json, sys, time, warnings
warnings.simplefilter("ignore")
import efficacy
from pathlib import Path
assert Path(efficacy.__file__).resolve().is_relative_to(Path.cwd().resolve()), efficacy.__file__
import efficacy.analysis.models as models
bundle, repeat = sys.argv[1], int(sys.argv[2])
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
out = []
for _ in range(repeat):
    trial = efficacy.read_trial(bundle)
    spent[0] = 0.0
    t0 = time.process_time()
    efficacy.analyze(trial)
    out.append((time.process_time() - t0, spent[0]))
print(json.dumps(out))
"""


def _run(checkout: Path, bundle: Path, repeat: int) -> list[tuple[float, float]]:
    env = dict(os.environ, PYTHONPATH=str(checkout))
    done = subprocess.run(
        [sys.executable, "-c", _CHILD, str(bundle), str(repeat)],
        cwd=checkout,
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    return [tuple(x) for x in json.loads(done.stdout.strip().splitlines()[-1])]


def _baseline(commit: str, into: Path) -> Path:
    archive = into / "base.tar"
    with archive.open("wb") as fh:
        subprocess.run(["git", "archive", commit], cwd=ROOT, stdout=fh, check=True)
    dest = into / "base"
    with tarfile.open(archive) as tar:
        tar.extractall(dest, filter="data")
    return dest


def main() -> None:
    """Run the benchmark and print medians and ratios."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--base", default="3b9f61c", help="baseline commit (default 3b9f61c)")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--repeat", type=int, default=3, help="timed calls per subprocess")
    ap.add_argument("--bundle", action="append", help="bundle(s); default both samples")
    args = ap.parse_args()
    bundles = args.bundle or list(BUNDLES)
    with tempfile.TemporaryDirectory() as tmp:
        base = _baseline(args.base, Path(tmp))
        peers = {f"baseline {args.base}": base, "this checkout": ROOT}
        for b in bundles:
            bundle = (ROOT / b).resolve()
            got: dict[str, list[tuple[float, float]]] = {k: [] for k in peers}
            for _ in range(args.rounds):
                for name, checkout in peers.items():
                    got[name] += _run(checkout, bundle, args.repeat)
            load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
            print(f"{b}: {args.rounds} rounds x {args.repeat} calls; load {load:.2f}")
            med = {}
            for name, runs in got.items():
                whole = statistics.median(t for t, _ in runs)
                fits = statistics.median(f for _, f in runs)
                rest = statistics.median(t - f for t, f in runs)
                med[name] = (whole, rest)
                print(
                    f"  {name:<20} analyze {whole:6.3f} s   fit_mmrm {fits:6.3f} s   "
                    f"rest {rest:6.3f} s (CPU, medians)"
                )
            (bw, br), (tw, tr) = med.values()
            print(f"  ratio baseline / this: analyze {bw / tw:4.2f}x   rest {br / tr:4.2f}x")


if __name__ == "__main__":
    main()
