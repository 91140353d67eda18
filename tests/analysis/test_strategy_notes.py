"""`strategy_notes` gives the notes of its former formulation (``isin`` of every subject id).

`strategy_notes` now passes ``isin`` only the subject ids that can be an event's
(missing ones kept); the reference is the formulation it replaced: the same notes
(`_notes`) over every subject id. The cases cover missing subject ids on both sides
(None, NaN, ``pd.NA``; an unnamed event of the participant without id shows whether a
missing id matched), repeated ids, an id with no event, events of participants outside
the set, an event named by no strategy, and str, object and integer id columns.
"""

from __future__ import annotations

import math
from types import SimpleNamespace

import pandas as pd
import pytest

from efficacy.analysis.strategies import _notes, strategy_notes
from efficacy.protocol.estimands import IntercurrentEventSpec


def _reference(estimand, events, subjects):
    """The former formulation: the notes of every subject id, no candidate filter."""
    return _notes(estimand, events, subjects)


def _estimand():
    """What `strategy_notes` reads of an estimand: its id and intercurrent events."""
    events = (
        IntercurrentEventSpec(name="stop", description="", text="stopped", strategy="hypothetical"),
        IntercurrentEventSpec(
            name="rescue", description="", text="rescued", strategy="treatment_policy"
        ),
    )
    return SimpleNamespace(id="E1", intercurrent_events=events)


@pytest.mark.parametrize("dtype", ["str", object])
def test_same_notes_as_isin_of_every_subject(dtype) -> None:
    ids = ["S1", "S1", "S2", None, "S4", "S5", "S7"]
    events = pd.DataFrame(
        {
            "subject_id": pd.Series(ids, dtype=dtype),
            "event": ["stop", "rescue", "stop", "withdrawn", "lost", "stop", "other"],
        }
    )
    estimand = _estimand()
    for subjects in (
        pd.Series(["S1", "S2", "S3", "S1", "S4"], dtype=dtype),  # S5, S7 and the None out
        pd.Series(["S2", None, "S7"], dtype=dtype),  # a missing id matches the missing one
        pd.Series(["S2", math.nan, "S9"], dtype=object),
        pd.Series(["S2", pd.NA], dtype=object),
        pd.Series([], dtype=dtype),
        pd.Series(["S8"], dtype=dtype),
    ):
        assert strategy_notes(estimand, events, subjects) == _reference(estimand, events, subjects)


def test_integer_ids() -> None:
    events = pd.DataFrame({"subject_id": [1, 2, 2, 3], "event": ["stop", "stop", "x", "rescue"]})
    estimand = _estimand()
    for subjects in (pd.Series([2, 3, 4]), pd.Series([2.0, 5.0]), pd.Series(["2", "3"])):
        assert strategy_notes(estimand, events, subjects) == _reference(estimand, events, subjects)
