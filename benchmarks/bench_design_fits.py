"""Benchmark: one MMRM under three denominator-df methods, against a peer commit.

Usage::

    python benchmarks/bench_design_fits.py                  # against d12b5bb
    python benchmarks/bench_design_fits.py --peer d12b5bb --repeat 15 --rounds 3

A caller that fits one data set, formula and covariance structure under several df
methods (tests/mmrm/test_fit_r.py does, for Satterthwaite and both Kenward-Roger
variants of every REML case) optimises once: `DesignFits` keeps the engine's fit per
structure, method and control, and each df method only adds its inference. Timed, per
structure: ``DesignFits(fev_data, "FEV1 ~ RACE + SEX + ARMCD * AVISIT", ...)`` then
``.fit(structure, df=d)`` for ``d`` in satterthwaite, kenward-roger,
kenward-roger-linear (REML), in CPU seconds (``time.process_time``, median of
``--repeat`` calls after a warm-up), in this checkout and in the peer commit (``git
archive`` into a temporary folder, each run in a subprocess); the checkouts alternate
for ``--rounds`` rounds and the medians of the rounds' medians are compared.

Measured 2026-12-06 on the shared 2-core machine (load average 8-9), peer d12b5bb
(CPU seconds for the three fits, medians)::

    --repeat 9 --rounds 3     us 0.014 -> 0.012 (1.23x)   toeph 0.024 -> 0.015 (1.62x)
    --repeat 15 --rounds 3    us 0.015 -> 0.011 (1.39x)   toeph 0.027 -> 0.014 (1.96x)

``toeph`` gains more: a structure other than ``us`` is optimised from two starts.
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
from pathlib import Path

from _timing import ROOT, cpu_median, extract_commit, run_in_checkout

FORMULA = "FEV1 ~ RACE + SEX + ARMCD * AVISIT"
DFS = ("satterthwaite", "kenward-roger", "kenward-roger-linear")
STRUCTURES = ("us", "toeph")


def _worker(repeat: int) -> None:
    """Print the median CPU seconds of the three df fits per structure (JSON)."""
    from efficacy._examples import fev_data
    from efficacy.mmrm.fit import DesignFits

    data = fev_data()
    out = {}
    for structure in STRUCTURES:

        def run(structure: str = structure) -> None:
            fits = DesignFits(data, FORMULA, subject="USUBJID", visit="AVISIT")
            for df in DFS:
                fits.fit(structure, df=df)

        run()  # warm-up: imports, first-call costs
        out[structure] = cpu_median(run, repeat)
    print(json.dumps(out))


def main() -> None:
    """Run the benchmark in both checkouts and print medians and ratios."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--peer", default="d12b5bb", help="peer commit (default d12b5bb)")
    parser.add_argument("--repeat", type=int, default=9, help="timed calls per round")
    parser.add_argument("--rounds", type=int, default=3, help="alternating rounds")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        peer = extract_commit(args.peer, Path(tmp) / "peer")
        got: dict[str, list[dict[str, float]]] = {"peer": [], "this": []}
        for _ in range(args.rounds):
            for name, root in (("peer", peer), ("this", ROOT)):
                got[name].append(
                    run_in_checkout(root, "bench_design_fits", f"_worker({args.repeat})")
                )
    print(f"{len(DFS)} df methods per structure; peer {args.peer} -> this checkout")
    for structure in STRUCTURES:
        before = statistics.median(r[structure] for r in got["peer"])
        after = statistics.median(r[structure] for r in got["this"])
        print(f"  {structure:<7} {before:.3f} -> {after:.3f}  ({before / after:.2f}x)")


if __name__ == "__main__":
    main()
