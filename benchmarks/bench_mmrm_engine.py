"""Benchmark of the MMRM engine (numerical core only, arrays built beforehand).

Run from the repository root::

    python benchmarks/bench_mmrm_engine.py [--repeat 30]

Prints the median wall time of repeated fits and the ratio to R mmrm's medians, which
were measured side by side on this project's 2-core machines (R 4.2.2, mmrm 0.3.18;
tests/reference/mmrm/README.md). The R numbers include mmrm's formula handling; the
end-to-end comparison (formula -> result) is ``benchmarks/bench_mmrm.py``.

Cases
-----
fev us REML + Satterthwaite
    ``FEV1 ~ RACE + SEX + ARMCD * AVISIT + us(AVISIT | USUBJID)``: fit plus the
    Satterthwaite df of all 11 coefficients (R mmrm: 0.040 s).
fev us REML + Kenward-Roger
    the same model, fit plus the KR adjusted covariance and the df of all 11
    coefficients (R mmrm ``method = "Kenward-Roger"``: 0.066 s).
bcva us REML
    ``BCVA_CHG ~ BCVA_BL + RACE + ARMCD * AVISIT + us(AVISIT | USUBJID)``: 1000
    subjects, 10 visits, 8605 rows, 55 covariance parameters (R mmrm: 2.33 s).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from efficacy.mmrm.ddf import kenward_roger, satterthwaite  # noqa: E402
from efficacy.mmrm.engine import fit_engine  # noqa: E402
from tests.mmrm.engine_data import bcva_arrays, fev_arrays  # noqa: E402

R_MMRM = {"fev_sat": 0.040, "fev_kr": 0.066, "bcva": 2.33}


def _median_time(fn: Callable[[], object], repeat: int) -> float:
    fn()  # warm-up (imports, BLAS start-up)
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=30)
    args = parser.parse_args()
    fev, bcva = fev_arrays("main"), bcva_arrays()
    eye = np.eye(fev.X.shape[1])

    def fev_sat() -> None:
        fit = fit_engine(fev, "us", "reml")
        for row in eye:
            satterthwaite(fit, fev, row)

    def fev_kr() -> None:
        fit = fit_engine(fev, "us", "reml")
        kr = kenward_roger(fit, fev, linear=True)
        for row in eye:
            kr.test(row)

    def bcva_fit() -> None:
        fit_engine(bcva, "us", "reml")

    cases = [
        ("fev us REML + Satterthwaite (11 df)", fev_sat, "fev_sat", args.repeat),
        ("fev us REML + Kenward-Roger (11 df)", fev_kr, "fev_kr", args.repeat),
        ("bcva us REML (1000 x 10, 55 params)", bcva_fit, "bcva", max(5, args.repeat // 3)),
    ]
    print(f"{'case':40s} {'median s':>10s} {'R mmrm s':>9s} {'speed-up':>9s}")
    for label, fn, key, rep in cases:
        med = _median_time(fn, rep)
        print(f"{label:40s} {med:10.4f} {R_MMRM[key]:9.3f} {R_MMRM[key] / med:8.1f}x")


if __name__ == "__main__":
    main()
