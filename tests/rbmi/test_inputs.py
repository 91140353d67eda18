"""Misuse of reference_based: one-line ModelSpecError naming the argument and the fix."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from efficacy.errors import EfficacyError, ModelSpecError
from efficacy.rbmi import RESULT_COLUMNS, reference_based

REF = Path(__file__).resolve().parents[1] / "reference" / "rbmi"
FORMULA = "chg ~ base * visit + arm * visit"
REFS = {"product": "vehicle", "vehicle": "vehicle"}


@pytest.fixture(scope="module")
def small() -> tuple[pd.DataFrame, pd.DataFrame]:
    """The first 40 subjects of the simulated cosmetic trial, with their events."""
    trial = pd.read_csv(REF / "cosmetic_trial.csv")
    events = pd.read_csv(REF / "cosmetic_events.csv")
    keep = trial["subject"].unique()[:40]
    return trial[trial["subject"].isin(keep)].copy(), events[events["subject"].isin(keep)].copy()


def _call(trial: pd.DataFrame, events: pd.DataFrame | None, **kw: Any) -> Any:
    args: dict[str, Any] = {
        "subject": "subject",
        "visit": "visit",
        "group": "arm",
        "events": events,
        "references": REFS,
        "analysis_covariates": ["base"],
    }
    args.update(kw)
    return reference_based(trial, FORMULA, **args)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"strategy": "J2R"}, "unknown strategy 'J2R'"),
        ({"subject": "S999"}, "subject 'S999', which has no row in data"),
        ({"visit": "W16"}, "visit 'W16' of subject"),
    ],
)
def test_bad_events(small: Any, change: dict[str, str], message: str) -> None:
    trial, events = small
    bad = events.copy()
    for col, value in change.items():
        bad.loc[bad.index[0], col] = value
    with pytest.raises(ModelSpecError, match=message) as info:
        _call(trial, bad)
    assert "\n" not in str(info.value)


def test_reference_group_missing(small: Any) -> None:
    trial, events = small
    with pytest.raises(ModelSpecError, match="no reference group for 'product'"):
        _call(trial, events, references={"vehicle": "vehicle"})
    with pytest.raises(ModelSpecError, match="'placebo', which is not a group"):
        _call(trial, events, references={"product": "placebo"})


@pytest.mark.parametrize(
    ("kw", "message"),
    [
        ({"method": "bayes"}, "method must be one of"),
        ({"resampling": "bootstrap"}, "the bootstrap needs n_samples"),
        ({"n_samples": 10}, "n_samples must be None with the jackknife"),
        ({"covariance": "unstructured"}, "reference_based: "),
        ({"group": "arms"}, "group='arms' is not a column"),
        ({"analysis_covariates": ["age"]}, "analysis_covariates: 'age'"),
    ],
)
def test_bad_options(small: Any, kw: dict[str, Any], message: str) -> None:
    trial, events = small
    with pytest.raises(EfficacyError, match=message):
        _call(trial, events, **kw)


def test_absent_rows_are_added_when_covariates_are_per_subject(small: Any) -> None:
    trial, events = small
    gaps = trial["chg"].isna().to_numpy()
    full = _call(trial, events).to_frame()
    cut = _call(trial[~gaps], events).to_frame()  # rows of missed visits left out
    pd.testing.assert_frame_equal(full, cut)
    varying = trial.assign(temp=np.arange(len(trial), dtype=float))
    with pytest.raises(ModelSpecError, match="column 'temp' changes within subjects"):
        reference_based(
            varying[~gaps],
            FORMULA + " + temp",
            subject="subject",
            visit="visit",
            group="arm",
            events=events,
            references=REFS,
        )


def test_lmcf_needs_a_visit_before_the_event(small: Any) -> None:
    trial, _ = small
    ev = pd.DataFrame({"subject": ["S001"], "visit": ["W02"], "strategy": ["LMCF"]})
    with pytest.raises(ModelSpecError, match="LMCF needs an outcome mean before the event"):
        _call(trial, ev)


def test_inputs_unchanged_and_columns_fixed(small: Any) -> None:
    trial, events = small
    before, ev_before = trial.copy(), events.copy()
    res = _call(trial, events, method="approximate-bayes", n_samples=3, seed=1)
    pd.testing.assert_frame_equal(trial, before)
    pd.testing.assert_frame_equal(events, ev_before)
    frame = res.to_frame()
    assert tuple(frame.columns) == RESULT_COLUMNS
    assert frame["parameter"].tolist()[:3] == ["difference", "lsmean", "lsmean"]
    assert frame["group"].tolist()[:3] == ["vehicle - product", "product", "vehicle"]
    assert np.all(np.isfinite(frame["df"]))
    assert "rubin" in res.summary()


def test_group_must_be_in_the_imputation_model(small: Any) -> None:
    trial, events = small
    with pytest.raises(ModelSpecError, match="no term in the group column 'arm'"):
        reference_based(
            trial,
            "chg ~ base * visit",
            subject="subject",
            visit="visit",
            group="arm",
            events=events,
            references=REFS,
        )
