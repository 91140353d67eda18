"""The readers' one-frame issue builders equal the per-issue frames they replace.

``grouped_issues`` (all conversion problems of a table, all manifest problems) must give
the frame ``concat_issues`` of one ``issues_frame`` per group gives, and ``empty_issues``
/ ``empty_table`` copies must be fresh: changing one leaves the next untouched.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from efficacy.io._convert import concat_issues, empty_table, grouped_issues, issues_frame
from efficacy.trial import ISSUE_COLUMNS, empty_issues


def _same(got: pd.DataFrame, want: pd.DataFrame) -> None:
    pd.testing.assert_frame_equal(got, want, check_exact=True)
    for c in ISSUE_COLUMNS:
        assert [type(v) for v in got[c]] == [type(v) for v in want[c]], c


def test_grouped_issues_is_concat_of_issues_frames() -> None:
    groups = [
        ("age", None, ["Age "], "column 'Age ' looks like 'age': rename it"),
        ("age", np.array([3, 7]), ["x1", "inf"], "not a whole number"),
        ("trial.id", None, [None], "missing"),
        ("day", np.array([12]), ["1,5"], "not a number"),
    ]
    found = [(c, np.array([None], dtype=object) if r is None else r, v, p) for c, r, v, p in groups]
    want = concat_issues(
        [
            issues_frame("subjects", c, [None] if r is None else r.tolist(), v, p)
            for c, r, v, p in groups
        ]
    )
    _same(grouped_issues("subjects", found), want)
    assert want["row"].tolist() == [None, 3, 7, None, 12]
    _same(grouped_issues("subjects", []), concat_issues([]))


def test_empty_frames_are_fresh_copies() -> None:
    first = empty_issues()
    first.loc[0] = ["t", "c", 1, "v", "p", "problem"]
    assert empty_issues().empty and list(empty_issues().columns) == list(ISSUE_COLUMNS)
    table = empty_table("subjects")
    table["extra"] = 1
    assert "extra" not in empty_table("subjects").columns
    assert empty_table("subjects").index.name == "row"
