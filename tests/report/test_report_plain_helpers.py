"""Edge cases of the report helpers that count over plain lists instead of pandas filters.

Each expected value is hand-counted from the rows below (missing ids, days, arms and
visits; pd.NA in nullable columns), the cases where a list comparison and a pandas
comparison could part ways.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd

from efficacy.protocol import Requirement
from efficacy.report import estimands, harms, sections


def test_observed_follow_up_counts_completers_with_a_measured_day(samples) -> None:
    trial = samples.trial("parallel_12wk")  # baseline W0 = day 0
    subjects = pd.DataFrame(
        {
            "subject_id": ["S1", "S2", "S3", "S4", "S4", None],
            "disposition": [
                "completed",
                "completed",
                "discontinued",
                None,
                "completed",
                "completed",
            ],
        }
    )
    measurements = pd.DataFrame(
        {
            "subject_id": ["S1", "S1", "S2", "S3", "S4", "S4", None],
            # S1 last day 84; S2 no day (not counted); S3 not a completer; S4 last day 91
            "day": pd.array([0, 84, None, 200, 91, 7, 500], dtype="Int64"),
        }
    )
    t = dataclasses.replace(trial, subjects=subjects, measurements=measurements)
    # median of 84 and 91 = 87.5 days = 12.5 weeks, n = 2
    assert sections._observed(t) == "; completers' median observed follow-up 12.5 weeks (n = 2)"
    none_done = subjects.assign(disposition=pd.array([None] * 6, dtype="string"))
    assert sections._observed(dataclasses.replace(t, subjects=none_done)) == ""


def test_pro_evidence_counts_distinct_respondents_per_visit(samples) -> None:
    trial = samples.trial("parallel_12wk")
    base, final = trial.manifest.baseline_visit, trial.manifest.final_visit.id
    pro = pd.DataFrame(
        {
            "instrument": pd.array(
                ["skindex16", "skindex16", "skindex16", None, "faceq", "skindex16"],
                dtype="string",
            ),
            "visit": pd.array([base, base, final, base, final, None], dtype="string"),
            "subject_id": pd.array(["S1", "S1", None, "S2", "S3", "S4"], dtype="string"),
        }
    )
    t = dataclasses.replace(trial, pro_responses=pro)
    req = Requirement(
        id="R", title="t", text="x", check="pro", source="s", parameters={"instrument": "skindex16"}
    )
    got = sections._evidence(t, req, sections._Measured(t))
    assert got == f"skindex16 answered by 1 at {base} and 0 at {final}"
    other = dataclasses.replace(req, parameters={"instrument": "faceq"})
    assert sections._evidence(t, other, sections._Measured(t)) == (
        f"faceq answered by 0 at {base} and 1 at {final}"
    )


def test_estimand_columns_skip_missing_arms(samples) -> None:
    trial = samples.trial("parallel_12wk")
    arms = [a.id for a in trial.manifest.arms]
    subjects = pd.DataFrame(
        {
            "subject_id": ["S1", "S2", "S3", "S2"],
            "arm": pd.array([arms[0], None, arms[1], arms[0]], dtype="string"),
        }
    )
    assert estimands._columns(trial, subjects) == [(arms[0], ["S1", "S2"]), (arms[1], ["S3"])]
    assert estimands._distinct(["S1", None, np.nan, pd.NA, "S1", "S2"]) == 2


def test_listing_prints_missing_values_as_none() -> None:
    events = pd.DataFrame(
        {
            "subject_id": pd.array(["S2", "S1", "S1"], dtype="string"),
            "col": ["A", "A", None],
            "term": pd.array(["Itch", pd.NA, "Rash"], dtype="string"),
            "soc": pd.array([None, "Skin", None], dtype="string"),
            "pt": pd.array([None, "Erythema", None], dtype="string"),
            "onset_day": pd.array([3, None, 1], dtype="Int64"),
            "severity": ["mild", None, "severe"],
            "serious": pd.array([True, None, False], dtype="boolean"),
            "related": pd.array([None, True, False], dtype="boolean"),
            "fatal": pd.array([False, False, None], dtype="boolean"),
            "site": [None, "left_cheek", np.nan],
        }
    )
    out = harms._listing(events, [{"key": "A", "label": "Serum"}])
    assert out == [
        {
            "subject_id": "S1",
            "group": "nan",  # a str column: missing is NaN
            "soc": None,
            "term": "Rash",
            "onset_day": 1,
            "severity": "severe",
            "serious": False,
            "related": False,
            "fatal": None,
            "body_site": None,
        },
        {
            "subject_id": "S1",
            "group": "Serum",
            "soc": "Skin",
            "term": "Erythema",
            "onset_day": None,
            "severity": None,
            "serious": None,
            "related": True,
            "fatal": False,
            "body_site": "left_cheek",
        },
        {
            "subject_id": "S2",
            "group": "Serum",
            "soc": None,
            "term": "Itch",
            "onset_day": 3,
            "severity": "mild",
            "serious": True,
            "related": None,
            "fatal": False,
            "body_site": None,
        },
    ]
