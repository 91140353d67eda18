"""Benchmark and large-n checks of simulate_power (issue 14), R mmrm in a loop beside it.

Usage::

    python benchmarks/bench_plan.py                     # the defaults below
    python benchmarks/bench_plan.py --trials 10000 --scaling-trials 2000 --r-trials 300

Design: sample_data/scenarios/elasticity_12wk.toml with 60 per arm (the sample parallel
design: 120 participants, 4 post-baseline visits), the default protocol's plan (primary
cutometer_r2, ITT and per-protocol; unstructured covariance, REML, Kenward-Roger df).

Prints, with the machine's load average before and after:

1. ``--trials`` trials with ``n_jobs=2`` (the headline; goal < 120 s), median of
   ``--repeat`` runs, and the CPU seconds used (this process and its workers: on a
   shared machine the wall time measures the load, the CPU time the work);
2. scaling: ``--scaling-trials`` trials with ``n_jobs=1`` and ``n_jobs=2``, efficiency
   ``t1 / (2 t2)``; and the framework's overhead with one worker: wall time of
   ``simulate_power`` over the summed compute of its batches run directly;
3. R (when ``Rscript`` and mmrm are installed): the same design generated and fitted
   in an R loop (``mmrm(change ~ baseline + arm * visit + us(visit | id),
   method = "Kenward-Roger")`` and ``df_1d`` for the week-12 contrast), ``--r-trials``
   trials, per-trial seconds and the ratio R / efficacy per trial (one process each);
4. large-n checks from run 1 and a null run: simulated power vs ``power_mmrm``, bias
   and CI coverage under MCAR, type-I error per endpoint and of the Holm family (3
   endpoints, ``--null-trials``), each with its Monte Carlo SE.

The output of a run is committed as benchmarks/bench_plan_output.txt.
"""

from __future__ import annotations

import argparse
import math
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import tomllib
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # this checkout's package

import efficacy  # noqa: E402
from efficacy.plan import load_scenario, power_mmrm, simulate_power  # noqa: E402
from efficacy.plan._fast import PlanRunner  # noqa: E402
from efficacy.plan.scenario import scenario_from_mapping  # noqa: E402
from efficacy.plan.simulate import run_batch  # noqa: E402

SCENARIO = ROOT / "sample_data" / "scenarios" / "elasticity_12wk.toml"

NULL3 = """
[scenario]
weeks = [2, 4, 8, 12]
[[arms]]
id = "VEHICLE"
control = true
n = 60
[[arms]]
id = "ACTIVE"
n = 60
[endpoints.cutometer_r2]
mean_change = { control = [0, 0, 0, 0], effect = 0.02 }
sd = 0.03
correlation = { structure = "banded", by_lag = [0.6, 0.5, 0.4] }
baseline = { mean = 0.7, sd = 0.08 }
[endpoints.corneometer]
mean_change = { control = [0, 0, 0, 0], effect = 5 }
sd = 8
correlation = { structure = "ar1", rho = 0.6 }
baseline = { mean = 45, sd = 10 }
[endpoints.wrinkle_rz]
mean_change = { control = [0, 0, 0, 0], effect = -5 }
sd = 10
correlation = { structure = "exchangeable", rho = 0.5 }
baseline = { mean = 60, sd = 10 }
[dropout]
retention = [1.0, 0.95, 0.9, 0.85]
"""

