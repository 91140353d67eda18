"""The flow's units: exact types of allocated_units, and the excluded categories' text rule."""

from __future__ import annotations

import pandas as pd

from efficacy.consort import allocated_units, consort_flow
from tests.validation.trial_factory import clean_tables, make_trial


def test_allocated_units_types_and_values() -> None:
    parallel = allocated_units(make_trial(design="parallel"))
    assert list(parallel.columns) == ["subject_id", "arm", "site", "itt", "safety"]
    assert isinstance(parallel.index, pd.RangeIndex)
    # parallel: id and arm keep the text type pandas gives the people's columns
    assert [str(t) for t in parallel.dtypes] == ["str", "str", "object", "bool", "object"]
    assert parallel.astype(object).values.tolist() == [
        ["S01", "ACTIVE", None, True, True],
        ["S02", "VEHICLE", None, True, True],
        ["S03", "ACTIVE", None, True, True],
        ["S04", "VEHICLE", None, True, True],
    ]
    split = allocated_units(make_trial(design="split_face"))
    assert [str(t) for t in split.dtypes] == ["object", "object", "object", "bool", "object"]
    assert split[["subject_id", "site", "arm"]].values.tolist()[:3] == [
        ["S01", "left_cheek", "ACTIVE"],
        ["S01", "right_cheek", "VEHICLE"],
        ["S02", "left_cheek", "VEHICLE"],
    ]
    assert len(split) == 8


def test_allocated_units_of_a_trial_randomising_nobody() -> None:
    tables = clean_tables("parallel")
    tables["subjects"] = tables["subjects"].assign(
        randomized=pd.array([False] * 5, dtype="boolean")
    )
    units = allocated_units(make_trial(tables))
    assert len(units) == 0
    # the people's columns still type the empty frame (text), as when some are randomised
    assert [str(t) for t in units.dtypes] == ["str", "str", "object", "bool", "object"]


def test_excluded_categories_lower_case_as_arrow_does() -> None:
    # Arrow (pandas' text methods) lower-cases a dotted capital I to "i"; Python's
    # str.lower gives "i" + a combining dot, which would not read "inclusion"
    tables = clean_tables("parallel")
    s = tables["subjects"]
    reasons = ["", "", "", "moved away", "İNCLUSION criteria not met"]
    tables["subjects"] = s.assign(
        discontinuation_reason=pd.array(reasons, dtype=s["discontinuation_reason"].dtype)
    )
    flow = consort_flow(make_trial(tables))
    assert dict(flow.excluded_categories) == {
        "Not meeting inclusion criteria": 1,
        "Declined to participate": 0,
        "Other reasons": 0,
    }
    assert flow.excluded.reasons == (("İNCLUSION criteria not met", 1),)


def _text_walk(values: pd.Series) -> list[object]:
    """The per-cell walk _text replaced (isna per cell, then str and strip)."""
    gone = values.isna().tolist()
    return [
        None if g else (str(v).strip() or None) for v, g in zip(values.tolist(), gone, strict=True)
    ]


def _flag_walk(values: pd.Series) -> list[object]:
    """The per-cell walk _flag replaced."""
    gone = values.isna().tolist()
    return [None if g else bool(v) for v, g in zip(values.tolist(), gone, strict=True)]


def test_text_and_flag_equal_the_per_cell_walk() -> None:
    import numpy as np

    from efficacy.consort._flowdata import _flag, _text

    rng = np.random.default_rng(7)
    pool = ["a", " b ", "", "  ", "\u3000x\u2028", None, np.nan, pd.NA, 1, 2.5, 0.0, True, "nan"]
    for _ in range(200):
        cells = [pool[i] for i in rng.integers(0, len(pool), rng.integers(0, 9))]
        texts = [c if isinstance(c, str) else None for c in cells]
        floats = [float(rng.integers(0, 3)) if c is not None else np.nan for c in texts]
        for values in (
            pd.Series(cells, dtype=object),
            pd.Series(texts, dtype="string[pyarrow]"),
            pd.Series(texts, dtype="str"),
            pd.Series(floats, dtype=float),
            pd.Series(pd.array(floats, dtype="Float64")),
            pd.Series([x > 0 if x == x else None for x in floats], dtype="boolean"),
            pd.Series(pd.to_datetime(["2025-01-02" if x == x else None for x in floats])),
        ):
            assert _text(values) == _text_walk(values), values
            if values.dtype != object and values.dtype.kind != "M":
                assert _flag(values) == _flag_walk(values), values
