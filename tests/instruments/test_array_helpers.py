"""The numpy helpers of the scoring code give exactly what the pandas idioms they replace give.

``group_ids`` / ``group_range`` replace ``groupby(sort=False).ngroup()`` and
``groupby().min()/max()``; ``int64_array`` / ``str_array`` replace ``Float64 -> Int64``
and ``astype("str")``. Random inputs (fixed seeds), compared element by element.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from efficacy.instruments._frames import int64_array, str_array, str_column
from efficacy.instruments._readings import group_ids, group_range


@pytest.mark.parametrize("seed", range(4))
def test_group_ids_is_groupby_ngroup_in_first_seen_order(seed: int) -> None:
    rng = np.random.default_rng(seed)
    for _ in range(25):
        n = int(rng.integers(1, 300))
        codes = [rng.integers(-1, int(rng.integers(1, 40)), n) for _ in range(rng.integers(1, 5))]
        codes.append(rng.integers(0, 2**40, n))  # wide codes: the key is renumbered, no overflow
        frame = pd.DataFrame({f"c{i}": c for i, c in enumerate(codes)})
        want = frame.groupby(list(frame.columns), sort=False).ngroup().to_numpy(np.int64)
        np.testing.assert_array_equal(group_ids(*codes), want)
    assert group_ids(np.array([5, 3, 5, 3, 9])).tolist() == [0, 1, 0, 1, 2]
    assert group_ids().tolist() == [] and group_ids(np.zeros(0, np.int64)).tolist() == []


def test_group_range_is_groupby_min_max() -> None:
    rng = np.random.default_rng(7)
    for _ in range(50):
        n = int(rng.integers(1, 30))
        gid = np.concatenate([np.arange(n), rng.integers(0, n, int(rng.integers(0, 200)))])
        x = rng.integers(-5, 90, len(gid)).astype(float)
        x[rng.random(len(gid)) < 0.4] = np.nan
        low, high = group_range(x, gid, n)
        by = pd.Series(x).groupby(gid)
        np.testing.assert_array_equal(low, by.min().reindex(range(n)).to_numpy(float))
        np.testing.assert_array_equal(high, by.max().reindex(range(n)).to_numpy(float))
    low, high = group_range(np.array([np.nan, 2.0, -1.0]), np.array([0, 1, 1]), 2)
    assert np.isnan(low[0]) and np.isnan(high[0]) and (low[1], high[1]) == (-1.0, 2.0)


def test_int64_array_and_str_array_match_the_pandas_conversions() -> None:
    x = np.array([1.0, np.nan, -3.0, 0.0, 2.0**52])
    want = pd.array(x, dtype="Float64").astype("Int64")
    got = int64_array(x)
    assert got.dtype == want.dtype and got.tolist() == want.tolist()
    for odd in ([1.5, np.nan], [1e300]):  # not whole, out of range: what pandas gives
        want = pd.array(np.array(odd), dtype="Float64").astype("Int64")
        assert int64_array(np.array(odd)).tolist() == want.tolist()
    values = np.array(["a", None, 1, np.nan, "", 2.5], dtype=object)
    want_s = pd.Series(values, dtype=object).astype("str").array
    got_s = str_array(values)
    assert got_s.dtype == want_s.dtype and got_s.equals(want_s)
    assert got_s.tolist() == ["a", np.nan, "1", np.nan, "", "2.5"]


def test_str_column_is_the_astype_str_of_the_column_with_missing_as_none() -> None:
    values = pd.Series(["a", None, np.nan, pd.NA, 3, ""], dtype=object)
    want = values.astype(object).where(values.notna(), None).astype("str")
    got = str_column(values)
    assert got.dtype == want.dtype and got.equals(want.array)
    assert values.tolist()[:2] == ["a", None]  # the input is left as it was
    text = pd.Series(["x", None], dtype="str")
    assert str_column(text) is text.array


@pytest.mark.parametrize(
    "dtype", ["str", pd.StringDtype("pyarrow"), pd.StringDtype("python"), object, "category"]
)
def test_pro_rows_selects_the_rows_pandas_equality_selects(dtype: object) -> None:
    from efficacy.instruments._pro_common import pro_rows

    names = ["faceq", "skindex16", None, "FACEQ", "", "faceq "]
    rng = np.random.default_rng(7)
    picks = [names[i] for i in rng.integers(0, len(names), 60)]
    frame = pd.DataFrame(
        {
            "subject_id": [f"S{i % 7}" for i in range(60)],
            "visit": [f"V{i % 3}" for i in range(60)],
            "instrument": pd.Series(picks, dtype=dtype),
            "item": np.arange(60) % 10 + 1,
            "response": np.arange(60) % 4 + 1,
            "scale": "psychological_function",
        }
    )
    for instrument in ("faceq", "skindex16"):
        want = frame[(frame["instrument"] == instrument).fillna(False).to_numpy(dtype=bool)]
        got = pro_rows(frame, instrument, need_scale=True)
        np.testing.assert_array_equal(got.item, want["item"].to_numpy(float))
        assert got.n == len(want[["subject_id", "visit"]].drop_duplicates())