R_LOOP = r"""
suppressMessages(library(mmrm))
args <- commandArgs(trailingOnly = TRUE)
n_trials <- as.integer(args[1]); n <- as.integer(args[2]); set.seed(as.integer(args[3]))
m <- 4
R <- matrix(c(1,.6,.5,.4, .6,1,.6,.5, .5,.6,1,.6, .4,.5,.6,1), 4)
U <- chol(0.03^2 * R)
ret <- c(1, .95, .9, .85); eff <- 0.02 * c(2, 4, 8, 12) / 12
vis <- c("W2", "W4", "W8", "W12")
one <- function() {
  arm <- rep(c(0, 1), each = n); N <- 2 * n
  base <- rnorm(N, .7, .08)
  ch <- matrix(rnorm(N * m), N) %*% U + outer(arm, eff)
  obs <- outer(runif(N), ret, "<")
  d <- data.frame(
    id = factor(rep(1:N, each = m)), visit = factor(rep(vis, N), levels = vis),
    arm = factor(rep(ifelse(arm == 1, "ACTIVE", "VEHICLE"), each = m),
                 levels = c("VEHICLE", "ACTIVE")),
    baseline = rep(base, each = m), change = as.vector(t(ch)))[as.vector(t(obs)), ]
  f <- mmrm(change ~ baseline + arm * visit + us(visit | id), data = d,
            method = "Kenward-Roger")
  L <- setNames(numeric(length(coef(f))), names(coef(f)))
  L[c("armACTIVE", "armACTIVE:visitW12")] <- 1
  df_1d(f, L)$p_val
}
invisible(one())  # warm-up
t0 <- Sys.time(); c0 <- proc.time(); p <- replicate(n_trials, one()); c1 <- proc.time() - c0
cat(sprintf("%.6f %.4f %s %.6f\n", as.numeric(Sys.time() - t0, units = "secs"), mean(p < 0.05),
            as.character(packageVersion("mmrm")), c1[["user.self"]] + c1[["sys.self"]]))
"""


def _load() -> str:
    return "load average {:.2f} {:.2f} {:.2f}".format(*os.getloadavg())


_CPU: list[float] = []  # CPU seconds (this process and its finished worker processes)


def _timed(fn):  # type: ignore[no-untyped-def]
    c0, t0 = os.times(), time.perf_counter()
    out = fn()
    wall, c1 = time.perf_counter() - t0, os.times()
    _CPU.append(sum(c1[:4]) - sum(c0[:4]))
    return wall, out


def _r_loop(n_trials: int, n: int) -> tuple[float, float, str, float] | None:
    if shutil.which("Rscript") is None:
        return None
    with tempfile.NamedTemporaryFile("w", suffix=".R", delete=False) as fh:
        fh.write(R_LOOP)
    try:
        env = dict(os.environ, OPENBLAS_NUM_THREADS="1")
        proc = subprocess.run(
            ["Rscript", fh.name, str(n_trials), str(n), "1"],
            capture_output=True, text=True, check=False, env=env,
        )  # fmt: skip
    finally:
        os.unlink(fh.name)
    if proc.returncode != 0:
        print("R failed:", proc.stderr.strip().splitlines()[-1:])
        return None
    secs, power, version, cpu = proc.stdout.split()
    return float(secs), float(power), version, float(cpu)


