"""model_data's numpy fast path (parallel design) equals its general merge path.

The fast path runs when there is one row per subject, visit and phase and the keys are
plain; the general path (merge and groupby) handles everything else. Both must give the
same frame, baseline frame and notes, exactly: the general path is forced here by
patching the eligibility check, on the sample trial and on edited copies of it
(covariates, a subject without an arm, rows at an unscheduled visit, a subject
without post-baseline values, a subject without a baseline value).
"""

from __future__ import annotations

import dataclasses
import warnings
from pathlib import Path

import pandas as pd
import pytest

import efficacy
from efficacy.analysis import data as data_mod
from efficacy.analysis.plan import resolve_plan
from efficacy.instruments import score_trial


@pytest.fixture(scope="module")
def trial(samples) -> efficacy.Trial:
    return samples.trial("parallel_12wk")  # read_trial(sample_data/parallel_12wk)


@pytest.fixture(scope="module")
def derived(trial) -> pd.DataFrame:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return score_trial(trial).endpoints


@pytest.fixture(scope="module")
def scored_sample(samples):
    """``name -> (read_trial(sample_data/name), score_trial(trial).endpoints)``, each once.

    The tests get the endpoints as a fresh copy.
    """
    done: dict[str, tuple[efficacy.Trial, pd.DataFrame]] = {}

    def get(name: str) -> tuple[efficacy.Trial, pd.DataFrame]:
        if name not in done:
            trial = samples.trial(name)  # read_trial(sample_data/name)
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                done[name] = (trial, score_trial(trial).endpoints)
        trial, endpoints = done[name]
        return trial, endpoints.copy()

    return get


def _plan(trial, tmp_path: Path, covariates: str):
    path = tmp_path / "cov.toml"
    path.write_text(
        f'extends = "iso-efficacy-2025"\n[analysis]\ncovariates = [{covariates}]\n',
        encoding="utf-8",
    )
    return resolve_plan(trial, efficacy.load_protocol(path))


def _both(monkeypatch, trial, derived, plan, endpoint, population):
    calls = []
    real = data_mod._fast_parallel_ok

    def spy(*args):
        out = real(*args)
        calls.append(out is not None)
        return out

    monkeypatch.setattr(data_mod, "_fast_parallel_ok", spy)
    fast = data_mod.model_data(trial, derived, endpoint, population, plan)
    monkeypatch.setattr(data_mod, "_fast_parallel_ok", lambda *a: None)
    general = data_mod.model_data(trial, derived, endpoint, population, plan)
    return fast, general, calls


def _assert_same(fast, general) -> None:
    pd.testing.assert_frame_equal(fast.frame, general.frame, check_exact=True)
    pd.testing.assert_frame_equal(fast.baseline, general.baseline, check_exact=True)
    assert fast.notes == general.notes


@pytest.mark.parametrize("population", ["itt", "per_protocol"])
@pytest.mark.parametrize("endpoint", ["cutometer_r2", "skindex16_symptoms"])
def test_sample_trial(monkeypatch, tmp_path, trial, derived, endpoint, population) -> None:
    plan = _plan(trial, tmp_path, '"age", "sex"')
    fast, general, calls = _both(monkeypatch, trial, derived, plan, endpoint, population)
    assert calls == [True]  # the fast path was taken
    columns = ["subject_id", "arm", "visit", "baseline", "change", "age", "sex"]
    assert list(fast.frame.columns) == columns
    _assert_same(fast, general)


def test_edited_trial(monkeypatch, tmp_path, trial, derived) -> None:
    subjects = trial.subjects.copy()
    subjects.loc[subjects["subject_id"] == "S0002", "arm"] = pd.NA  # randomised, no arm
    edited = dataclasses.replace(trial, subjects=subjects)
    rows = derived.copy()
    extra = rows.loc[(rows["endpoint"] == "corneometer") & (rows["visit"] == "W12")].head(3)
    extra = extra.assign(visit="W16")  # not a scheduled visit of the plan
    gone = (rows["subject_id"] == "S0003") & (rows["phase"] == "post_baseline")
    rows = pd.concat([rows.loc[~gone], extra], ignore_index=True)
    rows.loc[rows["subject_id"] == "S0004", "baseline"] = float("nan")  # no baseline value
    plan = _plan(edited, tmp_path, '"fitzpatrick"')
    fast, general, calls = _both(monkeypatch, edited, rows, plan, "corneometer", "itt")
    assert calls == [True]
    _assert_same(fast, general)
    text = " | ".join(fast.notes)
    assert "1 subjects of the population have no arm of the manifest" in text
    # S0001-S0003's W16 rows: S0002 has no arm, so 2 rows are left out as unscheduled
    assert "2 rows at visits after the estimand's visit or not scheduled" in text
    # S0003 (post-baseline rows removed) and S0002 (no arm) have no row in the model
    assert "2 of 120 subjects of the population have no post-baseline value" in text
    assert "S0003" in set(fast.baseline["subject_id"]) and "S0003" not in set(
        fast.frame["subject_id"]
    )
    assert "S0004" not in set(fast.baseline["subject_id"])  # only known baselines
    assert fast.frame.loc[fast.frame["subject_id"] == "S0004", "baseline"].isna().all()


