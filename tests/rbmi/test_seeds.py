"""Seeds: results reproduce, and sample k never depends on how many samples are drawn."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from efficacy.rbmi import reference_based
from efficacy.rbmi._data import prepare
from efficacy.rbmi._fit import bootstrap, fit_imputation_model

REF = Path(__file__).resolve().parents[1] / "reference" / "rbmi"
ARGS: dict[str, Any] = {
    "subject": "subject",
    "visit": "visit",
    "group": "arm",
    "references": {"product": "vehicle", "vehicle": "vehicle"},
}


@pytest.fixture(scope="module")
def small() -> tuple[pd.DataFrame, pd.DataFrame]:
    trial = pd.read_csv(REF / "cosmetic_trial.csv")
    events = pd.read_csv(REF / "cosmetic_events.csv")
    keep = trial["subject"].unique()[:60]
    return trial[trial["subject"].isin(keep)], events[events["subject"].isin(keep)]


def _run(small: Any, **kw: Any) -> Any:
    trial, events = small
    return reference_based(trial, "chg ~ base * visit + arm * visit", events=events, **ARGS, **kw)


def test_same_seed_same_result_and_recorded_entropy(small: Any) -> None:
    a = _run(small, method="approximate-bayes", n_samples=4, seed=7)
    b = _run(small, method="approximate-bayes", n_samples=4, seed=7)
    pd.testing.assert_frame_equal(a.to_frame(), b.to_frame())
    assert a.seed == 7
    fresh = _run(small, resampling="bootstrap", n_samples=4)
    again = _run(small, resampling="bootstrap", n_samples=4, seed=fresh.seed)
    pd.testing.assert_frame_equal(fresh.to_frame(), again.to_frame())
    other = _run(small, resampling="bootstrap", n_samples=4, seed=8)
    assert not np.allclose(other.to_frame()["std_error"], again.to_frame()["std_error"])


def test_sample_k_does_not_depend_on_the_number_of_samples(small: Any) -> None:
    trial, events = small
    prep = prepare(
        trial,
        "chg ~ base * visit + arm * visit",
        events=events,
        analysis_covariates=None,
        **ARGS,
    )
    model = fit_imputation_model(prep, "us")
    three, _ = bootstrap(model, prep.group, 3, np.random.SeedSequence(11), include_full=True)
    five, _ = bootstrap(model, prep.group, 5, np.random.SeedSequence(11), include_full=True)
    np.testing.assert_array_equal(three.counts, five.counts[:4])
    np.testing.assert_array_equal(three.beta, five.beta[:4])
    # stratified by group: each bootstrap sample keeps the group sizes
    sizes = np.bincount(prep.group)
    for row in five.counts[1:]:
        np.testing.assert_array_equal(np.bincount(prep.group, weights=row), sizes)
