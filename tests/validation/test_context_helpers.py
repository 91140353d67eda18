"""Validation helpers: `flag`'s numpy path, `Context.blank`, the findings text arrays."""

from __future__ import annotations

import itertools

import numpy as np
import pandas as pd
import pyarrow as pa

from efficacy.protocol import load_protocol
from efficacy.validation.context import Context, blank, factorize, flag
from efficacy.validation.findings import TEXT, _text_array
from tests.validation.trial_factory import clean_tables, make_trial


def test_flag_of_a_boolean_column_equals_the_general_rule() -> None:
    # every pattern of True / False / missing in three cells: the BooleanDtype path
    # gives the Series the object-column path gives (values, index, name)
    for cells in itertools.product([True, False, None], repeat=3):
        values = pd.Series(
            pd.array(cells, dtype="boolean"), index=pd.Index([3, 1, 7], name="row"), name="itt"
        )
        for state in (True, False):
            fast = flag(values, state)
            general = flag(values.astype(object), state)
            pd.testing.assert_series_equal(fast, general)
            assert fast.tolist() == [c is state for c in cells]


def test_context_blank_equals_blank_of_the_column() -> None:
    tables = clean_tables("parallel")
    s = tables["subjects"]
    arms = ["ACTIVE", "", None, " ", "VEHICLE"]
    tables["subjects"] = s.assign(arm=pd.array(arms, dtype=s["arm"].dtype))
    ctx = Context(make_trial(tables), load_protocol("iso-efficacy-2025"))
    got = ctx.blank("subjects", "arm")
    assert got.tolist() == [False, True, True, False, False]
    assert got.tolist() == blank(tables["subjects"]["arm"]).tolist()
    ages = ctx.blank("subjects", "age")  # numbers are never blank text, missing ones are
    assert ages.tolist() == [False] * 5


def test_text_array_is_the_arrow_text_pandas_builds() -> None:
    # wrapping the taken Arrow array gives what pd.array(..., dtype=TEXT) gives
    texts = ["a", "", None]
    codes = np.array([2, 0, -1, 1, 0])
    got = _text_array(texts, codes)
    want = pd.array([None, "a", None, "", "a"], dtype=TEXT)  # code -1: the last text
    assert got.dtype == TEXT
    pd.testing.assert_extension_array_equal(got, want)


def test_text_array_of_one_text_equals_the_taken_array() -> None:
    # one text (or None) is repeated, not taken: same values, Arrow type and null count
    for text, n in itertools.product(["a", "", " b\u3000", None], range(4)):
        codes = np.zeros(n, dtype=np.int64)
        got = _text_array([text], codes)
        taken = pa.array([text], type=pa.large_string()).take(pa.array(codes))
        assert got._pa_array.combine_chunks().equals(taken), (text, n)
        assert got._pa_array.type == pa.large_string() and got.isna().sum() == taken.null_count
        pd.testing.assert_extension_array_equal(got, pd.array([text] * n, dtype=TEXT))


def test_factorize_equals_pandas_factorize_for_every_column_type() -> None:
    text = pd.StringDtype("pyarrow")
    columns = [
        pd.array(["b", None, "a", "b", "", "a"], dtype=text),
        pd.array([], dtype=text),
        pd.array([None, None], dtype=text),
        pd.array([3, None, 1, 3], dtype="Int64"),
        pd.array([True, None, False, True], dtype="boolean"),
        np.array([2.5, np.nan, 2.5, -0.0, 0.0]),
        np.array(["x", None, 1, "x"], dtype=object),
        pd.to_datetime(["2025-01-02", None, "2025-01-02"]).array,
    ]
    for cells in columns:
        values = pd.Series(cells)
        codes, uniques = factorize(values)
        want_codes, want_uniques = pd.factorize(values, use_na_sentinel=True)
        assert codes.dtype == np.int64
        assert codes.tolist() == want_codes.tolist()
        want = pd.Index(np.asarray(want_uniques, dtype=object), dtype=object)
        pd.testing.assert_index_equal(uniques, want, exact=True)
        assert [type(u) for u in uniques] == [type(u) for u in want]


def test_blank_keeps_index_and_name_for_every_text_column_type() -> None:
    index = pd.Index([4, 5, 6, 7, 8], name="row")
    for dtype in (object, pd.StringDtype("pyarrow"), "str"):
        values = pd.Series(
            pd.array(["a", "", None, " ", "a"], dtype=dtype), index=index, name="arm"
        )
        want = pd.Series([False, True, True, False, False], index=index, name="arm")
        pd.testing.assert_series_equal(blank(values), want)
    numbers = pd.Series(pd.array([1, None], dtype="Int64"))
    assert blank(numbers).tolist() == [False, True]


def test_at_rows_frame_shares_no_array_with_the_rows() -> None:
    # at_rows builds its frame without copying: every column must be a new array, so a
    # change to the findings frame never reaches the table it quotes
    from efficacy.validation.findings import at_rows

    rows = pd.DataFrame(
        {
            "subject_id": pd.array(["S01", None, "S03"], dtype=TEXT),
            "visit": pd.array(["W1", "W2", None], dtype="str"),
            "value": [1.5, np.nan, 3.0],
        },
        index=pd.RangeIndex(1, 4),
    )
    before = rows.copy()
    msg = pd.Series(pd.array(["a", "b", "c"], dtype=TEXT))
    frame = at_rows(rows, table="measurements", column="subject_id", message=msg)
    assert frame["value"].tolist() == ["S01", pd.NA, "S03"]
    for column in frame.columns:
        frame.loc[0, column] = 9 if column == "row" else "changed"
    pd.testing.assert_frame_equal(rows, before)
    assert msg.tolist() == ["a", "b", "c"] and rows.index.tolist() == [1, 2, 3]
