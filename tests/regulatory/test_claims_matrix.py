"""The claims matrix on the parallel sample, derived independently from the analysis rows.

The expected status of each claim x jurisdiction is computed here from the ``samples``
fixture's AnalysisResult rows (ITT, MMRM, the estimand's visit; adjusted p where the plan
adjusts), the claim's min_effect and the packs' p < 0.05, plus the two requirement
outcomes the sample plants: the collagen claim is a drug claim in the US
(US-INTENDED-USE) and TEWL is not in the analysis plan (no estimate: not assessable).
"""

from __future__ import annotations

import dataclasses
import functools
import json
import shutil
from pathlib import Path

import pytest

from efficacy.instruments.catalogue import ENDPOINTS
from efficacy.io._manifest import parse_manifest
from efficacy.regulatory import DISCLAIMER, claims_matrix
from efficacy.regulatory.claims import CLAIM_STATUSES
from efficacy.trial import Claim, Trial

ROOT = Path(__file__).resolve().parents[2]
BUNDLE = ROOT / "sample_data" / "parallel_12wk"
CELL_KEYS = {
    "claim",
    "jurisdiction",
    "status",
    "reasons",
    "protocol",
    "category",
    "endpoint",
    "min_effect",
    "arm",
    "rules",
    "max_p",
    "estimate",
}


@pytest.fixture(scope="module")
def matrix(samples):
    return claims_matrix(samples.trial("parallel_12wk"), samples.analysis("parallel_12wk"))


def _expected(samples, claim: Claim, jurisdiction: str) -> str:
    rows = samples.analysis("parallel_12wk").to_frame()
    mine = rows[
        (rows["endpoint"] == claim.endpoint)
        & (rows["population"] == "itt")
        & (rows["analysis"] == "mmrm")
        & (rows["estimand"].fillna("") != "")
    ]
    if mine.empty:
        return "not_assessable"
    if jurisdiction == "us" and "collagen" in claim.text.lower():
        return "not_supported"
    row = mine.iloc[0]
    p = row["p_adjusted"] if row["p_adjusted"] == row["p_adjusted"] else row["p_value"]
    sign = 1 if ENDPOINTS[claim.endpoint].direction == "higher" else -1
    ok = sign * row["estimate"] >= sign * claim.min_effect and p < 0.05
    return "supported" if ok else "not_supported"


def test_sample_matrix_equals_expectation_from_the_analysis_rows(samples, matrix) -> None:
    claims = samples.trial("parallel_12wk").manifest.claims
    assert len(claims) == 5 and list(matrix.jurisdictions) == ["cn", "kr", "eu", "us", "iso"]
    got = {(c.claim.text, c.jurisdiction): c.status for c in matrix.cells}
    want = {(c.text, j): _expected(samples, c, j) for c in claims for j in matrix.jurisdictions}
    assert got == want
    # the sample shows every status: supported, short of min_effect, a US drug claim, none
    assert set(got.values()) == set(CLAIM_STATUSES)
    assert got[("Halves wrinkle volume", "kr")] == "not_supported"
    assert got[("Stimulates collagen for more elastic skin", "us")] == "not_supported"
    assert got[("Stimulates collagen for more elastic skin", "kr")] == "supported"


def test_reasons_quote_the_analysis_row_never_recomputed(samples, matrix) -> None:
    rows = samples.analysis("parallel_12wk").to_frame()
    row = rows[
        (rows["endpoint"] == "corneometer") & (rows["estimand"] == "key_secondary:corneometer")
    ]
    cell = matrix.cell("Improves skin hydration", "kr")
    assert cell.estimate is not None
    assert (cell.estimate.estimate, cell.estimate.conf_low, cell.estimate.conf_high) == (
        row["estimate"].iloc[0],
        row["conf_low"].iloc[0],
        row["conf_high"].iloc[0],
    )
    assert cell.estimate.p_value == row["p_adjusted"].iloc[0] and cell.estimate.adjusted
    assert cell.rules == ("KR-N", "KR-HYD-INSTRUMENT", "KR-P", "KR-EVIDENCE")
    assert cell.reasons[:2] == (
        "KR-N [reported, error]: met",
        "KR-HYD-INSTRUMENT [reported, error]: met",
    )
    shown = f"{row['estimate'].iloc[0]:+.4g} a.u."
    assert cell.reasons[-1].startswith(
        f"estimate met: corneometer W12 (ITT, ACTIVE vs VEHICLE): {shown}"
    )
    us = matrix.cell("Stimulates collagen for more elastic skin", "us")
    assert us.reasons[0].startswith("US-INTENDED-USE [stated, error]: not met: the claim uses")
    tewl = matrix.cell("Strengthens the skin barrier", "cn")
    assert tewl.reasons[-1].startswith("estimate: no ITT estimate of tewl at the final visit")


