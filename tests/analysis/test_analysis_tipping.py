"""Delta-adjusted multiple imputation on a simulated trial whose truth is set."""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd
import pytest

import efficacy
from efficacy.analysis.data import ModelData
from efficacy.analysis.models import fit_endpoint
from efficacy.analysis.plan import TrialPlan
from efficacy.analysis.tipping import _scan, impute, tipping_point

TRUE_EFFECT = 1.0  # active - control difference in change at the final visit


def _trial(seed: int = 11, n: int = 150) -> ModelData:
    """Two arms, 3 post-baseline visits, MAR monotone dropout driven by observed change."""
    rng = np.random.default_rng(seed)
    arms = np.repeat(["CTL", "TRT"], n)
    base = rng.normal(50, 5, 2 * n)
    means = np.where(arms[:, None] == "TRT", [[0.4, 0.7, TRUE_EFFECT]], [[0.0, 0.0, 0.0]])
    cov = 9.0 * (0.6 * np.ones((3, 3)) + 0.4 * np.eye(3))
    y = means + 0.2 * (base[:, None] - 50) + rng.multivariate_normal(np.zeros(3), cov, 2 * n)
    # MAR: the lower the last observed change, the likelier the dropout
    for k in (1, 2):
        p_drop = 1 / (1 + np.exp(1.8 + 0.5 * y[:, k - 1]))
        drop = np.isfinite(y[:, k - 1]) & (rng.uniform(size=2 * n) < p_drop)
        y[drop, k:] = np.nan
    ids = [f"S{i:03d}" for i in range(2 * n)]
    rows = [
        (ids[i], arms[i], v, base[i], y[i, k])
        for i in range(2 * n)
        for k, v in enumerate(["V1", "V2", "V3"])
        if np.isfinite(y[i, k])
    ]
    frame = pd.DataFrame(rows, columns=["subject_id", "arm", "visit", "baseline", "change"])
    frame["arm"] = pd.Categorical(frame["arm"], categories=["CTL", "TRT"])
    frame["visit"] = pd.Categorical(frame["visit"], categories=["V1", "V2", "V3"])
    baseline = pd.DataFrame({"subject_id": ids, "arm": arms, "baseline": base})
    return ModelData(frame=frame, baseline=baseline, notes=())


def _plan(**sensitivity) -> TrialPlan:
    base = efficacy.load_protocol("iso-efficacy-2025").analysis
    assert base is not None
    settings = dataclasses.replace(
        base, sensitivity=dataclasses.replace(base.sensitivity, **sensitivity)
    )
    return TrialPlan(
        design="parallel",
        endpoints=(("corneometer", "primary"),),
        control="CTL",
        actives=("TRT",),
        visits=("V1", "V2", "V3"),
        final_visit="V3",
        final_week=12.0,
        populations=("itt",),
        model=settings.parallel,
        settings=settings,
        notes=(),
    )


@pytest.fixture(scope="module")
def sim():
    data = _trial()
    plan = _plan()
    return data, plan, fit_endpoint(data, plan), tipping_point(data, plan, "corneometer", "itt")[0]


def test_delta_zero_recovers_the_mar_estimate(sim) -> None:
    _, _, fit, tp = sim
    mmrm = fit.contrasts.set_index("visit").loc["V3"]
    mi = tp.table.iloc[0]
    assert mi["delta"] == 0.0
    # MI under MAR and the MMRM estimate the same quantity: within a quarter of an SE
    assert abs(mi["estimate"] - mmrm["estimate"]) < 0.25 * mmrm["std_error"]
    assert mi["std_error"] == pytest.approx(mmrm["std_error"], rel=0.15)
    # and both recover the truth set by the simulation (within 3 SE)
    assert abs(mmrm["estimate"] - TRUE_EFFECT) < 3 * mmrm["std_error"]
    assert tp.n_missing_final > 20 and tp.imputations == 50 and tp.direction == -1


def test_estimate_is_linear_and_p_monotone_in_delta(sim) -> None:
    data, _, _, tp = sim
    t = tp.table
    slope = np.diff(t["estimate"]) / np.diff(t["delta"])
    # each unit of delta moves the ANCOVA coefficient by about the imputed share of the arm
    n_active = int((data.baseline["arm"] == "TRT").sum())
    assert np.allclose(slope, slope[0], rtol=1e-9)
    assert -slope[0] == pytest.approx(tp.n_missing_final / n_active, rel=0.1)
    # p rises with delta until the estimate crosses 0 (then the effect reverses)
    positive = t.loc[t["estimate"] > 0, "p_value"].to_numpy()
    assert (np.diff(positive) > 0).all() and positive.size >= 5


