"""Benchmark: read_trial on bundles with 100k and 1M measurement rows (CSV).

Usage::

    python benchmarks/bench_read.py                      # 100k and 1M rows, median of 5
    python benchmarks/bench_read.py --sizes 100000 --repeat 3
    python benchmarks/bench_read.py --calls              # per-call cost on small trials
    python benchmarks/bench_read.py --calls --repeat 21 --peer 6ff67bd
    python benchmarks/bench_read.py --suite --peer d12b5bb  # what the test suite repeats

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

``--calls``: the per-call cost the test suite pays (it reads hundreds of small trials).
Median process CPU seconds (``time.process_time``, so Arrow's reader threads count) of
``read_trial`` of every sample bundle and of a small simulated trial (8 subjects, CSV),
and of ``score_trial`` of a freshly read trial (each timed call gets a trial read just
before, untimed), in this checkout and in the peer commit (`--peer`, unpacked with
``git archive`` into a temporary folder and run in a subprocess on the same files).
Ratios are peer / ours.

``--suite``: median CPU of the reads the test suite repeats in one process, here and in
the peer (fresh subprocesses, alternating rounds): ``read_trial`` and ``score_trial``
of a small bundle copied to a new folder before each call (tests write their bundles
to new folders; the copy is untimed), ``read_adam_file`` of the CDISC pilot's XPT and
Dataset-JSON files read again, ``load_protocol`` of the default protocol, and
``write_bundle`` of a small simulated trial. ``cold`` rows empty the kept reads first
(where the checkout has them), so they show what a first read costs.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.csv as pcsv
from _timing import ROOT, cpu_median, extract_commit, run_in_checkout

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


def call_inputs(work: Path) -> dict[str, str]:
    """Bundles of the ``--calls`` run: a small simulated trial and every sample bundle."""
    from efficacy.sim import simulate_parallel, write_bundle

    small = work / "small"
    write_bundle(simulate_parallel(7, 8), small)
    inputs = {"small (8 subjects)": str(small)}
    for manifest in sorted((ROOT / "sample_data").glob("*/trial.toml")):
        inputs[manifest.parent.name] = str(manifest.parent)
    return inputs


def call_timings(inputs: dict[str, str], repeat: int) -> dict[str, list[float | None]]:
    """Median CPU seconds of read_trial and of score_trial (fresh trial) per input.

    None where the input is refused (``flawed_manifest`` is meant to be unreadable).
    """
    from efficacy.errors import EfficacyError
    from efficacy.instruments import score_trial

    warnings.simplefilter("ignore")
    out: dict[str, list[float | None]] = {}
    for name, path in inputs.items():
        try:
            score_trial(read_trial(path))  # warm-up
        except EfficacyError:
            out[name] = [None, None]
            continue
        fresh: list[object] = []
        read = cpu_median(lambda p=path: read_trial(p), repeat)
        score = cpu_median(
            lambda f=fresh: score_trial(f[-1]),
            repeat,
            lambda p=path, f=fresh: f.append(read_trial(p)),
        )
        out[name] = [read, score]
    return out


def _call_worker(inputs: str, repeat: int) -> None:
    """Print :func:`call_timings` as JSON (run in a checkout's folder, first on sys.path)."""
    print(json.dumps(call_timings(json.loads(inputs), repeat)))


def _run_calls(root: Path, inputs: dict[str, str], repeat: int) -> dict[str, list]:
    """:func:`call_timings` with the efficacy of `root`, in a subprocess."""
    timings: dict[str, list] = run_in_checkout(
        root, "bench_read", f"_call_worker({json.dumps(inputs)!r}, {repeat})"
    )
    return timings


def calls(repeat: int, peer: str, rounds: int) -> None:
    """The ``--calls`` run: per-call medians here and in `peer`, and their ratios.

    Each round runs this checkout then the peer, each in a fresh subprocess, so that
    both see the same machine load; the figures are medians over the rounds.
    """
    work = Path(tempfile.mkdtemp(prefix="bench-calls-"))
    runs: dict[str, list[dict[str, list]]] = {"ours": [], "peer": []}
    try:
        inputs = call_inputs(work)
        if peer:
            extract_commit(peer, work / "peer")
        for _ in range(rounds):
            runs["ours"].append(_run_calls(ROOT, inputs, repeat))
            if peer:
                runs["peer"].append(_run_calls(work / "peer", inputs, repeat))
    finally:
        shutil.rmtree(work, ignore_errors=True)

    def median(who: str, name: str, k: int) -> float | None:
        got = [r[name][k] for r in runs[who] if r[name][k] is not None]
        return statistics.median(got) if got else None

    print(
        f"median CPU ms of {repeat} calls, median of {rounds} rounds; peer = {peer or '-'}; "
        "ratio = peer / ours"
    )
    head = f"{'input':<20}{'read ours':>10}{'peer':>8}{'ratio':>7}"
    print(head + f"{'score ours':>12}{'peer':>8}{'ratio':>7}")
    for name in inputs:
        read, score = median("ours", name, 0), median("ours", name, 1)
        if read is None or score is None:
            print(f"{name:<20}  refused (unreadable by design)")
            continue
        line = f"{name:<20}{read * 1e3:10.1f}"
        peer_read, peer_score = median("peer", name, 0), median("peer", name, 1)
        line += f"{peer_read * 1e3:8.1f}{peer_read / read:7.2f}" if peer_read else " " * 15
        line += f"{score * 1e3:12.1f}"
        line += f"{peer_score * 1e3:8.1f}{peer_score / score:7.2f}" if peer_score else ""
        print(line)
    print(f"load average {os.getloadavg()[0]:.1f} (2 cores shared)")


def _clear_kept() -> None:
    """Forget the reads a checkout keeps (XPT, Dataset-JSON, FACE-Q, built-in protocols)."""
    from efficacy.instruments import faceq_tables
    from efficacy.io import _adam_files
    from efficacy.protocol import loader

    for kept in (
        getattr(_adam_files, "_XPT_KEPT", None),
        getattr(_adam_files, "_JSON_KEPT", None),
        getattr(faceq_tables, "_KEPT", None),
    ):
        if kept is not None:
            kept.clear()
    builtin = getattr(loader, "_builtin", None)
    if builtin is not None:
        builtin.cache_clear()


def suite_timings(work: str, repeat: int) -> dict[str, float]:
    """Median CPU seconds of each call ``--suite`` times (see the module notes)."""
    from efficacy.instruments import score_trial
    from efficacy.io._adam_files import read_adam_file
    from efficacy.protocol import load_protocol
    from efficacy.sim import simulate_parallel, write_bundle

    warnings.simplefilter("ignore")
    small, pilot = Path(work) / "small", ROOT / "tests" / "reference" / "adam" / "pilot"
    copies: list[Path] = []

    def fresh_copy() -> None:
        copies.append(Path(work) / f"copy{len(copies)}")
        shutil.copytree(small, copies[-1])

    trials: list[object] = []
    out = {
        "read_trial (new copy)": cpu_median(lambda: read_trial(copies[-1]), repeat, fresh_copy),
        "score_trial (new copy)": cpu_median(
            lambda: score_trial(trials[-1]),
            repeat,
            lambda: (fresh_copy(), trials.append(read_trial(copies[-1]))),
        ),
    }
    bundle = simulate_parallel(7, 8)
    out["write_bundle"] = cpu_median(lambda: write_bundle(bundle, copies[-1]), repeat, fresh_copy)
    for name in ("adsl.xpt", "adcibc.xpt", "adadas.dsjc"):
        read = lambda n=name: read_adam_file(pilot / n)  # noqa: E731
        read()
        out[f"read_adam_file {name}"] = cpu_median(read, repeat)
        out[f"read_adam_file {name} cold"] = cpu_median(read, repeat, _clear_kept)
    load_protocol("iso-efficacy-2025")
    out["load_protocol"] = cpu_median(lambda: load_protocol("iso-efficacy-2025"), repeat)
    out["load_protocol cold"] = cpu_median(
        lambda: load_protocol("iso-efficacy-2025"), repeat, _clear_kept
    )
    for folder in copies:
        shutil.rmtree(folder, ignore_errors=True)
    return out


def _suite_worker(work: str, repeat: int) -> None:
    """Print :func:`suite_timings` as JSON (run in a checkout's folder, first on sys.path)."""
    print(json.dumps(suite_timings(work, repeat)))


def suite(repeat: int, peer: str, rounds: int) -> None:
    """The ``--suite`` run: medians here and in `peer` over alternating rounds, ratios."""
    work = Path(tempfile.mkdtemp(prefix="bench-suite-"))
    runs: dict[str, list[dict[str, float]]] = {"ours": [], "peer": []}
    try:
        from efficacy.sim import simulate_parallel, write_bundle

        write_bundle(simulate_parallel(3, 4, n_screen_failures=2, dropout_rate=0.3), work / "small")
        if peer:
            extract_commit(peer, work / "peer")
        for _ in range(rounds):
            call = f"_suite_worker({str(work)!r}, {repeat})"
            runs["ours"].append(run_in_checkout(ROOT, "bench_read", call))
            if peer:
                runs["peer"].append(run_in_checkout(work / "peer", "bench_read", call))
    finally:
        shutil.rmtree(work, ignore_errors=True)
    print(f"median CPU ms of {repeat} calls, median of {rounds} rounds; peer = {peer or '-'}")
    print(f"{'call':<32}{'ours':>9}{'peer':>9}{'peer/ours':>11}")
    for name in runs["ours"][0]:
        ours = statistics.median(r[name] for r in runs["ours"])
        line = f"{name:<32}{ours * 1e3:9.2f}"
        if runs["peer"]:
            theirs = statistics.median(r[name] for r in runs["peer"])
            line += f"{theirs * 1e3:9.2f}{theirs / ours:11.2f}"
        print(line)
    print(f"load average {os.getloadavg()[0]:.1f} (2 cores shared)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[100_000, 1_000_000])
    parser.add_argument("--repeat", type=int, default=None, help="default 5 (--calls: 15)")
    parser.add_argument("--calls", action="store_true", help="per-call cost on small trials")
    parser.add_argument("--suite", action="store_true", help="reads the test suite repeats")
    parser.add_argument("--peer", default="6ff67bd", help="peer commit of --calls ('' = none)")
    parser.add_argument("--rounds", type=int, default=3, help="--calls: alternating rounds")
    args = parser.parse_args()
    if args.suite:
        suite(args.repeat or 15, args.peer, args.rounds)
        return
    if args.calls:
        calls(args.repeat or 15, args.peer, args.rounds)
        return
    args.repeat = args.repeat or 5
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
