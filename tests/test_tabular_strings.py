"""safe_frame's string-column path gives exactly what mapping neutralise over each cell gives.

String columns (``str`` and ``string`` dtypes) pass only the cells that start with a
formula trigger through :func:`neutralise`; the reference is the plain per-cell
``astype(object).map(neutralise).to_numpy(dtype=object)``, compared cell by cell with
types (NaN vs ``pd.NA`` included), on random columns, all-missing and empty ones.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from efficacy._tabular import neutralise, safe_frame

CELLS = ["a", "S-01", "=1+1", "-1.5", "-x", "+2e3", "@SUM(A1)", "\tcmd", "\rx", "", None, "'q"]


def _reference(series: pd.Series) -> list[tuple[object, type]]:
    cells = series.astype(object).map(neutralise).to_numpy(dtype=object)
    return [(repr(c), type(c)) for c in cells]


@pytest.mark.parametrize("dtype", ["str", pd.StringDtype("pyarrow"), pd.StringDtype("python")])
def test_string_columns_match_the_per_cell_map(dtype: object) -> None:
    rng = np.random.default_rng(3)
    columns = [[CELLS[i] for i in rng.integers(0, len(CELLS), 40)] for _ in range(30)]
    columns += [[None, None], [], ["=a"], [None, "@b"]]
    for cells in columns:
        frame = pd.DataFrame({"c": pd.Series(cells, dtype=dtype)})
        before = frame.copy()
        got = safe_frame(frame)["c"].to_numpy(dtype=object)
        assert [(repr(c), type(c)) for c in got] == _reference(frame["c"]), cells
        pd.testing.assert_frame_equal(frame, before)  # the input is not modified
        old = frame.copy()
        old.isetitem(0, frame["c"].astype(object).map(neutralise).to_numpy(dtype=object))
        pd.testing.assert_frame_equal(safe_frame(frame), old)  # same dtype as before too
    got = safe_frame(pd.DataFrame({"c": pd.Series(["=x", None], dtype=dtype)}))["c"]
    assert got.tolist()[0] == "'=x" and got.isna().tolist() == [False, True]
