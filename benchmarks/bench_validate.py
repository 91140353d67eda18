"""Benchmark: read_trial + validate on simulated bundles of 100k and 1M measurement rows.

Usage::

    python benchmarks/bench_validate.py            # 100k and 1M rows, median of 3
    python benchmarks/bench_validate.py --profile  # also time each rule on the 1M bundle
    python benchmarks/bench_validate.py --sizes 100000 --repeat 5
    python benchmarks/bench_validate.py --small     # small trials, against the peer commit
    python benchmarks/bench_validate.py --small --repeat 15 --rounds 3 --peer 0433ae2
    python benchmarks/bench_validate.py --small --together   # both at once, same load
    python benchmarks/bench_validate.py --small --repeat 15 --peer ""   # no peer

Prints, per size: measurement rows, median seconds of ``read_trial`` and of
``validate``, their sum, rows per second, and the 1M/100k time ratio (linear scaling
gives ~10). Goal (issue 2): 1M rows read and fully validated in under 10 s on the
2-core CI machine.

``--small`` times instead what the test suite pays on every call: the per-call cost of
``validate`` on small trials (median CPU seconds, ``time.process_time``, of `--repeat`
calls, at least 9): the clean parallel and split-face factory trials of
``tests/validation/trial_factory.py`` (built afresh before each call, untimed; the
parallel one also validated against the five built-in protocols in turn, as the claims
matrix does) and every bundle of ``sample_data/`` that reads (read afresh before each
call, untimed: the trial's memos and stored rule results never hide the work), and
every such bundle cut to its first 12 subjects (``<name>@12``, the copies the hostile
tests mutate: made once by the parent process, with the rows of the kept subjects in
every subject-keyed table, and read by both checkouts). The same calls run on the peer
commit (`--peer`, default 0433ae2, unpacked with ``extract_commit`` and run in a
subprocess), in `--rounds` alternating rounds (default 3); the ratio is peer / this
checkout.

The large bundles are parallel-group trials from ``efficacy.sim.simulate_parallel`` with as
many subjects as needed (85 measurement rows per completer: 17 endpoints x 5 visits),
written as CSV to a temporary folder that is removed afterwards.
"""

from __future__ import annotations

import argparse
import contextlib
import cProfile
import csv
import gc
import importlib.util
import json
import math
import os
import pstats
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import warnings
from collections import defaultdict
from collections.abc import Callable
from pathlib import Path
from typing import Any

from _timing import BENCHMARKS, ROOT, cpu_median, extract_commit, run_in_checkout

from efficacy.io import read_trial
from efficacy.sim import simulate_parallel, write_bundle
from efficacy.validation import validate

ROWS_PER_SUBJECT = 85


def build(rows: int, folder: Path) -> tuple[int, int]:
    """Write a bundle with about `rows` measurement rows; return measurement and PRO rows."""
    n = 4 * math.ceil(rows / ROWS_PER_SUBJECT / 0.97 / 4)  # ~3% rows lost to dropout
    bundle = simulate_parallel(2025, n, dropout_rate=0.05)
    write_bundle(bundle, folder)
    return len(bundle.tables["measurements"]), len(bundle.tables["pro_responses"])


def run_once(folder: Path) -> tuple[float, float, int]:
    t0 = time.perf_counter()
    trial = read_trial(folder)
    t1 = time.perf_counter()
    report = validate(trial)
    t2 = time.perf_counter()
    return t1 - t0, t2 - t1, len(report.findings)


def time_rules(folder: Path, top: int = 12) -> None:
    """Time every rule once on the largest bundle (in run order; Context caches lookups,
    so a rule that first factorizes a column pays for it), and the reader's stages."""
    from efficacy.protocol import load_protocol
    from efficacy.validation.context import Context
    from efficacy.validation.engine import DEFAULT_PROTOCOL, _collect
    from efficacy.validation.registry import rules_for

    profiler = cProfile.Profile()
    profiler.enable()
    trial = read_trial(folder)
    profiler.disable()
    stats = pstats.Stats(profiler)
    reader: dict[str, float] = defaultdict(float)
    for (file, _line, func), (_cc, _nc, tt, _ct, _callers) in stats.stats.items():  # type: ignore[attr-defined]
        reader[f"{Path(file).name}:{func}"] += tt
    print("\nread_trial self time by function (cProfile, top 8):")
    for name, secs in sorted(reader.items(), key=lambda kv: -kv[1])[:8]:
        print(f"  {secs:7.3f}  {name}")
    proto = load_protocol(DEFAULT_PROTOCOL)
    ctx = Context(trial, proto)
    timings = []
    for rule in rules_for(proto):
        t0 = time.perf_counter()
        # not applicable / could not run end a rule with an exception: the time counts
        with contextlib.suppress(Exception):
            _collect(rule, rule.check(ctx))
        timings.append((time.perf_counter() - t0, rule.id))
    total = sum(t for t, _ in timings)
    print(f"\nvalidate: time per rule (total {total:.2f} s, top {top}):")
    for secs, rule_id in sorted(timings, reverse=True)[:top]:
        print(f"  {secs:7.3f}  {rule_id}")


