"""`post_event` marks the same rows as its former pandas formulation (isin, groupby, map).

The reference below is the implementation it replaced; the cases cover several events
per subject, an event named by no strategy, an unscheduled event visit, missing subject
ids and visits on both sides, and a visit the schedule does not know.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from efficacy.analysis.intercurrent import post_event

ORDER = ["W0", "W4", "W8", "W12"]


def _reference(frame, events, strategies, visit_order, excluding=("hypothetical",)):
    wanted = {e for e, s in strategies.items() if s in set(excluding)}
    index = {v: i for i, v in enumerate(visit_order)}
    ev = events.loc[events["event"].isin(wanted) & events["visit"].isin(index)]
    if ev.empty or frame.empty:
        return np.zeros(len(frame), dtype=bool)
    first = ev.assign(i=ev["visit"].map(index)).groupby("subject_id")["i"].min()
    start = frame["subject_id"].astype(object).map(first).to_numpy(float, na_value=np.nan)
    at = frame["visit"].astype(object).map(index).to_numpy(float, na_value=np.nan)
    return np.nan_to_num(at, nan=-1.0) >= np.nan_to_num(start, nan=np.inf)


def test_same_marks_as_the_pandas_formulation() -> None:
    events = pd.DataFrame(
        {
            "subject_id": pd.array(["S1", "S1", "S2", "S3", None, "S4", "S5"], dtype="str"),
            "event": pd.array(["stop", "stop", "rescue", "stop", "stop", "stop", None], "str"),
            "visit": pd.array(["W8", "W4", "W4", "W16", "W4", None, "W4"], dtype="str"),
        }
    )
    frame = pd.DataFrame(
        {
            "subject_id": ["S1", "S1", "S1", "S2", "S2", "S3", None, "S4", "S5", "S6"],
            "visit": pd.Categorical(
                ["W4", "W8", "W12", "W4", "W12", "W12", "W8", "W12", "W8", None],
                categories=["W4", "W8", "W12", "W99"],
            ),
        }
    )
    for strategies in (
        {"stop": "hypothetical"},
        {"stop": "hypothetical", "rescue": "hypothetical"},
        {"stop": "treatment_policy"},
        {},
    ):
        got = post_event(frame, events, strategies, ORDER, excluding=("hypothetical",))
        want = _reference(frame, events, strategies, ORDER)
        assert got.tolist() == want.tolist()
    both = post_event(
        frame,
        events,
        {"stop": "hypothetical", "rescue": "hypothetical"},
        ORDER,
        excluding=("hypothetical",),
    )
    assert both.tolist() == [True, True, True, True, True, False, False, False, False, False]
    assert not post_event(frame.iloc[:0], events, {"stop": "hypothetical"}, ORDER).any()