def test_json_cells_schema_and_one_disclaimer(matrix) -> None:
    data = json.loads(json.dumps(matrix.to_dict()))
    assert data["disclaimer"] == DISCLAIMER
    assert len(data["cells"]) == 25
    for cell in data["cells"]:
        assert set(cell) == CELL_KEYS
        assert cell["status"] in CLAIM_STATUSES
        assert cell["reasons"] and all(isinstance(r, str) for r in cell["reasons"])
    assert json.dumps(data).count(DISCLAIMER) == 1
    assert matrix.to_text().count(DISCLAIMER) == 1
    page = matrix.to_html()
    assert page.count(DISCLAIMER) == 1


def test_min_effect_boundary_and_kr_subject_minimum(samples) -> None:
    trial: Trial = samples.trial("parallel_12wk")
    analysis = samples.analysis("parallel_12wk")
    rows = analysis.to_frame()
    est = float(rows.loc[rows["estimand"] == "key_secondary:corneometer", "estimate"].iloc[0])
    claims = [
        {"text": "exact", "category": "moisturising", "endpoint": "corneometer", "min_effect": est},
        {
            "text": "beyond",
            "category": "moisturising",
            "endpoint": "corneometer",
            "min_effect": est * (1 + 1e-9),
        },
    ]
    manifest = dataclasses.replace(trial.manifest, raw={**trial.manifest.raw, "claims": claims})
    t = dataclasses.replace(trial, manifest=manifest)
    m = claims_matrix(t, analysis, ["kr"])
    assert [c.status for c in m.cells] == ["supported", "not_supported"]
    # 18 valid subjects: KR-N blocks the claim in Korea, says why
    meas = t.measurements
    corn = meas[(meas["endpoint"] == "corneometer") & meas["value"].notna()]
    both = sorted(
        set(corn.loc[corn["visit"] == "W0", "subject_id"])
        & set(corn.loc[corn["visit"] == "W12", "subject_id"])
    )[:18]
    small = dataclasses.replace(t, measurements=meas[meas["subject_id"].isin(both)])
    cell = claims_matrix(small, analysis, ["kr"]).cells[0]
    assert cell.status == "not_supported"
    assert any(
        r.startswith("KR-N [reported, error]: not met: n = 18 valid < 20") for r in cell.reasons
    )


def test_manifest_claim_problems_are_one_line_each() -> None:
    raw = {
        "trial": {"id": "T", "title": "t", "design": "parallel", "baseline_visit": "W0"},
        "arms": [{"id": "A", "label": "a"}, {"id": "C", "label": "c", "control": True}],
        "visits": [{"id": "W0", "week": 0, "day": 0, "window_days": 0}],
        "tables": {"subjects": "s.csv"},
        "claims": [
            {"text": "ok", "category": "moisturising", "endpoint": "corneometer", "min_effect": 2},
            {
                "text": "A's",
                "category": "firming",
                "endpoint": "cutometer_r2",
                "min_effect": 0,
                "arm": "A",
            },
            {"text": "a", "category": "glow", "endpoint": "corneometer", "min_effect": 1.0},
            {"text": "b", "category": "anti_wrinkle", "endpoint": "wrinkle_rz", "min_effect": 3},
            {"text": "c", "category": "elasticity", "endpoint": "cutometer_r6", "min_effect": 1},
            {"text": "d", "category": "elasticity", "endpoint": "nope", "min_effect": 1, "x": 1},
            {"category": "elasticity", "endpoint": "cutometer_r2", "min_effect": "big"},
            {
                "text": "e",
                "category": "firming",
                "endpoint": "cutometer_r2",
                "min_effect": 0,
                "arm": "C",
            },
            {
                "text": "f",
                "category": "firming",
                "endpoint": "cutometer_r2",
                "min_effect": 0,
                "arm": "B",
            },
            {
                "text": "g",
                "category": "firming",
                "endpoint": "cutometer_r2",
                "min_effect": 0,
                "arm": 1,
            },
        ],
    }
    manifest, issues = parse_manifest(raw, None)
    assert manifest.claims == (
        Claim("ok", "moisturising", "corneometer", 2.0),
        Claim("A's", "firming", "cutometer_r2", 0.0, arm="A"),
    )
    got = issues[issues["column"].str.startswith("claims")][["column", "problem"]]
    assert got.values.tolist() == [
        [
            "claims[3].category",
            "'category' must be one of: anti_wrinkle, moisturising, firming, "
            "elasticity, barrier_repair, appearance, quality_of_life",
        ],
        ["claims[4].min_effect", "'min_effect' must be <= 0: wrinkle_rz improves when it is lower"],
        [
            "claims[5].endpoint",
            "endpoint 'cutometer_r6' has no direction of improvement; a claim "
            "needs one (e.g. cutometer_r2, corneometer, wrinkle_rz)",
        ],
        ["claims[6].x", "unknown key 'x'; known: text, category, endpoint, min_effect, arm"],
        [
            "claims[6].endpoint",
            "'endpoint' must be a catalogue endpoint id, e.g. corneometer, "
            "cutometer_r2, wrinkle_rz",
        ],
        ["claims[7].text", "missing 'text': add text = \"...\""],
        ["claims[7].min_effect", "'min_effect' must be a number, got 'big'"],
        ["claims[8].arm", "arm 'C' is the control; a claim rests on an active arm: A"],
        ["claims[9].arm", "arm 'B' is not an [[arms]] id; use one of: A"],
        ["claims[10].arm", "'arm' must be a quoted string, got int"],
    ]


