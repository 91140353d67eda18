"""`site_allocation` gives the table of its former pandas formulation.

The pairs are now filtered and grouped in Python; the reference below is the
drop_duplicates / duplicated / isin / groupby formulation it replaced. The cases cover
a repeated pair, a site named for two arms (ambiguous: no row), an arm at two sites
(its first), malformed parts, a repeated subject id, repeated and
unsorted row labels, no control site, the second active arm only, and no allocation;
a missing subject id (which the former formulation failed on) gets no row.
"""

from __future__ import annotations

import pandas as pd

from efficacy.analysis.data import site_allocation, subject_sites
from efficacy.trial import parse_allocation


class _Plan:
    control = "VEH"
    actives = ("ACT", "ACT2")


def _reference(subj, plan):
    pairs = parse_allocation(subj)
    pairs = pairs[pairs["ok"].to_numpy(dtype=bool)].drop_duplicates(["row", "site", "arm"])
    ambiguous = pairs["row"][pairs.duplicated(["row", "site"])]
    pairs = pairs[~pairs["row"].isin(ambiguous)].drop_duplicates(["row", "arm"])
    group = pairs.groupby(["row", "subject_id"], sort=True).ngroup().to_numpy()
    members = [[] for _ in range(int(group.max(initial=-1)) + 1)]
    for i, k in enumerate(group.tolist()):
        if k >= 0:
            members[k].append(i)
    sids, arms, sites = (pairs[c].tolist() for c in ("subject_id", "arm", "site"))
    # each group's record is built as the product builds it (subject_sites): what is
    # compared here is which pairs are kept and how they are grouped
    found = (subject_sites(sids[r[0]], {arms[i]: sites[i] for i in r}, plan) for r in members)
    records = [r for r in found if r is not None]
    return pd.DataFrame(records, columns=["subject_id", "arm", "treated_site", "control_site"])


def test_same_table_as_the_pandas_formulation() -> None:
    allocation = [
        "left=ACT; right=VEH",
        "left=ACT; left=ACT; right=VEH",  # a repeated pair
        "left=ACT; left=VEH; right=VEH",  # left named twice: ambiguous
        "left=ACT; chin=ACT; right=VEH",  # ACT at two sites: the first
        "left=ACT; right; =VEH; right=VEH",  # malformed parts are not pairs
        "left=ACT; right=VEH",  # S6
        "right=VEH; left=ACT2",  # the second active
        "left=ACT",  # no control site
        None,
        "cheek=VEH; forehead=ACT",  # repeated subject id, another row
        "left=ACT; right=VEH",
    ]
    ids = ["S1", "S2", "S3", "S4", "S5", "S6", "S7", "S8", "S9", "S1", "S11"]
    for index in (pd.RangeIndex(11), pd.Index([9, 3, 3, 7, 1, 0, 2, 5, 4, 8, 6])):
        subj = pd.DataFrame(
            {"subject_id": pd.array(ids, dtype="str"), "allocation": allocation}, index=index
        )
        got = site_allocation(subj, _Plan())
        pd.testing.assert_frame_equal(got, _reference(subj, _Plan()), check_exact=True)
    # rows by label: S2 and S3 share label 3, where "left" is then named twice: no row
    assert got["subject_id"].tolist() == ["S6", "S5", "S7", "S11", "S4", "S1", "S1"]
    # a missing subject id (the former formulation failed on it): no row for it
    subj.loc[subj["subject_id"] == "S6", "subject_id"] = None
    assert "S6" not in set(site_allocation(subj, _Plan())["subject_id"].dropna())
    assert len(site_allocation(subj, _Plan())) == len(got) - 1
    none = pd.DataFrame({"subject_id": ["S1"]})
    pd.testing.assert_frame_equal(site_allocation(none, _Plan()), _reference(none, _Plan()))