def main() -> None:
    """Run the benchmark and the large-n checks; print the numbers."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--trials", type=int, default=10_000)
    ap.add_argument("--repeat", type=int, default=1)
    ap.add_argument("--scaling-trials", type=int, default=2_000)
    ap.add_argument("--r-trials", type=int, default=300)
    ap.add_argument("--null-trials", type=int, default=2_000)
    args = ap.parse_args()
    sc = load_scenario(SCENARIO).with_n(60)
    print(f"efficacy {efficacy.__version__}; 2 cores shared; {_load()}")

    # 1. the headline
    times, sim = [], None
    for _ in range(args.repeat):
        t, sim = _timed(lambda: simulate_power(sc, n_trials=args.trials, seed=1, n_jobs=2))
        times.append(t)
    assert sim is not None
    fast = sim.trials["fast_path"].mean()
    print(
        f"[1] {args.trials} trials, n_jobs=2: median {statistics.median(times):.1f} s "
        f"over {args.repeat} run(s) ({1e3 * statistics.median(times) / args.trials:.2f} ms "
        f"per trial; {100 * fast:.2f}% of fits on the shared-design path); CPU "
        f"{_CPU[-1]:.1f} s, so on 2 idle cores about {_CPU[-1] / 2:.0f} s; {_load()}"
    )

    # 2. scaling and overhead
    n = args.scaling_trials
    t1, s1 = _timed(lambda: simulate_power(sc, n_trials=n, seed=2, n_jobs=1))
    t2, s2 = _timed(lambda: simulate_power(sc, n_trials=n, seed=2, n_jobs=2))
    assert s1.trials.equals(s2.trials)
    runner = PlanRunner(sc, efficacy.load_protocol("iso-efficacy-2025").analysis)
    tb, _ = _timed(
        lambda: [run_batch(runner, 2, s, min(n, s + 250), 1.0) for s in range(0, n, 250)]
    )
    print(
        f"[2] {n} trials: n_jobs=1 {t1:.1f} s, n_jobs=2 {t2:.1f} s, scaling efficiency "
        f"{t1 / (2 * t2):.2f}; batches run directly {tb:.1f} s, so simulate_power's own "
        f"overhead with one worker is {100 * (t1 / tb - 1):+.1f}% in wall time; CPU n_jobs=1 "
        f"{_CPU[-3]:.1f} s, n_jobs=2 {_CPU[-2]:.1f} s, batches directly {_CPU[-1]:.1f} s "
        f"(overhead {100 * (_CPU[-3] / _CPU[-1] - 1):+.1f}% in CPU); results identical; {_load()}"
    )

    # 3. R mmrm in a loop
    r = _r_loop(args.r_trials, 60)
    if r is None:
        print("[3] R / mmrm not available: no comparison")
    else:
        secs, rpower, version, rcpu = r
        ours, ours_cpu = t1 / n, _CPU[-3] / n
        print(
            f"[3] R mmrm {version} loop, {args.r_trials} trials (one process): "
            f"{1e3 * secs / args.r_trials:.1f} ms per trial (power {rpower:.3f}); efficacy "
            f"one process {1e3 * ours:.1f} ms per trial; ratio R / efficacy "
            f"{secs / args.r_trials / ours:.1f} in wall time, "
            f"{rcpu / args.r_trials / ours_cpu:.1f} in CPU time "
            f"({1e3 * rcpu / args.r_trials:.1f} vs {1e3 * ours_cpu:.1f} ms); "
            f"R extrapolated to {args.trials} trials "
            f"{secs / args.r_trials * args.trials:.0f} s; {_load()}"
        )

    # 4. large-n checks
    e = sc.endpoints[0]
    analytic = power_mmrm(n_total=120, delta=0.02, sigma=0.03, correlation=e.correlation,
                          retention=[1, 0.95, 0.9, 0.85]).power  # fmt: skip
    row = sim.to_frame().set_index("population").loc["itt"]
    est = sim.trials.loc[sim.trials["population"] == "itt", "estimate"].to_numpy()
    se_mean = est.std(ddof=1) / math.sqrt(est.size)
    se_cov = math.sqrt(0.95 * 0.05 / est.size)
    print(
        f"[4a] power {row['power']:.4f} (MC SE {row['mc_se']:.4f}) vs power_mmrm "
        f"{analytic:.4f}: {abs(row['power'] - analytic) / row['mc_se']:.2f} MC SE apart; "
        f"mean estimate {row['mean_estimate']:.6f} vs 0.02 ({row['bias'] / se_mean:+.2f} SE); "
        f"coverage {row['coverage']:.4f} ({(row['coverage'] - 0.95) / se_cov:+.2f} SE)"
    )
    null = scenario_from_mapping(tomllib.loads(NULL3))
    tn, ns = _timed(lambda: simulate_power(null, n_trials=args.null_trials, seed=3, n_jobs=2,
                                           effect_scale=0.0))  # fmt: skip
    se = math.sqrt(0.05 * 0.95 / args.null_trials)
    itt = ns.trials[ns.trials["population"] == "itt"]
    for ep, g in itt.groupby("endpoint", sort=False):
        raw = float((g["p_value"] <= 0.05).mean())  # each test's own type-I error
        adj = float(g["rejected"].mean())  # key secondary: after Holm
        print(
            f"[4b] null {ep} ({g['role'].iloc[0]}): type-I of its test {raw:.4f} "
            f"({(raw - 0.05) / se:+.2f} MC SE); rejected as the plan tests it {adj:.4f}"
        )
    fam = ns.familywise.set_index("population").loc["itt"]
    print(
        f"[4c] null Holm family (corneometer, wrinkle_rz): any rejected "
        f"{fam['key_secondary_any']:.4f} ({(fam['key_secondary_any'] - 0.05) / se:+.2f} MC SE); "
        f"{args.null_trials} trials x 3 endpoints in {tn:.1f} s; {_load()}"
    )
    print(f"fit share not on the shared path: {100 * (1 - np.mean(ns.trials['fast_path'])):.2f}%")


if __name__ == "__main__":
    main()
