"""`events_from_disposition` places events as its former pandas formulation did.

The last attended visit is now counted per distinct subject and visit; the reference
below is the groupby formulation it replaced. The cases cover repeated rows, visits
the schedule does not know, missing visits and subject ids, a subject without any
attended row, a subject who attended the last scheduled visit, and a missing
disposition (completed, so no event).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from efficacy.analysis.intercurrent import events_from_disposition

ORDER = ["W0", "W4", "W8", "W12"]


def _reference_after(subjects, attended, visit_order):
    disp = subjects["disposition"].fillna("").astype(str).str.strip()
    left = subjects[~disp.isin(("completed", "screen_failure", ""))]
    index = {v: i for i, v in enumerate(visit_order)}
    seen = attended[["subject_id", "visit"]][attended["visit"].isin(index)]
    last = seen.assign(i=seen["visit"].map(index)).groupby("subject_id")["i"].max()
    after = left["subject_id"].map(last).fillna(-1).astype(int).to_numpy() + 1
    return np.asarray([*visit_order, ""], dtype=object)[np.minimum(after, len(visit_order))]


def test_same_visits_as_the_groupby_formulation() -> None:
    subjects = pd.DataFrame(
        {
            "subject_id": pd.array(["S1", "S2", "S3", "S4", "S5", None, "S7"], dtype="str"),
            "arm": ["A", "B", "A", "B", "A", "B", "A"],
            "randomized": [True] * 7,
            "disposition": [
                "withdrew",
                "lost",
                "completed",
                "adverse event",
                "withdrew",
                "x",
                None,
            ],
        }
    )
    attended = pd.DataFrame(
        {
            "subject_id": pd.array(
                ["S1", "S1", "S1", "S2", "S2", "S4", "S4", None, "S3", "S5", "S5"], dtype="str"
            ),
            "visit": pd.array(
                ["W0", "W4", "W4", "W0", "W99", "W0", "W12", "W12", "W8", None, "W0"], dtype="str"
            ),
        }
    )
    got = events_from_disposition(subjects, attended, ORDER)
    assert got["visit"].tolist() == _reference_after(subjects, attended, ORDER).tolist()
    # S1 last attended W4 -> W8; S2 W0 (W99 unknown) -> W4; S4 attended W12 -> after the
    # schedule; S5 W0 -> W4; the subject without id attended nothing -> W0
    assert got["visit"].tolist() == ["W8", "W4", "", "W4", "W0"]
    assert got["subject_id"].tolist()[:4] == ["S1", "S2", "S4", "S5"]
    empty = attended.iloc[:0]
    assert (
        events_from_disposition(subjects, empty, ORDER)["visit"].tolist()
        == _reference_after(subjects, empty, ORDER).tolist()
    )
