"""Tipping point variants: delta on top of jump to reference, multiplicative deltas."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from efficacy.analysis.tipping import impute, tipping_point
from efficacy.errors import EfficacyError
from efficacy.rbmi import reference_based
from tests.analysis.test_analysis_tipping import _plan, _trial


@pytest.fixture(scope="module")
def sim():
    data = _trial()
    return data, _plan(imputations=10)


def _long(data) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The simulated trial as reference_based takes it, and its JR events."""
    visits = ["V1", "V2", "V3"]
    grid = pd.MultiIndex.from_product(
        [data.baseline["subject_id"], visits], names=["subject_id", "visit"]
    ).to_frame(index=False)
    frame = data.frame[["subject_id", "visit", "change"]].astype({"visit": str})
    long = grid.merge(frame, how="left").merge(data.baseline, on="subject_id")
    long["visit"] = pd.Categorical(long["visit"], visits)
    long["arm"] = pd.Categorical(long["arm"], ["CTL", "TRT"])
    wide = long.pivot(index="subject_id", columns="visit", values="change")
    lost = wide[wide["V3"].isna()]
    first = [
        visits[int(np.flatnonzero(np.isfinite(r))[-1]) + 1] if np.isfinite(r).any() else "V1"
        for r in lost.to_numpy()
    ]
    events = pd.DataFrame({"subject_id": lost.index, "visit": first, "strategy": "JR"})
    return long, events


def test_j2r_delta_zero_is_rbmis_approximate_bayes(sim) -> None:
    """Same imputations (same seed), same ANCOVA, Rubin's rules: the same numbers."""
    data, plan = sim
    tp = tipping_point(data, plan, "corneometer", "itt", imputation="J2R")[0]
    long, events = _long(data)
    res = reference_based(
        long,
        "change ~ baseline * visit + arm * visit",
        subject="subject_id",
        visit="visit",
        group="arm",
        events=events,
        references={"TRT": "CTL", "CTL": "CTL"},
        method="approximate-bayes",
        n_samples=plan.settings.sensitivity.imputations,
        seed=plan.settings.sensitivity.seed,
        analysis_covariates=["baseline"],
    )
    ref = res.to_frame().query("parameter == 'difference' and visit == 'V3'").iloc[0]
    row = tp.table.iloc[0]
    for ours, theirs in [("estimate", "estimate"), ("std_error", "std_error"), ("df", "df")]:
        assert row[ours] == pytest.approx(ref[theirs], rel=1e-9)
    assert "jump to reference" in tp.notes[0]


def test_j2r_shrinks_the_effect_towards_control(sim) -> None:
    data, plan = sim
    mar = tipping_point(data, plan, "corneometer", "itt")[0].table.iloc[0]["estimate"]
    j2r = tipping_point(data, plan, "corneometer", "itt", imputation="J2R")[0]
    assert 0 < j2r.table.iloc[0]["estimate"] < mar
    assert j2r.tipping_delta < tipping_point(data, plan, "corneometer", "itt")[0].tipping_delta


def test_multiplicative_delta_moves_each_imputed_value_by_its_size(sim) -> None:
    data, plan = sim
    tp = tipping_point(data, plan, "corneometer", "itt", scale="multiplicative")[0]
    assert tp.table["delta"].iloc[0] == 0.0 and tp.table["delta"].iloc[-1] >= 1.0
    assert "delta x |imputed value|" in tp.notes[0]
    # by hand at a grid delta: every imputed TRT final value lowered by delta x its size
    base = data.baseline.set_index("subject_id")
    wide = data.frame.pivot_table(
        index="subject_id", columns="visit", values="change", observed=False, dropna=False
    ).reindex(base.index)
    y = wide.to_numpy(float)
    sens = plan.settings.sensitivity
    b = base["baseline"].to_numpy(float)
    arm = base["arm"].to_numpy()
    finals = impute(b, y, arm, sens.imputations, sens.seed)[:, :, -1].T
    pen = (arm == "TRT") & np.isnan(y[:, -1])
    X = np.column_stack([np.ones(b.size), b, (arm == "TRT").astype(float)])
    for k in (5, 10):
        d = float(tp.table["delta"].iloc[k])
        shifted = finals - d * pen[:, None] * np.abs(finals)  # higher is better: down
        coef = np.linalg.lstsq(X, shifted, rcond=None)[0][2]
        assert tp.table["estimate"].iloc[k] == pytest.approx(coef.mean(), rel=1e-10)


def test_bad_variant_and_split_face(sim) -> None:
    data, plan = sim
    with pytest.raises(EfficacyError, match="imputation must be one of"):
        tipping_point(data, plan, "corneometer", "itt", imputation="CR")
    import dataclasses

    split = dataclasses.replace(plan, design="split_face")
    with pytest.raises(EfficacyError, match="needs a parallel design"):
        tipping_point(data, split, "corneometer", "itt", imputation="J2R")
