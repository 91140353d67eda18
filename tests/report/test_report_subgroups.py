"""The subgroup table's interaction column reads the analysis' interaction test.

A variable whose interaction could not be estimated says "not estimable" in the table,
as the forest plot and the note under the table say (the cell was "-" before); an
estimable one prints its p as the rest of the report does. The split-face sample has
both: sex (fewer than two estimable subgroups) and Fitzpatrick phototype / age.
"""

from __future__ import annotations

from efficacy.report._format import pval


def test_interaction_cell_is_the_p_or_not_estimable(samples) -> None:
    section = samples.report("split_face_12wk").data["subgroups"]
    (table,) = section["tables"]
    variables = [v for c in section["comparisons"] for v in c["variables"]]
    cells = {r[0]: r[4] for r in table["rows"] if r[1:4] == ["", "", ""]}
    assert set(cells) == {v["label"] for v in variables}
    seen = set()
    for v in variables:
        if v["interaction_p"] is None:
            assert cells[v["label"]] == "not estimable"
            assert v["interaction_note"].startswith("not estimable")
        else:
            assert cells[v["label"]] == pval(v["interaction_p"])
        seen.add(v["interaction_p"] is None)
    assert seen == {True, False}  # the sample has both kinds
