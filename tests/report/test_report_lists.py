"""efficacy.report._lists.isin answers as ``Series.isin`` does for the trial's string ids."""

from __future__ import annotations

import random

import numpy as np
import pandas as pd
import pytest

from efficacy.report._lists import isin


@pytest.mark.parametrize("dtype", ["str", "string"])
def test_isin_is_pandas_isin_on_string_columns(dtype: str) -> None:
    rng = random.Random(7)
    pool = ["S01", "S02", "s01", "", None, np.nan, pd.NA]
    for _ in range(120):
        column = pd.Series([rng.choice(pool) for _ in range(rng.randint(0, 7))], dtype=dtype)
        wanted = [rng.choice(pool) for _ in range(rng.randint(0, 4))]
        for pool_as in (wanted, set(wanted), pd.Series(wanted, dtype=dtype).tolist()):
            expected = column.isin(pool_as).to_numpy(dtype=bool)
            got = isin(column.tolist(), pool_as)
            assert got.dtype == bool and got.tolist() == expected.tolist(), (column, pool_as)
