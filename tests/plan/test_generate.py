"""The trial generator: declared means, SDs, correlations, retention and MAR dropout."""

from __future__ import annotations

import tomllib

import numpy as np

from efficacy._examples import repo_path
from efficacy.plan._generate import draw_trial
from efficacy.plan.scenario import load_scenario, scenario_from_mapping

SAMPLE = repo_path("sample_data", "scenarios", "elasticity_12wk.toml")


def _pooled(sc, n_trials: int, seed: int, **kw):
    trials = [draw_trial(sc, s, **kw) for s in np.random.SeedSequence(seed).spawn(n_trials)]
    return trials


def test_mcar_draws_have_the_declared_moments_and_retention() -> None:
    sc = load_scenario(SAMPLE).with_n(100)
    trials = _pooled(sc, 40, 1)  # 8000 participants
    arm = np.concatenate([t.arm for t in trials])
    obs = np.concatenate([t.observed for t in trials])
    # complete changes: value - baseline where observed; the generator's latent draw is
    # checked through the observed week-2 column (retention 1.00: everyone observed)
    change = np.concatenate([t.change["cutometer_r2"] for t in trials])
    n = arm.size
    np.testing.assert_allclose(
        obs.mean(axis=0), [1.0, 0.95, 0.90, 0.85], atol=3 * np.sqrt(0.25 / n)
    )
    assert (obs[:, 1:] <= obs[:, :-1]).all()  # monotone
    for a, truth in ((0, 0.0), (1, 0.02 * 2 / 12)):
        col = change[(arm == a), 0]
        assert abs(col.mean() - truth) < 3 * 0.03 / np.sqrt(col.size)
    full = change[obs[:, -1]]  # completers: MCAR keeps the joint distribution
    full = full - np.where(
        (arm[obs[:, -1]] == 1)[:, None], [0.02 * w / 12 for w in (2, 4, 8, 12)], 0
    )
    corr = np.corrcoef(full.T)
    expected = load_scenario(SAMPLE).endpoints[0].correlation
    np.testing.assert_allclose(corr, expected, atol=0.05)
    np.testing.assert_allclose(full.std(axis=0, ddof=1), 0.03, rtol=0.05)
    base = np.concatenate([t.baseline["cutometer_r2"] for t in trials])
    assert abs(base.mean() - 0.70) < 3 * 0.08 / np.sqrt(n)


def test_effect_scale_zero_is_the_null_and_seeds_are_per_trial() -> None:
    sc = load_scenario(SAMPLE)
    s = np.random.SeedSequence(5, spawn_key=(3,))
    a, b = draw_trial(sc, s, 0.0), draw_trial(sc, s, 1.0)
    # the same draws; only the active arm's mean moves, by the scaled effect
    shift = b.change["cutometer_r2"] - a.change["cutometer_r2"]
    act = b.arm == 1
    np.testing.assert_allclose(shift[act & b.observed[:, -1], -1], 0.02, rtol=1e-9)
    assert np.nanmax(np.abs(shift[~act])) < 1e-12
    again = draw_trial(sc, np.random.SeedSequence(5).spawn(4)[3], 0.0)
    np.testing.assert_array_equal(again.change["cutometer_r2"], a.change["cutometer_r2"])


def test_mar_dropout_depends_on_the_last_observed_change() -> None:
    doc = tomllib.loads(SAMPLE.read_text())
    doc["dropout"] = {"kind": "mar", "retention": [1.0, 0.8, 0.6, 0.4], "mar_slope": -1.5}
    sc = scenario_from_mapping(doc).with_n(200)
    trials = _pooled(sc, 10, 2)
    obs = np.concatenate([t.observed for t in trials])
    ch = np.concatenate([t.change["cutometer_r2"] for t in trials])
    stayed = obs[:, 1]
    # those who left before week 4 had lower week-2 changes (slope < 0: the worse leave)
    assert ch[~stayed, 0].mean() < ch[stayed, 0].mean() - 0.01
    # with slope 0 the week-4 retention is the declared 0.8
    doc["dropout"]["mar_slope"] = 0.0
    flat = scenario_from_mapping(doc).with_n(200)
    obs0 = np.concatenate([t.observed for t in _pooled(flat, 10, 2)])
    assert abs(obs0[:, 1].mean() - 0.8) < 3 * np.sqrt(0.16 / obs0.shape[0])


def test_split_face_difference_has_the_site_correlation_sd() -> None:
    doc = {
        "scenario": {"design": "split_face", "weeks": [12], "n_participants": 4000},
        "arms": [{"id": "VEHICLE", "control": True}, {"id": "ACTIVE"}],
        "endpoints": {
            "corneometer": {
                "mean_change": {"control": [1.0], "effect": 4.0},
                "sd": 6.0,
                "correlation": [[1.0]],
                "baseline": {"mean": 45, "sd": 10},
                "site_correlation": 0.6,
            }
        },
    }
    sc = scenario_from_mapping(doc)
    t = draw_trial(sc, np.random.SeedSequence(9))
    d = t.change["corneometer"][:, 0]
    assert abs(d.mean() - 4.0) < 3 * 6 * np.sqrt(0.8) / np.sqrt(d.size)
    np.testing.assert_allclose(d.std(ddof=1), 6 * np.sqrt(2 * 0.4), rtol=0.05)
    np.testing.assert_allclose(t.baseline["corneometer"].std(ddof=1), 10 * np.sqrt(0.8), rtol=0.05)