def test_cli_exit_codes_and_outputs(tmp_path: Path, cli) -> None:
    # `efficacy claims ...` in-process (the `cli` fixture, tests/conftest.py)
    _cli = functools.partial(cli, "claims")
    bad = _cli(str(BUNDLE), "--jurisdictions", "kr,mars")
    assert bad.returncode == 2 and bad.stdout == ""
    assert bad.stderr.splitlines() == [
        "efficacy: error: --jurisdictions 'kr,mars': use a comma-separated list of "
        "cn, kr, eu, us, iso"
    ]
    none = _cli(str(ROOT / "sample_data" / "split_face_12wk"))
    assert none.returncode == 2 and len(none.stderr.splitlines()) == 1
    assert "declares no [[claims]]" in none.stderr
    broken = tmp_path / "broken"
    shutil.copytree(BUNDLE, broken)
    toml = broken / "trial.toml"
    toml.write_text(
        toml.read_text(encoding="utf-8").replace('endpoint = "tewl"', 'endpoint = "glow"'),
        encoding="utf-8",
    )
    out = _cli(str(broken))
    assert out.returncode == 2 and len(out.stderr.splitlines()) == 1
    assert "claims[5].endpoint: 'endpoint' must be a catalogue endpoint id" in out.stderr
    # a quick plan (ITT, four endpoints, no tipping point) keeps the run short
    plan = tmp_path / "quick.toml"
    plan.write_text(
        'extends = "iso-efficacy-2025"\n[analysis]\nsecondary = ["wrinkle_volume"]\n'
        'key_secondary = ["corneometer", "wrinkle_rz"]\npopulations = ["itt"]\n'
        "[analysis.sensitivity]\ntipping_point = false\n",
        encoding="utf-8",
    )
    ok = _cli(
        str(BUNDLE),
        "--jurisdictions",
        "us,kr",
        "--protocol",
        str(plan),
        "--out",
        str(tmp_path / "o"),
    )
    assert ok.returncode == 0, ok.stderr
    assert sorted(p.name for p in (tmp_path / "o").iterdir()) == ["claims.html", "claims.json"]
    data = json.loads((tmp_path / "o" / "claims.json").read_text(encoding="utf-8"))
    assert list(data["jurisdictions"]) == ["us", "kr"]
    got = {(c["claim"], c["jurisdiction"]): c["status"] for c in data["cells"]}
    assert got[("Stimulates collagen for more elastic skin", "us")] == "not_supported"
    assert got[("Strengthens the skin barrier", "kr")] == "not_assessable"
    html = (tmp_path / "o" / "claims.html").read_text(encoding="utf-8")
    assert "<script" not in html and html.count(DISCLAIMER.replace("'", "&#x27;")) == 1


def test_matrix_labels_say_the_improving_direction(matrix) -> None:
    """A lower-is-better endpoint's claim needs a difference at or below min_effect."""
    labels = [row[0] for row in matrix.table()["rows"]]
    assert "Visibly reduces wrinkle depth in 12 weeks (anti_wrinkle; wrinkle_rz <= -5)" in labels
    assert "Improves skin hydration (moisturising; corneometer >= 5)" in labels
