"""FACE-Q scale scoring: raw sums, mean imputation, synthetic conversion, registry.

The conversion fixture is synthetic (tests/reference/faceq/README.md): for a 10-item
scale, rasch = 100 x (raw - 10) / 30, rounded to 4 decimals.
"""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from efficacy.errors import EfficacyError
from efficacy.instruments import (
    FACEQ_SCALES,
    FaceQScale,
    UnconvertedScoreWarning,
    load_faceq_scales,
    score_faceq,
)

TABLE = Path(__file__).parents[1] / "reference" / "faceq" / "synthetic_linear_conversion.csv"
SFA = "satisfaction_facial_appearance"


def _scale(
    responses: list[float | None], scale: str = SFA, subject: str = "S1", visit: str = "W0"
) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "subject_id": subject,
            "visit": visit,
            "day": 0,
            "instrument": "faceq",
            "scale": scale,
            "item": range(1, len(responses) + 1),
            "response": responses,
        }
    )


R10 = [1, 2, 3, 4, 1, 2, 3, 4, 2, 3]  # sum 25


def _score(frame: pd.DataFrame, **kw: object) -> pd.DataFrame:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UnconvertedScoreWarning)
        return score_faceq(frame, **kw)


def test_registry_holds_only_facts_md_counts() -> None:
    assert {k: s.n_items for k, s in FACEQ_SCALES.items()} == {
        "satisfaction_facial_appearance": 10,
        "psychological_function": 10,
        "satisfaction_temples": 12,
    }
    assert all(
        s.response_range == (1, 4) and s.direction == "higher" for s in FACEQ_SCALES.values()
    )


def test_raw_sum_without_table_is_marked_and_warns() -> None:
    with pytest.warns(UnconvertedScoreWarning, match="satisfaction_facial_appearance"):
        out = score_faceq(_scale(R10))
    row = out.iloc[0]
    assert row.raw_sum == 25.0 and row.score == 25.0 and row.metric == "raw_sum"
    assert row.item_mean == pytest.approx(2.5) and row.reason == ""


def test_synthetic_table_converts() -> None:
    out = score_faceq(_scale(R10), conversion=TABLE)
    # raw 25 on the linear map: 100 x (25 - 10) / 30 = 50
    assert out.iloc[0].score == pytest.approx(50.0, abs=1e-12)
    assert out.iloc[0].metric == "rasch_0_100"


def test_mean_imputation_before_summing() -> None:
    r = list(R10)
    r[0] = None  # 9 answered, sum 24: raw = 24 x 10 / 9 = 26.666..., table read at 27
    out = score_faceq(_scale(r), conversion=TABLE).iloc[0]
    assert out.raw_sum == pytest.approx(240 / 9, abs=1e-12)
    assert out.score == pytest.approx(56.6667, abs=1e-12)  # 100 x 17/30, 4 dp in the table
    r = [4, 4, 4, 3, 3, 3, 3, 3, None, None]  # 8 answered, sum 27: 33.75 -> 34 -> 80
    out = score_faceq(_scale(r), conversion=TABLE).iloc[0]
    assert out.raw_sum == pytest.approx(33.75) and out.score == pytest.approx(80.0)
    # 12-item temples scale: 7 of 12 answered summing 14 -> 14 x 12 / 7 = 24
    # -> 100 x (24 - 12) / 36 = 33.3333 (the synthetic 12-item line)
    temples = [3, 3, 2, 2, 2, 1, 1] + [None] * 5
    out = score_faceq(_scale(temples, "satisfaction_temples"), conversion=TABLE).iloc[0]
    assert out.raw_sum == pytest.approx(24.0, abs=1e-12)
    assert out.score == pytest.approx(33.3333, abs=1e-12)
    six = [3, 3, 3, 2, 2, 2] + [None] * 6  # 6 of 12 missing: exactly half, not imputed
    out = _score(_scale(six, "satisfaction_temples")).iloc[0]
    assert np.isnan(out.score) and out.reason == (
        "6 of 12 satisfaction_temples items answered; at least 7 needed "
        "(fewer than 50% may be missing; min_answered_fraction 0.5)"
    )


def test_rounding_exactly_half_goes_up() -> None:
    r = [3, 3, 2, 2, 2, 2, 2, 2, None, None]  # 8 answered, sum 18: 22.5 -> 23 (not 22)
    out = score_faceq(_scale(r), conversion=TABLE).iloc[0]
    assert out.raw_sum == pytest.approx(22.5)
    assert out.score == pytest.approx(43.3333, abs=1e-12)  # raw 23: 100 x 13/30


def test_fewer_than_half_missing_is_imputed() -> None:
    # FACTS.md 3: impute the mean only when fewer than half the items are missing.
    # 4 of 10 missing: answered 2, 2, 3, 3, 4, 1 (sum 15, mean 2.5) -> raw 10 x 2.5 = 25
    four = [2, 2, 3, 3, 4, 1] + [None] * 4
    out = score_faceq(_scale(four), conversion=TABLE).iloc[0]
    assert out.n_answered == 6 and out.reason == ""
    assert out.item_mean == pytest.approx(2.5, abs=1e-12)
    assert out.raw_sum == pytest.approx(25.0, abs=1e-12)
    assert out.score == pytest.approx(50.0, abs=1e-12)  # 100 x (25 - 10) / 30


