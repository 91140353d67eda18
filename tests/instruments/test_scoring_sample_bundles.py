"""score_trial on the simulated bundles: shapes and values recomputed from the raw CSVs."""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from efficacy.instruments import (
    DERIVED_COLUMNS,
    ScoringOptions,
    UnconvertedScoreWarning,
    score_trial,
)
from efficacy.instruments._pro_common import PRO_COLUMNS
from efficacy.protocol import load_protocol

ROOT = Path(__file__).parents[2]
PARALLEL = ROOT / "sample_data" / "parallel_12wk"
TABLE = ROOT / "tests" / "reference" / "faceq" / "synthetic_linear_conversion.csv"


@pytest.fixture(scope="module")
def parallel(samples) -> tuple[object, pd.DataFrame, pd.DataFrame]:
    trial = samples.trial("parallel_12wk")  # read_trial(PARALLEL)
    raw_m = pd.read_csv(PARALLEL / "measurements.csv")
    raw_p = pd.read_csv(PARALLEL / "pro_responses.csv")
    return trial, raw_m, raw_p


@pytest.fixture(scope="module")
def scored(parallel: tuple) -> object:
    trial = parallel[0]
    return score_trial(trial, protocol=load_protocol("iso-efficacy-2025"), conversion=TABLE)


def test_shapes(parallel: tuple, scored: object) -> None:
    _, raw_m, raw_p = parallel
    n_skindex = len(
        raw_p[raw_p.instrument == "skindex16"][["subject_id", "visit"]].drop_duplicates()
    )
    faceq = raw_p[raw_p.instrument == "faceq"][["subject_id", "visit", "scale"]].drop_duplicates()
    assert list(scored.pro.columns) == list(PRO_COLUMNS)
    assert len(scored.pro) == 3 * n_skindex + len(faceq)
    assert list(scored.endpoints.columns) == list(DERIVED_COLUMNS)
    keys = raw_m[["subject_id", "visit", "endpoint", "body_site"]].drop_duplicates()
    assert len(scored.endpoints) == len(keys) + len(scored.pro)
    assert scored.warnings == ()  # both FACE-Q scales converted
    assert (scored.pro.loc[scored.pro.instrument == "faceq", "metric"] == "rasch_0_100").all()
    e = scored.endpoints
    units = e[["subject_id", "endpoint", "body_site"]].drop_duplicates()
    assert (e["phase"] == "baseline").sum() == len(units)  # every unit has a W0 value


def test_recomputed_skindex_and_faceq(parallel: tuple, scored: object) -> None:
    _, _, raw_p = parallel
    q = raw_p[(raw_p.subject_id == "S0001") & (raw_p.visit == "W0")]
    sym = q[(q.instrument == "skindex16") & q["item"].between(1, 4)]["response"]
    row = scored.pro.query("subject_id == 'S0001' and visit == 'W0' and scale == 'symptoms'")
    assert row["score"].item() == pytest.approx(sym.mean() * 100 / 6, rel=1e-12)
    sfa = q[q.scale == "satisfaction_facial_appearance"]["response"]
    assert len(sfa) == 10 and sfa.notna().all()
    row = scored.pro.query(
        "subject_id == 'S0001' and visit == 'W0' and scale == 'satisfaction_facial_appearance'"
    )
    # synthetic linear table: 100 x (raw - 10) / 30, 4 decimals
    assert row["score"].item() == pytest.approx(round(100 * (sfa.sum() - 10) / 30, 4), abs=1e-12)
    # a questionnaire with one unanswered item: mean imputation
    partial = raw_p[raw_p.response.isna() & (raw_p.instrument == "faceq")].iloc[0]
    items = raw_p[
        (raw_p.subject_id == partial.subject_id)
        & (raw_p.visit == partial.visit)
        & (raw_p.scale == partial.scale)
    ]["response"]
    row = scored.pro.query(
        f"subject_id == '{partial.subject_id}' and visit == '{partial.visit}' "
        f"and scale == '{partial.scale}'"
    )
    assert row["raw_sum"].item() == pytest.approx(items.sum() * 10 / 9, rel=1e-12)
    assert row["n_answered"].item() == 9


