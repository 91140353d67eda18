"""Conversion-table validation: every problem reported at once, with rows and fixes."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from efficacy.errors import InputError
from efficacy.instruments import ConversionTableError, load_faceq_conversion

TABLE = Path(__file__).parents[1] / "reference" / "faceq" / "synthetic_linear_conversion.csv"
SFA = "satisfaction_facial_appearance"


def _linear(scale: str = SFA, n: int = 10) -> pd.DataFrame:
    raw = list(range(n, 4 * n + 1))
    return pd.DataFrame(
        {"scale": scale, "raw_sum": raw, "rasch_score": [100 * (r - n) / (3 * n) for r in raw]}
    )


def test_fixture_loads() -> None:
    conv = load_faceq_conversion(TABLE)
    assert set(conv.scales) == {SFA, "psychological_function", "satisfaction_temples"}
    assert conv.scales == tuple(conv._dense)  # the scales the lookups cover, in their order
    assert len(conv.table) == 31 + 31 + 37
    assert list(conv.table.columns) == ["scale", "raw_sum", "rasch_score"]


def test_all_problems_reported_together(tmp_path: Path) -> None:
    t = _linear()
    t = t[~t["raw_sum"].isin([13, 14, 15, 20])]  # gaps 13-15 and 20
    t.loc[t["raw_sum"] == 30, "rasch_score"] = 101.0  # out of range
    t.loc[t["raw_sum"] == 35, "rasch_score"] = 10.0  # decreases after 34 (80.0)
    path = tmp_path / "table.csv"
    t.to_csv(path, index=False)
    with pytest.raises(ConversionTableError) as info:
        load_faceq_conversion(path)
    err = info.value
    # data rows after removing 4 of 31: raw 30 is row 17, raw 34 row 21, raw 35 row 22
    assert err.problems == (
        "row 17: rasch_score 101 is outside 0-100; fix it",
        f"{SFA}: raw sums 13-15, 20 are missing (every raw sum 10-40 needs a rasch_score); "
        "add them from your user guide",
        f"row 22: {SFA} raw_sum 35 -> 10 is below raw_sum 34 -> 80 (row 21); scores must not "
        "decrease as raw_sum rises: fix the value",
    )
    assert str(err).startswith(f"{path}: invalid FACE-Q conversion table, 3 problems: row 17")
    assert isinstance(err, InputError)


def test_duplicates_impossible_sums_text_and_unknown_scale() -> None:
    t = _linear().astype({"raw_sum": object, "rasch_score": object})
    t = pd.concat(
        [
            t,
            pd.DataFrame(
                {
                    "scale": [SFA, SFA, "not_a_scale", SFA],
                    "raw_sum": [12, 41, 1, "x"],
                    "rasch_score": [6.0, 100.0, 1.0, "high"],
                }
            ),
        ],
        ignore_index=True,
    )
    with pytest.raises(ConversionTableError) as info:
        load_faceq_conversion(t)
    assert info.value.problems == (
        "row 34: scale 'not_a_scale' is not a registered FACE-Q scale (1 rows); register it "
        "with its item count from your licensed user guide, or fix the id",
        "row 35: raw_sum 'x' is not a whole number; fix it",
        "row 35: rasch_score 'high' is not a number; fix it",
        f"row 33: raw_sum 41 is impossible for {SFA} (10 items, 1-4): raw sums run 10-40; "
        "remove the row or fix the scale",
        f"row 32: {SFA} raw_sum 12 appears more than once; keep one row",
    )


def test_flat_table_is_monotone_and_missing_columns(tmp_path: Path) -> None:
    flat = _linear().assign(rasch_score=50.0)  # non-decreasing is allowed
    assert len(load_faceq_conversion(flat).table) == 31
    path = tmp_path / "t.csv"
    path.write_text("Scale,raw,rasch_score\n")
    with pytest.raises(ConversionTableError) as info:
        load_faceq_conversion(path)
    assert info.value.problems == (
        "column 'scale' is missing (found 'Scale': rename it)",
        "column 'raw_sum' is missing",
    )
    with pytest.raises(InputError, match="no such file"):
        load_faceq_conversion(tmp_path / "absent.csv")


def test_frame_not_modified() -> None:
    t = _linear()
    before = t.copy(deep=True)
    load_faceq_conversion(t)
    pd.testing.assert_frame_equal(t, before)


@pytest.mark.parametrize("text", ["inf", "-inf", "nan", "NaN", "1e300", "-1e300"])
def test_non_finite_or_huge_raw_sum_is_refused_with_its_row(tmp_path: Path, text: str) -> None:
    """inf/-inf raw sums used to pass the whole-number check and crash the int cast;
    1e300 was cast to -9223372036854775808 in the message."""
    t = _linear().astype({"raw_sum": object})
    t.loc[1, "raw_sum"] = text  # data row 2, raw sum 11
    gap = f"{SFA}: raw sum 11 is missing (every raw sum 10-40 needs a rasch_score); "
    gap += "add them from your user guide"
    if "e300" in text:
        first = (
            f"row 2: raw_sum {text} is impossible for {SFA} (10 items, 1-4): raw sums run "
            "10-40; remove the row or fix the scale"
        )
    else:
        first = f"row 2: raw_sum {text!r} is not a whole number; fix it"
    expected = (first, gap)
    with pytest.raises(ConversionTableError) as info:
        load_faceq_conversion(t)
    assert info.value.problems == expected
    path = tmp_path / "table.csv"
    t.to_csv(path, index=False)
    with pytest.raises(ConversionTableError) as info:
        load_faceq_conversion(path)
    assert info.value.problems == expected


@pytest.mark.parametrize("text", ["inf", "-inf", "nan", "Infinity"])
def test_non_finite_rasch_score_is_refused_once_with_its_row(text: str) -> None:
    t = _linear().astype({"rasch_score": object})
    t.loc[4, "rasch_score"] = text
    with pytest.raises(ConversionTableError) as info:
        load_faceq_conversion(t)
    assert info.value.problems == (f"row 5: rasch_score {text!r} is not a number; fix it",)


@pytest.mark.parametrize(
    ("data", "problem"),
    [
        ("scale,raw_sum,rasch_score\n".encode("utf-16-le"), "UTF-16"),
        (b"scale,raw_sum,rasch_score\nsatisfaction_facial_appearance,10,\xe9\n", "not UTF-8"),
    ],
)
def test_unreadable_table_is_one_input_error_line(
    tmp_path: Path, data: bytes, problem: str
) -> None:
    path = tmp_path / "table.csv"
    path.write_bytes(data)
    with pytest.raises(InputError) as info:
        load_faceq_conversion(path)
    message = str(info.value)
    assert message.startswith(str(path)) and problem in message and "\n" not in message


def test_table_that_is_a_folder_is_an_input_error(tmp_path: Path) -> None:
    (tmp_path / "table.csv").mkdir()
    with pytest.raises(InputError, match=r"table\.csv: no such file"):
        load_faceq_conversion(tmp_path / "table.csv")