def test_exactly_half_missing_stays_missing() -> None:
    five = [2, 2, 3, 3, 4] + [None] * 5  # 5 of 10 missing: not fewer than half
    out = _score(_scale(five)).iloc[0]
    assert out.n_answered == 5 and out.n_items == 10
    assert np.isnan(out.score) and np.isnan(out.raw_sum) and np.isnan(out.item_mean)
    assert out.reason == (
        "5 of 10 satisfaction_facial_appearance items answered; at least 6 needed "
        "(fewer than 50% may be missing; min_answered_fraction 0.5)"
    )
    # more missing: the same rule, still unscored
    out = _score(_scale([2, 2, 3, 3] + [None] * 6)).iloc[0]
    assert np.isnan(out.score) and "4 of 10" in out.reason and "at least 6" in out.reason
    # a protocol that lowers the fraction can score it: with 0.4, fewer than 60% missing
    out = _score(_scale(five), min_answered_fraction=0.4).iloc[0]
    assert out.raw_sum == pytest.approx(28.0)  # 14 / 5 x 10


def test_odd_length_scale_fewer_than_half() -> None:
    # 5 items: half is 2.5, so 2 missing is fewer than half (imputed), 3 is not
    # (FACTS.md 3: "<50% of a scale's items missing"). Same as ceil(0.5 x 5) = 3 answered.
    five = FaceQScale("five_item_scale", "Five-item synthetic scale", 5, "higher")
    two_missing = _score(_scale([4, 3, 2, None, None], "five_item_scale"), scales=[five])
    row = two_missing.iloc[0]
    assert row.reason == "" and row.raw_sum == pytest.approx(15.0, abs=1e-12)  # 9 / 3 x 5
    three_missing = _score(_scale([4, 3, None, None, None], "five_item_scale"), scales=[five])
    row = three_missing.iloc[0]
    assert np.isnan(row.score) and row.reason == (
        "2 of 5 five_item_scale items answered; at least 3 needed "
        "(fewer than 50% may be missing; min_answered_fraction 0.5)"
    )


def test_faceq_rule_with_every_item_required() -> None:
    out = _score(_scale(R10), min_answered_fraction=1.0).iloc[0]
    assert out.raw_sum == 25.0  # all 10 answered: scored (strict rule capped at n)
    r = [*R10[:9], None]
    out = _score(_scale(r), min_answered_fraction=1.0).iloc[0]
    assert np.isnan(out.score)
    assert out.reason == (
        "9 of 10 satisfaction_facial_appearance items answered; at least 10 needed "
        "(every item; min_answered_fraction 1)"
    )


def test_structural_problems() -> None:
    r = list(R10)
    r[1] = 0  # out of 1-4
    extra = _scale([1] * 11).iloc[[10]]  # item 11 of a 10-item scale
    out = _score(pd.concat([_scale(r), extra], ignore_index=True)).iloc[0]
    assert np.isnan(out.score)
    assert out.reason == (
        "item 2: response 0 is not a whole number 1-4; "
        "item 11 is not an item of satisfaction_facial_appearance (items 1-10)"
    )


def test_unregistered_scale_and_user_registration(tmp_path: Path) -> None:
    frame = _scale([2, 2, 2, 2, 2, 2], scale="my_licensed_scale")
    out = _score(frame).iloc[0]
    assert np.isnan(out.score) and pd.isna(out.n_items) and out.direction == "none"
    assert "not a registered FACE-Q scale" in out.reason
    mine = FaceQScale("my_licensed_scale", "My licensed scale", 6, "higher")
    out = _score(frame, scales=[mine]).iloc[0]
    assert out.score == 12.0 and out.n_items == 6
    path = tmp_path / "scales.csv"
    path.write_text("id,name,n_items,direction\nmy_licensed_scale,My licensed scale,6,higher\n")
    assert load_faceq_scales(path) == (
        FaceQScale(
            "my_licensed_scale", "My licensed scale", 6, "higher", source="scales.csv row 1"
        ),
    )
    with pytest.raises(EfficacyError, match="defined twice"):
        score_faceq(frame, scales=[FaceQScale(SFA, "x", 9)])
    with pytest.raises(EfficacyError, match="n_items"):
        FaceQScale("x", "x", 0)


def test_table_without_a_scale_leaves_it_raw() -> None:
    table = pd.read_csv(TABLE)
    table = table[table["scale"] != "psychological_function"]
    frame = pd.concat([_scale(R10), _scale(R10, "psychological_function")], ignore_index=True)
    with pytest.warns(UnconvertedScoreWarning, match="psychological_function.*has no rows"):
        out = score_faceq(frame, conversion=table)
    assert out["metric"].tolist() == ["rasch_0_100", "raw_sum"]
    assert out["score"].tolist() == [pytest.approx(50.0), 25.0]


def test_input_not_modified() -> None:
    frame = _scale([None, *R10[1:]])
    before = frame.copy(deep=True)
    score_faceq(frame, conversion=TABLE)
    pd.testing.assert_frame_equal(frame, before)


def test_scales_file_problems_listed(tmp_path: Path) -> None:
    from efficacy.errors import InputError

    path = tmp_path / "scales.csv"
    path.write_text("id,name,n_items,direction\na,A,ten,higher\nb,B,0,higher\nc,C,5,sideways\n")
    with pytest.raises(InputError) as info:
        load_faceq_scales(path)
    msg = str(info.value)
    assert msg.startswith(f"{path}: invalid FACE-Q scales file: row 1: n_items")
    assert "row 2: FaceQScale 'b': n_items=0 must be a whole number >= 1" in msg
    assert "row 3: FaceQScale 'c': direction='sideways' must be 'higher' or 'lower'" in msg
