"""Baseline selection, change, percent change and responder flags (closed-form values)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from efficacy.errors import EfficacyError
from efficacy.instruments import DERIVED_COLUMNS, ResponderRule, derive_endpoints

SCHEDULE = {"W0": 0, "W4": 28, "W12": 84}


def _values(
    rows: list[tuple], endpoint: str = "corneometer", direction: str = "higher"
) -> pd.DataFrame:
    """rows: (subject, visit, day, value[, body_site])."""
    return pd.DataFrame(
        [
            {
                "subject_id": r[0],
                "visit": r[1],
                "day": r[2],
                "value": r[3],
                "body_site": r[4] if len(r) > 4 else "left_cheek",
                "endpoint": endpoint,
                "unit": "a.u.",
                "direction": direction,
            }
            for r in rows
        ]
    )


def _derive(values: pd.DataFrame, **kw: object) -> pd.DataFrame:
    return derive_endpoints(values, baseline_visit="W0", baseline_day=0, schedule=SCHEDULE, **kw)


def test_change_and_percent_change() -> None:
    out = _derive(_values([("S1", "W0", 0, 50.0), ("S1", "W4", 28, 55.0), ("S1", "W12", 84, 60.0)]))
    assert list(out.columns) == list(DERIVED_COLUMNS)
    assert out["phase"].tolist() == ["baseline", "post_baseline", "post_baseline"]
    assert out["baseline"].tolist() == [50.0, 50.0, 50.0]
    assert np.isnan(out["change"].iloc[0])
    assert out["change"].tolist()[1:] == [5.0, 10.0]
    assert out["percent_change"].tolist()[1:] == [pytest.approx(10.0), pytest.approx(20.0)]
    assert out["baseline_visit"].tolist() == ["W0"] * 3 and out["baseline_day"].tolist() == [0] * 3


def test_missing_baseline_value_falls_back_to_last_earlier_reading() -> None:
    v = _values(
        [
            ("S1", "SCR", -7, 40.0),
            ("S1", "UNS", -2, 45.0),
            ("S1", "W0", 0, None),
            ("S1", "W12", 84, 60.0),
        ]
    )
    out = _derive(v)
    # W0 value missing: the last non-missing at or before day 0 is the unscheduled day -2
    assert out["phase"].tolist() == [
        "baseline_period",
        "baseline",
        "baseline_period",
        "post_baseline",
    ]
    w12 = out.iloc[3]
    assert (w12.baseline, w12.baseline_visit, w12.baseline_day) == (45.0, "UNS", -2)
    assert w12.change == 15.0 and w12.percent_change == pytest.approx(100 * 15 / 45)
    assert out.iloc[2].reason == "value missing"


def test_unscheduled_pre_baseline_reading_loses_to_the_baseline_visit() -> None:
    v = _values(
        [
            ("S1", "UNS", -2, 45.0),
            ("S1", "W0", 0, 50.0),
            ("S1", "UNS2", 0, 47.0),
            ("S1", "W12", 84, 60.0),
        ]
    )
    out = _derive(v)
    # day 0 tie between W0 and an unscheduled reading: the baseline visit wins
    assert out["phase"].tolist() == [
        "baseline_period",
        "baseline",
        "baseline_period",
        "post_baseline",
    ]
    assert out.iloc[3].change == 10.0


def test_subject_without_baseline_row_uses_target_day_and_scheduled_visits_never_qualify() -> None:
    v = _values([("S2", "UNS", -1, 30.0), ("S2", "W4", -3, 99.0), ("S2", "W12", 85, 33.0)])
    out = _derive(v)
    # no W0 row: cutoff = target day 0; W4 recorded at day -3 (a data error) is not baseline
    assert out["phase"].tolist() == ["baseline", "post_baseline", "post_baseline"]
    assert out["change"].tolist()[1:] == [69.0, 3.0]


def test_no_baseline_at_all() -> None:
    out = _derive(_values([("S1", "W0", 0, None), ("S1", "W12", 84, 60.0)]))
    w12 = out.iloc[1]
    assert np.isnan(w12.baseline) and np.isnan(w12.change) and pd.isna(w12.baseline_visit)
    assert w12.reason == "no non-missing value at or before baseline visit W0 (day <= 0)"


def test_zero_baseline_percent_change_undefined_not_inf() -> None:
    out = _derive(_values([("S1", "W0", 0, 0.0), ("S1", "W12", 84, 2.0)]))
    w12 = out.iloc[1]
    assert w12.change == 2.0 and np.isnan(w12.percent_change)
    assert w12.reason == "baseline is 0: percent change undefined"
    assert not np.isinf(out["percent_change"]).any()


def test_body_sites_and_endpoints_are_separate_units() -> None:
    v = pd.concat(
        [
            _values(
                [
                    ("S1", "W0", 0, 50.0, "left_cheek"),
                    ("S1", "W0", 0, 40.0, "right_cheek"),
                    ("S1", "W12", 84, 55.0, "left_cheek"),
                    ("S1", "W12", 84, 41.0, "right_cheek"),
                ]
            ),
            _values([("S1", "W0", 0, 10.0), ("S1", "W12", 84, 9.0)], "tewl", "lower"),
        ],
        ignore_index=True,
    )
    out = _derive(v)
    post = out[out["phase"] == "post_baseline"]
    assert post["change"].tolist() == [5.0, 1.0, -1.0]


def test_absolute_responders_direction_and_boundary() -> None:
    v = pd.concat(
        [
            # tewl: lower is better; 0.3 -> 0.1 is a change of -0.19999999999999998 in floats
            _values(
                [
                    ("S1", "W0", 0, 0.3),
                    ("S1", "W12", 84, 0.1),
                    ("S2", "W0", 0, 0.3),
                    ("S2", "W12", 84, 0.11),
                    ("S3", "W0", 0, 0.3),
                    ("S3", "W12", 84, 0.5),
                ],
                "tewl",
                "lower",
            ),
        ],
        ignore_index=True,
    )
    out = _derive(v, responders=[ResponderRule("tewl", "absolute", 0.2)])
    post = out[out["phase"] == "post_baseline"]
    assert post["responder"].tolist() == [True, False, False]  # exactly 0.2 counts
    assert post["responder_rule"].iloc[0] == "change <= -0.2"
    assert out.loc[out["phase"] == "baseline", "responder"].isna().all()


def test_percent_and_half_sd_responders() -> None:
    v = _values(
        [
            ("S1", "W0", 0, 40.0),
            ("S1", "W12", 84, 44.0),  # +10%: responder
            ("S2", "W0", 0, 50.0),
            ("S2", "W12", 84, 54.9),  # +9.8%: not
            ("S3", "W0", 0, 60.0),
            ("S3", "W12", 84, None),  # missing: <NA>
            ("S4", "W0", 0, 70.0),
            ("S4", "W12", 84, 76.5),
        ]
    )
    pct = _derive(v, responders=[ResponderRule("corneometer", "percent", 10)])
    post = pct[pct["phase"] == "post_baseline"]
    assert post["responder"].tolist()[:2] == [True, False] and pd.isna(post["responder"].iloc[2])
    sd = _derive(v, responders=[ResponderRule("corneometer", "half_baseline_sd")])
    # baselines 40, 50, 60, 70: sample SD = sqrt(500/3) = 12.909944; half = 6.454972
    half = 0.5 * np.sqrt(500 / 3)
    post = sd[sd["phase"] == "post_baseline"]
    assert post["responder_threshold"].iloc[0] == pytest.approx(half, rel=1e-12)
    # changes 4.0, 4.9, NA, 6.5 -> only S4 (6.5 >= 6.455)
    assert post["responder"].tolist()[:2] == [False, False] and post["responder"].iloc[3]
    assert post["responder_rule"].iloc[0] == "change >= 0.5 x baseline SD (6.45497)"


def test_half_sd_needs_two_baselines() -> None:
    v = _values([("S1", "W0", 0, 40.0), ("S1", "W12", 84, 44.0)])
    out = _derive(v, responders=[ResponderRule("corneometer", "half_baseline_sd")])
    w12 = out.iloc[1]
    assert pd.isna(w12.responder) and np.isnan(w12.responder_threshold)
    assert w12.reason == "fewer than 2 baselines: 0.5 x baseline SD undefined"


def test_responder_misuse() -> None:
    v = _values([("S1", "W0", 0, 40.0), ("S1", "W12", 84, 44.0)])
    with pytest.raises(EfficacyError, match="has no values; known: corneometer"):
        _derive(v, responders=[ResponderRule("tewl", "absolute", 1)])
    with pytest.raises(EfficacyError, match="contradicts the catalogue"):
        _derive(v, responders=[ResponderRule("corneometer", "absolute", 1, "lower")])
    with pytest.raises(EfficacyError, match="two rules"):
        _derive(v, responders=[ResponderRule("corneometer", "absolute", 1)] * 2)
    none = _values([("S1", "W0", 0, 3.0), ("S1", "W12", 84, 2.0)], "visia_wrinkles_score", "none")
    with pytest.raises(EfficacyError, match="no direction of improvement"):
        _derive(none, responders=[ResponderRule("visia_wrinkles_score", "absolute", 1)])
    ok = _derive(none, responders=[ResponderRule("visia_wrinkles_score", "absolute", 1, "lower")])
    assert ok["responder"].iloc[1]
    with pytest.raises(EfficacyError, match="threshold=0 must be a positive number"):
        ResponderRule("corneometer", "absolute", 0)
    with pytest.raises(EfficacyError, match="must be omitted"):
        ResponderRule("corneometer", "half_baseline_sd", 3)
    with pytest.raises(EfficacyError, match="kind="):
        ResponderRule("corneometer", "mcid")


def test_input_not_modified() -> None:
    v = _values([("S1", "UNS", -2, 45.0), ("S1", "W0", 0, None), ("S1", "W12", 84, 60.0)])
    before = v.copy(deep=True)
    _derive(v, responders=[ResponderRule("corneometer", "percent", 5)])
    pd.testing.assert_frame_equal(v, before)
