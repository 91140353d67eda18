"""CPU of the trial simulator and of simulate_power against a peer commit, and equal output.

Usage::

    python benchmarks/bench_sim.py                    # peer d12b5bb, 3 rounds, 5 repeats
    python benchmarks/bench_sim.py --peer d12b5bb --rounds 3 --repeat 5

Each round runs this checkout and then the peer (``git archive`` into a temporary folder),
each in a fresh subprocess on the same inputs. Timed, as median CPU seconds
(``time.process_time``) of ``--repeat`` calls:

- ``simulate``: ``simulate_parallel(s, 120)`` and ``simulate_split_face(s, 40)``, s = 0..2;
- ``write_csv``: ``write_bundle`` of those six bundles as CSV (``parquet``: as Parquet);
- ``build_samples``: every sample bundle of ``sample_data/`` written from code;
- ``plan_runner``: ``PlanRunner`` of a three-endpoint scenario (its templates);
- ``simulate_power``: 12 trials of ``sample_data/scenarios/elasticity_12wk.toml`` and 12 of
  the three-endpoint scenario (with ``familywise``).

The worker also returns a SHA-256 of every written file and of the power results; the
script prints whether they are the same in both checkouts (the speed-up must not change a
byte).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import shutil
import statistics
import sys
import tempfile
from pathlib import Path

from _timing import ROOT, cpu_median, extract_commit, run_in_checkout

THREE = """
[scenario]
design = "parallel"
weeks = [2, 4, 8, 12]
per_protocol = "completers"
[[arms]]
id = "VEHICLE"
control = true
n = 20
[[arms]]
id = "ACTIVE"
n = 20
[endpoints.cutometer_r2]
mean_change = { control = [0.0, 0.0, 0.0, 0.0], effect = 0.02 }
sd = 0.03
correlation = { structure = "ar1", rho = 0.6 }
baseline = { mean = 0.70, sd = 0.08 }
[endpoints.corneometer]
mean_change = { control = [1, 1, 1, 1], effect = 5 }
sd = 8
correlation = { structure = "ar1", rho = 0.7 }
baseline = { mean = 45, sd = 10 }
[endpoints.wrinkle_rz]
mean_change = { control = [0, 0, 0, 0], effect = -5 }
sd = 10
correlation = { structure = "ar1", rho = 0.6 }
baseline = { mean = 60, sd = 10 }
[dropout]
retention = [0.95, 0.9, 0.85, 0.8]
"""

TIMED = ("simulate", "write_csv", "parquet", "build_samples", "plan_runner", "simulate_power")


def _digest(folder: Path) -> str:
    h = hashlib.sha256()
    for path in sorted(p for p in folder.rglob("*") if p.is_file()):
        h.update(str(path.relative_to(folder)).encode())
        h.update(path.read_bytes())
    return h.hexdigest()


def _worker(repeat: int) -> None:
    """Time this process's efficacy (its checkout is first on sys.path); print JSON."""
    import tomllib

    from efficacy.plan import load_scenario, simulate_power
    from efficacy.plan._fast import PlanRunner
    from efficacy.plan.scenario import scenario_from_mapping
    from efficacy.protocol import load_protocol
    from efficacy.sim import simulate_parallel, simulate_split_face, write_bundle
    from efficacy.sim.samples import build_samples

    work = Path(tempfile.mkdtemp(prefix="bench-sim-"))
    try:
        simulate_parallel(1, 8)  # imports and first-call costs out of the timings

        def simulate() -> list:
            return [
                f(s, n)
                for s in range(3)
                for f, n in ((simulate_parallel, 120), (simulate_split_face, 40))
            ]

        bundles = simulate()
        count = iter(range(10**6))

        def write(fmt: str, into: str = "") -> Path:
            folder = work / (into or f"{fmt}{next(count)}")
            for i, b in enumerate(bundles):
                write_bundle(b, folder / str(i), fmt)
            return folder

        three = scenario_from_mapping(tomllib.loads(THREE))
        sample = load_scenario(ROOT / "sample_data" / "scenarios" / "elasticity_12wk.toml")
        plan = load_protocol("iso-efficacy-2025").analysis

        def power() -> list:
            return [simulate_power(sc, n_trials=12, seed=3) for sc in (sample, three)]

        def samples() -> None:
            build_samples(work / f"samples{next(count)}")

        times = {
            "simulate": cpu_median(simulate, repeat),
            "write_csv": cpu_median(lambda: write("csv"), repeat),
            "parquet": cpu_median(lambda: write("parquet"), repeat),
            "build_samples": cpu_median(samples, repeat),
            "plan_runner": cpu_median(lambda: PlanRunner(three, plan), repeat),
            "simulate_power": cpu_median(power, repeat),
        }
        files = {
            "csv": _digest(write("csv", "final_csv")),
            "parquet": _digest(write("parquet", "final_parquet")),
        }
        build_samples(work / "final_samples")
        files["samples"] = _digest(work / "final_samples")
        h = hashlib.sha256()
        for sim in power():
            for frame in (sim.trials, sim.familywise, sim.to_frame()):
                h.update(frame.to_csv().encode())
                h.update(repr(frame.dtypes.to_dict()).encode())
        files["power"] = h.hexdigest()
        print(json.dumps({"times": times, "files": files}))
    finally:
        shutil.rmtree(work, ignore_errors=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--peer", default="d12b5bb")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    results: dict[str, list[dict]] = {"this": [], "peer": []}
    with tempfile.TemporaryDirectory(prefix="bench-sim-peer-") as tmp:
        peer = extract_commit(args.peer, Path(tmp) / "peer")
        for _ in range(args.rounds):
            results["this"].append(run_in_checkout(ROOT, "bench_sim", f"_worker({args.repeat})"))
            results["peer"].append(run_in_checkout(peer, "bench_sim", f"_worker({args.repeat})"))
    print(f"CPU seconds, median of {args.rounds} rounds x {args.repeat} calls; peer {args.peer}")
    print(f"{'':16}{'this':>9}{'peer':>9}{'ratio':>8}")
    for name in TIMED:
        this = statistics.median(r["times"][name] for r in results["this"])
        other = statistics.median(r["times"][name] for r in results["peer"])
        print(f"{name:16}{this:9.4f}{other:9.4f}{this / other:8.2f}")
    for key in results["this"][0]["files"]:
        same = results["this"][0]["files"][key] == results["peer"][0]["files"][key]
        print(f"{key}: {'identical' if same else 'DIFFERENT'} output")
    sys.stdout.flush()


if __name__ == "__main__":
    main()