@pytest.mark.parametrize("bundle", ["split_face_12wk", "flawed_split_face"])
def test_split_face_fast_path(monkeypatch, scored_sample, bundle) -> None:
    """The split-face numpy path equals the merge/groupby/unstack path, exactly."""
    trial, endpoints = scored_sample(bundle)  # read_trial, score_trial(trial).endpoints
    plan = resolve_plan(trial, efficacy.load_protocol("iso-efficacy-2025"))
    derived = data_mod.split_by_endpoint(endpoints)
    taken = []
    real = data_mod.split_face_fast

    def spy(*args):
        out = real(*args)
        taken.append(out is not None)
        return out

    for endpoint in ("cutometer_r2", "corneometer", "tewl"):
        for population in plan.populations:
            monkeypatch.setattr(data_mod, "split_face_fast", spy)
            fast = data_mod.model_data(trial, derived, endpoint, population, plan)
            monkeypatch.setattr(data_mod, "split_face_ok", lambda *a: None)
            general = data_mod.model_data(trial, derived, endpoint, population, plan)
            monkeypatch.undo()
            _assert_same(fast, general)
            assert len(fast.frame) > 0 and fast.frame["subject_id"].dtype == object
    assert taken == [True] * 6


def test_split_face_edited(monkeypatch, scored_sample) -> None:
    """A missing site, a lost control-site row and a repeated row: fast path or fallback."""
    trial, endpoints = scored_sample("split_face_12wk")  # read_trial, score_trial(...)
    plan = resolve_plan(trial, efficacy.load_protocol("iso-efficacy-2025"))
    rows = data_mod.split_by_endpoint(endpoints)["corneometer"]
    rows = rows.copy()
    rows.loc[3, "body_site"] = None  # this row is on no side
    rows = rows.drop(index=[6]).reset_index(drop=True)  # a side without its pair
    twice = pd.concat([rows, rows.iloc[[10]].assign(value=1.0, change=0.5)], ignore_index=True)
    real = data_mod.split_face_fast
    taken: list[object] = []

    def spy(*args):
        taken.append(real(*args))
        return taken[-1]

    for derived, fast_taken in (({"corneometer": rows}, True), ({"corneometer": twice}, False)):
        taken.clear()
        monkeypatch.setattr(data_mod, "split_face_fast", spy)
        fast = data_mod.model_data(trial, derived, "corneometer", "itt", plan)
        monkeypatch.setattr(data_mod, "split_face_ok", lambda *a: None)
        general = data_mod.model_data(trial, derived, "corneometer", "itt", plan)
        monkeypatch.undo()
        assert [t is not None for t in taken] == [fast_taken]
        _assert_same(fast, general)
    assert fast.frame["change"].isna().sum() >= 1  # the unpaired visit has no difference


def test_split_by_endpoint_equals_groupby(derived: pd.DataFrame) -> None:
    """One stable sort and a slice per endpoint give groupby's frames exactly."""
    mixed = derived.iloc[::-1].copy()  # endpoints interleaved, a non-range index
    mixed = pd.concat([mixed.iloc[::2], mixed.iloc[1::2]])
    mixed.iloc[[3, 40], mixed.columns.get_loc("endpoint")] = None  # rows without an endpoint
    for table in (derived, mixed, derived.iloc[:0]):
        want = {
            str(k): g[data_mod._ROW_COLUMNS].reset_index(drop=True)
            for k, g in table.groupby("endpoint", sort=False)
        }
        got = data_mod.split_by_endpoint(table)
        assert list(got) == list(want)
        for k, frame in want.items():
            pd.testing.assert_frame_equal(got[k], frame, check_exact=True)
    assert sum(map(len, data_mod.split_by_endpoint(mixed).values())) == len(derived) - 2
