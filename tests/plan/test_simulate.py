"""simulate_power: the fast path equals `analyze`, seed streams, and the statistical checks.

The statistical checks run with modest n_trials so the suite stays fast; their
large-n versions are benchmarks/bench_plan.py (output committed beside it in
benchmarks/results/bench_plan.txt).
"""

from __future__ import annotations

import math
import tomllib

import numpy as np
import pandas as pd
import pytest

import efficacy
from efficacy._examples import repo_path
from efficacy.plan import power_mmrm, simulate_power
from efficacy.plan._bundle import trial_bundle
from efficacy.plan._fast import FIELDS, PlanRunner
from efficacy.plan._generate import draw_trial
from efficacy.plan.scenario import load_scenario, scenario_from_mapping
from efficacy.protocol import load_protocol
from efficacy.sim.bundle import write_bundle

SAMPLE = repo_path("sample_data", "scenarios", "elasticity_12wk.toml")

MIXED = """
[scenario]
design = "parallel"
weeks = [2, 4, 8, 12]
per_protocol = "completers"
[[arms]]
id = "VEHICLE"
control = true
n = 12
[[arms]]
id = "ACTIVE"
n = 12
[endpoints.cutometer_r2]
mean_change = { control = [0.0, 0.0, 0.0, 0.0], effect = 0.02 }
sd = 0.03
correlation = { structure = "banded", by_lag = [0.6, 0.5, 0.4] }
baseline = { mean = 0.70, sd = 0.08 }
[endpoints.corneometer]
mean_change = { control = [1, 1, 1, 1], effect = 5 }
sd = [8, 8, 9, 10]
correlation = { structure = "ar1", rho = 0.7 }
baseline = { mean = 45, sd = 10 }
[endpoints.skindex16_symptoms]
mean_change = { control = [0, 0, 0, 0], effect = -0.8 }
sd = 0.8
correlation = { structure = "exchangeable", rho = 0.5 }
baseline = { mean = 0, sd = 1 }
items = { thresholds = [-2, -1, -0.3, 0.3, 1, 2] }
[dropout]
kind = "mar"
retention = [0.95, 0.9, 0.85, 0.8]
mar_slope = -0.5
"""

SPLIT = """
[scenario]
design = "split_face"
weeks = [4, 12]
n_participants = 14
[[arms]]
id = "VEHICLE"
control = true
[[arms]]
id = "ACTIVE"
[endpoints.corneometer]
mean_change = { control = [0, 0], effect = 4 }
sd = 6
correlation = [[1, 0.5], [0.5, 1]]
baseline = { mean = 45, sd = 10 }
site_correlation = 0.6
[dropout]
retention = [1.0, 0.9]
"""

NULL3 = """
[scenario]
weeks = [6, 12]
[[arms]]
id = "VEHICLE"
control = true
n = 15
[[arms]]
id = "ACTIVE"
n = 15
[endpoints.cutometer_r2]
mean_change = { control = [0, 0], effect = 0.02 }
sd = 0.03
correlation = { structure = "ar1", rho = 0.6 }
baseline = { mean = 0.7, sd = 0.08 }
[endpoints.corneometer]
mean_change = { control = [0, 0], effect = 5 }
sd = 8
correlation = { structure = "ar1", rho = 0.6 }
baseline = { mean = 45, sd = 10 }
[endpoints.wrinkle_rz]
mean_change = { control = [0, 0], effect = -5 }
sd = 10
correlation = { structure = "ar1", rho = 0.6 }
baseline = { mean = 60, sd = 10 }
[dropout]
retention = [0.95, 0.9]
"""

COLS = ["estimate", "std_error", "df", "p_value", "p_adjusted", "conf_low", "conf_high"]


def _scenario(text: str):
    return scenario_from_mapping(tomllib.loads(text))


