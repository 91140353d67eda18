"""Context helpers: the numpy path of `flag` and the per-unique `Context.blank`."""

from __future__ import annotations

import itertools

import pandas as pd

from efficacy.protocol import load_protocol
from efficacy.validation.context import Context, blank, flag
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
