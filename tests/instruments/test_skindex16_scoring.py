"""Skindex-16 scoring against hand-computed values (FACTS.md 2: items 0-6, domains
symptoms 1-4, emotions 5-11, functioning 12-16; score = mean x 100/6)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from efficacy.errors import EfficacyError
from efficacy.instruments import score_skindex16
from efficacy.instruments._pro_common import PRO_COLUMNS


def _questionnaire(
    responses: list[float | None], subject: str = "S1", visit: str = "W0", day: int = 0
) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "subject_id": subject,
            "visit": visit,
            "day": day,
            "instrument": "skindex16",
            "scale": "x",  # not used: domains come from item numbers
            "item": range(1, 17),
            "response": responses,
        }
    )


FULL = [*(3, 3, 0, 0), *(6, 5, 4, 3, 2, 1, 0), *(1, 1, 2, 2, 3)]  # symptoms, emotions, functioning


def _by_scale(out: pd.DataFrame) -> dict[str, pd.Series]:
    return {row.scale: row for row in out.itertuples()}


def test_full_questionnaire_hand_computed() -> None:
    out = score_skindex16(_questionnaire(FULL), overall=True)
    assert list(out.columns) == list(PRO_COLUMNS)
    s = _by_scale(out)
    # symptoms: (3+3+0+0)/4 = 1.5 -> 1.5 * 100/6 = 25
    assert s["symptoms"].score == pytest.approx(25.0, abs=1e-12)
    # emotions: (6+5+4+3+2+1+0)/7 = 3 -> 50
    assert s["emotions"].score == pytest.approx(50.0, abs=1e-12)
    # functioning: (1+1+2+2+3)/5 = 1.8 -> 30
    assert s["functioning"].score == pytest.approx(30.0, abs=1e-12)
    # overall: (6 + 21 + 9)/16 = 2.25 -> 37.5 (item-weighted mean, not mean of domains)
    assert s["overall"].score == pytest.approx(37.5, abs=1e-12)
    assert s["emotions"].item_mean == pytest.approx(3.0)
    assert (out["metric"] == "skindex_0_100").all() and (out["direction"] == "lower").all()
    assert (out["reason"] == "").all()
    assert out["raw_sum"].isna().all()
    assert out["day"].tolist() == [0, 0, 0, 0]


def test_overall_only_on_request() -> None:
    out = score_skindex16(_questionnaire(FULL))
    assert out["scale"].tolist() == ["symptoms", "emotions", "functioning"]


def test_missing_items_mean_of_answered() -> None:
    r = list(FULL)
    r[0] = None  # symptoms: items 2-4 answered: (3+0+0)/3 = 1 -> 16.666...
    out = _by_scale(score_skindex16(_questionnaire(r)))
    assert out["symptoms"].score == pytest.approx(100 / 6, abs=1e-12)
    assert out["symptoms"].n_answered == 3


@pytest.mark.parametrize(
    ("domain", "items", "needed"),
    [
        ("symptoms", range(1, 5), 2),
        ("emotions", range(5, 12), 4),
        ("functioning", range(12, 17), 3),
    ],
)
def test_fifty_percent_boundary(domain: str, items: range, needed: int) -> None:
    """ceil(0.5 x n) answered scores (4: 2, 7: 4, 5: 3); one fewer does not."""
    items = list(items)
    r = list(FULL)
    for i in items[needed:]:
        r[i - 1] = None
    at = _by_scale(score_skindex16(_questionnaire(r)))[domain]
    expected = np.mean([FULL[i - 1] for i in items[:needed]]) * 100 / 6
    assert at.n_answered == needed
    assert at.score == pytest.approx(expected, abs=1e-12)
    r[items[needed - 1] - 1] = None
    below = _by_scale(score_skindex16(_questionnaire(r)))[domain]
    assert np.isnan(below.score) and np.isnan(below.item_mean)
    assert below.reason == (
        f"{needed - 1} of {len(items)} {domain} items answered; at least {needed} needed "
        "(min_answered_fraction 0.5)"
    )


def test_fraction_is_a_parameter() -> None:
    r = list(FULL)
    r[0] = None  # 3 of 4 symptoms answered: scores at 0.75, not at 0.8 (needs 4)
    assert not np.isnan(
        _by_scale(score_skindex16(_questionnaire(r), min_answered_fraction=0.75))["symptoms"].score
    )
    out = _by_scale(score_skindex16(_questionnaire(r), min_answered_fraction=0.8))["symptoms"]
    assert np.isnan(out.score)
    assert (
        out.reason
        == "3 of 4 symptoms items answered; at least 4 needed (min_answered_fraction 0.8)"
    )


def test_absent_item_rows_count_as_unanswered() -> None:
    q = _questionnaire(FULL)
    q = q[~q["item"].isin([5, 6, 7, 8])]  # emotions: 3 of 7 rows present
    s = _by_scale(score_skindex16(q))
    assert s["emotions"].n_answered == 3 and np.isnan(s["emotions"].score)
    assert s["symptoms"].score == pytest.approx(25.0)


def test_structural_problems_are_not_scored() -> None:
    r = list(FULL)
    r[2] = 7  # item 3 out of range
    r[12] = 2.5  # item 13 fractional
    q = pd.concat(
        [_questionnaire(r), _questionnaire(FULL).iloc[[8]]], ignore_index=True
    )  # item 9 twice
    s = _by_scale(score_skindex16(q))
    assert s["symptoms"].reason == "item 3: response 7 is not a whole number 0-6"
    assert s["emotions"].reason == "item 9 appears 2 times"
    assert s["functioning"].reason == "item 13: response 2.5 is not a whole number 0-6"
    assert np.isnan([s[d].score for d in ("symptoms", "emotions", "functioning")]).all()


def test_foreign_item_number_blocks_the_questionnaire() -> None:
    q = pd.concat(
        [
            _questionnaire(FULL),
            pd.DataFrame(
                {
                    "subject_id": ["S1"],
                    "visit": ["W0"],
                    "day": [0],
                    "instrument": ["skindex16"],
                    "scale": ["x"],
                    "item": [17],
                    "response": [2],
                }
            ),
        ],
        ignore_index=True,
    )
    out = score_skindex16(q)
    assert out["score"].isna().all()
    assert (out["reason"] == "item 17 is not a Skindex-16 item (1-16)").all()


def test_other_instruments_ignored_and_several_questionnaires() -> None:
    a = _questionnaire(FULL, "S1", "W0", 0)
    b = _questionnaire([6] * 16, "S2", "W12", 85)
    other = a.assign(instrument="faceq", response=1)
    q = pd.concat([a, other, b], ignore_index=True)
    out = score_skindex16(q)
    assert len(out) == 6
    s2 = out[out["subject_id"] == "S2"]
    assert s2["score"].tolist() == [100.0, 100.0, 100.0]
    assert s2["day"].tolist() == [85, 85, 85]


def test_input_not_modified() -> None:
    q = _questionnaire([None, *FULL[1:]])
    before = q.copy(deep=True)
    score_skindex16(q, overall=True)
    pd.testing.assert_frame_equal(q, before)


def test_empty_and_misuse() -> None:
    empty = score_skindex16(_questionnaire(FULL).iloc[:0])
    assert list(empty.columns) == list(PRO_COLUMNS) and empty.empty
    with pytest.raises(EfficacyError, match="min_answered_fraction"):
        score_skindex16(_questionnaire(FULL), min_answered_fraction=0)
    with pytest.raises(EfficacyError, match="lacks column"):
        score_skindex16(_questionnaire(FULL).drop(columns="item"))


def test_exactly_half_answered_scores_unlike_faceq() -> None:
    # Skindex-16 keeps its documented convention (at least half answered, FACTS.md 2):
    # 2 of 4 symptoms items scores, where FACE-Q's "fewer than half missing" would not.
    r = list(FULL)
    r[0] = r[1] = None
    at = _by_scale(score_skindex16(_questionnaire(r)))["symptoms"]
    assert at.n_answered == 2 and at.reason == ""
    assert at.score == pytest.approx((FULL[2] + FULL[3]) / 2 * 100 / 6, abs=1e-12)
