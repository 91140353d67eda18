"""Benchmark: PRO scoring, measurement preparation and derivation (efficacy score).

Usage::

    python benchmarks/bench_scoring.py                  # 100k measurement rows, median of 3
    python benchmarks/bench_scoring.py --sizes 100000 1000000 --repeat 3

Per size, prints the median seconds of each stage of ``score_trial`` (Skindex-16,
FACE-Q with the synthetic conversion table, ``prepare_measurements``,
``derive_endpoints``) and of a *peer* run in the same process: the plain pandas code a
statistician would write for the same numbers without the checks (Skindex-16 domain
means by ``groupby().agg`` with the 50% rule; change from baseline by merging the W0
value). The ratio ours / peer is the price of the reasons, structural checks and
replicate/derivation logic. Both give the same numbers on clean data (asserted).

Bundles come from ``efficacy.sim.simulate_parallel`` (85 measurement rows per
completer), written as CSV to a temporary folder and read with ``read_trial``.
"""

from __future__ import annotations

import argparse
import math
import statistics
import tempfile
import time
import warnings
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd

from efficacy.instruments import (
    UnconvertedScoreWarning,
    derive_endpoints,
    load_faceq_conversion,
    prepare_measurements,
    score_faceq,
    score_skindex16,
)
from efficacy.io import read_trial
from efficacy.sim import simulate_parallel, write_bundle

TABLE = (
    Path(__file__).parents[1] / "tests" / "reference" / "faceq" / "synthetic_linear_conversion.csv"
)
DOMAINS = (
    {i: "symptoms" for i in range(1, 5)}
    | {i: "emotions" for i in range(5, 12)}
    | {i: "functioning" for i in range(12, 17)}
)


def peer_skindex(p: pd.DataFrame) -> pd.DataFrame:
    s = p[p["instrument"] == "skindex16"].assign(domain=lambda f: f["item"].map(DOMAINS))
    g = s.groupby(["subject_id", "visit", "domain"])["response"].agg(["mean", "count"])
    size = g.index.get_level_values("domain").map({"symptoms": 4, "emotions": 7, "functioning": 5})
    return (g["mean"] * 100 / 6).where(g["count"] >= np.ceil(0.5 * size.to_numpy()))


def peer_change(v: pd.DataFrame) -> pd.Series:
    key = ["subject_id", "endpoint", "body_site"]
    base = v[v["visit"] == "W0"][[*key, "value"]].rename(columns={"value": "baseline"})
    m = v.merge(base, on=key, how="left")
    return m["value"] - m["baseline"]


def median_time(fn: Callable[[], object], repeat: int) -> float:
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def run(rows: int, repeat: int) -> None:
    n = 4 * math.ceil(rows / 85 / 0.97 / 4)
    with tempfile.TemporaryDirectory() as tmp:
        write_bundle(simulate_parallel(2025, n, dropout_rate=0.05), Path(tmp))
        trial = read_trial(tmp)
    m, p = trial.measurements, trial.pro_responses
    table = load_faceq_conversion(TABLE)
    values = prepare_measurements(m)
    warnings.simplefilter("ignore", UnconvertedScoreWarning)
    ours = score_skindex16(p).set_index(["subject_id", "visit", "scale"])["score"]
    peer = peer_skindex(p)
    peer = peer.reindex(pd.MultiIndex.from_tuples(list(ours.index)))
    np.testing.assert_allclose(ours.to_numpy(float), peer.to_numpy(float), rtol=1e-12)
    stages = {
        "score_skindex16": lambda: score_skindex16(p),
        "score_faceq": lambda: score_faceq(p, conversion=table),
        "prepare_measurements": lambda: prepare_measurements(m),
        "derive_endpoints": lambda: derive_endpoints(values, baseline_visit="W0", baseline_day=0),
        "peer skindex (groupby)": lambda: peer_skindex(p),
        "peer change (merge)": lambda: peer_change(values),
    }
    t = {k: median_time(f, repeat) for k, f in stages.items()}
    print(f"\n{len(m):,} measurement rows, {len(p):,} PRO rows ({n} subjects)")
    for k, v in t.items():
        print(f"  {k:<24} {v:8.3f} s")
    print(f"  ratio skindex ours/peer  {t['score_skindex16'] / t['peer skindex (groupby)']:8.1f}")
    print(f"  ratio change  ours/peer  {t['derive_endpoints'] / t['peer change (merge)']:8.1f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[100_000])
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    for rows in args.sizes:
        run(rows, args.repeat)


if __name__ == "__main__":
    main()
