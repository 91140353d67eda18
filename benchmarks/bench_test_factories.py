"""Benchmark: the test suite's data factories, here and in a peer commit.

Usage::

    python benchmarks/bench_test_factories.py                  # median of 21, peer d12b5bb
    python benchmarks/bench_test_factories.py --repeat 51 --peer d12b5bb

The validation tests build hundreds of tiny trials (tests/validation/trial_factory.py) and
the MMRM tests load fev_data, bcva_data and the R reference data sets hundreds of times
(tests/mmrm). Each call hands its caller a fresh frame; what differs between commits is
only how that frame is made. Prints, per call, the median process CPU seconds
(``time.process_time``) in this checkout and in the peer commit (unpacked with
``git archive`` into a temporary folder and run in a subprocess), and the ratio
peer / ours. The first call of each (which builds what later calls copy) is made before
timing, as the suite makes it once per worker.
"""

from __future__ import annotations

import argparse
import json
import tempfile
from pathlib import Path

from _timing import ROOT, cpu_median, extract_commit, run_in_checkout

CALLS = {
    "make_trial()": "tv.make_trial()",
    "make_trial(design='split_face')": "tv.make_trial(design='split_face')",
    "clean_tables()": "tv.clean_tables()",
    "mmrm load_fev()": "mc.load_fev()",
    "mmrm fev_arrays('main')": "ed.fev_arrays('main')",
    "test_fit_r load_data(case)": "fr.load_data(fr.case('fev-main-us-reml'))",
}


def _worker(repeat: int) -> None:
    """Print ``{call: median CPU seconds}`` as JSON (run from a checkout's root)."""
    import tests.mmrm.conftest as mc
    import tests.mmrm.engine_data as ed
    import tests.mmrm.test_fit_r as fr
    import tests.validation.trial_factory as tv

    names = {"tv": tv, "mc": mc, "ed": ed, "fr": fr}
    out = {}
    for label, expr in CALLS.items():
        call = eval(f"lambda: {expr}", names)  # the fixed expressions of CALLS
        call()  # the first call builds what later calls copy
        out[label] = cpu_median(call, repeat)
    print(json.dumps(out))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=21)
    parser.add_argument("--peer", default="d12b5bb")
    args = parser.parse_args()
    ours = run_in_checkout(ROOT, "bench_test_factories", f"_worker({args.repeat})")
    with tempfile.TemporaryDirectory() as tmp:
        peer_root = extract_commit(args.peer, Path(tmp))
        theirs = run_in_checkout(peer_root, "bench_test_factories", f"_worker({args.repeat})")
    print(f"median CPU seconds of {args.repeat} calls; peer {args.peer}")
    print(f"{'call':34s} {'ours':>10s} {'peer':>10s} {'peer/ours':>9s}")
    for label in CALLS:
        a, b = ours[label], theirs[label]
        print(f"{label:34s} {a:10.5f} {b:10.5f} {b / a:9.1f}")


if __name__ == "__main__":
    main()