def test_recomputed_change_from_baseline(parallel: tuple, scored: object) -> None:
    _, raw_m, _ = parallel
    c = raw_m[(raw_m.subject_id == "S0002") & (raw_m.endpoint == "corneometer")].set_index("visit")
    row = scored.endpoints.query(
        "subject_id == 'S0002' and endpoint == 'corneometer' and visit == 'W12'"
    )
    change = c.loc["W12", "value"] - c.loc["W0", "value"]
    assert row["change"].item() == pytest.approx(change, rel=1e-12)
    assert row["percent_change"].item() == pytest.approx(
        100 * change / c.loc["W0", "value"], rel=1e-12
    )
    w = raw_m[(raw_m.subject_id == "S0002") & (raw_m.endpoint == "wrinkle_depth_max")].set_index(
        "visit"
    )
    row = scored.endpoints.query(
        "subject_id == 'S0002' and endpoint == 'wrinkle_depth_max' and visit == 'W4'"
    )
    assert row["change"].item() == pytest.approx(
        w.loc["W4", "value"] - w.loc["W0", "value"], rel=1e-12
    )
    assert row["direction"].item() == "lower" and row["unit"].item() == "um"


def test_r_parameters_derived_from_sample_amplitudes(parallel: tuple) -> None:
    trial = parallel[0]
    m = trial.measurements
    reported = m[m.endpoint.isin(["cutometer_r2", "cutometer_r5", "cutometer_r7"])]
    from dataclasses import replace

    amplitudes_only = replace(trial, measurements=m.drop(index=reported.index))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UnconvertedScoreWarning)
        derived = score_trial(amplitudes_only).endpoints
    d = derived[derived.endpoint.isin(["cutometer_r2", "cutometer_r5", "cutometer_r7"])]
    assert len(d) == len(reported) and d["derivation"].str.endswith("from amplitudes").all()
    merged = d.merge(reported, on=["subject_id", "visit", "endpoint", "body_site"])
    # the simulator reports round(ratio, 4): derived and reported agree to 5e-5
    assert np.max(np.abs(merged["value_x"] - merged["value_y"])) <= 5e-5 + 1e-12


def test_responders_and_options(parallel: tuple) -> None:
    from efficacy.instruments import ResponderRule

    opts = ScoringOptions(
        skindex16_overall=True, responders=(ResponderRule("corneometer", "percent", 10),)
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UnconvertedScoreWarning)
        r = score_trial(parallel[0], options=opts)
    assert "overall" in set(r.pro.scale)
    e = r.endpoints[
        (r.endpoints.endpoint == "corneometer") & (r.endpoints.phase == "post_baseline")
    ]
    expected = e["percent_change"] >= 10 - 1e-9
    assert (e["responder"].astype(bool) == expected).all()
    assert r.endpoints.loc[r.endpoints.endpoint != "corneometer", "responder"].isna().all()


def test_flawed_pro_defects_become_reasons(samples) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UnconvertedScoreWarning)
        r = score_trial(samples.trial("flawed_pro"))  # read_trial(sample_data/flawed_pro)
    bad = r.pro[r.pro.reason != ""]
    got = set(zip(bad.subject_id, bad.visit, bad.scale, bad.reason, strict=True))
    # the defects listed in sample_data/flawed_pro/README.md
    assert got == {
        ("S0001", "W4", "symptoms", "item 3: response 7 is not a whole number 0-6"),
        ("S0007", "W0", "emotions", "item 9 appears 2 times"),
        (
            "S0009",
            "W12",
            "emotions",
            "3 of 7 emotions items answered; at least 4 needed (min_answered_fraction 0.5)",
        ),
        (
            "S0003",
            "W12",
            "satisfaction_facial_appearance",
            "item 2: response 0 is not a whole number 1-4",
        ),
    }


def test_trial_not_modified(parallel: tuple) -> None:
    trial = parallel[0]
    m, p = trial.measurements.copy(deep=True), trial.pro_responses.copy(deep=True)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UnconvertedScoreWarning)
        score_trial(trial)
    pd.testing.assert_frame_equal(trial.measurements, m)
    pd.testing.assert_frame_equal(trial.pro_responses, p)