#: Subject-keyed tables of a sample bundle (file names as the samples spell them).
_SUBJECT_TABLES = ("subjects", "measurements", "pro_responses", "adverse_events")
CUT = 12


def _cut_bundles(into: Path, n_subjects: int = CUT) -> Path:
    """Copy every sample bundle to `into`, keeping the first `n_subjects` subjects' rows.

    As the hostile tests cut their bundles (tests/hostile/mutations.py ``cut_bundle``):
    other files are copied byte for byte; a bundle's tables are the ``<table>.csv``
    files beside its manifest.
    """
    for bundle in sorted(
        p for p in (ROOT / "sample_data").iterdir() if (p / "trial.toml").exists()
    ):
        target = into / f"{bundle.name}@{n_subjects}"
        shutil.copytree(bundle, target)
        with (target / "subjects.csv").open(newline="", encoding="utf-8") as handle:
            keep = {r[0] for r in list(csv.reader(handle))[1 : n_subjects + 1]}
        for table in _SUBJECT_TABLES:
            path = target / f"{table}.csv"
            if not path.exists():
                continue
            with path.open(newline="", encoding="utf-8") as handle:
                rows = list(csv.reader(handle))
            col = rows[0].index("subject_id")
            kept = [rows[0], *(r for r in rows[1:] if len(r) > col and r[col] in keep)]
            with path.open("w", newline="", encoding="utf-8") as handle:
                csv.writer(handle).writerows(kept)
    return into


def _small_calls(
    root: Path, cuts: Path | None = None
) -> dict[str, tuple[Callable[[], Any], Callable[[], Any]]]:
    """Per small trial: (make a fresh trial, untimed; validate it) for the checkout `root`.

    `cuts`: a folder of cut bundles (:func:`_cut_bundles`), validated too.
    """
    import efficacy

    path = root / "tests" / "validation" / "trial_factory.py"
    spec = importlib.util.spec_from_file_location("_trial_factory", path)
    assert spec is not None and spec.loader is not None
    factory = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(factory)
    held: dict[str, Any] = {}

    def pair(name: str, make: Callable[[], Any]) -> tuple[Callable[[], Any], Callable[[], Any]]:
        def fresh() -> None:
            held[name] = make()
            gc.collect()  # the untimed build's garbage is not collected in the timed call

        return fresh, lambda: efficacy.validate(held[name])

    calls = {
        f"factory {d}": pair(d, lambda d=d: factory.make_trial(design=d))
        for d in ("parallel", "split_face")
    }
    packs = ("iso-efficacy-2025", "cn-nmpa-2021", "eu-655-2013", "kr-mfds", "us-fda")
    fresh, _ = pair("packs", factory.make_trial)
    calls["factory parallel x5 packs"] = (  # as the claims matrix validates one trial
        fresh,
        lambda: [efficacy.validate(held["packs"], pack) for pack in packs],
    )
    bundles = sorted(p for p in (root / "sample_data").iterdir() if (p / "trial.toml").exists())
    if cuts is not None:
        bundles += sorted(cuts.iterdir())
    for bundle in bundles:
        try:
            efficacy.read_trial(bundle)
        except efficacy.EfficacyError:
            continue  # a bundle made to be refused (flawed_manifest): nothing to validate
        calls[bundle.name] = pair(bundle.name, lambda b=bundle: efficacy.read_trial(b))
    return calls


def _small_worker(root: str, repeat: int, cuts: str | None = None) -> None:
    """Time the small calls in the checkout `root` (first on ``sys.path``); print JSON."""
    warnings.simplefilter("ignore")
    calls = _small_calls(Path(root), None if cuts is None else Path(cuts))
    out = {}
    for name, (fresh, fn) in calls.items():
        fresh()
        fn()  # warm imports and first-call costs
        out[name] = cpu_median(fn, repeat, fresh)
    print(json.dumps(out))


def _worker_run(root: Path, repeat: int, cuts: Path) -> dict[str, float]:
    """Run :func:`_small_worker` on the checkout `root` in a subprocess."""
    timings: dict[str, float] = run_in_checkout(
        root, "bench_validate", f"_small_worker({str(root)!r}, {repeat}, {str(cuts)!r})"
    )
    return timings


