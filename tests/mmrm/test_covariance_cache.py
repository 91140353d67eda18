"""The index arrays the covariance code computes once per number of visits."""

from __future__ import annotations

import numpy as np
import pytest

from efficacy.mmrm import covariance as cov


@pytest.mark.parametrize("m", [1, 2, 4, 7])
def test_cached_indices_are_the_computed_ones_and_read_only(m: int) -> None:
    il, jl = np.tril_indices(m, -1)
    rows = np.lexsort((jl, il))  # row-major: for i, for j < i
    got_il, got_jl, got_t = cov._us_index(m)
    assert got_il.tolist() == il[rows].tolist() and got_jl.tolist() == jl[rows].tolist()
    assert got_t.tolist() == list(range(m, m + il.size))
    idx = np.arange(m)
    assert cov._lag(m).tolist() == np.abs(idx[:, None] - idx[None, :]).tolist()
    for a in (got_il, got_jl, got_t, cov._lag(m)):
        with pytest.raises(ValueError, match="read-only"):
            a[...] = 0
