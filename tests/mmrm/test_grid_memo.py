"""The LS-means grid's memoised cell levels and text equal pandas' own conversions.

`Grid.text` converts each category once and takes it by the cells' codes; `Grid.values`
reads each category once. Both must equal converting the whole column, whatever the
level type (text, integers, floats, booleans), because contrast labels and the
analysis tables are built from them.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from efficacy.mmrm import lsmeans as lsm


@pytest.mark.parametrize(
    "levels",
    [["PBO", "TRT"], [3, 10, 2], [0.5, 1.0, 2.25], [False, True], ["W2", "W10"]],
)
def test_text_and_values_equal_pandas(levels) -> None:
    codes = np.array([1, 0, len(levels) - 1, 0, 1])
    cells = pd.DataFrame({"f": pd.Categorical.from_codes(codes, dtype=pd.CategoricalDtype(levels))})
    grid = lsm.Grid({"f": cells["f"].array}, np.zeros((5, 1)), np.zeros(5, dtype=np.intp), ["f"])
    pd.testing.assert_frame_equal(grid.cells, cells)
    assert grid.text("f") == cells["f"].astype(str).tolist()
    assert grid.values("f").tolist() == cells["f"].to_numpy(dtype=object).tolist()
    # memoised: the same values again, and neither can be changed by a caller
    text = grid.text("f")
    text[0] = "changed"
    assert grid.text("f") == cells["f"].astype(str).tolist()
    with pytest.raises(ValueError):
        grid.values("f")[0] = "changed"


def test_dtype_of_keeps_level_types_apart() -> None:
    ints, floats = lsm._dtype_of([1, 0]), lsm._dtype_of([1.0, 0.0])
    bools = lsm._dtype_of([True, False])
    assert list(ints.categories) == [1, 0] and ints.categories.dtype == np.int64
    assert floats.categories.dtype == np.float64
    assert bools.categories.dtype == bool
    assert lsm._dtype_of(["a", "b"]) is lsm._dtype_of(("a", "b"))  # built once