def test_sample_scenario_is_the_issue_design() -> None:
    sc = load_scenario(SAMPLE)
    e = sc.endpoints[0]
    assert (sc.design, sc.arms, dict(sc.n_per_arm)) == (
        "parallel",
        ("VEHICLE", "ACTIVE"),
        {"VEHICLE": 40, "ACTIVE": 40},
    )
    assert sc.weeks == (2, 4, 8, 12) and e.endpoint == "cutometer_r2" and e.sd == (0.03,) * 4
    expected = [[1, 0.6, 0.5, 0.4], [0.6, 1, 0.6, 0.5], [0.5, 0.6, 1, 0.6], [0.4, 0.5, 0.6, 1]]
    np.testing.assert_array_equal(e.correlation, expected)
    assert sc.dropout.kind == "mcar"
    assert sc.dropout.retention == {a: (1.0, 0.95, 0.90, 0.85) for a in sc.arms}
    np.testing.assert_allclose(
        np.subtract(e.mean_change["ACTIVE"], e.mean_change["VEHICLE"]),
        [0.02 * 2 / 12, 0.02 * 4 / 12, 0.02 * 8 / 12, 0.02],
        rtol=1e-15,
    )


def test_scenario_problems_are_all_reported_with_key_paths() -> None:
    bad = MIXED.replace("by_lag = [0.6, 0.5, 0.4]", "by_lag = [0.9, -0.9, 0.9]")
    bad = bad.replace("retention = [0.95, 0.9, 0.85, 0.8]", "retention = [0.9, 0.95, 0.85, 0.8]")
    bad = bad.replace("sd = 0.03", "sd = -1\ncolour = 'red'")
    with pytest.raises(efficacy.EfficacyError) as err:
        _scenario(bad)
    msg = str(err.value)
    assert "\n" not in msg
    for part in (
        "endpoints.cutometer_r2.correlation: the correlation matrix is not positive definite",
        "dropout.retention.VEHICLE = [0.9, 0.95, 0.85, 0.8]: must be non-increasing",
        "endpoints.cutometer_r2.sd = -1: give a number between 1e-12 and inf",
        "endpoints.cutometer_r2: unknown keys ['colour']",
    ):
        assert part in msg, part


@pytest.mark.parametrize("text", [MIXED, SPLIT], ids=["parallel-mar-pro", "split-face"])
def test_one_trial_equals_analyze_of_its_bundle(text: str, tmp_path) -> None:
    sc = _scenario(text)
    prot = load_protocol("iso-efficacy-2025")
    runner = PlanRunner(sc, prot.analysis)
    trial = draw_trial(sc, np.random.SeedSequence(11, spawn_key=(0,)))
    fast = pd.DataFrame(runner.run(trial), columns=FIELDS)
    assert fast["fast_path"].all()
    write_bundle(trial_bundle(sc, trial), tmp_path / "b")
    # force: the scenario has no FACE-Q / wrinkle data, which the standard asks for
    result = efficacy.analyze(efficacy.read_trial(tmp_path / "b"), prot, force=True)
    est = result.estimates
    est = est[(est["visit"] == runner.plan.final_visit) & (est["analysis"] == "mmrm")]
    keys = [(k.endpoint, k.population) for k in runner.keys]
    est = est.set_index(["endpoint", "population"]).loc[keys]
    np.testing.assert_array_equal(fast[COLS].to_numpy(), est[COLS].to_numpy(float))
    # the analysis stage's own fit_endpoint (the slow path) gives the same numbers
    runner.fast = False
    slow = pd.DataFrame(runner.run(trial), columns=FIELDS)
    assert not slow["fast_path"].any()
    np.testing.assert_array_equal(slow[COLS].to_numpy(), fast[COLS].to_numpy())


def test_seed_streams_identical_locally_in_processes_and_on_dask() -> None:
    distributed = pytest.importorskip("distributed")
    sc = _scenario(SPLIT)
    one = simulate_power(sc, n_trials=6, seed=7)
    two = simulate_power(sc, n_trials=6, seed=7, n_jobs=2)
    with (
        distributed.LocalCluster(
            n_workers=2, threads_per_worker=1, processes=False, dashboard_address=None
        ) as cluster,
        distributed.Client(cluster) as client,
    ):
        dask = simulate_power(sc, n_trials=6, seed=7, scheduler=client)
    for other in (two, dask):
        pd.testing.assert_frame_equal(one.trials, other.trials, check_exact=True)
    # trial i is child i of SeedSequence(7): the first 3 of 6 are the 3 of a shorter run
    three = simulate_power(sc, n_trials=3, seed=7)
    pd.testing.assert_frame_equal(three.trials, one.trials.iloc[: len(three.trials)])


def _within(value: float, target: float, se: float) -> bool:
    return abs(value - target) <= 3 * se