def _worker_pair(roots: list[Path], repeat: int, cuts: Path) -> list[dict[str, float]]:
    """Run :func:`_small_worker` on each checkout of `roots` at the same time.

    Each in its own subprocess, as :func:`_timing.run_in_checkout` runs one: started
    together, so that both see the same load of a shared machine.
    """
    children = []
    for root in roots:
        code = (
            f"import sys; sys.path.insert(0, {str(root)!r}); "
            f"sys.path.insert(1, {str(BENCHMARKS)!r}); import bench_validate; "
            f"bench_validate._small_worker({str(root)!r}, {repeat}, {str(cuts)!r})"
        )
        children.append(
            subprocess.Popen(
                [sys.executable, "-c", code], cwd=root, stdout=subprocess.PIPE, text=True
            )
        )
    out = []
    for child in children:
        stdout, _ = child.communicate()
        if child.returncode:
            raise RuntimeError(f"benchmark worker failed (exit {child.returncode})")
        out.append(json.loads(stdout.strip().splitlines()[-1]))
    return out


def _small(repeat: int, peer: str, rounds: int, together: bool = False) -> None:
    """Print validate()'s median CPU seconds per small trial, here and on `peer`.

    `rounds` alternate the peer and this checkout (each a subprocess timing `repeat`
    calls per trial), so that a change of the machine's load hits both; the figure is
    the median over the rounds of each round's median. `together`: each round runs
    both subprocesses at the same time instead (a machine whose load drifts within
    minutes, as a shared one does, then weighs both alike).
    """
    here: dict[str, list[float]] = defaultdict(list)
    base: dict[str, list[float]] = defaultdict(list)
    with tempfile.TemporaryDirectory(prefix="bench-peer-") as tmp:
        if peer:
            extract_commit(peer, Path(tmp) / "peer")
        cuts = _cut_bundles(Path(tmp) / "cuts")
        for _ in range(rounds):
            if peer and together:
                ours, theirs = _worker_pair([ROOT, Path(tmp) / "peer"], repeat, cuts)
            else:
                theirs = _worker_run(Path(tmp) / "peer", repeat, cuts) if peer else {}
                ours = _worker_run(ROOT, repeat, cuts)
            for name, secs in theirs.items():
                base[name].append(secs)
            for name, secs in ours.items():
                here[name].append(secs)
    med = {name: statistics.median(v) for name, v in here.items()}
    ref = {name: statistics.median(v) for name, v in base.items()}
    how = "peer and this run together" if together and peer else "alternating"
    print(
        f"validate() CPU s: median of {rounds} rounds ({how}) x {repeat} calls, "
        "fresh trial per call"
    )
    print(f"{'trial':<24}{'this':>9}" + (f"{'peer ' + peer:>14}{'ratio':>8}" if ref else ""))
    for name, secs in med.items():
        line = f"{name:<24}{secs:9.4f}"
        if ref:
            line += f"{ref[name]:14.4f}{ref[name] / secs:8.2f}"
        print(line)
    if ref:
        total, peer_total = sum(med.values()), sum(ref[n] for n in med)
        print(f"{'sum':<24}{total:9.4f}{peer_total:14.4f}{peer_total / total:8.2f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[100_000, 1_000_000])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument(
        "--profile",
        action="store_true",
        help="time each rule and the reader once on the largest bundle",
    )
    parser.add_argument(
        "--small", action="store_true", help="validate() of small trials against --peer"
    )
    parser.add_argument("--peer", default="0433ae2", help="peer commit for --small ('' = none)")
    parser.add_argument("--rounds", type=int, default=3, help="--small: alternating rounds")
    parser.add_argument(
        "--together", action="store_true", help="--small: run peer and this at the same time"
    )
    args = parser.parse_args()
    if args.small:
        _small(max(args.repeat, 9), args.peer, args.rounds, args.together)
        return
    work = Path(tempfile.mkdtemp(prefix="bench-validate-"))
    load = os.getloadavg() if hasattr(os, "getloadavg") else (math.nan,) * 3
    print(f"cpus {os.cpu_count()}, load average {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}")
    results: dict[int, float] = {}
    try:
        print(
            f"{'target':>9} {'rows':>9} {'read_s':>8} {'validate_s':>10} {'total_s':>8} "
            f"{'rows/s':>10} findings"
        )
        for size in args.sizes:
            folder = work / f"rows_{size}"
            t0 = time.perf_counter()
            rows, pro_rows = build(size, folder)
            build_s = time.perf_counter() - t0
            runs = [run_once(folder) for _ in range(args.repeat)]
            read_s = statistics.median(r[0] for r in runs)
            val_s = statistics.median(r[1] for r in runs)
            total = statistics.median(r[0] + r[1] for r in runs)
            best = min(r[0] + r[1] for r in runs)
            results[size] = total
            print(
                f"{size:>9} {rows:>9} {read_s:>8.3f} {val_s:>10.3f} {total:>8.3f} "
                f"{rows / total:>10.0f} {runs[0][2]:>8}  (min {best:.3f} s; +{pro_rows} PRO "
                f"rows; simulate+write {build_s:.1f} s)"
            )
        if len(results) >= 2:
            small, large = min(results), max(results)
            print(
                f"ratio {large}/{small} rows: {results[large] / results[small]:.2f} "
                f"(linear = {large / small:.0f})"
            )
        if args.profile:
            time_rules(work / f"rows_{max(args.sizes)}")
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
