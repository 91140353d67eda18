"""Fast paths of the trial, flow and findings helpers equal their generic pandas paths.

``first_rows`` and the blank test factorize an Arrow text column by Arrow's dictionary
encoding (:func:`efficacy.trial._arrow_text_codes`); the same cells held as Python
objects go through ``Series.eq`` / ``isna`` / ``duplicated``. Both must agree on every
column: missing cells, empty and whitespace text, repeats, several Arrow chunks. The
engine types the columns of single findings (lists) directly where pandas' conversion
could not differ.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa

from efficacy.trial import _arrow_text_codes, _blank, _filled_text, first_rows

_CELLS = ["S1", "", None, " ", "S2", "s1", "S1 "]


def _columns() -> list[list[str | None]]:
    rng = np.random.default_rng(7)
    out: list[list[str | None]] = [[], [None], [""], [None, None, "S1", None, "S1"]]
    for n in (1, 2, 5, 12, 40):
        for _ in range(6):
            out.append([_CELLS[i] for i in rng.integers(0, len(_CELLS), n)])
    return out


def _arrow(cells: list[str | None]) -> pd.Series:
    """`cells` as Arrow text in two chunks (where there are two cells or more)."""
    cut = len(cells) // 2
    chunks = [pa.array(cells[:cut], pa.large_string()), pa.array(cells[cut:], pa.large_string())]
    return pd.Series(pd.arrays.ArrowStringArray(pa.chunked_array(chunks, pa.large_string())))


def test_arrow_codes_equal_pandas_factorize() -> None:
    for cells in _columns():
        coded = _arrow_text_codes(_arrow(cells))
        assert coded is not None
        codes, uniques = coded
        want_codes, want_uniques = pd.factorize(_arrow(cells), use_na_sentinel=True)
        assert codes.dtype == np.int64 and codes.tolist() == want_codes.tolist()
        assert uniques == list(want_uniques) and all(type(u) is str for u in uniques)
    assert _arrow_text_codes(pd.Series(["S1"], dtype=object)) is None


def test_blank_and_first_rows_of_arrow_text_equal_the_object_path() -> None:
    filled = [["S1"], ["a", " ", "b"], ["x"] * 9]
    for cells in [*_columns(), *filled]:
        text, objects = _arrow(cells), pd.Series(np.array(cells, dtype=object), dtype=object)
        assert _blank(text).tolist() == _blank(objects).tolist(), cells
        # Context.blank answers "nothing blank" from this test, without codes
        assert _filled_text(text) == (not _blank(objects).any()), cells
        assert not _filled_text(objects)
        index = pd.Index(np.arange(3, 3 + len(cells)), name="row")
        arms = [f"A{i}" for i in range(len(cells))]
        got = first_rows(pd.DataFrame({"subject_id": text.array, "arm": arms}, index=index))
        plain = pd.DataFrame({"subject_id": objects.to_numpy(), "arm": arms}, index=index)
        plain["subject_id"] = plain["subject_id"].astype(object)
        assert plain["subject_id"].dtype == object  # the generic path (no Arrow codes)
        want = first_rows(plain)
        assert got.index.tolist() == want.index.tolist(), cells
        assert got["arm"].tolist() == want["arm"].tolist()
        assert got["subject_id"].dtype == text.dtype


def test_flow_cells_and_text_of_arrow_text_equal_the_object_path() -> None:
    from efficacy.consort._flowdata import _cells, _text

    rng = np.random.default_rng(11)
    for cells in _columns():
        text, objects = _arrow(cells), pd.Series(np.array(cells, dtype=object), dtype=object)
        got, got_gone = _cells(text)
        want, want_gone = _cells(objects)
        assert got_gone == want_gone == [c is None for c in cells]
        assert [c for c, g in zip(got, got_gone, strict=True) if not g] == [
            c for c, g in zip(want, want_gone, strict=True) if not g
        ]
        assert (
            _text(text)
            == _text(objects)
            == [None if c is None else c.strip() or None for c in cells]
        )
        rows = rng.permutation(len(cells))[: len(cells) // 2]
        assert _text(text, rows) == _text(objects, rows) == [_text(objects)[r] for r in rows]


def test_single_findings_columns_equal_pandas_conversion() -> None:
    from efficacy.validation.engine import _list_rows
    from efficacy.validation.findings import TEXT, _list_text

    texts = [[], [None], ["manifest"], ["a", None, "", " b"], [None, "x", None]]
    for values in [*texts, [1, "a"], [2.5, None], [float("nan"), "a"], [pd.NA, "b"]]:
        got, want = _list_text(list(values)), pd.array(list(values), dtype=TEXT)
        pd.testing.assert_extension_array_equal(got, want)
        assert got.__arrow_array__().type == want.__arrow_array__().type
    rows = [[], [None], [None, None], [3], [1, None, 7], [2**53, None], [-(2**53), 4]]
    for values in [*rows, [2**53 + 1, None], [2**60], [2.0, None], [True, None]]:
        got, want = _list_rows(list(values)), pd.Series(list(values)).astype("Int64").array
        pd.testing.assert_extension_array_equal(got, want)
