"""Benchmark: read_trial on bundles with 100k and 1M measurement rows (CSV).

Usage::

    python benchmarks/bench_read.py                      # 100k and 1M rows, median of 5
    python benchmarks/bench_read.py --sizes 100000 --repeat 3

Prints, per size: rows, median seconds of ``read_trial`` (manifest + four tables, every
cell converted and checked), its median process CPU seconds (Arrow's CSV parser uses
both cores), rows per second, and beside it the median of the peer
``pandas.read_csv(path)`` on the same measurements file (C engine, type inference, no
checks), run in the same process. Then the 1M/100k ratios of wall and CPU time (linear
scaling gives ~10; on a shared machine the wall ratio also reflects waiting for a core).
Target (issue 2): 1M rows read and converted in about 3 s or less, so that read plus
validation fit in 10 s on the 2-core machine.

Bundles are generated here with numpy (not the simulator) so the benchmark measures
reading only: 11 measurement columns (every schema column, realistic text and numbers,
0.5% empty values), 1 subject per 85 rows, written to a temporary folder that is removed
afterwards.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.csv as pcsv

from efficacy.io import read_trial

MANIFEST = """\
[trial]
id = "BENCH"
title = "read benchmark"
design = "parallel"
baseline_visit = "W0"
[[arms]]
id = "ACTIVE"
label = "Active"
control = false
[[arms]]
id = "VEHICLE"
label = "Vehicle"
control = true
{visits}
[tables]
subjects = "subjects.csv"
measurements = "measurements.csv"
"""
VISITS = (("W0", 0, 0), ("W2", 2, 3), ("W4", 4, 3), ("W8", 8, 4), ("W12", 12, 7))
ENDPOINTS = (
    ("cutometer_r0", "mm", 0.4, 0.1, "Cutometer MPA 580", "probe=2mm;suction=450mbar"),
    ("cutometer_r2", "ratio", 0.7, 0.1, "Cutometer MPA 580", "probe=2mm;suction=450mbar"),
    ("cutometer_r5", "ratio", 0.6, 0.1, "Cutometer MPA 580", "probe=2mm;suction=450mbar"),
    ("cutometer_r7", "ratio", 0.4, 0.1, "Cutometer MPA 580", "probe=2mm;suction=450mbar"),
    ("corneometer", "a.u.", 50.0, 10.0, "Corneometer CM 825", ""),
    ("tewl", "g/m2/h", 12.0, 3.0, "Tewameter TM 300", ""),
    ("wrinkle_ra", "um", 20.0, 5.0, "PRIMOS CR", "field=40x30mm"),
    ("wrinkle_rz", "um", 90.0, 20.0, "PRIMOS CR", "field=40x30mm"),
    ("wrinkle_depth_max", "um", 200.0, 50.0, "PRIMOS CR", "field=40x30mm"),
    ("wrinkle_volume", "mm3", 3.0, 1.0, "PRIMOS CR", "field=40x30mm"),
)
ROWS_PER_SUBJECT = 85


def build(rows: int, folder: Path, seed: int = 2025) -> None:
    """Write a bundle with exactly `rows` measurement rows."""
    rng = np.random.default_rng(seed)
    folder.mkdir(parents=True)
    n_subjects = -(-rows // ROWS_PER_SUBJECT)
    ids = np.char.add("S", np.char.zfill(np.arange(1, n_subjects + 1).astype(str), 6))
    subjects = pa.table(
        {
            "subject_id": ids,
            "arm": np.where(np.arange(n_subjects) % 2 == 0, "ACTIVE", "VEHICLE"),
            "randomized": np.full(n_subjects, "true"),
            "itt": np.full(n_subjects, "Y"),
            "disposition": np.full(n_subjects, "completed"),
            "age": rng.integers(18, 70, n_subjects),
            "sex": rng.choice(["F", "M"], n_subjects),
            "fitzpatrick": rng.choice(["I", "II", "III", "IV", "V", "VI"], n_subjects),
            "randomization_date": np.full(n_subjects, "2025-03-01"),
        }
    )
    pcsv.write_csv(subjects, folder / "subjects.csv")
    subject = np.arange(rows) // ROWS_PER_SUBJECT
    visit = rng.integers(0, len(VISITS), rows)
    endpoint = rng.integers(0, len(ENDPOINTS), rows)
    mean = np.array([e[2] for e in ENDPOINTS])[endpoint]
    sd = np.array([e[3] for e in ENDPOINTS])[endpoint]
    value = np.round(rng.normal(mean, sd), 4).astype(str)
    value[rng.random(rows) < 0.005] = ""
    pick = lambda column: np.array([e[column] for e in ENDPOINTS])[endpoint]  # noqa: E731
    days = np.array([7 * v[1] for v in VISITS])[visit] + rng.integers(-2, 3, rows)
    measurements = pa.table(
        {
            "subject_id": ids[subject],
            "visit": np.array([v[0] for v in VISITS])[visit],
            "day": np.maximum(days, 0),
            "endpoint": pick(0),
            "value": value,
            "unit": pick(1),
            "body_site": rng.choice(["left_cheek", "right_cheek", "forehead"], rows),
            "device": pick(4),
            "device_settings": pick(5),
            "temperature_c": np.round(rng.normal(21, 0.8, rows), 1),
            "humidity_pct": np.round(rng.normal(50, 4, rows), 1),
        }
    )
    pcsv.write_csv(measurements, folder / "measurements.csv")
    visits = "\n".join(
        f'[[visits]]\nid = "{v}"\nweek = {w}\nday = {7 * w}\nwindow_days = {win}'
        for v, w, win in VISITS
    )
    (folder / "trial.toml").write_text(MANIFEST.format(visits=visits))


def median_seconds(func, repeat: int) -> tuple[float, float]:
    """Median wall-clock and median process CPU seconds of `repeat` calls."""
    wall, cpu = [], []
    for _ in range(repeat):
        start, start_cpu = time.perf_counter(), time.process_time()
        func()
        wall.append(time.perf_counter() - start)
        cpu.append(time.process_time() - start_cpu)
    return statistics.median(wall), statistics.median(cpu)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[100_000, 1_000_000])
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="bench-read-"))
    medians: dict[int, tuple[float, float]] = {}
    try:
        print(
            f"{'rows':>9}  {'read_trial s':>12}  {'cpu s':>7}  {'rows/s':>11}  "
            f"{'pd.read_csv s':>13}"
        )
        for size in args.sizes:
            folder = work / f"n{size}"
            build(size, folder)
            trial = read_trial(folder)  # warm-up, and a check that the bundle is clean
            if len(trial.measurements) != size or not trial.issues.empty:
                raise SystemExit(f"benchmark bundle is wrong: {trial.issues.head()}")
            ours, cpu = median_seconds(lambda f=folder: read_trial(f), args.repeat)
            peer, _ = median_seconds(
                lambda f=folder: pd.read_csv(f / "measurements.csv"), args.repeat
            )
            medians[size] = (ours, cpu)
            print(f"{size:>9}  {ours:>12.3f}  {cpu:>7.3f}  {size / ours:>11,.0f}  {peer:>13.3f}")
        if len(medians) > 1:
            small, large = min(medians), max(medians)
            wall = medians[large][0] / medians[small][0]
            cpu_ratio = medians[large][1] / medians[small][1]
            print(
                f"ratio {large}/{small} rows: wall {wall:.2f}, cpu {cpu_ratio:.2f} "
                f"(linear: {large / small:.0f}; wall time also counts waiting for a core "
                f"when the machine is busy: load average {os.getloadavg()[0]:.1f})"
            )
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