def test_tipping_point_is_where_p_crosses_alpha(sim) -> None:
    data, plan, _, tp = sim
    t = tp.table
    assert t["significant"].iloc[0] and not t["significant"].iloc[-1]
    below = t.loc[t["delta"] < tp.tipping_delta]
    above = t.loc[t["delta"] > tp.tipping_delta]
    assert below["significant"].all() and not above["significant"].any()
    # at the tipping point the pooled p-value equals alpha (the CI touches 0)
    y = np.asarray(
        data.frame.pivot_table(
            index="subject_id", columns="visit", values="change", observed=False, dropna=False
        ).reindex(data.baseline["subject_id"])
    )
    b = data.baseline["baseline"].to_numpy()
    arm = data.baseline["arm"].to_numpy()
    done = impute(b, y, arm, 50, plan.settings.sensitivity.seed)
    X = np.column_stack([np.ones(arm.size), b, (arm == "TRT").astype(float)])
    shift = -((arm == "TRT") & ~np.isfinite(y[:, -1])).astype(float)
    row = _scan(done[:, :, -1].T, X, 2, shift, [tp.tipping_delta], plan.level)[0]
    assert row[6] == pytest.approx(plan.alpha, rel=1e-6)
    assert row[4] == pytest.approx(0.0, abs=1e-6)  # conf_low


def test_imputation_is_seeded_and_keeps_observed_values() -> None:
    data = _trial(seed=5, n=40)
    y = np.asarray(
        data.frame.pivot_table(
            index="subject_id", columns="visit", values="change", observed=False, dropna=False
        ).reindex(data.baseline["subject_id"])
    )
    b = data.baseline["baseline"].to_numpy()
    arm = data.baseline["arm"].to_numpy()
    a, b2 = impute(b, y, arm, 5, 1), impute(b, y, arm, 5, 1)
    np.testing.assert_array_equal(a, b2)
    obs = np.isfinite(y)
    assert np.all(a[:, obs] == y[obs]) and np.isfinite(a).all()
    assert not np.array_equal(a, impute(b, y, arm, 5, 2))


def _pivoted(frame: pd.DataFrame, visits: object, subjects: pd.Index) -> np.ndarray:
    """The change per subject (rows, `subjects`) and visit (columns) by pandas' pivot."""
    return (
        frame.pivot_table(
            index="subject_id", columns="visit", values="change", observed=False, dropna=False
        )
        .reindex(columns=visits)
        .reindex(subjects)
        .to_numpy(float)
    )


def test_no_missing_final_values_means_no_tipping_point() -> None:
    data = _trial(seed=3, n=30)
    full = data.frame.dropna()
    complete = full.groupby("subject_id")["visit"].transform("size") == 3
    keep = set(full.loc[complete, "subject_id"])
    data = ModelData(
        frame=full.loc[full["subject_id"].isin(keep)].reset_index(drop=True),
        baseline=data.baseline.loc[data.baseline["subject_id"].isin(keep)].reset_index(drop=True),
        notes=(),
    )
    tp = tipping_point(data, _plan(imputations=5), "corneometer", "itt")[0]
    assert tp.n_missing_final == 0 and np.isnan(tp.tipping_delta)
    assert "no missing final-visit values" in " ".join(tp.notes)
    assert np.allclose(tp.table["estimate"], tp.table["estimate"].iloc[0])


def test_wide_change_equals_pivot_table() -> None:
    """`_wide` places each change by position exactly as its pivot_table gives it.

    Missing visits, a baseline subject without post-baseline rows, a row of a subject
    without a baseline, NaN and -0.0 changes; a cell with two values falls back to the
    pivot_table (which averages them).
    """
    from efficacy.analysis import tipping

    data = _trial(seed=3, n=20)
    frame = data.frame.copy()
    frame.loc[0, "change"] = -0.0
    frame.loc[5, "change"] = np.nan
    frame = frame.loc[frame["subject_id"] != "S004"]  # in the baseline, no rows
    extra = frame.iloc[:1].assign(subject_id="X999")  # rows, no baseline
    frame = pd.concat([extra, frame], ignore_index=True)
    frame["visit"] = pd.Categorical(frame["visit"], categories=["V1", "V2", "V3"])
    data = ModelData(frame=frame, baseline=data.baseline, notes=())
    plan = _plan()
    base, y, visits = tipping._wide(data, plan)
    want = _pivoted(frame, visits, base.index)
    np.testing.assert_array_equal(y, want)
    assert np.signbit(y).sum() == np.signbit(want).sum()  # -0.0 becomes 0.0 in both
    assert tipping._wide_change(frame, base.index, len(visits)) is not None
    doubled = pd.concat([frame, frame.iloc[[3]]], ignore_index=True)
    assert tipping._wide_change(doubled, base.index, len(visits)) is None
    _, y2, _ = tipping._wide(ModelData(doubled, data.baseline, ()), plan)
    np.testing.assert_array_equal(y2, _pivoted(doubled, visits, base.index))
