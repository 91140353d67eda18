"""The report's Estimands section: attributes, N and intercurrent events per arm."""

from __future__ import annotations

import pandas as pd

from efficacy.report.estimands import estimands_section


def _events_per_arm(trial) -> dict[str, int]:
    """Non-completers among the randomised, per arm, counted with pandas."""
    s = trial.subjects
    s = s.loc[s["randomized"].fillna(False).astype(bool)]
    return s.loc[s["disposition"] != "completed"].groupby("arm")["subject_id"].nunique().to_dict()


def test_section_rows_and_counts(samples) -> None:
    trial = samples.trial("parallel_12wk")
    data = samples.report("parallel_12wk").data["estimands"]
    assert (data["status"], data["declared"], data["events_source"]) == (
        "shown",
        False,
        "disposition",
    )
    assert [e["id"] for e in data["estimands"]] == [
        "primary",
        "key_secondary:corneometer",
        "key_secondary:wrinkle_rz",
        "key_secondary:faceq_satisfaction_facial_appearance",
    ]
    n = trial.subjects.loc[trial.subjects["randomized"].fillna(False).astype(bool)]
    n_arm = n.groupby("arm")["subject_id"].nunique().to_dict()
    events = _events_per_arm(trial)
    assert n_arm == {"ACTIVE": 60, "VEHICLE": 60} and events == {"ACTIVE": 8, "VEHICLE": 2}
    primary = data["estimands"][0]
    assert primary["n"] == n_arm and primary["n_total"] == 120
    ice = primary["intercurrent_events"]
    assert [(x["name"], x["strategy"], x["counts"], x["total"]) for x in ice] == [
        ("discontinued_product", "hypothetical", events, 10)
    ]
    table = data["tables"][0]
    assert table["header"] == ["Attribute", "Definition", "ACTIVE (N=60)", "VEHICLE (N=60)"]
    assert [r[0] for r in table["rows"]] == [
        "Treatment",
        "Population",
        "Variable",
        "Intercurrent event: discontinued product",
        "Population-level summary",
        "Sensitivity analyses",
    ]
    assert table["rows"][0][1] == "ACTIVE vs VEHICLE (control), as randomised"
    assert table["rows"][1][2:] == ["60", "60"]
    assert table["rows"][2][1] == (
        "Cutometer R2 (gross elasticity, Ua/Uf): change from baseline at W12"
    )
    assert table["rows"][3][2:] == ["8 (13.3)", "2 (3.3)"]
    assert table["rows"][4][1] == (
        "difference in LS mean change from baseline at W12 (active minus control)"
    )
    assert all(isinstance(c, str) for r in table["rows"] for c in r)
    # the sensitivity analyses of the result that name the primary estimand
    assert table["rows"][5][1] == (
        "The primary analysis in the per protocol population; ACTIVE vs VEHICLE; "
        "Delta-adjusted tipping point (50 imputations (seed 20250101), MAR by arm, sequential "
        "regression per visit); ITT, ACTIVE vs VEHICLE; Delta-adjusted tipping point (50 "
        "imputations (seed 20250101), MAR by arm, sequential regression per visit); per "
        "protocol, ACTIVE vs VEHICLE"
    )
    # the analysis's events and the report's own derivation agree (one function); without
    # an analysis no sensitivity analysis is listed
    alone = estimands_section(trial, samples.protocol, None)
    assert alone["estimands"][0]["sensitivity"] == []
    assert alone["tables"][0]["rows"][5][1] == "none in the analysis"
    for a, b in zip(alone["estimands"], data["estimands"], strict=True):
        assert {**a, "sensitivity": None} == {**b, "sensitivity": None}
    assert [t["rows"][:5] for t in alone["tables"]] == [t["rows"][:5] for t in data["tables"]]


def test_html_shows_the_section_before_efficacy(samples) -> None:
    html = samples.html("parallel_12wk")
    at = html.index("6.1 Estimands (ICH E9(R1))")
    assert html.index('id="s6"') < at < html.index("6.2 Estimates of all endpoints")
    assert "Primary estimand: Cutometer R2 (gross elasticity, Ua/Uf)</h4>" in html
    assert '<td class="num">8 (13.3)</td>' in html


def test_split_face_counts_participants(samples) -> None:
    trial = samples.trial("split_face_12wk")
    data = estimands_section(trial, samples.protocol)
    s = trial.subjects.loc[trial.subjects["randomized"].fillna(False).astype(bool)]
    left = int((s["disposition"] != "completed").sum())
    table = data["tables"][0]
    assert table["header"][2] == f"All participants (N={len(s)})"
    n = len(s)
    assert table["rows"][3][2] == f"{left} ({100 * left / n:.1f})"
    assert pd.Series(
        [x["total"] for x in data["estimands"][0]["intercurrent_events"]]
    ).tolist() == [left]