def test_power_bias_coverage_agree_with_formula_under_mcar() -> None:
    sc = load_scenario(SAMPLE)
    sim = simulate_power(sc, n_trials=120, seed=2026)
    row = sim.to_frame().set_index("population").loc["itt"]
    e = sc.endpoints[0]
    analytic = power_mmrm(
        n_total=80,
        delta=0.02,
        sigma=0.03,
        correlation=e.correlation,
        retention=[1, 0.95, 0.9, 0.85],
    ).power
    assert _within(row["power"], analytic, row["mc_se"]), (row["power"], analytic)
    itt = sim.trials[sim.trials["population"] == "itt"]
    est = itt["estimate"].to_numpy()
    assert _within(row["mean_estimate"], 0.02, est.std(ddof=1) / math.sqrt(len(est)))
    assert row["bias"] == pytest.approx(row["mean_estimate"] - 0.02, abs=1e-15)
    assert _within(row["coverage"], 0.95, math.sqrt(0.95 * 0.05 / len(est)))
    assert sim.familywise_power == row["power"]  # one endpoint: the family is the primary
    assert sim.notes == (
        "plan endpoints the scenario does not simulate are untested: corneometer (key "
        "secondary), wrinkle_rz (key secondary), faceq_satisfaction_facial_appearance (key "
        "secondary), cutometer_r5 (secondary), cutometer_r7 (secondary), wrinkle_ra "
        "(secondary), wrinkle_depth_max (secondary), wrinkle_volume (secondary), "
        "skindex16_symptoms (secondary), skindex16_emotions (secondary), skindex16_functioning "
        "(secondary), faceq_psychological_function (secondary)",
    )


def test_null_type_one_error_per_endpoint_and_familywise_holm() -> None:
    sim = simulate_power(_scenario(NULL3), n_trials=80, seed=99, effect_scale=0.0)
    alpha = sim.alpha
    se = math.sqrt(alpha * (1 - alpha) / sim.n_trials)
    table = sim.to_frame()
    assert set(table["endpoint"]) == {"cutometer_r2", "corneometer", "wrinkle_rz"}
    for r in table.itertuples():
        assert r.bias == pytest.approx(r.mean_estimate)  # the truth is 0
    itt = sim.trials[sim.trials["population"] == "itt"]
    for endpoint, g in itt.groupby("endpoint"):
        # each endpoint's own test (unadjusted p) holds its level
        assert _within(float((g["p_value"] <= alpha).mean()), alpha, se), endpoint
    fam = sim.familywise.set_index("population").loc["itt"]
    assert fam["n_hypotheses"] == 3
    assert _within(fam["key_secondary_any"], alpha, se)
    keysec = sim.trials[(sim.trials["role"] == "key secondary")]
    assert keysec["p_adjusted"].notna().all()
    assert (keysec["p_adjusted"] >= keysec["p_value"]).all()  # Holm only raises p
    family = sim.trials[sim.trials["role"].isin(["primary", "key secondary"])]
    primary = family.loc[family["role"] == "primary", "endpoint"].iloc[0]
    rows = family.groupby(["population", "comparison"], sort=False)
    assert len(sim.familywise) == rows.ngroups == 2
    for (pop, comp), g in rows:  # the family-wise table is the trials' table pivoted
        wide = g.pivot(index="trial", columns="endpoint", values="rejected")
        row = sim.familywise[sim.familywise["population"] == pop].iloc[0]
        assert row["comparison"] == comp and len(wide) == sim.n_trials
        assert row["all_rejected"] == wide.all(axis=1).mean()
        assert row["key_secondary_any"] == wide.drop(columns=primary).any(axis=1).mean()


def test_sample_size_starts_from_the_formula_and_brackets_the_target() -> None:
    sc = load_scenario(SAMPLE)
    e = sc.endpoints[0]
    res = efficacy.sample_size(sc, target_power=0.8, n_trials=12, seed=5)
    start = power_mmrm(
        power=0.8, delta=0.02, sigma=0.03, correlation=e.correlation, retention=[1, 0.95, 0.9, 0.85]
    )
    assert res.analytic_n_per_arm == start.n_active_required
    curve = res.curve.set_index("n_per_arm")["power"]
    assert res.n_per_arm in curve.index and curve[res.n_per_arm] >= 0.8
    assert (curve[curve.index < res.n_per_arm] < 0.8).all()
